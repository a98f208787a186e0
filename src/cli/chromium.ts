// The system Chromium the end-to-end specs and `clab bench --browser` drive (Playwright's own
// browser download is not used), and the flags it needs headless on a machine without a GPU.
import { existsSync } from 'node:fs';

/** CHROMIUM_PATH, else Debian's chromium package; a clear error where neither exists. */
export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new Error(
      `No Chromium at ${path}. Install it (Debian: apt-get install -y chromium) ` +
        'or set CHROMIUM_PATH to a Chromium/Chrome executable.',
    );
  }
  return path;
}

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // WebGPU on the SwiftShader fallback adapter: the WebGPU path runs on machines without a GPU.
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
];
