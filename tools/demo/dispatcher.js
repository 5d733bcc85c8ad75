// The demo dispatch worker: routes customer-a.example.com (or
// customer-a.localhost) to the user worker "customer-a" in the namespace
// bound as DISPATCHER, and answers 404 itself for unknown customers.
module.exports = {
  fetch: function (request, env) {
    var host = (request.headers.get("host") || "").split(":")[0];
    var customer = host.split(".")[0];
    return env.DISPATCHER.get(customer).fetch(request).then(null, function (err) {
      if (err.message.indexOf("Worker not found") === 0) {
        return new Response("No customer named " + customer + ".\n", { status: 404 });
      }
      return new Response("The worker of " + customer + " failed: " + err.message + "\n", { status: 500 });
    });
  }
};
