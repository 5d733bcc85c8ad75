# workerd config of the peer's dispatch: a dispatcher reaching one user worker
# through a service binding named "user" (requests to user.bench.example).
# tools/bench-peer-workerd serves it with --control-fd to learn the port;
# for 1,000 user workers it writes a config of the same shape.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "dispatcher", worker = .dispatcher),
    (name = "user", worker = .user),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:0", http = (), service = "dispatcher") ],
);

const dispatcher :Workerd.Worker = (
  modules = [ (name = "dispatcher.js", esModule = embed "dispatcher.js") ],
  compatibilityDate = "2024-09-23",
  bindings = [ (name = "user", service = "user") ],
);

const user :Workerd.Worker = (
  modules = [ (name = "user.js", esModule = embed "user.js") ],
  compatibilityDate = "2024-09-23",
);
