// Text for fuzz reports, shared by the importer pass (harness.ts, in Node) and the image
// decoding pass (e2e/fuzz-images.spec.ts, in Chromium): errors, recipes, refusals, sizes.

export const describeError = (e: unknown): string =>
  e instanceof Error
    ? `${e.name}: ${e.message}${e.stack ? `\n    ${e.stack.split('\n').slice(1, 4).join('\n    ')}` : ''}`
    : String(e);

/** Recipes hold typed arrays; print their length, not their bytes. */
export const describeRecipe = (recipe: unknown): string =>
  JSON.stringify(recipe, (_, v: unknown) =>
    v instanceof Uint8Array ? `<${v.length} bytes>` : v,
  ).slice(0, 400);

/** Refusals by error class, most frequent first: 'InvalidInputError 12, InvalidModelError 3'. */
export const describeRefused = (refused: Record<string, number>): string =>
  Object.entries(refused)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${name} ${n}`)
    .join(', ') || 'none';

export const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/** Resident memory a fuzz pass may reach before it fails. */
export const MEMORY_CAP_BYTES = 3 * 2 ** 30;
