// @ts-check
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// typescript-eslint's syntactic "recommended" set, plus the three type-aware rules that catch
// real bugs in async worker/run-loop code (a dropped promise, a promise passed where a callback
// is expected, awaiting a non-promise). The full recommendedTypeChecked set costs the same
// type-checking pass but mostly reports `any` flowing out of TF.js typings.
export default defineConfig(
  globalIgnores([
    'dist/**',
    'node_modules/**',
    'public/data/**',
    'public/models/**',
    'test-results/**',
    'playwright-report/**',
    'coverage/**',
    '.clab/**',
    // AssemblyScript (its own types: v128, usize, load/store), compiled by scripts/build-wasm.mjs.
    'wasm/**',
  ]),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: { ...globals.browser, ...globals.worker, ...globals.node },
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // As with tsc's noUnusedParameters, a leading underscore marks "unused on purpose".
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
        },
      ],
    },
  },
  {
    // Plain JS (configs, bin/, scripts/*.mjs) is outside tsconfig: lint it without types.
    files: ['**/*.{js,mjs,cjs}'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  prettier,
);
