// Files under public/ (prepared datasets, built-in teachers): read with fs in Node and with fetch
// in the browser and the worker, where Vite serves public/ at the site root.

export interface AssetFolder {
  /** Where the files are read from (a directory or a URL), for messages. */
  location: string;
  /** A file's bytes, or null when it does not exist. */
  read(file: string): Promise<Uint8Array | null>;
}

export interface AssetOptions {
  /** Browser/worker: URL of the folder. Default: Vite's BASE_URL + folder + '/'. */
  baseUrl?: string;
  /** Node: directory. Default: public/<folder> under the project root. */
  dir?: string;
}

export function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

export function openAssetFolder(folder: string, options: AssetOptions = {}): Promise<AssetFolder> {
  return isNode()
    ? nodeFolder(folder, options.dir)
    : Promise.resolve(
        fetchFolder(options.baseUrl ?? `${import.meta.env?.BASE_URL ?? '/'}${folder}/`),
      );
}

/**
 * The cache public/sw.js answers from (keep the names in step). A file fetched here that the
 * service worker did not answer is stored in it too: on a first visit the run worker may start
 * before the service worker controls the page (its fetches then pass it by), and a later visit
 * should still find offline the data and teachers a run used. One the service worker answered it
 * has stored already (or answered from the cache).
 */
const OFFLINE_CACHE = 'clab-v1';

/**
 * Whether a service worker answered the latest fetch of `url`, read once its body is in (its
 * resource timing entry has a workerStart): a dedicated worker has no navigator.serviceWorker to
 * ask. Unknown (no entry, e.g. once the timing buffer is full) counts as no.
 */
function answeredByServiceWorker(url: string): boolean {
  const href = new URL(url, globalThis.location?.href).href;
  const latest = performance.getEntriesByName(href, 'resource').at(-1);
  return ((latest as PerformanceResourceTiming | undefined)?.workerStart ?? 0) > 0;
}

function fetchFolder(baseUrl: string): AssetFolder {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return {
    location: base.slice(0, -1),
    read: async (file) => {
      const url = `${base}${file}`;
      const res = await fetch(url);
      if (res.status === 404) return null;
      if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${res.statusText}`);
      const copy = globalThis.caches && import.meta.env?.PROD ? res.clone() : undefined;
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (copy && !answeredByServiceWorker(url)) {
        // Not awaited, and a refusal (storage full, private mode) only costs the offline copy.
        void caches
          .open(OFFLINE_CACHE)
          .then((cache) => cache.put(url, copy))
          .catch(() => {});
      } else void copy?.body?.cancel();
      return bytes;
    },
  };
}

// Node built-ins are imported through a variable so that bundlers (Vite's worker build) never try
// to resolve them for the browser; this code path only runs under Node.
export function importNode<T>(specifier: string): Promise<T> {
  return import(/* @vite-ignore */ specifier) as Promise<T>;
}

/** The directory holding package.json, found from this module's file, else from the cwd. */
export async function projectRoot(): Promise<string> {
  const fs = await importNode<typeof import('node:fs/promises')>('node:fs/promises');
  const path = await importNode<typeof import('node:path')>('node:path');
  const { fileURLToPath } = await importNode<typeof import('node:url')>('node:url');
  const findRoot = async (start: string): Promise<string | null> => {
    for (let dir = start; ; dir = path.dirname(dir)) {
      const pkg = path.join(dir, 'package.json');
      if (
        await fs.stat(pkg).then(
          () => true,
          () => false,
        )
      )
        return dir;
      if (path.dirname(dir) === dir) return null;
    }
  };
  const here = import.meta.url.startsWith('file:')
    ? path.dirname(fileURLToPath(import.meta.url))
    : null;
  const root = (here && (await findRoot(here))) ?? (await findRoot(process.cwd()));
  if (!root) throw new Error(`No package.json above ${here ?? process.cwd()}`);
  return root;
}

async function nodeFolder(folder: string, dir: string | undefined): Promise<AssetFolder> {
  const fs = await importNode<typeof import('node:fs/promises')>('node:fs/promises');
  const path = await importNode<typeof import('node:path')>('node:path');
  const location = path.resolve(dir ?? path.join(await projectRoot(), 'public', folder));
  return {
    location,
    read: async (file) => {
      try {
        const buf = await fs.readFile(path.join(location, file));
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
    },
  };
}
