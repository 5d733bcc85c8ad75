// Black-box tests of sandbox/runtime.js: loads it into a fresh node vm context per test, with a fake __host that records every call.
// Runs under plain node (`node tests/js/runtime_harness.js`), no dependencies; prints "N passed, M failed", exits non-zero on failure.
// Trusts runtime.js to be the code under test only: the fake host checks the argument types the real host (sandbox/host.cc) requires.
'use strict';

const vm = require('vm');
const fs = require('fs');
const path = require('path');
const assert = require('assert');

const RUNTIME_PATH = path.join(__dirname, '..', '..', 'sandbox', 'runtime.js');
const RUNTIME_SOURCE = fs.readFileSync(RUNTIME_PATH, 'utf8');
const RUNTIME = new vm.Script(RUNTIME_SOURCE, { filename: 'runtime.js' });
const FAIL_KINDS = ['exception', 'bad_response', 'no_handler'];
const LOG_LEVELS = ['log', 'info', 'warn', 'error', 'debug'];

// Values from the context have the context's prototypes; compare them as JSON.
function plain(x) {
  return x === undefined ? undefined : JSON.parse(JSON.stringify(x));
}
// Errors made in the context are not instances of this realm's classes.
const typeError = (e) => e.name === 'TypeError';
const rangeError = (e) => e.name === 'RangeError';
function isUint8(x) {
  return Object.prototype.toString.call(x) === '[object Uint8Array]';
}

// TextEncoder/TextDecoder for the context (Duktape has them built in; a vm
// context does not). They return the context's own Uint8Array.
const CODECS = `(function (g, encode, decode) {
  function TextEncoder() {}
  TextEncoder.prototype.encode = function (s) {
    var b = encode(s === undefined ? '' : String(s));
    var out = new Uint8Array(b.length);
    out.set(b);
    return out;
  };
  function TextDecoder() {}
  TextDecoder.prototype.decode = function (b) { return b === undefined ? '' : decode(b); };
  g.TextEncoder = TextEncoder;
  g.TextDecoder = TextDecoder;
})`;

// The Headers natives of sandbox/headers_natives.cc, in plain JavaScript
// inside the context (so the arrays and results they make are the
// context's own). Same contract: methods take the Headers as `this`, the
// list lives under a slot headersSlots() hands out, errors are TypeErrors
// with the same messages. The real slots are hidden symbols; here they are
// ordinary ones.
const HEADER_FAKES = `(function () {
  'use strict';
  var LIST = Symbol('fake.headers.list'), GUARD = Symbol('fake.headers.guard');
  var ITEMS = Symbol('fake.headers.items'), POS = Symbol('fake.headers.pos');
  var TOKEN = /^[!#$%&'*+\\-.^_\`|~0-9A-Za-z]+$/;
  function isObject(x) { return x !== null && (typeof x === 'object' || typeof x === 'function'); }
  function name(x) {
    x = String(x);
    if (!TOKEN.test(x)) throw new TypeError('Invalid header name.');
    return x.toLowerCase();
  }
  function value(x) {
    x = String(x).replace(/^[\\t\\n\\r ]+|[\\t\\n\\r ]+$/g, '');
    if (/[\\r\\n\\0]/.test(x)) throw new TypeError('Invalid header value.');
    return x;
  }
  function listOf(h, mutate) {
    var list = isObject(h) ? h[LIST] : undefined;
    if (!Array.isArray(list)) throw new TypeError('Illegal invocation');
    if (mutate && h[GUARD] === 1) throw new TypeError("Can't modify immutable headers.");
    return list;
  }
  function replace(list, n, v) {
    var out = [], placed = v === undefined;
    for (var i = 0; i < list.length; i += 2) {
      if (list[i] !== n) out.push(list[i], list[i + 1]);
      else if (!placed) { placed = true; out.push(n, v); }
    }
    if (!placed) out.push(n, v);
    list.length = 0;
    for (i = 0; i < out.length; i++) list[i] = out[i];
  }
  function valuesOf(list, n) {
    var out = [];
    for (var i = 0; i < list.length; i += 2) if (list[i] === n) out.push(list[i + 1]);
    return out;
  }
  function sorted(list, which) {
    var names = [], out = [];
    for (var i = 0; i < list.length; i += 2) if (names.indexOf(list[i]) < 0) names.push(list[i]);
    names.sort();
    names.forEach(function (n) {
      var vs = valuesOf(list, n);
      var entries = n === 'set-cookie' ? vs.map(function (v) { return [n, v]; }) : [[n, vs.join(', ')]];
      entries.forEach(function (e) { out.push(which === 2 ? e : e[which]); });
    });
    return out;
  }
  return {
    headersSlots: function () { return [LIST, GUARD, ITEMS, POS]; },
    headersFill: function (init, keys) {
      var list = [], i;
      if (Array.isArray(keys)) {
        for (i = 0; i < keys.length; i++) { var n = name(keys[i]); list.push(n, value(init[keys[i]])); }
        return list;
      }
      if (!Array.isArray(init)) throw new TypeError('init must be an array');
      for (i = 0; i < init.length; i++) {
        var pair = init[i];
        if (!isObject(pair) || pair.length !== 2) throw new TypeError('Each header pair must be a sequence of exactly two items.');
        var pn = name(pair[0]);
        list.push(pn, value(pair[1]));
      }
      return list;
    },
    headersFromHost: function (pairs) {
      if (!Array.isArray(pairs)) return undefined;
      var list = [];
      for (var i = 0; i < pairs.length; i++) {
        var n = pairs[i][0], v = pairs[i][1];
        if (typeof n !== 'string' || typeof v !== 'string' || /[^\x00-\x7f]/.test(n)) return undefined;
        list.push(n.toLowerCase(), v);
      }
      return list;
    },
    headersToHost: function (list) {
      if (!Array.isArray(list)) throw new TypeError('list must be an array');
      var out = [];
      for (var i = 0; i + 1 < list.length; i += 2) out.push([list[i], list[i + 1]]);
      return out;
    },
    headersSorted: function (h, which) {
      if (which !== 0 && which !== 1 && which !== 2) throw new RangeError('bad iterator kind');
      return sorted(listOf(h, false), which);
    },
    headersIteratorNext: function next() {
      var items = isObject(this) ? this[ITEMS] : undefined;
      if (!Array.isArray(items)) throw new TypeError('Illegal invocation');
      var i = this[POS];
      if (!(i < items.length)) return { value: undefined, done: true };
      this[POS] = i + 1;
      return { value: items[i], done: false };
    },
    headersGet: function get(n) {
      var list = listOf(this, false);
      var vs = valuesOf(list, name(n));
      return vs.length === 0 ? null : vs.join(', ');
    },
    headersHas: function has(n) {
      var list = listOf(this, false);
      return valuesOf(list, name(n)).length > 0;
    },
    headersSet: function set(n, v) {
      var list = listOf(this, true);
      n = name(n);
      replace(list, n, value(v));
    },
    headersAppend: function append(n, v) {
      var list = listOf(this, true);
      n = name(n);
      list.push(n, value(v));
    },
    headersDelete: function (n) {
      replace(listOf(this, true), name(n), undefined);
    },
    headersGetSetCookie: function getSetCookie() {
      return valuesOf(listOf(this, false), 'set-cookie');
    },
    headersForEach: function forEach(callback, thisArg) {
      if (typeof callback !== 'function') throw new TypeError('Headers.forEach: callback is not a function');
      var entries = sorted(listOf(this, false), 2);
      for (var i = 0; i < entries.length; i++) callback.call(thisArg, entries[i][1], entries[i][0], this);
    }
  };
})`;

class Sandbox {
  constructor() {
    this.calls = []; // every host call, in order
    this.violations = []; // contract breaches seen by the fake host
    this.answered = new Map(); // reqId → number of respond/fail calls
    this.nextSubId = 101;
    this.refuseSubrequests = null; // a message makes subrequest() throw
    this.refuseRespond = null; // a message makes respond() throw
    this.cacheDefault = false; // what host.cacheDefault() answers
    // Timers and the request lifecycle, as sandbox/runner.cc keeps them: a
    // request is open from handle() until done(); timers live on a virtual
    // clock that only advance() moves.
    this.open = new Set(); // request ids between handle() and done()
    this.doneCount = new Map(); // reqId → number of done() calls
    this.timers = new Map(); // host timer id → {reqId, due}
    this.nextTimerId = 501;
    this.now = 0;
    this.context = vm.createContext({});
    const enc = new TextEncoder();
    const dec = new TextDecoder();
    vm.runInContext(CODECS, this.context)(this.context, (s) => enc.encode(s), (b) => dec.decode(b));
    this.hostFunctions = Object.assign(this.makeHost(), vm.runInContext(HEADER_FAKES, this.context)());
    // Set and delete globals from inside the context: node keeps a property
    // that was put on the contextified object from outside after a delete.
    vm.runInContext('(function (h) { globalThis.__host = h; })', this.context)(Object.assign({}, this.hostFunctions));
    RUNTIME.runInContext(this.context);
    this.wfp = vm.runInContext('(function () { var w = __wfp; delete globalThis.__wfp; return w; })()', this.context); // as host.cc does
  }

  violation(text) {
    this.violations.push(text);
  }

  answer(fn, reqId) {
    if (typeof reqId !== 'number') this.violation(fn + ': reqId is ' + typeof reqId);
    const n = (this.answered.get(reqId) || 0) + 1;
    this.answered.set(reqId, n);
    if (n > 1) this.violation('request ' + reqId + ' answered ' + n + ' times');
  }

  checkPairs(fn, headers) {
    if (!Array.isArray(headers)) return this.violation(fn + ': headers is not an array');
    for (const p of headers) {
      if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'string' || typeof p[1] !== 'string') {
        this.violation(fn + ': bad header pair ' + JSON.stringify(p));
      }
    }
  }

  checkBody(fn, body) {
    if (body !== null && !isUint8(body)) this.violation(fn + ': body is neither null nor a Uint8Array');
    return body === null ? null : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  }

  makeHost() {
    const sb = this;
    return {
      respond(reqId, status, statusText, headers, body) {
        if (arguments.length !== 5) sb.violation('respond: ' + arguments.length + ' arguments');
        if (sb.refuseRespond !== null) throw new RangeError(sb.refuseRespond); // refused before it counts, like host.cc
        sb.answer('respond', reqId);
        if (typeof status !== 'number') sb.violation('respond: status is ' + typeof status);
        if (typeof statusText !== 'string') sb.violation('respond: statusText is ' + typeof statusText);
        sb.checkPairs('respond', headers);
        // A number is the handle of a body the supervisor holds.
        const held = typeof body === 'number' ? body : 0;
        const text = held ? null : sb.checkBody('respond', body);
        sb.calls.push({ fn: 'respond', reqId, status, statusText, headers: plain(headers), body: text, held });
      },
      fail(reqId, kind, message, stack) {
        if (arguments.length !== 4) sb.violation('fail: ' + arguments.length + ' arguments');
        sb.answer('fail', reqId);
        if (!FAIL_KINDS.includes(kind)) sb.violation('fail: unknown kind ' + kind);
        if (typeof message !== 'string' || typeof stack !== 'string') sb.violation('fail: message/stack not strings');
        sb.calls.push({ fn: 'fail', reqId, kind, message, stack });
      },
      subrequest(parentReqId, bindingName, scriptName, argsJson, method, url, headers, body, cpuMs, subRequests, outboundJson) {
        if (arguments.length !== 11) sb.violation('subrequest: ' + arguments.length + ' arguments');
        for (const [k, v] of Object.entries({ bindingName, scriptName, argsJson, method, url, outboundJson })) {
          if (typeof v !== 'string') sb.violation('subrequest: ' + k + ' is ' + typeof v);
        }
        sb.checkPairs('subrequest', headers);
        const held = typeof body === 'number' ? body : 0;
        const text = held ? null : sb.checkBody('subrequest', body);
        const call = { fn: 'subrequest', parentReqId, bindingName, scriptName, argsJson, method, url, headers: plain(headers), body: text, held, outboundJson };
        sb.calls.push(call);
        if (sb.refuseSubrequests !== null) throw new Error(sb.refuseSubrequests);
        call.subId = sb.nextSubId++;
        return call.subId;
      },
      fetch(parentReqId, method, url, headers, body, redirect) {
        if (arguments.length !== 6) sb.violation('fetch: ' + arguments.length + ' arguments');
        if (typeof method !== 'string' || typeof url !== 'string') sb.violation('fetch: method/url not strings');
        if (![0, 1, 2].includes(redirect)) sb.violation('fetch: redirect is ' + redirect);
        sb.checkPairs('fetch', headers);
        const held = typeof body === 'number' ? body : 0;
        const text = held ? null : sb.checkBody('fetch', body);
        const call = { fn: 'fetch', parentReqId, method, url, headers: plain(headers), body: text, held, redirect };
        sb.calls.push(call);
        if (sb.refuseSubrequests !== null) throw new Error(sb.refuseSubrequests);
        call.subId = sb.nextSubId++;
        return call.subId;
      },
      cacheOp(parentReqId, op, isDefault, name, url, method, headers, ignoreMethod, status, responseHeaders, body) {
        if (arguments.length !== 11) sb.violation('cacheOp: ' + arguments.length + ' arguments');
        if (![0, 1, 2].includes(op) || typeof isDefault !== 'boolean' || typeof name !== 'string' ||
            typeof url !== 'string' || typeof method !== 'string' || typeof ignoreMethod !== 'boolean') {
          sb.violation('cacheOp: bad arguments');
        }
        sb.checkPairs('cacheOp', headers);
        sb.checkPairs('cacheOp', responseHeaders);
        const held = typeof body === 'number' ? body : 0;
        const text = held ? null : sb.checkBody('cacheOp', body);
        const call = { fn: 'cacheOp', parentReqId, op, isDefault, name, url, method, headers: plain(headers), ignoreMethod, status,
          responseHeaders: plain(responseHeaders), body: text, held, subId: sb.nextSubId++ };
        sb.calls.push(call);
        return call.subId;
      },
      cacheDefault() {
        return sb.cacheDefault;
      },
      readBody(parentReqId, handle) {
        if (arguments.length !== 2 || typeof handle !== 'number') sb.violation('readBody: bad arguments');
        const call = { fn: 'readBody', parentReqId, handle, readId: sb.nextSubId++ };
        sb.calls.push(call);
        return call.readId;
      },
      log(level, reqId, text) {
        if (!LOG_LEVELS.includes(level)) sb.violation('log: level ' + level);
        if (typeof text !== 'string') sb.violation('log: text is ' + typeof text);
        sb.calls.push({ fn: 'log', level, reqId, text });
      },
      setTimer(reqId, ms) {
        if (arguments.length !== 2 || typeof reqId !== 'number' || typeof ms !== 'number') sb.violation('setTimer: bad arguments');
        if (!sb.open.has(reqId)) throw new Error('Timers can only be set while a request is running.');
        const id = sb.nextTimerId++;
        sb.timers.set(id, { reqId, due: sb.now + ms });
        sb.calls.push({ fn: 'setTimer', reqId, ms, id });
        return id;
      },
      clearTimer(id) {
        if (typeof id !== 'number') sb.violation('clearTimer: id is ' + typeof id);
        sb.timers.delete(id);
        sb.calls.push({ fn: 'clearTimer', id });
      },
      done(reqId) {
        if (typeof reqId !== 'number') sb.violation('done: reqId is ' + typeof reqId);
        const n = (sb.doneCount.get(reqId) || 0) + 1;
        sb.doneCount.set(reqId, n);
        if (n > 1) sb.violation('request ' + reqId + ' done ' + n + ' times');
        if (!sb.answered.has(reqId)) sb.violation('request ' + reqId + ' done before it was answered');
        sb.open.delete(reqId);
        for (const [id, t] of sb.timers) if (t.reqId === reqId) sb.timers.delete(id); // the runner drops them
        sb.calls.push({ fn: 'done', reqId });
      },
    };
  }

  run(code) {
    return vm.runInContext(code, this.context, { filename: 'tenant.js' });
  }

  // prepare → tenant top level → finish, like WorkerHeap::load.
  load(format, bindings, source) {
    this.wfp.prepare(format, bindings || []);
    this.run(source);
    const message = this.wfp.finish();
    this.drain();
    return message;
  }

  bytes(text) {
    return text === null || text === undefined ? null : this.run('new TextEncoder()').encode(text);
  }

  handle(reqId, method, url, headers, body, argsJson, envJson) {
    this.open.add(reqId);
    this.wfp.handle(reqId, method || 'GET', url || 'https://example.com/', headers || [], this.bytes(body), argsJson || '',
      envJson || '');
    this.drain();
  }

  drain() {
    return this.wfp.drain();
  }

  subResolve(subId, status, statusText, headers, body, held) {
    const h = held || {};
    const r = this.wfp.subResolve(subId, status, statusText || '', headers || [], this.bytes(body), h.handle || 0,
      h.size || 0, h.url || '', h.redirected === true);
    this.drain();
    return r;
  }

  bodyResolve(readId, text) {
    const r = this.wfp.bodyResolve(readId, this.bytes(text));
    this.drain();
    return r;
  }

  subReject(subId, message) {
    const r = this.wfp.subReject(subId, message);
    this.drain();
    return r;
  }

  // Moves the virtual clock by ms, firing due timers in order (draining
  // after each, as the runner does).
  advance(ms) {
    const until = this.now + ms;
    for (;;) {
      let next = null;
      for (const [id, t] of this.timers) if (t.due <= until && (next === null || t.due < next[1].due)) next = [id, t];
      if (next === null) break;
      this.timers.delete(next[0]);
      this.now = Math.max(this.now, next[1].due);
      this.wfp.fireTimer(next[0]);
      this.drain();
    }
    this.now = until;
  }
  doneCalls(reqId) {
    return this.doneCount.get(reqId) || 0;
  }
  hostCalls(reqId) {
    return this.calls.filter((c) => c.reqId === reqId && c.fn !== 'log').map((c) => c.fn);
  }

  answers(reqId) {
    return this.calls.filter((c) => (c.fn === 'respond' || c.fn === 'fail') && c.reqId === reqId);
  }
  result(reqId) {
    const a = this.answers(reqId);
    assert.strictEqual(a.length, 1, 'request ' + reqId + ' has ' + a.length + ' answers: ' + JSON.stringify(this.calls));
    return a[0];
  }
  logs() {
    return this.calls.filter((c) => c.fn === 'log');
  }
  subrequests() {
    return this.calls.filter((c) => c.fn === 'subrequest');
  }
  // Runs tenant code that may return a promise of ours; drains; returns the outcome.
  settle(code) {
    this.run('var __out = {}; Promise.resolve((function () {' + code + '})()).then(' +
      'function (v) { __out.value = v; __out.ok = true; }, function (e) { __out.error = e; __out.ok = false; });');
    this.drain();
    const out = this.context.__out;
    if (out.ok === undefined) throw new Error('promise did not settle');
    return out;
  }
  value(code) {
    const out = this.settle(code);
    if (!out.ok) throw new Error('rejected: ' + (out.error && out.error.stack ? out.error.stack : String(out.error)));
    return out.value;
  }
  rejection(code) {
    const out = this.settle(code);
    if (out.ok) throw new Error('resolved with ' + String(out.value));
    return out.error;
  }
}

const { test, run } = require('./lib/runner.js');
function commonjs(sb, source, bindings) {
  assert.strictEqual(sb.load('commonjs', bindings, source), '');
}

// ---------------------------------------------------------------------------
// Loading, formats, isolation from the host.

test('the prelude removes __host and the host removes __wfp before tenant code runs', () => {
  const sb = new Sandbox();
  assert.strictEqual(sb.run('typeof __host'), 'undefined');
  assert.strictEqual(sb.run('typeof __wfp'), 'undefined');
  for (const f of ['prepare', 'finish', 'handle', 'subResolve', 'subReject', 'drain']) assert.strictEqual(typeof sb.wfp[f], 'function', f);
  assert.strictEqual(sb.wfp.current, null);
});

test('the prelude defines its own Promise over the one already there', () => {
  const sb = new Sandbox();
  assert.notStrictEqual(sb.run('Promise'), vm.runInNewContext('Promise'));
  assert.strictEqual(sb.run('Promise.toString().indexOf("[native code]")'), -1);
});

// A heuristic guard; the real check is compiling the file in Duktape.
test('the prelude source has no ES2015 syntax: let, const, class, arrows, template literals, spread', () => {
  const code = RUNTIME_SOURCE.split('\n')
    .filter((line) => !/^\s*\/\//.test(line))
    .map((line) => line
      .replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, "''") // strings
      .replace(/([=(,:]\s*)\/(?:[^\/\\\n]|\\.)+\/[gim]*/g, '$1/re/') // regular expressions
      .replace(/\s\/\/.*$/, '')) // trailing comments
    .join('\n');
  assert.doesNotMatch(code, /\b(let|const|class)\s+[A-Za-z_$]/);
  assert.doesNotMatch(code, /\bfor\s*\([^;)]*\bof\b/);
  assert.doesNotMatch(code, /=>|`|\.\.\.|\?\.|\?\?|\basync\b|\bawait\b|\bfunction\s*\*/);
});

test('commonjs finds module.exports.fetch and calls it with the exports object as this', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { tag: "mine", fetch: function () { return new Response(this.tag); } };');
  sb.handle(1);
  assert.strictEqual(sb.result(1).body, 'mine');
});

test('commonjs finds exports.default.fetch, as lowered ES modules export it', () => {
  const sb = new Sandbox();
  commonjs(sb, 'Object.defineProperty(exports, "__esModule", { value: true });' +
    'exports.default = { tag: "esm", fetch: function (request, env, ctx) { return new Response(this.tag + typeof ctx.waitUntil); } };');
  sb.handle(1);
  assert.strictEqual(sb.result(1).body, 'esmfunction');
});

test('finish reports a missing fetch handler and handle then fails with no_handler', () => {
  const sb = new Sandbox();
  const message = sb.load('commonjs', [], 'module.exports = { other: 1 };');
  assert.match(message, /^No fetch handler: use module.exports = \{ fetch\(request, env, ctx\)/);
  sb.handle(7);
  const r = sb.result(7);
  assert.strictEqual(r.kind, 'no_handler');
  assert.strictEqual(r.message, message);
  const sw = new Sandbox();
  assert.match(sw.load('service-worker', [], 'var x = 1;'), /addEventListener\("fetch", \.\.\.\)/);
});

test('prepare refuses an unknown script format or binding type', () => {
  const sb = new Sandbox();
  assert.throws(() => sb.wfp.prepare('esm', []), typeError);
  assert.throws(() => sb.wfp.prepare('commonjs', [{ type: 'queue', name: 'Q' }]), /Unknown binding type/);
});

test('env holds plain_text, secret_text and json bindings', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (r, env) { return Response.json(env); } };', [
    { type: 'plain_text', name: 'A', text: 'plain' },
    { type: 'secret_text', name: 'S', text: 'secret' },
    { type: 'json', name: 'J', text: '{"x":[1,2]}' },
    { type: 'json', name: 'K', json: { y: true } },
  ]);
  sb.handle(1);
  assert.deepStrictEqual(JSON.parse(sb.result(1).body), { A: 'plain', S: 'secret', J: { x: [1, 2] }, K: { y: true } });
});

test('a service binding fetch is a host subrequest with the binding and no script name', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (r, env) { return env.SVC.fetch(r); } };',
    [{ type: 'service', name: 'SVC', service: 'other' }]);
  sb.handle(1);
  const sub = sb.calls.filter((c) => c.fn === 'subrequest')[0];
  assert.strictEqual(sub.bindingName, 'SVC');
  assert.strictEqual(sub.scriptName, '');
  assert.strictEqual(sub.parentReqId, 1);
});

test('ctx.args is the parsed argsJson, or undefined when it is empty', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (r, e, ctx) { return new Response(JSON.stringify(ctx.args) + "|" + typeof ctx.args); } };');
  sb.handle(1, 'GET', 'https://a/', [], null, '{"tenant":"t1","n":[1]}');
  sb.handle(2, 'GET', 'https://a/', [], null, '');
  assert.strictEqual(sb.result(1).body, '{"tenant":"t1","n":[1]}|object');
  assert.strictEqual(sb.result(2).body, 'undefined|undefined');
});

test('the incoming request carries method, url, headers and body', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (req) { return req.text().then(function (t) {' +
    ' return new Response([req.method, req.url, req.headers.get("X-Thing"), t, req.bodyUsed].join("|")); }); } };');
  sb.handle(1, 'POST', 'https://example.com/p?q=1', [['X-Thing', 'a'], ['x-thing', 'b']], 'hello');
  assert.strictEqual(sb.result(1).body, 'POST|https://example.com/p?q=1|a, b|hello|true');
});

test('incoming request headers are immutable, a new Request copies them mutable', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (req) {' +
    ' var msg; try { req.headers.set("a", "b"); } catch (e) { msg = e.message; }' +
    ' var copy = new Request(req); copy.headers.set("a", "b");' +
    ' return new Response(msg + "|" + copy.headers.get("a")); } };');
  sb.handle(1);
  assert.strictEqual(sb.result(1).body, "Can't modify immutable headers.|b");
});

test('service-worker: a fetch listener answers through respondWith and bindings are globals', () => {
  const sb = new Sandbox();
  assert.strictEqual(sb.load('service-worker', [{ type: 'plain_text', name: 'GREETING', text: 'hi' }],
    'addEventListener("fetch", function (event) { event.respondWith(new Response(GREETING + " " + event.request.url + " " + event.type)); });'), '');
  sb.handle(1, 'GET', 'https://sw.example/');
  assert.strictEqual(sb.result(1).body, 'hi https://sw.example/ fetch');
});

test('service-worker: respondWith accepts a promise and self.addEventListener works', () => {
  const sb = new Sandbox();
  sb.load('service-worker', [], 'self.addEventListener("fetch", function (e) {' +
    ' e.respondWith(Promise.resolve().then(function () { return new Response("later", { status: 201 }); })); });');
  sb.handle(1);
  const r = sb.result(1);
  assert.strictEqual(r.status, 201);
  assert.strictEqual(r.body, 'later');
});

test('service-worker: a second respondWith throws and the first one wins', () => {
  const sb = new Sandbox();
  sb.load('service-worker', [], 'addEventListener("fetch", function (e) {' +
    ' e.respondWith(new Response("first")); try { e.respondWith(new Response("second")); } catch (err) { console.log(err.name); } });');
  sb.handle(1);
  assert.strictEqual(sb.result(1).body, 'first');
  assert.strictEqual(sb.logs()[0].text, 'TypeError');
});

test('service-worker: a listener that never calls respondWith fails with no_handler', () => {
  const sb = new Sandbox();
  sb.load('service-worker', [], 'var saved; addEventListener("fetch", function (e) { saved = e; });');
  sb.handle(1);
  const r = sb.result(1);
  assert.strictEqual(r.kind, 'no_handler');
  assert.strictEqual(r.message, 'The fetch handler did not call respondWith().');
  assert.throws(() => sb.run('saved.respondWith(new Response("late"))'), /synchronously/);
  sb.drain();
  assert.strictEqual(sb.answers(1).length, 1);
});

test('service-worker: a listener that throws fails with exception, once', () => {
  const sb = new Sandbox();
  sb.load('service-worker', [], 'addEventListener("fetch", function (e) { e.respondWith(new Response("x")); throw new RangeError("late throw"); });');
  sb.handle(1);
  const r = sb.result(1);
  assert.deepStrictEqual([r.fn, r.kind, r.message], ['fail', 'exception', 'late throw']);
});

// ---------------------------------------------------------------------------
// Answers: exactly one respond or fail per request.

test('a synchronous Response is sent with status, statusText, lower-cased headers and body', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function () { return new Response("body", { status: 418, statusText: "Teapot",' +
    ' headers: { "X-Custom": "v", "Set-Cookie": "a=1" } }); } };');
  sb.handle(1);
  const r = sb.result(1);
  assert.strictEqual(r.fn, 'respond');
  assert.strictEqual(r.status, 418);
  assert.strictEqual(r.statusText, 'Teapot');
  assert.deepStrictEqual(r.headers, [['x-custom', 'v'], ['set-cookie', 'a=1'], ['content-type', 'text/plain;charset=UTF-8']]);
  assert.strictEqual(r.body, 'body');
});

test('an empty body is sent as null', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function () { return new Response(null, { status: 204 }); } };');
  sb.handle(1);
  assert.strictEqual(sb.result(1).body, null);
  assert.strictEqual(sb.result(1).status, 204);
});

test('an async handler answers after the microtasks ran, not before', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function () { return Promise.resolve(1).then(function (n) { return n + 1; })' +
    '.then(function (n) { return new Response("n=" + n); }); } };');
  sb.wfp.handle(1, 'GET', 'https://a/', [], null, '');
  assert.strictEqual(sb.answers(1).length, 0);
  sb.drain();
  assert.strictEqual(sb.result(1).body, 'n=2');
});

test('a synchronous throw fails with the exception message and stack', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function () { throw new TypeError("bad thing"); } };');
  sb.handle(1);
  const r = sb.result(1);
  assert.strictEqual(r.kind, 'exception');
  assert.strictEqual(r.message, 'bad thing');
  assert.match(r.stack, /TypeError: bad thing/);
});

test('a rejection fails with the exception message; a thrown string has no stack', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (req) { if (req.url.indexOf("str") >= 0) return Promise.reject("plain string");' +
    ' return Promise.resolve().then(function () { throw new Error("async bad"); }); } };');
  sb.handle(1, 'GET', 'https://a/err');
  sb.handle(2, 'GET', 'https://a/str');
  assert.strictEqual(sb.result(1).kind, 'exception');
  assert.strictEqual(sb.result(1).message, 'async bad');
  assert.match(sb.result(1).stack, /async bad/);
  assert.deepStrictEqual([sb.result(2).message, sb.result(2).stack], ['plain string', '']);
});

test('an exception whose message getter throws still fails the request', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function () { var e = Object.create(null);' +
    ' Object.defineProperty(e, "message", { get: function () { throw 1; } }); throw e; } };');
  sb.handle(1);
  assert.strictEqual(sb.result(1).kind, 'exception');
});

test('a non-Response result fails with bad_response and says what it was', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (req) { var k = req.url.split("/")[3];' +
    ' return { u: undefined, s: "text", o: { a: 1 }, n: null, a: [1], p: Promise.resolve(42) }[k]; } };');
  const expect = { u: 'undefined', s: 'a string', o: 'an object', n: 'null', a: 'an array', p: 'a number' };
  let id = 1;
  for (const k of Object.keys(expect)) {
    sb.handle(id, 'GET', 'https://a/' + k);
    const r = sb.result(id++);
    assert.strictEqual(r.kind, 'bad_response');
    assert.strictEqual(r.message, 'The fetch handler returned ' + expect[k] + ' instead of a Response.');
    assert.strictEqual(r.stack, '');
  }
});

test('returning a Response whose body was already read fails the request', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function () { var r = new Response("x"); return r.text().then(function () { return r; }); } };');
  sb.handle(1);
  assert.strictEqual(sb.result(1).kind, 'exception');
  assert.strictEqual(sb.result(1).message, 'Body has already been used.');
});

test('a response the host refuses becomes the request failure', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function () { return new Response("x"); } };');
  sb.refuseRespond = 'too many headers';
  sb.handle(1);
  assert.deepStrictEqual([sb.result(1).fn, sb.result(1).kind, sb.result(1).message], ['fail', 'exception', 'Invalid response: too many headers']);
});

test('a handler promise that never settles leaves the request unanswered, and others still answer', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (req) { return req.url.indexOf("hang") > 0 ? new Promise(function () {}) : new Response("ok"); } };');
  sb.handle(1, 'GET', 'https://a/hang');
  sb.handle(2, 'GET', 'https://a/ok');
  assert.strictEqual(sb.answers(1).length, 0);
  assert.strictEqual(sb.result(2).body, 'ok');
});

test('a request id that is already running is refused', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function () { return new Promise(function () {}); } };');
  sb.handle(1);
  assert.throws(() => sb.wfp.handle(1, 'GET', 'https://a/', [], null, ''), /already running/);
});

test('tenant code cannot answer a request twice, or another id, with the internals it can find', () => {
  const sb = new Sandbox();
  // The tenant digs the runtime's own reaction out of its pending promise's
  // hidden slots and calls it: first with its real request record, then
  // with forged ones. The request table lets exactly one answer through.
  commonjs(sb, 'module.exports = { fetch: function () { var resolveIt; var p = new Promise(function (r) { resolveIt = r; });' +
    ' queueMicrotask(function () { Object.getOwnPropertySymbols(p).forEach(function (s) { var rec = p[s];' +
    '   if (!rec || typeof rec.onFulfilled !== "function" || !rec.data) return;' +
    '   rec.onFulfilled(rec.data, new Response("forged"), false);' +
    '   rec.onFulfilled(rec.data, new Response("forged twice"), false);' +
    '   rec.onFulfilled({ id: 77 }, new Response("other id"), false);' +
    '   rec.data.id = 78; rec.onFulfilled(rec.data, new Response("renamed"), false); });' +
    '   resolveIt(new Response("real")); });' +
    ' return p; } };');
  sb.handle(1);
  assert.strictEqual(sb.result(1).body, 'forged');
  assert.strictEqual(sb.answers(77).length + sb.answers(78).length, 0);
  assert.deepStrictEqual(sb.violations, []);
});

test('a replaced Function.prototype.call never sees a host function', () => {
  const sb = new Sandbox();
  commonjs(sb, 'var seen = []; var orig = Function.prototype.call;' +
    ' Function.prototype.call = function () { seen.push(this); return orig.apply(this, arguments); };' +
    ' module.exports = { fetch: function (req, env) { console.log("x"); return env.D.get("w").fetch("https://w/")' +
    '.then(function (r) { return new Response("ok"); }); } };', [{ type: 'dispatch_namespace', name: 'D' }]);
  sb.handle(1);
  sb.subResolve(101, 200);
  assert.strictEqual(sb.result(1).body, 'ok');
  const seen = sb.run('seen');
  for (const f of Object.values(sb.hostFunctions)) assert.ok(!seen.includes(f));
});

// ---------------------------------------------------------------------------
// Dispatch binding, subrequests, async context.

const DISPATCH = [{ type: 'dispatch_namespace', name: 'DISPATCHER' }];

test('get() is synchronous and lazy, and refuses a name that is not a string', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (req, env) { var stub = env.DISPATCHER.get("does-not-exist");' +
    ' var msg; try { env.DISPATCHER.get(42); } catch (e) { msg = e.name; } return new Response(typeof stub.fetch + "|" + msg); } };', DISPATCH);
  sb.handle(1);
  assert.strictEqual(sb.result(1).body, 'function|TypeError');
  assert.strictEqual(sb.subrequests().length, 0);
});

test('stub.fetch passes parent, binding, script, args, method, url, headers and body to the host', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (req, env) { return env.DISPATCHER.get("customer-a", { plan: "pro" })' +
    '.fetch("https://customer-a.example/api", { method: "post", headers: { "X-Trace": "t" }, body: "payload" }); } };', DISPATCH);
  sb.handle(5);
  const [s] = sb.subrequests();
  assert.deepStrictEqual(
    { parentReqId: s.parentReqId, bindingName: s.bindingName, scriptName: s.scriptName, argsJson: s.argsJson, method: s.method, url: s.url, headers: s.headers, body: s.body },
    { parentReqId: 5, bindingName: 'DISPATCHER', scriptName: 'customer-a', argsJson: '{"plan":"pro"}', method: 'POST',
      url: 'https://customer-a.example/api', headers: [['x-trace', 't'], ['content-type', 'text/plain;charset=UTF-8']], body: 'payload' });
  assert.strictEqual(sb.answers(5).length, 0);
  assert.strictEqual(sb.subResolve(s.subId, 202, 'Accepted', [['X-From', 'user']], 'user says hi'), true);
  const r = sb.result(5);
  assert.deepStrictEqual([r.status, r.statusText, r.headers, r.body], [202, 'Accepted', [['x-from', 'user']], 'user says hi']);
});

test('stub.fetch forwards the incoming Request, body included, and args undefined become ""', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (req, env) { return env.DISPATCHER.get("w").fetch(req); } };', DISPATCH);
  sb.handle(1, 'PUT', 'https://in.example/x', [['content-type', 'application/json']], '{"a":1}');
  const [s] = sb.subrequests();
  assert.deepStrictEqual([s.argsJson, s.method, s.url, s.headers, s.body], ['', 'PUT', 'https://in.example/x', [['content-type', 'application/json']], '{"a":1}']);
});

test('the subrequest Response can be read by the dispatcher', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (req, env) { return env.DISPATCHER.get("w").fetch("https://w/").then(function (r) {' +
    ' return r.json().then(function (j) { return new Response(r.status + " " + r.ok + " " + r.url + " " + r.headers.get("x-a") + " " + j.v); }); }); } };', DISPATCH);
  sb.handle(1);
  sb.subResolve(101, 200, 'OK', [['X-A', 'b']], '{"v":7}');
  assert.strictEqual(sb.result(1).body, '200 true https://w/ b 7');
});

test('subReject rejects with an Error carrying the message, which the dispatcher can catch', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (req, env) { return env.DISPATCHER.get("missing").fetch(req).catch(function (e) {' +
    ' return new Response((e instanceof Error) + " " + e.message, { status: 404 }); }); } };', DISPATCH);
  sb.handle(1);
  assert.strictEqual(sb.subReject(101, 'Worker not found.'), true);
  assert.deepStrictEqual([sb.result(1).status, sb.result(1).body], [404, 'true Worker not found.']);
  assert.strictEqual(sb.subReject(101, 'again'), false);
  assert.strictEqual(sb.subResolve(999, 200), false);
});

test('an uncaught user-worker exception is re-thrown in the dispatcher with its message', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (req, env) { return env.DISPATCHER.get("w").fetch(req); } };', DISPATCH);
  sb.handle(1);
  sb.subReject(101, 'user worker exploded');
  assert.deepStrictEqual([sb.result(1).kind, sb.result(1).message], ['exception', 'user worker exploded']);
});

test('when the host refuses a subrequest the promise rejects with its error', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (req, env) { return env.DISPATCHER.get("w").fetch(req)' +
    '.then(null, function (e) { return new Response("refused: " + e.message); }); } };', DISPATCH);
  sb.refuseSubrequests = 'Too many subrequests.';
  sb.handle(1);
  assert.strictEqual(sb.result(1).body, 'refused: Too many subrequests.');
});

test('a bad Request for stub.fetch rejects instead of throwing', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (req, env) { var p = env.DISPATCHER.get("w").fetch("https://w/", { method: "GET", body: "x" });' +
    ' return p.catch(function (e) { return new Response(e.name); }); } };', DISPATCH);
  sb.handle(1);
  assert.strictEqual(sb.result(1).body, 'TypeError');
  assert.strictEqual(sb.subrequests().length, 0);
});

test('stub.fetch at the top level of the script rejects: there is no request to charge', () => {
  const sb = new Sandbox();
  assert.strictEqual(sb.load('service-worker', DISPATCH, 'var early = "pending";' +
    ' DISPATCHER.get("w").fetch("https://w/").then(null, function (e) { early = e.message; });' +
    ' addEventListener("fetch", function (e) { e.respondWith(new Response(early)); });'), '');
  sb.handle(1);
  assert.match(sb.result(1).body, /global scope/);
  assert.strictEqual(sb.subrequests().length, 0);
});

test('the parent of a subrequest made in a then-chain is the request that started the chain', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (req, env) { var who = req.headers.get("x-id");' +
    ' return env.DISPATCHER.get("first-" + who).fetch("https://first/" + who).then(function (r) { return r.text(); }).then(function (t) {' +
    '   console.log("got " + t + " for " + who);' +
    '   return env.DISPATCHER.get("second-" + who).fetch("https://second/" + who);' +
    ' }).then(function (r2) { return new Response(who + ":" + r2.status); }); } };', DISPATCH);
  sb.handle(1, 'GET', 'https://a/', [['x-id', 'a']]);
  sb.handle(2, 'GET', 'https://a/', [['x-id', 'b']]);
  let subs = sb.subrequests();
  assert.deepStrictEqual(subs.map((s) => [s.parentReqId, s.scriptName, s.subId]), [[1, 'first-a', 101], [2, 'first-b', 102]]);
  sb.subResolve(102, 200, '', [], 'B');
  sb.subResolve(101, 200, '', [], 'A');
  subs = sb.subrequests();
  assert.deepStrictEqual(subs.slice(2).map((s) => [s.parentReqId, s.scriptName]), [[2, 'second-b'], [1, 'second-a']]);
  assert.deepStrictEqual(sb.logs().map((l) => [l.reqId, l.text]), [[2, 'got B for b'], [1, 'got A for a']]);
  sb.subResolve(104, 201);
  sb.subResolve(103, 202);
  assert.strictEqual(sb.result(1).body, 'a:201');
  assert.strictEqual(sb.result(2).body, 'b:202');
  assert.strictEqual(sb.wfp.current, null);
});

test('a reaction runs in the context of the request that called then, not the one that settled', () => {
  const sb = new Sandbox();
  commonjs(sb, 'var shared, resolveShared; module.exports = { fetch: function (req) {' +
    ' if (req.url.indexOf("make") > 0) { shared = new Promise(function (r) { resolveShared = r; }); return new Response("made"); }' +
    ' if (req.url.indexOf("wait") > 0) return shared.then(function () { console.log("waiter"); queueMicrotask(function () { console.log("micro"); });' +
    '   return new Response("waited"); });' +
    ' resolveShared(1); return new Response("resolved"); } };');
  sb.handle(1, 'GET', 'https://a/make');
  sb.handle(2, 'GET', 'https://a/wait');
  sb.handle(3, 'GET', 'https://a/resolve');
  assert.deepStrictEqual(sb.logs().map((l) => [l.reqId, l.text]), [[2, 'waiter'], [2, 'micro']]);
  assert.strictEqual(sb.result(2).body, 'waited');
});

test('__wfp.current is the running request inside handlers and null outside', () => {
  const sb = new Sandbox();
  const seen = [];
  sb.context.peek = () => seen.push(sb.wfp.current);
  commonjs(sb, 'peek(); module.exports = { fetch: function () { peek(); return Promise.resolve().then(function () { peek(); return new Response(""); }); } };');
  sb.handle(9);
  assert.deepStrictEqual(seen, [null, 9, 9]);
  assert.strictEqual(sb.wfp.current, null);
});

test('waitUntil accepts promises and logs a rejection under the request', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (r, e, ctx) { ctx.waitUntil(Promise.reject(new Error("bg failed")));' +
    ' ctx.waitUntil(Promise.resolve(1)); ctx.passThroughOnException(); return new Response("ok"); } };');
  sb.handle(3);
  assert.strictEqual(sb.result(3).body, 'ok');
  const l = sb.logs();
  assert.strictEqual(l.length, 1);
  assert.deepStrictEqual([l[0].level, l[0].reqId], ['error', 3]);
  assert.match(l[0].text, /bg failed/);
});

// ---------------------------------------------------------------------------
// Promise.

test('then callbacks run only when the host drains the queue', () => {
  const sb = new Sandbox();
  sb.run('var log = []; Promise.resolve(1).then(function (v) { log.push(v); }); queueMicrotask(function () { log.push("q"); });');
  assert.deepStrictEqual(plain(sb.run('log')), []);
  assert.strictEqual(sb.drain(), 2);
  assert.deepStrictEqual(plain(sb.run('log')), [1, 'q']);
});

// The same script under node's native Promise and under ours must log the
// same order of events.
const ORDERING_SCRIPTS = {
  'nested then chains interleave': `
    Promise.resolve().then(function () { log.push('a1'); }).then(function () { log.push('a2'); }).then(function () { log.push('a3'); });
    Promise.resolve().then(function () { log.push('b1'); }).then(function () { log.push('b2'); });
    queueMicrotask(function () { log.push('q'); });`,
  'resolving with a promise takes two extra ticks': `
    new Promise(function (r) { r(Promise.resolve('x')); }).then(function (v) { log.push('adopted ' + v); });
    Promise.resolve().then(function () { log.push('t1'); }).then(function () { log.push('t2'); }).then(function () { log.push('t3'); });`,
  'returning a promise from then': `
    Promise.resolve().then(function () { return Promise.resolve('r'); }).then(function (v) { log.push(v); });
    Promise.resolve().then(function () { log.push(1); }).then(function () { log.push(2); }).then(function () { log.push(3); }).then(function () { log.push(4); });`,
  'thenables are called in a job': `
    var th = { then: function (ok) { log.push('then called'); ok('th'); } };
    Promise.resolve(th).then(function (v) { log.push(v); });
    log.push('sync');
    Promise.resolve().then(function () { log.push('p1'); }).then(function () { log.push('p2'); });`,
  'catch and finally': `
    Promise.reject(new Error('e')).catch(function (e) { log.push('caught ' + e.message); return 'v'; })
      .finally(function () { log.push('finally'); }).then(function (v) { log.push('after ' + v); });
    Promise.reject('r').finally(function () { log.push('f2'); }).then(null, function (r) { log.push('still ' + r); });
    Promise.resolve().then(function () { log.push(1); }).then(function () { log.push(2); }).then(function () { log.push(3); }).then(function () { log.push(4); }).then(function () { log.push(5); });`,
  'all, allSettled, race, any': `
    Promise.all([1, Promise.resolve(2), { then: function (r) { r(3); } }]).then(function (v) { log.push('all ' + v.join()); });
    Promise.all([Promise.reject('no'), 1]).catch(function (e) { log.push('all rejected ' + e); });
    Promise.allSettled([Promise.reject('x'), 2]).then(function (v) { log.push(JSON.stringify(v)); });
    Promise.race([new Promise(function () {}), Promise.resolve('fast')]).then(function (v) { log.push('race ' + v); });
    Promise.any([Promise.reject(1), Promise.resolve('any ok')]).then(function (v) { log.push(v); });
    Promise.any([Promise.reject(1), Promise.reject(2)]).catch(function (e) { log.push(e.constructor.name + ' ' + e.errors.join()); });
    Promise.all([]).then(function (v) { log.push('empty ' + v.length); });
    Promise.resolve().then(function () { log.push(1); }).then(function () { log.push(2); }).then(function () { log.push(3); });`,
  'executor and resolver edge cases': `
    new Promise(function (ok, no) { ok(1); no(2); ok(3); }).then(function (v) { log.push('first wins ' + v); });
    new Promise(function () { throw new Error('thrown'); }).catch(function (e) { log.push(e.message); });
    new Promise(function (ok) { ok(4); throw new Error('ignored'); }).then(function (v) { log.push('resolved ' + v); });
    var p = new Promise(function (ok) { resolveLater = ok; }); p.then(function (v) { log.push('late ' + v); }); resolveLater(5);
    var selfRef = Promise.resolve().then(function () { return selfRef; }); selfRef.catch(function (e) { log.push(e.constructor.name); });
    var bad = {}; Object.defineProperty(bad, 'then', { get: function () { throw new Error('getter'); } });
    Promise.resolve(bad).catch(function (e) { log.push(e.message); });
    Promise.resolve({ then: function (ok, no) { ok('once'); no('never'); throw new Error('never'); } }).then(function (v) { log.push(v); });
    Promise.resolve(1).then(2, 3).then(function (v) { log.push('passthrough ' + v); });
    Promise.reject(9).then(function () {}, undefined).catch(function (v) { log.push('reject passthrough ' + v); });`,
};

for (const [name, script] of Object.entries(ORDERING_SCRIPTS)) {
  test('ordering matches native promises: ' + name, async () => {
    const native = vm.createContext({ log: [], queueMicrotask });
    vm.runInContext('var resolveLater;' + script, native);
    await new Promise((r) => setImmediate(r));
    const sb = new Sandbox();
    sb.run('var log = []; var resolveLater;' + script);
    sb.drain();
    assert.deepStrictEqual(plain(sb.run('log')), plain(native.log));
  });
}

test('Promise statics and prototype look like the built-in', () => {
  const sb = new Sandbox();
  assert.strictEqual(sb.run('var p = Promise.resolve(1); Promise.resolve(p) === p'), true);
  assert.strictEqual(sb.run('Object.prototype.toString.call(Promise.resolve())'), '[object Promise]');
  assert.strictEqual(sb.run('Object.keys(Promise.resolve(1)).length + JSON.stringify(Promise.resolve(1))'), '0{}');
  assert.throws(() => sb.run('Promise(function () {})'), /new/);
  assert.throws(() => sb.run('new Promise(1)'), typeError);
  assert.throws(() => sb.run('Promise.prototype.then.call({}, function () {})'), typeError);
  assert.strictEqual(sb.run('Promise.resolve() instanceof Promise && Promise.reject(1).catch(function () {}) instanceof Promise'), true);
});

test('a throwing microtask is logged and the queue keeps draining', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function () { queueMicrotask(function () { throw new Error("micro boom"); });' +
    ' return Promise.resolve().then(function () { return new Response("still here"); }); } };');
  sb.handle(4);
  assert.strictEqual(sb.result(4).body, 'still here');
  const l = sb.logs();
  assert.deepStrictEqual([l.length, l[0].level, l[0].reqId], [1, 'error', 4]);
  assert.match(l[0].text, /micro boom/);
  assert.throws(() => sb.run('queueMicrotask(1)'), typeError);
});

test('unhandled rejections are ignored', () => {
  const sb = new Sandbox();
  sb.run('Promise.reject(new Error("nobody cares")); Promise.resolve().then(function () { throw 1; });');
  sb.drain();
  assert.deepStrictEqual(sb.calls, []);
});

test('a long promise chain drains without growing memory without bound', () => {
  const sb = new Sandbox();
  sb.run('var n = 0; function step() { if (++n < 20000) return Promise.resolve().then(step); } Promise.resolve().then(step);');
  sb.drain();
  assert.strictEqual(sb.run('n'), 20000);
});

// ---------------------------------------------------------------------------
// Headers.

test('Headers names are case-insensitive and lower-cased; get joins values with ", "', () => {
  const sb = new Sandbox();
  sb.run('var h = new Headers(); h.append("Accept", "a"); h.append("ACCEPT", "b"); h.set("X-One", "1");');
  assert.strictEqual(sb.run('h.get("accept")'), 'a, b');
  assert.strictEqual(sb.run('h.has("x-ONE") && !h.has("x-two")'), true);
  assert.strictEqual(sb.run('h.get("missing")'), null);
  sb.run('h.set("accept", "c")');
  assert.strictEqual(sb.run('h.get("Accept")'), 'c');
  sb.run('h.delete("Accept")');
  assert.strictEqual(sb.run('h.has("accept")'), false);
});

test('Headers iterate sorted by name with values combined, set-cookie kept apart', () => {
  const sb = new Sandbox();
  sb.run('var h = new Headers([["Zeta", "z"], ["set-cookie", "a=1"], ["Alpha", "1"], ["Set-Cookie", "b=2"], ["alpha", "2"]]);');
  assert.deepStrictEqual(plain(sb.run('var out = []; var it = h.entries(); for (var s = it.next(); !s.done; s = it.next()) out.push(s.value); out')),
    [['alpha', '1, 2'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['zeta', 'z']]);
  assert.deepStrictEqual(plain(sb.run('Array.from(h.keys())')), ['alpha', 'set-cookie', 'set-cookie', 'zeta']);
  assert.deepStrictEqual(plain(sb.run('Array.from(h.values())')), ['1, 2', 'a=1', 'b=2', 'z']);
  assert.deepStrictEqual(plain(sb.run('Array.from(h)')), [['alpha', '1, 2'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['zeta', 'z']]);
  assert.deepStrictEqual(plain(sb.run('h.getSetCookie()')), ['a=1', 'b=2']);
  assert.deepStrictEqual(plain(sb.run('var f = []; h.forEach(function (v, k, o) { f.push([k, v, o === h, this.t]); }, { t: 1 }); f')),
    [['alpha', '1, 2', true, 1], ['set-cookie', 'a=1', true, 1], ['set-cookie', 'b=2', true, 1], ['zeta', 'z', true, 1]]);
});

test('Headers are built from Headers, pairs, plain objects and iterables', () => {
  const sb = new Sandbox();
  assert.strictEqual(sb.run('new Headers(new Headers({ A: "1" })).get("a")'), '1');
  assert.strictEqual(sb.run('new Headers({ "Content-Type": "text/html", n: 5 }).get("N")'), '5');
  assert.strictEqual(sb.run('new Headers([["a", "1"], ["a", "2"]]).get("a")'), '1, 2');
  assert.strictEqual(sb.run('new Headers(new Headers([["b", "2"]]).entries()).get("b")'), '2');
  assert.strictEqual(sb.run('var src = new Headers({ a: "1" }); var copy = new Headers(src); copy.set("a", "2"); src.get("a")'), '1');
  assert.throws(() => sb.run('new Headers([["a", "1", "x"]])'), typeError);
  assert.throws(() => sb.run('new Headers([["a"]])'), typeError);
  assert.throws(() => sb.run('new Headers("a: b")'), typeError);
  assert.throws(() => sb.run('Headers()'), typeError);
});

test('Headers refuse names that are not tokens and values with CR, LF or NUL', () => {
  const sb = new Sandbox();
  const names = ['bad name', 'bad:name', '', 'naïve', 'a\nb'];
  for (const n of names) {
    assert.throws(() => sb.run('new Headers().append(' + JSON.stringify(n) + ', "v")'), (e) => e.name === 'TypeError' && e.message === 'Invalid header name.', n);
  }
  for (const op of ['get', 'has', 'delete']) assert.throws(() => sb.run('new Headers()["' + op + '"]("a b")'), /Invalid header name/);
  for (const v of ['a\rb', 'a\nb', 'a\u0000b']) {
    assert.throws(() => sb.run('new Headers({ a: ' + JSON.stringify(v) + ' })'), (e) => e.name === 'TypeError' && e.message === 'Invalid header value.');
  }
  assert.strictEqual(sb.run('new Headers({ a: " \\t padded\\t \\r\\n" }).get("a")'), 'padded');
  assert.strictEqual(sb.run('new Headers({ "!#$%&\'*+-.^_`|~09AZaz": "ok" }).get("!#$%&\'*+-.^_`|~09azaz")'), 'ok');
});

test('header names from the host are lower-cased; a name the native declines is lower-cased in JavaScript', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (req) { return new Response(Array.from(req.headers.keys()).join(" ")); } };');
  sb.handle(1, 'GET', 'https://a/', [['X-Upper', '1'], ['host', 'a']]);
  assert.strictEqual(sb.result(1).body, 'host x-upper');
  sb.handle(2, 'GET', 'https://a/', [['X-\u00c0', 'latin-1'], ['X-B', '2']]);
  assert.strictEqual(sb.result(2).body, 'x-b x-\u00e0');
});

// ---------------------------------------------------------------------------
// Request and Response.

test('Request upper-cases the standard methods only and normalises http URLs', () => {
  const sb = new Sandbox();
  assert.deepStrictEqual(plain(sb.run('["get", "post", "Delete", "options", "head", "put", "patch", "PROPFIND"].map(function (m) { return new Request("https://a/", { method: m }).method; })')),
    ['GET', 'POST', 'DELETE', 'OPTIONS', 'HEAD', 'PUT', 'patch', 'PROPFIND']);
  assert.strictEqual(sb.run('new Request("HTTPS://Example.COM").url'), 'https://example.com/');
  assert.strictEqual(sb.run('new Request("https://example.com?x=1").url'), 'https://example.com/?x=1');
  assert.strictEqual(sb.run('new Request("https://example.com/A/b?C").url'), 'https://example.com/A/b?C');
  assert.throws(() => sb.run('new Request("/relative")'), typeError);
  assert.throws(() => sb.run('new Request("https://a/", { method: "bad method" })'), typeError);
  assert.strictEqual(sb.run('new Request("https://a/").method'), 'GET');
});

test('Request refuses a body on GET and HEAD', () => {
  const sb = new Sandbox();
  assert.throws(() => sb.run('new Request("https://a/", { body: "x" })'), typeError);
  assert.throws(() => sb.run('new Request("https://a/", { method: "HEAD", body: "x" })'), typeError);
  assert.strictEqual(sb.run('new Request("https://a/", { method: "GET", body: null }).bodyUsed'), false);
});

test('Request bodies: string, ArrayBuffer, typed array and DataView, copied on construction', () => {
  const sb = new Sandbox();
  assert.strictEqual(sb.value('return new Request("https://a/", { method: "POST", body: "héllo" }).text();'), 'héllo');
  assert.strictEqual(sb.run('new Request("https://a/", { method: "POST", body: "x" }).headers.get("content-type")'), 'text/plain;charset=UTF-8');
  assert.strictEqual(sb.run('new Request("https://a/", { method: "POST", body: new Uint8Array([1]) }).headers.has("content-type")'), false);
  assert.strictEqual(sb.run('new Request("https://a/", { method: "POST", body: "x", headers: { "Content-Type": "text/csv" } }).headers.get("content-type")'), 'text/csv');
  assert.strictEqual(sb.value('var u = new Uint8Array([104, 105]); var r = new Request("https://a/", { method: "POST", body: u }); u[0] = 0; return r.text();'), 'hi');
  assert.strictEqual(sb.value('var b = new Uint8Array([0, 111, 107, 0]).buffer; return new Request("https://a/", { method: "POST", body: new DataView(b, 1, 2) }).text();'), 'ok');
  assert.strictEqual(sb.value('return new Request("https://a/", { method: "POST", body: new Uint16Array([0x6968]).buffer }).text();'), 'hi');
  assert.deepStrictEqual(plain(sb.value('return new Request("https://a/", { method: "POST", body: "{\\"a\\":[1]}" }).json();')), { a: [1] });
  assert.deepStrictEqual(Array.from(sb.value('return new Request("https://a/", { method: "POST", body: "ab" }).arrayBuffer().then(function (b) { return new Uint8Array(b); });')), [97, 98]);
  assert.strictEqual(sb.value('return new Request("https://a/").text();'), '');
});

test('a body can be read once; a second read rejects with TypeError', () => {
  const sb = new Sandbox();
  const e = sb.rejection('var r = new Request("https://a/", { method: "POST", body: "x" }); return r.text().then(function () { return r.text(); });');
  assert.strictEqual(e.name, 'TypeError');
  assert.strictEqual(e.message, 'Body has already been used.');
  assert.strictEqual(sb.run('var r2 = new Response("x"); r2.text(); r2.bodyUsed'), true);
  assert.strictEqual(sb.rejection('return new Response("{").json();').name, 'SyntaxError');
});

test('clone keeps the body readable twice; cloning a used body throws', () => {
  const sb = new Sandbox();
  assert.strictEqual(sb.value('var r = new Response("dup", { status: 201, headers: { a: "1" } }); var c = r.clone(); c.headers.set("a", "2");' +
    ' return Promise.all([r.text(), c.text()]).then(function (t) { return t.join() + r.headers.get("a") + c.status; });'), 'dup,dup1201');
  assert.strictEqual(sb.value('var q = new Request("https://a/", { method: "POST", body: "b" }); var c = q.clone();' +
    ' return q.text().then(function (t) { return c.text().then(function (u) { return t + u + c.method; }); });'), 'bbPOST');
  assert.throws(() => sb.run('var u = new Response("x"); u.text(); u.clone()'), typeError);
});

test('new Request(request, init) moves the body and overrides method and headers', () => {
  const sb = new Sandbox();
  assert.strictEqual(sb.value('var a = new Request("https://a/", { method: "POST", body: "moved", headers: { x: "1" } });' +
    ' var b = new Request(a, { headers: { y: "2" } });' +
    ' return b.text().then(function (t) { return [t, a.bodyUsed, b.method, b.url, b.headers.has("x"), b.headers.get("y")].join(); });'),
  'moved,true,POST,https://a/,false,2');
  assert.throws(() => sb.run('var used = new Request("https://a/", { method: "POST", body: "x" }); used.text(); new Request(used)'), typeError);
  assert.throws(() => sb.run('new Request(new Request("https://a/", { method: "POST", body: "x" }), { method: "GET" })'), typeError);
});

test('Response defaults and status checks', () => {
  const sb = new Sandbox();
  assert.deepStrictEqual(plain(sb.run('var r = new Response(); [r.status, r.statusText, r.ok, r.redirected, r.type, r.url, r.bodyUsed, r.body]')),
    [200, '', true, false, 'default', '', false, null]);
  assert.strictEqual(sb.run('new Response("x", { status: 404 }).ok'), false);
  for (const s of [199, 600, 0, 'abc']) {
    assert.throws(() => sb.run('new Response("", { status: ' + JSON.stringify(s) + ' })'), (e) => e.name === 'RangeError', String(s));
  }
  assert.throws(() => sb.run('new Response("body", { status: 204 })'), typeError);
  assert.throws(() => sb.run('new Response("x", { statusText: "a\\r\\nb: c" })'), typeError);
  assert.strictEqual(sb.run('new Response("x").headers.get("content-type")'), 'text/plain;charset=UTF-8');
  assert.strictEqual(sb.run('new Response(new Uint8Array([1])).headers.has("content-type")'), false);
  assert.strictEqual(sb.run('var base = new Response("x", { status: 202, headers: { k: "v" } }); var copy = new Response(base.body, base); copy.status + copy.headers.get("k")'), '202v');
});

test('Response.json, Response.redirect and Response.error', () => {
  const sb = new Sandbox();
  assert.strictEqual(sb.value('var r = Response.json({ a: [1, "b"] }, { status: 201, headers: { x: "y" } });' +
    ' return r.text().then(function (t) { return [r.status, r.headers.get("content-type"), r.headers.get("x"), t].join("|"); });'),
  '201|application/json|y|{"a":[1,"b"]}');
  assert.strictEqual(sb.run('Response.json(1, { headers: { "content-type": "application/vnd+json" } }).headers.get("content-type")'), 'application/vnd+json');
  assert.throws(() => sb.run('Response.json(undefined)'), typeError);
  assert.deepStrictEqual(plain(sb.run('var r = Response.redirect("https://to.example/x"); [r.status, r.headers.get("location")]')), [302, 'https://to.example/x']);
  assert.strictEqual(sb.run('Response.redirect("https://to/", 301).status'), 301);
  assert.throws(() => sb.run('Response.redirect("https://to/", 200)'), (e) => e.name === 'RangeError');
  assert.throws(() => sb.run('Response.redirect("https://to/").headers.set("a", "b")'), /immutable/);
  assert.deepStrictEqual(plain(sb.run('var e = Response.error(); [e.status, e.type]')), [0, 'error']);
});

test('returning Response.error() fails the request as a bad response', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function () { return Response.error(); } };');
  sb.handle(1);
  assert.strictEqual(sb.result(1).kind, 'bad_response');
});

test('Request, Response and Headers hide their internal state from enumeration', () => {
  const sb = new Sandbox();
  assert.strictEqual(sb.run('JSON.stringify([new Headers({ a: "1" }), new Response("x"), new Request("https://a/")])'), '[{},{},{}]');
  assert.strictEqual(sb.run('Object.prototype.toString.call(new Headers())'), '[object Headers]');
  assert.strictEqual(sb.run('var k = []; for (var x in new Response("x")) k.push(x); k.indexOf("status") >= 0 && k.indexOf("text") < 0'), true);
});

// ---------------------------------------------------------------------------
// console.

test('console methods format their arguments and log under the current request', () => {
  const sb = new Sandbox();
  commonjs(sb, 'console.info("top", 1); module.exports = { fetch: function () { var cyc = {}; cyc.self = cyc;' +
    ' console.log("s", 42, true, null, undefined, { a: [1] }, [1, "x"]); console.warn(cyc); console.error(new Error("oops"));' +
    ' console.debug(function named() {}); return new Response(""); } };');
  sb.handle(8);
  const l = sb.logs();
  assert.deepStrictEqual(l.slice(0, 3).map((x) => [x.level, x.reqId, x.text]), [
    ['info', null, 'top 1'],
    ['log', 8, 's 42 true null undefined {"a":[1]} [1,"x"]'],
    ['warn', 8, '[object Object]'],
  ]);
  assert.strictEqual(l[3].level, 'error');
  assert.match(l[3].text, /^Error: oops/);
  assert.deepStrictEqual([l[4].level, l[4].text], ['debug', '[Function: named]']);
});

// ---------------------------------------------------------------------------
// Request lifecycle: host.done() once per request, after the answer and
// after every waitUntil promise settled.

test('done follows a synchronous answer at once, a failure too, and is called once', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (r) { if (r.url.indexOf("boom") >= 0) throw new Error("boom");' +
    ' return new Response("ok"); } };');
  sb.handle(1);
  sb.handle(2, 'GET', 'https://a/boom');
  assert.deepStrictEqual(sb.hostCalls(1), ['respond', 'done']);
  assert.deepStrictEqual(sb.hostCalls(2), ['fail', 'done']);
  assert.deepStrictEqual(sb.violations, []);
});

test('done waits for every waitUntil promise, like Promise.allSettled, and logs the rejected ones', () => {
  const sb = new Sandbox();
  commonjs(sb, 'var release = []; module.exports = { fetch: function (r, env, ctx) {' +
    ' ctx.waitUntil(new Promise(function (res) { release.push(res); }));' +
    ' ctx.waitUntil(new Promise(function (res, rej) { release.push(function () { rej(new Error("late failure")); }); }));' +
    ' return new Response("answered first"); } };');
  sb.handle(5);
  assert.deepStrictEqual(sb.hostCalls(5), ['respond']);
  sb.run('release[1]()');
  sb.drain();
  assert.strictEqual(sb.doneCalls(5), 0);
  const l = sb.logs();
  assert.deepStrictEqual([l.length, l[0].level, l[0].reqId], [1, 'error', 5]);
  assert.match(l[0].text, /late failure/);
  sb.run('release[0]()');
  sb.drain();
  assert.deepStrictEqual(sb.hostCalls(5), ['respond', 'done']);
  assert.deepStrictEqual(sb.violations, []);
});

test('waitUntil work that settles before the answer does not call done early', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (r, env, ctx) { ctx.waitUntil(Promise.resolve(1));' +
    ' return Promise.resolve().then(function () { return Promise.resolve(); }).then(function () { return new Response("x"); }); } };');
  sb.handle(1);
  assert.deepStrictEqual(sb.hostCalls(1), ['respond', 'done']);
  assert.deepStrictEqual(sb.violations, []);
});

test('a request that never answers is never done; one whose waitUntil never settles neither', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (r, env, ctx) { if (r.url === "https://a/hang") return new Promise(function () {});' +
    ' ctx.waitUntil(new Promise(function () {})); return new Response(""); } };');
  sb.handle(1, 'GET', 'https://a/hang');
  sb.handle(2);
  assert.strictEqual(sb.doneCalls(1), 0);
  assert.deepStrictEqual(sb.hostCalls(2), ['respond']);
});

test('service-worker event.waitUntil, a detached ctx.waitUntil and passThroughOnException work', () => {
  const sb = new Sandbox();
  assert.strictEqual(sb.load('service-worker', [], 'var go; addEventListener("fetch", function (e) {' +
    ' e.waitUntil(new Promise(function (r) { go = r; })); e.passThroughOnException(); e.respondWith(new Response("sw")); });'), '');
  sb.handle(1);
  assert.deepStrictEqual(sb.hostCalls(1), ['respond']);
  sb.run('go()');
  sb.drain();
  assert.deepStrictEqual(sb.hostCalls(1), ['respond', 'done']);

  const sb2 = new Sandbox();
  commonjs(sb2, 'var go, saved; module.exports = { fetch: function (r, env, ctx) { saved = ctx; var w = ctx.waitUntil, p = ctx.passThroughOnException;' +
    ' p(); w(new Promise(function (r) { go = r; })); return new Response(""); } };');
  sb2.handle(3);
  assert.strictEqual(sb2.doneCalls(3), 0);
  sb2.run('go()');
  sb2.drain();
  assert.strictEqual(sb2.doneCalls(3), 1);
  // Outside any request, a detached waitUntil has no request to wait for.
  assert.throws(() => sb2.run('var detached = Object.getPrototypeOf(saved).waitUntil; detached(Promise.resolve())'), /Illegal invocation/);
});

test('waitUntil after the request is done is ignored with a warning', () => {
  const sb = new Sandbox();
  commonjs(sb, 'var saved; module.exports = { fetch: function (r, env, ctx) { saved = ctx; return new Response(""); } };' +
    ' function later() { saved.waitUntil(Promise.resolve()); }');
  sb.handle(1);
  sb.run('later()');
  assert.strictEqual(sb.doneCalls(1), 1);
  assert.match(sb.logs()[0].text, /after the request had finished/);
  assert.deepStrictEqual(sb.violations, []);
});

test('a request id can be used again once it is done, not before', () => {
  const sb = new Sandbox();
  commonjs(sb, 'var go; module.exports = { fetch: function (r, env, ctx) { ctx.waitUntil(new Promise(function (r) { go = r; }));' +
    ' return new Response("x"); } };');
  sb.handle(1);
  assert.throws(() => sb.wfp.handle(1, 'GET', 'https://a/', [], null, ''), /already running/);
  sb.run('go()');
  sb.drain();
  sb.answered.delete(1);
  sb.doneCount.delete(1);
  sb.handle(1);
  assert.strictEqual(sb.doneCalls(1), 0);
});

// ---------------------------------------------------------------------------
// Timers.

test('timers set at the top level throw a clear Error', () => {
  const sb = new Sandbox();
  assert.throws(() => sb.run('setTimeout(function () {}, 1)'), (e) => e.name === 'Error' && /setTimeout\(\).*handling a request/.test(e.message));
  assert.throws(() => sb.run('setInterval(function () {}, 1)'), /setInterval\(\)/);
  assert.throws(() => sb.run('AbortSignal.timeout(5)'), /AbortSignal\.timeout\(\)/);
  assert.strictEqual(sb.calls.length, 0);
});

test('setTimeout delays the answer until the host fires the timer, then the request is done', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function () { return new Promise(function (resolve) {' +
    ' setTimeout(function (a, b) { resolve(new Response(a + b + (this === globalThis))); }, 50, "x", "y"); }); } };');
  sb.handle(1);
  assert.deepStrictEqual(sb.calls.filter((c) => c.fn === 'setTimer').map((c) => [c.reqId, c.ms]), [[1, 50]]);
  sb.advance(49);
  assert.strictEqual(sb.answers(1).length, 0);
  sb.advance(1);
  assert.strictEqual(sb.result(1).body, 'xytrue');
  assert.deepStrictEqual(sb.hostCalls(1), ['setTimer', 'respond', 'done']);
});

test('a timer callback runs in the context of the request that set it', () => {
  const sb = new Sandbox();
  const seen = [];
  sb.context.peek = (tag) => seen.push([tag, sb.wfp.current]);
  commonjs(sb, 'module.exports = { fetch: function (r) { var tag = r.url.slice(-1);' +
    ' return new Promise(function (res) { setTimeout(function () { peek(tag); Promise.resolve().then(function () { peek(tag);' +
    ' res(new Response(tag)); }); }, tag === "a" ? 20 : 10); }); } };');
  sb.handle(1, 'GET', 'https://x/a');
  sb.handle(2, 'GET', 'https://x/b');
  sb.advance(30);
  assert.deepStrictEqual(seen, [['b', 2], ['b', 2], ['a', 1], ['a', 1]]);
  assert.strictEqual(sb.result(1).body, 'a');
  assert.strictEqual(sb.result(2).body, 'b');
  assert.strictEqual(sb.wfp.current, null);
});

test('clearTimeout cancels a timer and tells the host; unknown ids are ignored', () => {
  const sb = new Sandbox();
  commonjs(sb, 'var fired = 0; module.exports = { fetch: function () { var id = setTimeout(function () { fired++; }, 5);' +
    ' clearTimeout(id); clearTimeout(id); clearTimeout(undefined); clearTimeout("1"); clearInterval(12345);' +
    ' return new Promise(function (r) { setTimeout(function () { r(new Response(typeof id + fired)); }, 10); }); } };');
  sb.handle(1);
  const hostId = sb.calls.find((c) => c.fn === 'setTimer').id;
  assert.deepStrictEqual(sb.calls.filter((c) => c.fn === 'clearTimer').map((c) => c.id), [hostId]);
  assert.strictEqual(sb.wfp.fireTimer(hostId), false); // a stale firing is ignored
  sb.advance(10);
  assert.strictEqual(sb.result(1).body, 'number0');
});

test('setInterval keeps its id across firings and clearInterval inside the callback stops it', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function () { return new Promise(function (resolve) { var n = 0, ids = [];' +
    ' var id = setInterval(function () { n++; ids.push(id); if (n === 3) { clearInterval(id); resolve(new Response(n + ":" + ids.join())); } }, 10); }); } };');
  sb.handle(1);
  sb.advance(100);
  const id = sb.run('1'); // the script's id is the first timer id the runtime gave out
  assert.strictEqual(sb.result(1).body, '3:' + [id, id, id].join());
  // Armed, then re-armed before each of the three callbacks; the last one cleared.
  assert.strictEqual(sb.calls.filter((c) => c.fn === 'setTimer').length, 4);
  assert.strictEqual(sb.calls.filter((c) => c.fn === 'clearTimer').length, 1);
  assert.strictEqual(sb.timers.size, 0);
});

test('delays are numbers of ms: NaN and negatives are 0, an interval at least 1', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function () { setTimeout(function () {}, "x"); setTimeout(function () {}, -5);' +
    ' setTimeout(function () {}, "20"); var i = setInterval(function () {}, 0); clearInterval(i); return new Response(""); } };');
  sb.handle(1);
  assert.deepStrictEqual(sb.calls.filter((c) => c.fn === 'setTimer').map((c) => c.ms), [0, 0, 20, 1]);
});

test('an exception in a timer callback is logged under its request, which can still answer', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function () { setTimeout(function () { throw new Error("tick failed"); }, 1);' +
    ' return new Promise(function (r) { setTimeout(function () { r(new Response("fine")); }, 2); }); } };');
  sb.handle(4);
  sb.advance(5);
  assert.strictEqual(sb.result(4).body, 'fine');
  const l = sb.logs();
  assert.deepStrictEqual([l.length, l[0].level, l[0].reqId], [1, 'error', 4]);
  assert.match(l[0].text, /tick failed/);
});

test('timers die with their request: a late firing runs nothing', () => {
  const sb = new Sandbox();
  commonjs(sb, 'var ran = false; module.exports = { fetch: function () { setTimeout(function () { ran = true; }, 100);' +
    ' return new Response("now"); } };');
  sb.handle(1);
  const hostId = sb.calls.find((c) => c.fn === 'setTimer').id;
  assert.deepStrictEqual(sb.hostCalls(1), ['setTimer', 'respond', 'done']);
  assert.strictEqual(sb.wfp.fireTimer(hostId), false);
  sb.drain();
  assert.strictEqual(sb.run('ran'), false);
});

test('timers can run waitUntil work after the answer', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (r, env, ctx) { ctx.waitUntil(new Promise(function (res) {' +
    ' setTimeout(function () { console.log("background"); res(); }, 1000); })); return new Response("first"); } };');
  sb.handle(1);
  assert.deepStrictEqual(sb.hostCalls(1), ['setTimer', 'respond']);
  sb.advance(1000);
  assert.deepStrictEqual(sb.hostCalls(1), ['setTimer', 'respond', 'done']);
  assert.deepStrictEqual(sb.logs().map((l) => [l.reqId, l.text]), [[1, 'background']]);
});

test('setTimeout refuses a string of code and surfaces a host refusal', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (r) { if (r.url === "https://a/str") setTimeout("alert(1)", 1);' +
    ' return new Response(""); } };');
  sb.handle(1, 'GET', 'https://a/str');
  assert.match(sb.result(1).message, /callback must be a function/);
  const refuse = new Sandbox();
  refuse.open = { has: () => false, add() {}, delete() {} }; // the runner refuses every timer
  commonjs(refuse, 'module.exports = { fetch: function () { try { setTimeout(function () {}, 1); } catch (e) { return new Response(e.message); } } };');
  refuse.handle(2);
  assert.match(refuse.result(2).body, /only be set while a request is running/);
});

// ---------------------------------------------------------------------------
// structuredClone.

test('structuredClone copies plain data deeply, keeping cycles and shared references', () => {
  const sb = new Sandbox();
  assert.strictEqual(sb.run('var a = { n: 1, s: "x", nested: { arr: [1, [2]], nul: null, u: undefined } }; a.self = a; a.twice = [a.nested, a.nested];' +
    ' var c = structuredClone(a); c.nested.arr[1].push(3);' +
    ' [c !== a, c.self === c, c.twice[0] === c.twice[1], c.twice[0] === c.nested, c.nested !== a.nested,' +
    '  a.nested.arr[1].length, "u" in c.nested, JSON.stringify(c.nested.arr)].join()'), 'true,true,true,true,true,1,true,[1,[2,3]]');
  assert.strictEqual(sb.run('var o = { get g() { return 5; } }; var k = structuredClone(o); Object.getOwnPropertyDescriptor(k, "g").value'), 5);
  assert.strictEqual(sb.run('[structuredClone(1), structuredClone("s"), structuredClone(null), structuredClone(undefined), structuredClone(true)].join()'), '1,s,,,true');
  assert.strictEqual(sb.run('function K() { this.v = 1; } K.prototype.m = 1; var c = structuredClone(new K()); [Object.getPrototypeOf(c) === Object.prototype, c.v].join()'), 'true,1');
});

test('structuredClone handles Map, Set, Date, RegExp, boxed primitives and Errors', () => {
  const sb = new Sandbox();
  assert.strictEqual(sb.run('var key = { k: 1 }; var m = new Map([[key, { v: key }], ["s", 2]]); m.set("me", m); var c = structuredClone(m);' +
    ' var ck = Array.from(c.keys())[0];' +
    ' [c instanceof Map, c !== m, c.get("me") === c, ck !== key, c.get(ck).v === ck, c.get("s")].join()'), 'true,true,true,true,true,2');
  assert.strictEqual(sb.run('var s = new Set([1, { a: 1 }]); var c = structuredClone(s); [c instanceof Set, c.size, c.has(1)].join()'), 'true,2,true');
  assert.strictEqual(sb.run('var d = new Date(12345); var c = structuredClone(d); [c instanceof Date, c !== d, c.getTime()].join()'), 'true,true,12345');
  assert.strictEqual(sb.run('var r = structuredClone(/a+b/gi); [r instanceof RegExp, r.source, r.global, r.ignoreCase].join()'), 'true,a+b,true,true');
  assert.strictEqual(sb.run('var b = structuredClone([new Number(3), new String("s"), new Boolean(false)]); b.map(function (x) { return typeof x + x.valueOf(); }).join()'), 'object3,objects,objectfalse');
  assert.strictEqual(sb.run('var e = structuredClone(new RangeError("too big")); [e instanceof RangeError, e.name, e.message, typeof e.stack].join()'), 'true,RangeError,too big,string');
  assert.strictEqual(sb.run('var e = new Error("x"); e.name = "Custom"; structuredClone(e).name'), 'Error');
});

test('structuredClone copies ArrayBuffers, typed arrays and DataViews, views of one buffer sharing one copy', () => {
  const sb = new Sandbox();
  assert.strictEqual(sb.run('var buf = new ArrayBuffer(8); var u = new Uint8Array(buf, 2, 4); var f = new Uint16Array(buf); var d = new DataView(buf, 1, 3);' +
    ' u[0] = 7; var c = structuredClone({ u: u, f: f, d: d, b: buf }); u[0] = 9;' +
    ' [c.u instanceof Uint8Array, c.u.byteOffset, c.u.length, c.u[0], c.u.buffer === c.b, c.f.buffer === c.b, c.d instanceof DataView,' +
    '  c.d.byteOffset, c.d.byteLength, c.b !== buf, c.b.byteLength].join()'), 'true,2,4,7,true,true,true,1,3,true,8');
});

test('structuredClone refuses functions, symbols and platform objects with DataCloneError', () => {
  const sb = new Sandbox();
  assert.throws(() => sb.run('structuredClone({ f: function () {} })'), (e) => e.name === 'TypeError' && /could not be cloned/.test(e.message));
  assert.throws(() => sb.run('structuredClone(Symbol("s"))'), typeError);
  for (const expr of ['Promise.resolve()', 'new Request("https://a/")', 'new Response("")', 'new Headers()', 'new WeakMap()', 'new AbortController()']) {
    assert.throws(() => sb.run('structuredClone(' + expr + ')'), typeError, expr);
  }
  assert.throws(() => sb.run('structuredClone()'), typeError);
  // With a DOMException (encoding.js provides it), the error is one.
  sb.run('globalThis.DOMException = function DOMException(message, name) { this.message = message; this.name = name; };');
  assert.throws(() => sb.run('structuredClone(function named() {})'), (e) => e.name === 'DataCloneError' && /named could not be cloned/.test(e.message));
});

// ---------------------------------------------------------------------------
// AbortController, AbortSignal, Event, EventTarget.

test('AbortController aborts its signal once: aborted, reason, onabort and listeners', () => {
  const sb = new Sandbox();
  assert.strictEqual(sb.run('var c = new AbortController(); var s = c.signal; var log = [];' +
    ' s.onabort = function (e) { log.push("on:" + e.type + (this === s)); };' +
    ' s.addEventListener("abort", function (e) { log.push("l1:" + (e.target === s)); }, { once: true });' +
    ' s.addEventListener("abort", { handleEvent: function (e) { log.push("l2:" + e.type); } });' +
    ' var before = [s.aborted, s.reason].join("/"); c.abort("why"); c.abort("again");' +
    ' [before, s.aborted, s.reason, log.join(" "), c.signal === s].join()'), 'false/,true,why,on:aborttrue l1:true l2:abort,true');
  assert.throws(() => sb.run('s.throwIfAborted()'), (e) => e === 'why');
  assert.strictEqual(sb.run('new AbortController().signal.throwIfAborted()'), undefined);
});

test('the default abort reason is an AbortError, a DOMException when there is one', () => {
  const sb = new Sandbox();
  assert.strictEqual(sb.run('var c = new AbortController(); c.abort(); [c.signal.reason instanceof Error, c.signal.reason.name].join()'), 'true,AbortError');
  sb.run('globalThis.DOMException = function DOMException(message, name) { this.message = message; this.name = name; };');
  assert.strictEqual(sb.run('var c2 = new AbortController(); c2.abort(); [c2.signal.reason instanceof DOMException, c2.signal.reason.name].join()'), 'true,AbortError');
});

test('AbortSignal.abort, AbortSignal.any and an illegal constructor', () => {
  const sb = new Sandbox();
  assert.strictEqual(sb.run('var s = AbortSignal.abort("r"); [s.aborted, s.reason, s instanceof AbortSignal, s instanceof EventTarget].join()'), 'true,r,true,true');
  assert.strictEqual(sb.run('var a = new AbortController(), b = new AbortController(); var any = AbortSignal.any([a.signal, b.signal]);' +
    ' var seen = 0; any.addEventListener("abort", function () { seen++; }); var before = any.aborted; b.abort("from b"); a.abort("from a");' +
    ' [before, any.aborted, any.reason, seen].join()'), 'false,true,from b,1');
  assert.strictEqual(sb.run('AbortSignal.any([new AbortController().signal, AbortSignal.abort("early")]).reason'), 'early');
  assert.throws(() => sb.run('new AbortSignal()'), typeError);
  assert.throws(() => sb.run('AbortSignal.any([{}])'), typeError);
});

test('AbortSignal.timeout aborts with a TimeoutError when its request timer fires', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function () { var s = AbortSignal.timeout(100); return new Promise(function (r) {' +
    ' s.onabort = function () { r(new Response(s.reason.name)); }; }); } };');
  sb.handle(1);
  sb.advance(99);
  assert.strictEqual(sb.answers(1).length, 0);
  sb.advance(1);
  assert.strictEqual(sb.result(1).body, 'TimeoutError');
});

test('an addEventListener signal option removes the listener on abort', () => {
  const sb = new Sandbox();
  assert.strictEqual(sb.run('var t = new EventTarget(); var c = new AbortController(); var n = 0;' +
    ' t.addEventListener("x", function () { n++; }, { signal: c.signal }); t.dispatchEvent(new Event("x")); c.abort(); t.dispatchEvent(new Event("x"));' +
    ' t.addEventListener("x", function () { n += 10; }, { signal: c.signal }); t.dispatchEvent(new Event("x")); n'), 1);
});

test('EventTarget dispatches to its listeners in order; exceptions are logged, not thrown', () => {
  const sb = new Sandbox();
  assert.strictEqual(sb.run('var t = new EventTarget(); var log = []; function a(e) { log.push("a" + e.eventPhase); }' +
    ' t.addEventListener("go", a); t.addEventListener("go", a); t.addEventListener("go", function () { throw new Error("listener failed"); });' +
    ' t.addEventListener("go", function (e) { log.push("c"); e.stopImmediatePropagation(); }); t.addEventListener("go", function () { log.push("never"); });' +
    ' var e = new Event("go", { cancelable: true }); t.addEventListener("go", function () {}); t.removeEventListener("go", a);' +
    ' t.addEventListener("go", a); var r = t.dispatchEvent(e); [log.join(" "), r, e.eventPhase, e.currentTarget, e.target === t].join()'), 'c,true,0,,true');
  assert.match(sb.logs()[0].text, /listener failed/);
  assert.strictEqual(sb.run('var t2 = new EventTarget(); t2.addEventListener("p", function (e) { e.preventDefault(); });' +
    ' [t2.dispatchEvent(new Event("p", { cancelable: true })), t2.dispatchEvent(new Event("p"))].join()'), 'false,true');
  assert.throws(() => sb.run('new EventTarget().dispatchEvent({ type: "x" })'), typeError);
  assert.throws(() => sb.run('new Event()'), typeError);
});

// ---------------------------------------------------------------------------
// APIs not provided yet, and small additions to Request and Response.

test('APIs not provided yet throw errors that name them', () => {
  const sb = new Sandbox();
  for (const name of ['ReadableStream', 'WritableStream', 'TransformStream', 'FormData', 'Blob', 'File', 'WebSocket', 'HTMLRewriter', 'EventSource']) {
    assert.strictEqual(sb.run('typeof ' + name), 'function', name);
    assert.throws(() => sb.run('new ' + name + '()'), (e) => e.name === 'TypeError' && e.message === name + ' is not supported by wfp yet (see wfp-runtime(7))', name);
  }
});

test('a script with only a scheduled handler is refused with a message that says so', () => {
  const sb = new Sandbox();
  assert.match(sb.load('commonjs', [], 'module.exports = { scheduled: function () {} };'), /Scheduled handlers are not supported by wfp yet/);
  const sb2 = new Sandbox();
  assert.match(sb2.load('commonjs', [], 'exports.default = { scheduled: function () {} };'), /Scheduled handlers/);
  const sb3 = new Sandbox();
  assert.match(sb3.load('service-worker', [], 'addEventListener("scheduled", function () {});'), /Scheduled handlers/);
  const sb4 = new Sandbox();
  assert.strictEqual(sb4.load('commonjs', [], 'module.exports = { scheduled: function () {}, fetch: function () {} };'), '');
  const sb5 = new Sandbox();
  assert.match(sb5.load('commonjs', [], 'module.exports = {};'), /No fetch handler/);
});

test('a URLSearchParams body is sent as a form when URLSearchParams exists', () => {
  const sb = new Sandbox();
  assert.strictEqual(sb.run('new Request("https://a/", { method: "POST", body: { toString: function () { return "t"; } } }).headers.get("content-type")'),
    'text/plain;charset=UTF-8');
  sb.run('globalThis.URLSearchParams = function URLSearchParams(s) { this.s = s; }; URLSearchParams.prototype.toString = function () { return this.s; };');
  assert.strictEqual(sb.value('var r = new Request("https://a/", { method: "POST", body: new URLSearchParams("a=1&b=%20") });' +
    ' return r.text().then(function (t) { return r.headers.get("content-type") + "|" + t; });'), 'application/x-www-form-urlencoded;charset=UTF-8|a=1&b=%20');
  assert.strictEqual(sb.run('new Response(new URLSearchParams("q=1")).headers.get("content-type")'), 'application/x-www-form-urlencoded;charset=UTF-8');
  assert.strictEqual(sb.run('new Response(new URLSearchParams("q=1"), { headers: { "content-type": "text/x" } }).headers.get("content-type")'), 'text/x');
});

test('request.url is the string the host gave, unparsed', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (r) { return new Response(typeof r.url + " " + r.url); } };');
  sb.handle(1, 'GET', 'HTTPS://Example.COM/a/../b?x=1#frag');
  assert.strictEqual(sb.result(1).body, 'string HTTPS://Example.COM/a/../b?x=1#frag');
});

// ---------------------------------------------------------------------------
// fetch(): the request goes to the host; large bodies stay there as handles.

test('fetch() hands the request to the host and resolves with its answer', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (req) { return fetch("https://api.example/v1?q=1", { method: "POST",' +
    ' headers: { "x-key": "k" }, body: "payload", redirect: "manual" }).then(function (res) {' +
    ' return res.text().then(function (t) { return new Response(res.status + " " + res.url + " " + res.redirected + " " + t); }); }); } };');
  sb.handle(1);
  const f = sb.calls.find((c) => c.fn === 'fetch');
  assert.strictEqual(f.method, 'POST');
  assert.strictEqual(f.url, 'https://api.example/v1?q=1');
  assert.deepStrictEqual(f.headers.find((h) => h[0] === 'x-key'), ['x-key', 'k']);
  assert.strictEqual(f.body, 'payload');
  assert.strictEqual(f.redirect, 1);
  assert.strictEqual(f.parentReqId, 1);
  sb.subResolve(f.subId, 200, 'OK', [], 'hello', { url: 'https://api.example/final', redirected: true });
  assert.strictEqual(sb.result(1).body, '200 https://api.example/final true hello');
  assert.deepStrictEqual(sb.violations, []);
});

test('a failed fetch() rejects with a TypeError carrying the host message', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function () { return fetch("http://x.example/").then(null, function (e) {' +
    ' return new Response(e.name + ": " + e.message); }); } };');
  sb.handle(1);
  const f = sb.calls.find((c) => c.fn === 'fetch');
  sb.subReject(f.subId, 'fetch failed: could not connect to 10.0.0.1:80 (Connection refused)');
  assert.strictEqual(sb.result(1).body, 'TypeError: fetch failed: could not connect to 10.0.0.1:80 (Connection refused)');
});

test('fetch() outside a request, or with a bad redirect mode, fails without reaching the host', () => {
  const sb = new Sandbox();
  assert.match(sb.rejection('return fetch("https://example.com/")').message, /Disallowed operation called within global scope/);
  assert.throws(() => sb.run('new Request("https://a/", { redirect: "sometimes" })'), /not a valid value for 'redirect'/);
  assert.strictEqual(sb.run('new Request("https://a/", { redirect: "error" }).redirect'), 'error');
  assert.strictEqual(sb.run('new Request(new Request("https://a/", { redirect: "manual" })).redirect'), 'manual');
  assert.strictEqual(sb.calls.filter((c) => c.fn === 'fetch').length, 0);
});

test('a held body is read from the host only when the worker reads it', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function () { return fetch("https://big.example/").then(function (res) {' +
    ' return res.text().then(function (t) { return new Response("got " + t.length); }); }); } };');
  sb.handle(1);
  const f = sb.calls.find((c) => c.fn === 'fetch');
  sb.subResolve(f.subId, 200, 'OK', [], null, { handle: 77, size: 5 });
  const read = sb.calls.find((c) => c.fn === 'readBody');
  assert.strictEqual(read.handle, 77);
  assert.strictEqual(read.parentReqId, 1);
  sb.bodyResolve(read.readId, 'abcde');
  assert.strictEqual(sb.result(1).body, 'got 5');
});

test('a held body passed on is answered by handle, never read', () => {
  for (const code of ['return res;', 'return new Response(res.body, res);',
    'return new Response(res.body, { status: 201, headers: { "x-wrapped": "1" } });']) {
    const sb = new Sandbox();
    commonjs(sb, 'module.exports = { fetch: function () { return fetch("https://big.example/").then(function (res) { ' + code + ' }); } };');
    sb.handle(1);
    const f = sb.calls.find((c) => c.fn === 'fetch');
    sb.subResolve(f.subId, 200, 'OK', [['content-type', 'application/octet-stream']], null, { handle: 9, size: 1 << 20 });
    assert.strictEqual(sb.calls.filter((c) => c.fn === 'readBody').length, 0, code);
    assert.strictEqual(sb.result(1).held, 9, code);
    assert.deepStrictEqual(sb.violations, [], code);
  }
  // A look-alike a worker makes is an ordinary object, never a handle.
  const forger = new Sandbox();
  commonjs(forger, 'module.exports = { fetch: function () { return fetch("https://big.example/").then(function (res) {' +
    ' var fake = Object.create(Object.getPrototypeOf(res.body)); fake.handle = 4242; fake.size = 1;' +
    ' return new Response(fake); }); } };');
  forger.handle(1);
  forger.subResolve(forger.calls.find((c) => c.fn === 'fetch').subId, 200, 'OK', [], null, { handle: 8, size: 1 << 20 });
  assert.strictEqual(forger.result(1).held, 0);
  assert.strictEqual(forger.result(1).body, '[object ReadableStream]');
  // And as the body of another fetch.
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function () { return fetch("https://a.example/").then(function (res) {' +
    ' return fetch("https://b.example/", { method: "PUT", body: res.body }); }); } };');
  sb.handle(1);
  sb.subResolve(sb.calls.find((c) => c.fn === 'fetch').subId, 200, 'OK', [], null, { handle: 5, size: 100000 });
  const second = sb.calls.filter((c) => c.fn === 'fetch')[1];
  assert.strictEqual(second.held, 5);
  assert.strictEqual(second.method, 'PUT');
});

test('get() passes its outbound values, and a call may add values to env', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (req, env) { env.DISPATCHER.get("a", null, { outbound: { TENANT: "t1" } }).fetch("https://a/");' +
    ' return new Response(String(env.TENANT) + " " + typeof env.DISPATCHER); } };',
  [{ type: 'dispatch_namespace', name: 'DISPATCHER' }]);
  sb.handle(1);
  assert.strictEqual(sb.subrequests()[0].outboundJson, '{"TENANT":"t1"}');
  assert.strictEqual(sb.result(1).body, 'undefined object');
  sb.handle(2, 'GET', 'https://x/', [], null, '', '{"TENANT":"t2"}');
  assert.strictEqual(sb.result(2).body, 't2 object');
});

// ---------------------------------------------------------------------------
// The Cache API: calls go to the host; put takes the response's body.

test('caches.default is refused in an untrusted namespace and shared otherwise; open() checks the name', () => {
  const sb = new Sandbox();
  assert.throws(() => sb.run('caches.default'), (e) => e.name === 'TypeError' && e.message === 'caches.default is disabled for namespaced scripts');
  sb.cacheDefault = true;
  assert.strictEqual(sb.run('caches.default === caches.default'), true);
  assert.strictEqual(sb.run('Object.prototype.toString.call(caches.default)'), '[object Cache]');
  assert.strictEqual(sb.value('return caches.open("a").then(function (c) { return typeof c.match; })'), 'function');
  assert.match(sb.rejection('return caches.open("x".repeat(1024))').message, /too long/);
  assert.match(sb.rejection('return caches.open("a").then(function (c) { return c.keys(); })').message, /not implemented/);
  assert.throws(() => sb.run('new (Object.getPrototypeOf(caches.default).constructor)()'), /Illegal constructor/);
});

test('cache.put sends the response and takes its body; match and delete resolve from the host', () => {
  const sb = new Sandbox();
  commonjs(sb, 'module.exports = { fetch: function (req) { var res = new Response("cached body", { headers: { "cache-control": "max-age=60" } });' +
    ' return caches.open("pages").then(function (c) { return c.put("https://x.example/a", res).then(function (v) {' +
    ' return new Response(String(v) + " " + res.bodyUsed); }); }); } };');
  sb.handle(1);
  const put = sb.calls.find((c) => c.fn === 'cacheOp');
  assert.strictEqual(put.op, 1);
  assert.strictEqual(put.isDefault, false);
  assert.strictEqual(put.name, 'pages');
  assert.strictEqual(put.url, 'https://x.example/a');
  assert.strictEqual(put.method, 'GET');
  assert.strictEqual(put.status, 200);
  assert.strictEqual(put.body, 'cached body');
  assert.deepStrictEqual(put.responseHeaders.find((h) => h[0] === 'cache-control'), ['cache-control', 'max-age=60']);
  sb.wfp.cacheResolve(put.subId, true);
  sb.drain();
  assert.strictEqual(sb.result(1).body, 'undefined true');

  const sb2 = new Sandbox();
  commonjs(sb2, 'module.exports = { fetch: function (req) { return caches.open("p").then(function (c) {' +
    ' return Promise.all([c.match(new Request("https://x.example/a", { headers: { range: "bytes=0-1" } })),' +
    ' c.match("https://x.example/b", { ignoreMethod: true }), c.delete("https://x.example/a")]); }).then(function (r) {' +
    ' return r[0].text().then(function (t) { return new Response(r[0].status + " " + t + " " + r[1] + " " + r[2]); }); }); } };');
  sb2.handle(1);
  const ops = sb2.calls.filter((c) => c.fn === 'cacheOp');
  assert.deepStrictEqual(ops.map((o) => o.op), [0, 0, 2]);
  assert.deepStrictEqual(ops[0].headers.find((h) => h[0] === 'range'), ['range', 'bytes=0-1']);
  assert.strictEqual(ops[1].ignoreMethod, true);
  sb2.subResolve(ops[0].subId, 206, '', [['content-range', 'bytes 0-1/11']], 'ca');
  sb2.wfp.cacheResolve(ops[1].subId, false);
  sb2.wfp.cacheResolve(ops[2].subId, true);
  sb2.drain();
  assert.strictEqual(sb2.result(1).body, '206 ca undefined true');
});

test('a Cache API call outside a request, or a put of a non-Response, fails without reaching the host', () => {
  const sb = new Sandbox();
  sb.cacheDefault = true;
  assert.match(sb.rejection('return caches.default.match("https://x/")').message, /global scope/);
  commonjs(sb, 'module.exports = { fetch: function () { return caches.default.put("https://x/", "text").then(null, function (e) {' +
    ' return new Response(e.name + ": " + e.message); }); } };');
  sb.handle(1);
  assert.match(sb.result(1).body, /^TypeError: .*not of type 'Response'/);
  assert.strictEqual(sb.calls.filter((c) => c.fn === 'cacheOp').length, 0);
});

// ---------------------------------------------------------------------------

run();
