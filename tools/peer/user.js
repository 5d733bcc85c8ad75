// A peer user worker: the short body wfp's hello tenant returns, reached
// from dispatcher.js through a service binding. Runs in workerd under
// tools/bench-peer-workerd.
export default {
  fetch() {
    return new Response("hello\n");
  },
};
