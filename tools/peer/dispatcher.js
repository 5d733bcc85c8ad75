// The peer's dispatcher: workerd has no dispatch namespaces, so the closest
// shape is one service binding per user worker, picked by the first label of
// the Host header ("u17.bench.example" -> env.u17). Runs in workerd under
// tools/bench-peer-workerd.
export default {
  fetch(request, env) {
    const name = (request.headers.get("host") || "").split(".")[0];
    const user = env[name];
    if (!user || typeof user.fetch !== "function") {
      return new Response("no such worker\n", { status: 404 });
    }
    return user.fetch(request);
  },
};
