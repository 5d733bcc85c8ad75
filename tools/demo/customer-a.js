// A user worker in the service-worker format.
addEventListener("fetch", function (event) {
  event.respondWith(new Response("Hello from customer-a! You asked for " + event.request.url + "\n"));
});
