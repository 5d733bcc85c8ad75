# workerd config of the peer's cache hit: cached.js answers from the Cache
# API, whose requests go to cache-store.js (workerd keeps no cache itself).
# tools/bench-peer-workerd serves it with --control-fd to learn the port.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "cached", worker = .cached),
    (name = "cache-store", worker = .cacheStore),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:0", http = (), service = "cached") ],
);

const cached :Workerd.Worker = (
  modules = [ (name = "cached.js", esModule = embed "cached.js") ],
  compatibilityDate = "2024-09-23",
  cacheApiOutbound = "cache-store",
);

const cacheStore :Workerd.Worker = (
  modules = [ (name = "cache-store.js", esModule = embed "cache-store.js") ],
  compatibilityDate = "2024-09-23",
);
