// The peer's hello world: one worker answering every request itself.
// Runs in workerd under tools/bench-peer-workerd; never part of wfp.
export default {
  fetch() {
    return new Response("hello\n");
  },
};
