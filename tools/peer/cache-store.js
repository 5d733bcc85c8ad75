// The cache workerd's Cache API talks to. workerd keeps no cache of its own
// ("No Cache was configured" unless a worker names a cacheApiOutbound
// service), so this is the least a store can do: an in-memory map, no expiry,
// no eviction, no persistence. It favours the peer: a real store costs more.
// Protocol (as workerd speaks it): PUT key-URL with the serialised HTTP
// response as body -> 204; GET key-URL -> the response with
// "cf-cache-status: HIT", or "cf-cache-status: MISS"; PURGE -> 200 or 404.
// Runs in workerd under tools/bench-peer-workerd.
const entries = new Map();

function storage_key(request) {
  return (request.headers.get("cf-cache-namespaces") || "") + " " + request.url;
}

// "HTTP/1.1 200 OK\r\nname: value\r\n...\r\n\r\nbody" -> { status, headers, body }.
// The body is taken as it is: a short fixed body carries Content-Length,
// never chunked framing, which is all this benchmark stores.
function parse_serialised_response(bytes) {
  let head_end = -1;
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      head_end = i;
      break;
    }
  }
  if (head_end < 0) return null;
  const lines = new TextDecoder().decode(bytes.subarray(0, head_end)).split("\r\n");
  const status = parseInt(lines[0].split(" ")[1], 10);
  const headers = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  headers.push(["cf-cache-status", "HIT"]);
  return { status, headers, body: bytes.slice(head_end + 4) };
}

export default {
  async fetch(request) {
    const key = storage_key(request);
    if (request.method === "PUT") {
      const entry = parse_serialised_response(new Uint8Array(await request.arrayBuffer()));
      if (!entry) return new Response(null, { status: 413 });
      entries.set(key, entry);
      return new Response(null, { status: 204 });
    }
    if (request.method === "GET") {
      const entry = entries.get(key);
      if (!entry) return new Response(null, { headers: { "cf-cache-status": "MISS" } });
      return new Response(entry.body, { status: entry.status, headers: entry.headers });
    }
    if (request.method === "PURGE") {
      return new Response(null, { status: entries.delete(key) ? 200 : 404 });
    }
    return new Response(null, { status: 405 });
  },
};
