// The service worker (scope /): pages, their assets and the register's reads keep working offline.
// Network first, so an online tablet always sees fresh data and code; the cache answers only when
// the network cannot. Writes and WebSockets are never touched: marks queue in IndexedDB instead.

const SHELL = "checkin-shell-v1";
const DATA = "checkin-data-v1";
const PRECACHE = [
  "/register.html",
  "/css/app.css",
  "/js/api.js",
  "/js/offline-queue.js",
  "/js/register.js",
  "/js/register-countdown.js",
  "/js/register-dialogs.js",
  "/js/register-socket.js",
  "/js/register-state.js",
  "/js/register-sync.js",
  "/js/register-view.js",
];
// Reads worth keeping for an offline reload: who is signed in, the day's sessions, each register.
const DATA_PATHS = [/^\/api\/auth\/me$/, /^\/api\/register\/sessions$/, /^\/api\/sessions\/\d+\/register$/];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name !== SHELL && name !== DATA) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

async function networkFirst(request, cacheName, key) {
  try {
    const response = await fetch(request);
    if (response.ok) {
      const cache = await caches.open(cacheName);
      await cache.put(key, response.clone());
    }
    return response;
  } catch {
    const cached = await caches.match(key);
    return cached || Response.error();
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && url.pathname === "/api/auth/sign-out") {
    event.waitUntil(caches.delete(DATA)); // the next person on this tablet must not see cached rosters
    return;
  }
  if (request.method !== "GET" || url.pathname.startsWith("/ws/")) return;
  if (url.pathname.startsWith("/api/")) {
    if (DATA_PATHS.some((pattern) => pattern.test(url.pathname))) {
      event.respondWith(networkFirst(request, DATA, request.url));
    }
    return;
  }
  // Pages are cached without their query; the hash never reaches the worker.
  const key = request.mode === "navigate" ? url.origin + url.pathname : request.url;
  event.respondWith(networkFirst(request, SHELL, key));
});
