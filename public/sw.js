// The page's service worker (built pages only; src/app/main.tsx registers it): a second visit
// works offline. At install it stores the app itself (the files `precache.json` lists: the page,
// its scripts, the run worker, the WebAssembly binaries); afterwards every same-origin GET goes
// through it. Files whose names never change their content — the build's hashed assets and the
// datasets' gzipped parts — are answered from the cache first; everything else (the page, the
// manifests, teachers; HEAD requests too) from the network first, the cache only when the
// network fails. What a
// run fetched (its data parts, its teacher) is stored as it goes, so it can run again offline.
const CACHE = 'clab-v1';

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      const files = await (await fetch('/precache.json', { cache: 'no-store' })).json();
      await cache.addAll(files);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

const immutable = (path) =>
  path.startsWith('/assets/') ||
  path.startsWith('/wasm/') ||
  /^\/data\/[^/]+\/[^/]+\.gz$/.test(path);

// The preview server compresses on the fly and says `Vary: Accept-Encoding`, which a request
// made by a module script need not repeat exactly: the body stored is the same either way.
const MATCH = { ignoreVary: true };

async function cacheFirst(request) {
  const cached = await caches.match(request, MATCH);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await (await caches.open(CACHE)).put(request, response.clone());
  return response;
}

async function networkFirst(request) {
  const head = request.method === 'HEAD';
  try {
    const response = await fetch(request);
    if (response.ok && !head) await (await caches.open(CACHE)).put(request, response.clone());
    return response;
  } catch (error) {
    const cached = await caches.match(request, {
      ...MATCH,
      // "Is this teacher there?" asks with HEAD: the stored GET answers it, without its body.
      ignoreMethod: head,
      ignoreSearch: request.mode === 'navigate',
    });
    if (cached) return head ? new Response(null, cached) : cached;
    throw error;
  }
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (!['GET', 'HEAD'].includes(request.method) || url.origin !== self.location.origin) return;
  const cacheAnswers = request.method === 'GET' && immutable(url.pathname);
  event.respondWith(cacheAnswers ? cacheFirst(request) : networkFirst(request));
});
