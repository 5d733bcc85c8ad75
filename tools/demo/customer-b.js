// A user worker in the CommonJS format, with a variable binding.
module.exports = {
  fetch: function (request, env) {
    return new Response(env.GREETING + " from customer-b (" + request.method + ")\n", {
      headers: { "content-type": "text/plain; charset=utf-8" }
    });
  }
};
