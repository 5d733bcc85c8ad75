// The peer's cache hit: caches.open + match answering the request, a put on
// the first miss; the same worker tools/bench-cache runs on wfp. Runs in
// workerd under tools/bench-peer-workerd.
const KEY = "https://bench.example/page";

export default {
  async fetch() {
    const cache = await caches.open("bench");
    const hit = await cache.match(KEY);
    if (hit) return hit;
    const fresh = new Response("hello\n", { headers: { "cache-control": "max-age=3600" } });
    await cache.put(KEY, fresh.clone());
    return fresh;
  },
};
