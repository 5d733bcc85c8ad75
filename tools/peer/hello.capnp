# workerd config of the peer's hello world: one worker on a loopback port.
# tools/bench-peer-workerd serves it with --control-fd to learn the port.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "hello", worker = .hello) ],
  sockets = [ (name = "http", address = "127.0.0.1:0", http = (), service = "hello") ],
);

const hello :Workerd.Worker = (
  modules = [ (name = "hello.js", esModule = embed "hello.js") ],
  compatibilityDate = "2024-09-23",
);
