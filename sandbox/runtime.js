// Workers runtime prelude: Promise, Headers, Request, Response, console, timers, structuredClone, AbortController, the request lifecycle (waitUntil, host.done), the dispatch binding and the __wfp entry points.
// Evaluated once per Duktape heap (zygote image, sandbox, dispatcher) by sandbox/host.cc, before any worker script.
// Trusts only the host's __host natives, kept in this closure; tenant code in the same heap is hostile and must never reach them.
// The whole file is one function, called at once, whose prototype is taken
// away first: a function and its prototype form a cycle that only the
// mark-and-sweep collector frees, and until then this function would keep
// the bytecode of every function in the file in the heap, and in the
// zygote's image. (A named function expression would keep it for good.)
Object.defineProperty(function (global) {
  'use strict';

  // ---------------------------------------------------------------------
  // Host natives. The global is removed before any tenant code can run;
  // from here on the natives are reachable only through `host`, which no
  // function ever hands out or passes as an argument.
  var host = global.__host;
  if (host === null || typeof host !== 'object') throw new Error('runtime.js: __host is missing');
  delete global.__host; // strict mode: throws if the host made it non-configurable
  if (global.__host !== undefined) throw new Error('runtime.js: __host could not be removed');

  // Built-ins captured before tenant code can replace them. Tenant changes to
  // prototypes can only break the tenant's own requests, never reach `host`.
  var FunctionPrototype = Function.prototype;
  // fnCall(fn, thisArg, args...) is fn.call(thisArg, args...) without looking
  // `call` up on fn, so a replaced Function.prototype.call never sees our functions.
  var fnCall = FunctionPrototype.bind.call(FunctionPrototype.call, FunctionPrototype.call);
  // fnApply(fn, thisArg, args) is fn.apply(thisArg, args), the same way.
  var fnApply = FunctionPrototype.bind.call(FunctionPrototype.call, FunctionPrototype.apply);
  // bindTo(fn, thisArg, arg) is fn.bind(thisArg, arg). In Duktape a bound
  // function has no `prototype` object, so unlike a closure it forms no
  // reference cycle and is freed as soon as it is dropped (measured: a
  // third of a closure's cost per promise).
  var bindTo = FunctionPrototype.bind.call(FunctionPrototype.call, FunctionPrototype.bind);
  var objectToString = Object.prototype.toString;
  var hasOwnProperty = FunctionPrototype.bind.call(FunctionPrototype.call, Object.prototype.hasOwnProperty);
  var defineProperty = Object.defineProperty;
  var createObject = Object.create;
  var objectKeys = Object.keys;
  var isArray = Array.isArray;
  var jsonStringify = JSON.stringify;
  var jsonParse = JSON.parse;
  var Uint8 = Uint8Array;
  var isView = typeof ArrayBuffer.isView === 'function' ? ArrayBuffer.isView : function (x) {
    return x !== null && typeof x === 'object' && x.buffer instanceof ArrayBuffer;
  };
  var encoder = new TextEncoder();
  var decoder = new TextDecoder();
  var hasSymbol = typeof Symbol === 'function';
  var iteratorSymbol = hasSymbol && typeof Symbol.iterator === 'symbol' ? Symbol.iterator : null;
  var toStringTagSymbol = hasSymbol && typeof Symbol.toStringTag === 'symbol' ? Symbol.toStringTag : null;

  // Internal slots live under symbols: invisible to for-in, Object.keys and
  // JSON.stringify. A tenant can still find them (getOwnPropertySymbols) and
  // corrupt its own objects; the request table below keeps that from
  // answering a request twice.
  function slot(name) {
    return hasSymbol ? Symbol('wfp.' + name) : '__wfp_' + name;
  }

  function defineHidden(obj, name, value) {
    defineProperty(obj, name, { value: value, writable: true, enumerable: false, configurable: true });
  }
  // Methods and getters are never constructed: their prototype objects are
  // dropped (a prototype cannot be deleted), which saves ~90 bytes of every
  // heap per function.
  function dropPrototype(fn) {
    if (typeof fn === 'function' && hasOwnProperty(fn, 'prototype')) fn.prototype = undefined;
  }
  function defineMethods(proto, methods) {
    var names = objectKeys(methods);
    for (var i = 0; i < names.length; i++) {
      if (names[i] !== 'constructor') dropPrototype(methods[names[i]]);
      defineHidden(proto, names[i], methods[names[i]]);
    }
  }
  function defineGetters(proto, getters) {
    var names = objectKeys(getters);
    for (var i = 0; i < names.length; i++) {
      dropPrototype(getters[names[i]]);
      defineProperty(proto, names[i], { get: getters[names[i]], enumerable: true, configurable: true });
    }
  }
  function defineTag(proto, tag) {
    if (toStringTagSymbol !== null) {
      defineProperty(proto, toStringTagSymbol, { value: tag, writable: false, enumerable: false, configurable: true });
    }
  }
  function isObject(x) {
    return x !== null && (typeof x === 'object' || typeof x === 'function');
  }
  // String(x) that cannot throw (Object.create(null), a throwing toString).
  function safeString(x) {
    try {
      return String(x);
    } catch (e) {
      return '[object]';
    }
  }

  // ---------------------------------------------------------------------
  // Async context and the microtask queue.
  //
  // `current` is the id of the request whose code is running (null at the
  // top level). Every queued job carries the value it had when the job was
  // created (a reaction: when `then` was called; a callback: when it was
  // queued) and runs with it restored, so a dispatch fetch() in a `.then`
  // of request A is charged to A even while request B is running.
  var current = null;

  // The queue is one flat array, five slots a job (kind, a, b, c, context),
  // appended at its length and read from a head index that only drain()
  // keeps. In Duktape every use of a variable of this closure is a lookup
  // by name, so the hot paths take the array into a local, use literal job
  // kinds (JOB_* below, for reading) and keep the head in drain's frame
  // (queueMicrotask + drain: 1.3 -> 0.8 µs; tests/unit/headers_test.cc).
  // A C++ drain loop (the jobs in a stash array, each run by duk_pcall
  // through a JavaScript job runner that restores `current`) measured no
  // faster on hops and await chains: it saves only the lookups this loop
  // no longer makes, and adds a C-to-JavaScript call per job.
  var JOB_REACTION = 0;
  var JOB_THENABLE = 1;
  var JOB_CALLBACK = 2;
  var jobs = [];
  var draining = false;

  function enqueue(kind, a, b, c, context) {
    var q = jobs;
    var t = q.length;
    q[t] = kind;
    q[t + 1] = a;
    q[t + 2] = b;
    q[t + 3] = c;
    q[t + 4] = context;
  }

  function drain() {
    if (draining) return 0;
    draining = true;
    var saved = current;
    var q = jobs;
    var h = 0;
    var ran = 0;
    for (;;) {
      try {
        while (h < q.length) {
          var kind = q[h];
          var a = q[h + 1];
          var b = q[h + 2];
          var c = q[h + 3];
          current = q[h + 4];
          q[h + 1] = q[h + 2] = q[h + 3] = q[h + 4] = undefined;
          h += 5;
          ran++;
          // A long chain keeps the queue non-empty for a long time: move
          // the live part down so the array does not grow with every job.
          if (h > 4096 && h * 2 > q.length) {
            var n = q.length - h;
            for (var i = 0; i < n; i++) q[i] = q[h + i];
            q.length = n;
            h = 0;
          }
          if (kind === 0) runReaction(a, b, c); // JOB_REACTION
          else if (kind === 1) runThenableJob(a, b, c); // JOB_THENABLE
          else a(); // a queueMicrotask callback, called with this = undefined
        }
        break;
      } catch (e) {
        // Only queueMicrotask callbacks can throw here (reactions catch their
        // handlers). The job is already dequeued: report it and go on.
        logError('Uncaught ', e);
      }
    }
    // A small array keeps its storage for the next drain; a big one, grown
    // by a burst of jobs, is dropped with its storage.
    if (q.length > 5120) jobs = [];
    else q.length = 0;
    current = saved;
    draining = false;
    return ran;
  }

  function queueMicrotask(callback) {
    if (typeof callback !== 'function') {
      throw new TypeError("Failed to execute 'queueMicrotask': parameter 1 is not of type 'Function'.");
    }
    enqueue(JOB_CALLBACK, callback, undefined, undefined, current);
  }

  // ---------------------------------------------------------------------
  // Promise (Promises/A+, with the ES2015 resolve-thenable job).
  //
  // The functions on every hop (then, settle, subscribe, resolvePromise,
  // runReaction, Promise.resolve) write the states, reaction kinds and job
  // kinds as literals with the name in a comment, read each slot key into
  // a local once and inline the one-line helpers: each name they would look
  // up is a search of this closure's scope in Duktape (measured with the
  // queue above: a hop 4.1 -> 2.5 µs, ten awaits 78 -> 60 µs;
  // tests/unit/headers_test.cc).
  var PENDING = 0;
  var LOCKED = 1; // resolved with a thenable, waiting for it
  var FULFILLED = 2;
  var REJECTED = 3;
  // Two slots per promise (Duktape pays for every property added to an
  // object): the state, and the value once settled, or while not settled
  // the reactions waiting for it (null, one reaction, or an array of them).
  var K_STATE = slot('state');
  var K_VALUE = slot('value');

  var REACT_USER = 0; // then(onFulfilled, onRejected) -> target
  var REACT_INTERNAL = 1; // onFulfilled(data, value, rejected), no target
  var REACT_FORWARD = 2; // settle target like the source

  function Promise(executor) {
    if (!(this instanceof Promise)) throw new TypeError("Promise constructor cannot be invoked without 'new'");
    if (typeof executor !== 'function') {
      throw new TypeError('Promise resolver ' + describeValue(executor) + ' is not a function');
    }
    this[K_STATE] = PENDING;
    this[K_VALUE] = null;
    callWithResolvers(this, executor, undefined);
  }
  var PromisePrototype = Promise.prototype;

  // The runtime's own promises skip the constructor's checks and executor.
  function RuntimePromise(state, value) {
    this[K_STATE] = state;
    this[K_VALUE] = value;
  }
  RuntimePromise.prototype = PromisePrototype;

  function isPromise(x) {
    return x instanceof Promise && x[K_STATE] !== undefined;
  }

  function newPromise() {
    return new RuntimePromise(PENDING, null);
  }
  function fulfilledPromise(value) {
    return new RuntimePromise(FULFILLED, value);
  }
  function rejectedPromise(reason) {
    return new RuntimePromise(REJECTED, reason);
  }

  // The resolving functions handed to executors and foreign thenables, as
  // bound functions over one shared record (see bindTo).
  function resolveOnce(rec, value) {
    if (rec.done) return;
    rec.done = true;
    resolvePromise(rec.promise, value);
  }
  function rejectOnce(rec, reason) {
    if (rec.done) return;
    rec.done = true;
    settle(rec.promise, REJECTED, reason);
  }

  // Calls fn.call(thisArg, resolve, reject) with a once-only pair for p.
  function callWithResolvers(p, fn, thisArg) {
    var rec = { promise: p, done: false };
    try {
      fnCall(fn, thisArg, bindTo(resolveOnce, undefined, rec), bindTo(rejectOnce, undefined, rec));
    } catch (e) {
      rejectOnce(rec, e);
    }
  }

  function settle(p, state, value) {
    var ks = K_STATE;
    var kv = K_VALUE;
    if (p[ks] >= 2) return; // FULFILLED or REJECTED
    var reactions = p[kv];
    p[ks] = state;
    p[kv] = value;
    if (reactions === null) return;
    var rejected = state === 3; // REJECTED
    if (isArray(reactions)) {
      for (var i = 0; i < reactions.length; i++) {
        enqueue(0, reactions[i], rejected, value, reactions[i].context); // JOB_REACTION
      }
    } else {
      enqueue(0, reactions, rejected, value, reactions.context); // JOB_REACTION
    }
  }

  // The Promise Resolution Procedure (A+ 2.3).
  function resolvePromise(p, x) {
    if (x === p) {
      settle(p, REJECTED, new TypeError('Chaining cycle detected for promise'));
      return;
    }
    if (x !== null && (typeof x === 'object' || typeof x === 'function')) {
      var then;
      try {
        then = x.then;
      } catch (e) {
        settle(p, 3, e); // REJECTED
        return;
      }
      if (typeof then === 'function') {
        p[K_STATE] = 1; // LOCKED
        enqueue(1, p, x, then, current); // JOB_THENABLE
        return;
      }
    }
    settle(p, 2, x); // FULFILLED
  }

  function runThenableJob(p, thenable, then) {
    // One of ours with the original then: follow it directly, which is what
    // calling then() would do, minus the throw-away derived promise.
    if (then === promiseThen && isPromise(thenable)) {
      subscribe(thenable, makeReaction(REACT_FORWARD, p, null, null, null));
      return;
    }
    callWithResolvers(p, then, thenable);
  }

  function makeReaction(kind, target, onFulfilled, onRejected, data) {
    return {
      kind: kind,
      target: target,
      onFulfilled: onFulfilled,
      onRejected: onRejected,
      data: data,
      context: current
    };
  }

  function subscribe(p, reaction) {
    var state = p[K_STATE];
    var kv = K_VALUE;
    if (state < 2) { // PENDING or LOCKED
      var list = p[kv];
      if (list === null) p[kv] = reaction;
      else if (isArray(list)) list[list.length] = reaction;
      else p[kv] = [list, reaction];
    } else {
      enqueue(0, reaction, state === 3, p[kv], reaction.context); // JOB_REACTION; REJECTED
    }
  }

  function runReaction(r, rejected, value) {
    var kind = r.kind;
    if (kind === 0) { // REACT_USER
      var handler = rejected ? r.onRejected : r.onFulfilled;
      var result;
      if (typeof handler !== 'function') {
        if (rejected) settle(r.target, 3, value); // REJECTED
        else resolvePromise(r.target, value);
        return;
      }
      try {
        result = handler(value);
      } catch (e) {
        settle(r.target, 3, e); // REJECTED
        return;
      }
      resolvePromise(r.target, result);
    } else if (kind === 1) { // REACT_INTERNAL
      r.onFulfilled(r.data, value, rejected);
    } else {
      settle(r.target, rejected ? 3 : 2, value); // REACT_FORWARD: REJECTED or FULFILLED
    }
  }

  // A promise of ours for any value: ours as is, others through resolution.
  function toPromise(x) {
    if (x !== null && (typeof x === 'object' || typeof x === 'function')) {
      if (x instanceof Promise && x[K_STATE] !== undefined) return x; // isPromise(x)
      var p = new RuntimePromise(0, null); // PENDING
      resolvePromise(p, x);
      return p;
    }
    return new RuntimePromise(2, x); // FULFILLED: what resolving with a non-object gives
  }

  // Runs fn(data, value, rejected) once p settles, in the current context.
  function whenSettled(p, fn, data) {
    subscribe(p, makeReaction(REACT_INTERNAL, null, fn, null, data));
  }

  function promiseThen(onFulfilled, onRejected) {
    if (!(this instanceof Promise) || this[K_STATE] === undefined) { // isPromise(this)
      throw new TypeError('Promise.prototype.then called on an incompatible receiver');
    }
    var derived = new RuntimePromise(0, null); // PENDING
    // makeReaction(REACT_USER, derived, onFulfilled, onRejected, null)
    subscribe(this, {
      kind: 0,
      target: derived,
      onFulfilled: onFulfilled,
      onRejected: onRejected,
      data: null,
      context: current
    });
    return derived;
  }

  function promiseCatch(onRejected) {
    return this.then(undefined, onRejected);
  }

  function promiseFinally(onFinally) {
    if (typeof onFinally !== 'function') return this.then(onFinally, onFinally);
    return this.then(function (value) {
      return toPromise(onFinally()).then(function () {
        return value;
      });
    }, function (reason) {
      return toPromise(onFinally()).then(function () {
        throw reason;
      });
    });
  }

  // Arrays directly; other iterables through the iterator protocol.
  function listFromIterable(iterable) {
    if (isArray(iterable)) return iterable;
    if (typeof iterable === 'string') return iterable.split('');
    if (isObject(iterable) && iteratorSymbol !== null && typeof iterable[iteratorSymbol] === 'function') {
      var it = iterable[iteratorSymbol]();
      var out = [];
      for (;;) {
        var step = it.next();
        if (!isObject(step)) throw new TypeError('Iterator result ' + safeString(step) + ' is not an object');
        if (step.done) return out;
        out[out.length] = step.value;
      }
    }
    throw new TypeError(describeValue(iterable) + ' is not iterable');
  }

  // Shared by all/allSettled/race/any: calls onElement(state, value, rejected)
  // for every element's outcome, in the order they settle.
  function combine(iterable, onElement, onEmpty) {
    var result = newPromise();
    var list;
    try {
      list = listFromIterable(iterable);
    } catch (e) {
      settle(result, REJECTED, e);
      return result;
    }
    var n = list.length;
    var group = { result: result, values: new Array(n), remaining: n };
    if (n === 0) {
      onEmpty(group);
      return result;
    }
    for (var i = 0; i < n; i++) {
      whenSettled(toPromise(list[i]), onElement, { group: group, index: i });
    }
    return result;
  }

  function allElement(el, value, rejected) {
    var g = el.group;
    if (rejected) {
      settle(g.result, REJECTED, value);
      return;
    }
    g.values[el.index] = value;
    if (--g.remaining === 0) settle(g.result, FULFILLED, g.values);
  }
  function allSettledElement(el, value, rejected) {
    var g = el.group;
    g.values[el.index] = rejected ? { status: 'rejected', reason: value } : { status: 'fulfilled', value: value };
    if (--g.remaining === 0) settle(g.result, FULFILLED, g.values);
  }
  function raceElement(el, value, rejected) {
    settle(el.group.result, rejected ? REJECTED : FULFILLED, value);
  }
  function anyElement(el, value, rejected) {
    var g = el.group;
    if (!rejected) {
      settle(g.result, FULFILLED, value);
      return;
    }
    g.values[el.index] = value;
    if (--g.remaining === 0) settle(g.result, REJECTED, new AggregateErrorCtor(g.values, 'All promises were rejected'));
  }
  function emptyFulfilled(g) {
    settle(g.result, FULFILLED, g.values);
  }
  function emptyNothing() {}
  function emptyAny(g) {
    settle(g.result, REJECTED, new AggregateErrorCtor([], 'All promises were rejected'));
  }

  var AggregateErrorCtor = typeof global.AggregateError === 'function' ? global.AggregateError : null;
  if (AggregateErrorCtor === null) {
    AggregateErrorCtor = function AggregateError(errors, message) {
      if (!(this instanceof AggregateErrorCtor)) return new AggregateErrorCtor(errors, message);
      if (message !== undefined) defineHidden(this, 'message', String(message));
      defineHidden(this, 'errors', listFromIterable(errors).slice(0));
    };
    AggregateErrorCtor.prototype = createObject(Error.prototype);
    defineMethods(AggregateErrorCtor.prototype, { constructor: AggregateErrorCtor, name: 'AggregateError', message: '' });
  }

  defineMethods(Promise, {
    resolve: function resolve(value) {
      if (value instanceof Promise && value[K_STATE] !== undefined && value.constructor === this) return value;
      return toPromise(value);
    },
    reject: function reject(reason) {
      return rejectedPromise(reason);
    },
    all: function all(iterable) {
      return combine(iterable, allElement, emptyFulfilled);
    },
    allSettled: function allSettled(iterable) {
      return combine(iterable, allSettledElement, emptyFulfilled);
    },
    race: function race(iterable) {
      return combine(iterable, raceElement, emptyNothing);
    },
    any: function any(iterable) {
      return combine(iterable, anyElement, emptyAny);
    }
  });
  defineMethods(PromisePrototype, { then: promiseThen, 'catch': promiseCatch, 'finally': promiseFinally });
  defineTag(PromisePrototype, 'Promise');

  // ---------------------------------------------------------------------
  // Headers: a flat list [name0, value0, name1, value1, ...], names lower-cased.
  // The checks, lookups, changes and the sorted iteration are natives
  // (sandbox/headers_natives.cc), most of them the methods themselves: in
  // Duktape every use of a variable of this closure is a lookup by name,
  // and the JavaScript version spent most of its time on those. The natives
  // find a list under a hidden-symbol slot, which tenant code cannot see or
  // replace (getOwnPropertySymbols does not list it); Request and Response
  // below read and extend the lists directly.
  var headerSlots = host.headersSlots();
  var K_LIST = headerSlots[0];
  var K_GUARD = headerSlots[1];
  var K_ITEMS = headerSlots[2];
  var K_POS = headerSlots[3];
  var GUARD_NONE = 0;
  var GUARD_IMMUTABLE = 1; // kGuardImmutable in headers_natives.cc
  var TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  // headersFill(init, keys) → a new list of init's entries, checked and
  // lower-cased; init is a record with keys, else an array of pairs.
  var headersFill = host.headersFill;
  // headersSorted(headers, which): the Fetch spec's sort-and-combine of the
  // list; which: 0 names, 1 values, 2 [name, value] pairs (a snapshot).
  var headersSorted = host.headersSorted;

  function makeHeaders(list, guard) {
    var h = createObject(HeadersPrototype);
    h[K_LIST] = list;
    if (guard !== GUARD_NONE) h[K_GUARD] = guard;
    return h;
  }
  // Header pairs from the host: already parsed HTTP, not re-validated. The
  // native declines (undefined) anything but ASCII names in string pairs.
  var listFromHost = host.headersFromHost;
  function headersFromHost(pairs, guard) {
    var list = listFromHost(pairs);
    if (list === undefined) {
      list = [];
      if (isArray(pairs)) {
        for (var i = 0; i < pairs.length; i++) {
          list[list.length] = String(pairs[i][0]).toLowerCase();
          list[list.length] = String(pairs[i][1]);
        }
      }
    }
    return makeHeaders(list, guard);
  }
  var headersToHost = host.headersToHost; // list → [[name, value], ...]

  function listOf(h) {
    var list = h instanceof Headers ? h[K_LIST] : undefined;
    if (!isArray(list)) throw new TypeError('Illegal invocation');
    return list;
  }
  function listHas(list, name) {
    for (var i = 0; i < list.length; i += 2) if (list[i] === name) return true;
    return false;
  }
  function listAppend(list, name, value) {
    list[list.length] = name;
    list[list.length] = value;
  }

  function listFromInit(init) {
    if (init instanceof Headers) return listOf(init).slice(0);
    if (!isObject(init)) throw new TypeError('Headers: init must be an object, an array of pairs or a Headers.');
    if (isArray(init)) return headersFill(init);
    if (iteratorSymbol !== null && typeof init[iteratorSymbol] === 'function') return headersFill(listFromIterable(init));
    return headersFill(init, objectKeys(init));
  }

  function Headers(init) {
    if (!(this instanceof Headers)) throw new TypeError("Failed to construct 'Headers': Please use the 'new' operator.");
    this[K_LIST] = init === undefined || init === null ? [] : listFromInit(init);
  }
  var HeadersPrototype = Headers.prototype;
  HeadersPrototype[K_GUARD] = GUARD_NONE; // a default, so mutable headers need no slot of their own

  function copyHeaders(h, guard) {
    return makeHeaders(listOf(h).slice(0), guard);
  }

  function HeadersIterator() {
    throw new TypeError('Illegal constructor');
  }
  var HeadersIteratorPrototype = HeadersIterator.prototype;
  defineMethods(HeadersIteratorPrototype, { next: host.headersIteratorNext });
  if (iteratorSymbol !== null) {
    defineHidden(HeadersIteratorPrototype, iteratorSymbol, function () {
      return this;
    });
  }
  defineTag(HeadersIteratorPrototype, 'Headers Iterator');

  function headersIterator(h, which) {
    var it = createObject(HeadersIteratorPrototype);
    it[K_ITEMS] = headersSorted(h, which);
    it[K_POS] = 0;
    return it;
  }

  function headersEntries() {
    return headersIterator(this, 2);
  }
  defineMethods(HeadersPrototype, {
    append: host.headersAppend,
    set: host.headersSet,
    'delete': host.headersDelete,
    get: host.headersGet,
    has: host.headersHas,
    getSetCookie: host.headersGetSetCookie,
    forEach: host.headersForEach,
    keys: function keys() {
      return headersIterator(this, 0);
    },
    values: function values() {
      return headersIterator(this, 1);
    },
    entries: headersEntries
  });
  if (iteratorSymbol !== null) defineHidden(HeadersPrototype, iteratorSymbol, headersEntries);
  defineTag(HeadersPrototype, 'Headers');

  // ---------------------------------------------------------------------
  // Bodies: a Uint8Array, null, or a HeldBody (a large body the supervisor
  // keeps: a fetch() or service answer), readable once. A held body that a
  // worker only passes on (return fetch(...), new Response(res.body, res))
  // never enters its heap.
  function HeldBody(handle, size) {
    this.handle = handle;
    this.size = size;
  }
  defineTag(HeldBody.prototype, 'ReadableStream');
  // The HeldBody objects made for live requests, by handle: only these
  // stand for a held body; an object a worker makes to look like one
  // (Object.create of the prototype) is just an object.
  var heldBodies = createObject(null);
  function isHeld(x) {
    return x instanceof HeldBody && heldBodies[x.handle] === x;
  }
  var K_BODY = slot('body');
  var K_USED = slot('used');
  var K_HEADERS = slot('headers');
  var K_URL = slot('url');
  var TEXT_PLAIN = 'text/plain;charset=UTF-8';
  var BODY_USED = 'Body has already been used.';

  function isArrayBuffer(x) {
    return x instanceof ArrayBuffer || fnCall(objectToString, x) === '[object ArrayBuffer]';
  }
  function copyOf(view) {
    var out = new Uint8(view.byteLength);
    out.set(view);
    return out;
  }
  // Copies, like the Fetch spec: later changes to the caller's buffer must
  // not change a body already handed over.
  function extractBody(init) {
    if (isHeld(init)) return init;
    if (isObject(init)) {
      if (isArrayBuffer(init)) return copyOf(new Uint8(init));
      if (isView(init)) return copyOf(new Uint8(init.buffer, init.byteOffset, init.byteLength));
    }
    return encoder.encode(String(init));
  }
  // The content type a body brings with it: text, a form (URLSearchParams,
  // looked up when the body is made, since url.js may not provide it), or
  // none for bytes.
  var FORM_URLENCODED = 'application/x-www-form-urlencoded;charset=UTF-8';
  function bodyContentType(init) {
    if (!isObject(init)) return TEXT_PLAIN;
    if (isHeld(init)) return null;
    if (isArrayBuffer(init) || isView(init)) return null;
    var Params = global.URLSearchParams;
    if (typeof Params === 'function' && init instanceof Params) return FORM_URLENCODED;
    return TEXT_PLAIN;
  }

  function bodyOwner(obj) {
    if (!(obj instanceof Request || obj instanceof Response) || obj[K_BODY] === undefined) {
      throw new TypeError('Illegal invocation');
    }
    return obj;
  }
  function takeBody(obj) {
    var body = obj[K_BODY];
    if (body === null) return null;
    if (obj[K_USED]) throw new TypeError(BODY_USED);
    obj[K_USED] = true;
    return body;
  }

  // Reads a body and gives its bytes to `convert`: at once for bytes in the
  // heap, after a round trip to the supervisor for a held body (whose bytes
  // are fresh, so need no copy).
  function readBody(obj, convert) {
    var body;
    try {
      body = takeBody(bodyOwner(obj));
    } catch (e) {
      return rejectedPromise(e);
    }
    if (body instanceof HeldBody) {
      return fnCall(promiseThen, readHeld(body), function (bytes) {
        return convert(bytes, false);
      });
    }
    try {
      return fulfilledPromise(convert(body === null ? null : body, true));
    } catch (e) {
      return rejectedPromise(e);
    }
  }
  function textOf(bytes) {
    return bytes === null ? '' : decoder.decode(bytes);
  }
  var bodyMethods = {
    text: function text() {
      return readBody(this, textOf);
    },
    json: function json() {
      return readBody(this, function (bytes) {
        return jsonParse(textOf(bytes));
      });
    },
    arrayBuffer: function arrayBuffer() {
      return readBody(this, function (bytes, shared) {
        if (bytes === null) return new ArrayBuffer(0);
        return (shared ? copyOf(bytes) : bytes).buffer;
      });
    },
    bytes: function bytes() {
      return readBody(this, function (b, shared) {
        if (b === null) return new Uint8(0);
        return shared ? copyOf(b) : b;
      });
    }
  };
  // `body` is the buffered bytes (no streams here): enough for the common
  // `new Response(other.body, other)` pass-through.
  var bodyGetters = {
    body: function () {
      return bodyOwner(this)[K_BODY];
    },
    bodyUsed: function () {
      return bodyOwner(this)[K_USED] === true;
    },
    headers: function () {
      return bodyOwner(this)[K_HEADERS];
    },
    url: function () {
      return bodyOwner(this)[K_URL];
    }
  };

  // ---------------------------------------------------------------------
  // Request
  var K_METHOD = slot('method');
  var K_REDIRECT = slot('redirect');
  var REDIRECT_MODES = { follow: 0, manual: 1, error: 2 };
  var NORMALIZED_METHODS = { DELETE: true, GET: true, HEAD: true, OPTIONS: true, POST: true, PUT: true };
  var URL_SCHEME = /^[A-Za-z][A-Za-z0-9+.\-]*:/;
  var HTTP_AUTHORITY = /^(https?:\/\/)([^\/?#]*)(.*)$/i;

  function normalizeMethod(method) {
    method = String(method);
    if (!TOKEN.test(method)) throw new TypeError('Invalid HTTP method: ' + method);
    var upper = method.toUpperCase();
    return NORMALIZED_METHODS[upper] === true ? upper : method;
  }

  // No URL parser in Duktape: require an absolute URL, lower-case the
  // scheme and host of http(s) URLs and give them a path, as a parser would.
  function normalizeUrl(input) {
    var url = String(input);
    // Fast path, no regular expression: an http(s) URL already in normal form.
    var start = url.lastIndexOf('https://', 0) === 0 ? 8 : url.lastIndexOf('http://', 0) === 0 ? 7 : 0;
    if (start > 0) {
      var slash = url.indexOf('/', start);
      var authority = slash < 0 ? '' : url.substring(start, slash);
      if (slash > start && authority.indexOf('?') < 0 && authority.indexOf('#') < 0 && authority.indexOf('@') < 0 &&
          authority === authority.toLowerCase()) {
        return url;
      }
    }
    if (!URL_SCHEME.test(url)) throw new TypeError('Invalid URL: ' + url);
    var m = HTTP_AUTHORITY.exec(url);
    if (m !== null) {
      var authority = m[2].indexOf('@') < 0 ? m[2].toLowerCase() : m[2];
      var rest = m[3].charAt(0) === '/' ? m[3] : '/' + m[3];
      url = m[1].toLowerCase() + authority + rest;
    }
    return url;
  }

  function initRequest(r, method, url, headers, body) {
    r[K_METHOD] = method;
    r[K_URL] = url;
    r[K_HEADERS] = headers;
    r[K_BODY] = body;
    return r;
  }

  function Request(input, init) {
    if (!(this instanceof Request)) throw new TypeError("Failed to construct 'Request': Please use the 'new' operator.");
    var src = input instanceof Request && input[K_BODY] !== undefined ? input : null;
    var method = src !== null ? src[K_METHOD] : 'GET';
    var redirect = src !== null ? src[K_REDIRECT] : 'follow';
    var url = src !== null ? src[K_URL] : normalizeUrl(input);
    var headers = null;
    var body = null;
    var contentType = null;
    var fromSource = false;
    if (init !== undefined && init !== null) {
      if (typeof init !== 'object') throw new TypeError("Failed to construct 'Request': init must be an object.");
      if (init.method !== undefined) method = normalizeMethod(init.method);
      if (init.redirect !== undefined) {
        redirect = String(init.redirect);
        if (REDIRECT_MODES[redirect] === undefined) {
          throw new TypeError("Failed to construct 'Request': '" + redirect +
            "' is not a valid value for 'redirect' (follow, manual or error).");
        }
      }
      if (init.headers !== undefined) headers = new Headers(init.headers);
      var b = init.body;
      if (b !== undefined && b !== null) {
        body = extractBody(b);
        contentType = bodyContentType(b);
      }
    }
    if (body === null && src !== null && src[K_BODY] !== null) {
      if (src[K_USED]) throw new TypeError('Cannot construct a Request with a Request object that has already been used.');
      body = src[K_BODY];
      fromSource = true;
    }
    if (body !== null && (method === 'GET' || method === 'HEAD')) {
      throw new TypeError('Request with a GET or HEAD method cannot have a body.');
    }
    if (headers === null) headers = src !== null ? copyHeaders(src[K_HEADERS], GUARD_NONE) : makeHeaders([], GUARD_NONE);
    var list = headers[K_LIST];
    if (contentType !== null && !listHas(list, 'content-type')) listAppend(list, 'content-type', contentType);
    if (fromSource) src[K_USED] = true; // the body moves to the new Request
    initRequest(this, method, url, headers, body);
    if (redirect !== 'follow') this[K_REDIRECT] = redirect;
  }
  var RequestPrototype = Request.prototype;
  // Defaults live on the prototype: fewer property writes per object.
  RequestPrototype[K_USED] = false;
  RequestPrototype[K_REDIRECT] = 'follow';
  defineMethods(RequestPrototype, bodyMethods);
  defineGetters(RequestPrototype, bodyGetters);
  defineGetters(RequestPrototype, {
    method: function () {
      return bodyOwner(this)[K_METHOD];
    },
    redirect: function () {
      return bodyOwner(this)[K_REDIRECT];
    }
  });
  defineMethods(RequestPrototype, {
    clone: function clone() {
      var r = bodyOwner(this);
      if (r[K_USED]) throw new TypeError(BODY_USED);
      var h = r[K_HEADERS];
      var copy = initRequest(createObject(RequestPrototype), r[K_METHOD], r[K_URL], copyHeaders(h, h[K_GUARD]), r[K_BODY]);
      if (r[K_REDIRECT] !== 'follow') copy[K_REDIRECT] = r[K_REDIRECT];
      return copy;
    }
  });
  defineTag(RequestPrototype, 'Request');

  // ---------------------------------------------------------------------
  // Response
  var K_STATUS = slot('status');
  var K_STATUS_TEXT = slot('statusText');
  var K_TYPE = slot('type');
  var K_REDIRECTED = slot('redirected');
  var BAD_STATUS_TEXT = /[\r\n]/;
  var REDIRECT_STATUSES = { 301: true, 302: true, 303: true, 307: true, 308: true };

  function setResponse(r, status, statusText, headers, body, type, url) {
    r[K_STATUS] = status;
    r[K_STATUS_TEXT] = statusText;
    r[K_HEADERS] = headers;
    r[K_BODY] = body;
    if (type !== 'default') r[K_TYPE] = type;
    if (url !== '') r[K_URL] = url;
    return r;
  }

  function initResponse(r, body, contentType, init) {
    var status = 200;
    var statusText = '';
    var headers = null;
    if (init !== undefined && init !== null) {
      if (typeof init !== 'object') throw new TypeError("Failed to construct 'Response': init must be an object.");
      if (init.status !== undefined) {
        status = Number(init.status);
        status = status < 0 ? Math.ceil(status) : Math.floor(status);
        if (!(status >= 200 && status <= 599)) {
          throw new RangeError('Responses may only be constructed with status codes in the range 200 to 599, inclusive.');
        }
      }
      if (init.statusText !== undefined) {
        statusText = String(init.statusText);
        if (BAD_STATUS_TEXT.test(statusText)) throw new TypeError('Invalid statusText.');
      }
      if (init.headers !== undefined && init.headers !== null) headers = new Headers(init.headers);
    }
    if (headers === null) headers = makeHeaders([], GUARD_NONE);
    if (body !== null && (status === 204 || status === 205 || status === 304)) {
      throw new TypeError('Response with null body status cannot have body');
    }
    var list = headers[K_LIST];
    if (contentType !== null && !listHas(list, 'content-type')) listAppend(list, 'content-type', contentType);
    return setResponse(r, status, statusText, headers, body, 'default', '');
  }

  function Response(body, init) {
    if (!(this instanceof Response)) throw new TypeError("Failed to construct 'Response': Please use the 'new' operator.");
    var bytes = null;
    var contentType = null;
    if (body !== undefined && body !== null) {
      bytes = extractBody(body);
      contentType = bodyContentType(body);
    }
    initResponse(this, bytes, contentType, init);
  }
  var ResponsePrototype = Response.prototype;
  ResponsePrototype[K_USED] = false;
  ResponsePrototype[K_TYPE] = 'default';
  ResponsePrototype[K_URL] = '';
  ResponsePrototype[K_REDIRECTED] = false;
  defineMethods(ResponsePrototype, bodyMethods);
  defineGetters(ResponsePrototype, bodyGetters);
  defineGetters(ResponsePrototype, {
    status: function () {
      return bodyOwner(this)[K_STATUS];
    },
    statusText: function () {
      return bodyOwner(this)[K_STATUS_TEXT];
    },
    ok: function () {
      var s = bodyOwner(this)[K_STATUS];
      return s >= 200 && s <= 299;
    },
    type: function () {
      return bodyOwner(this)[K_TYPE];
    },
    redirected: function () {
      return bodyOwner(this)[K_REDIRECTED];
    }
  });
  defineMethods(ResponsePrototype, {
    clone: function clone() {
      var r = bodyOwner(this);
      if (r[K_USED]) throw new TypeError(BODY_USED);
      var h = r[K_HEADERS];
      return setResponse(createObject(ResponsePrototype), r[K_STATUS], r[K_STATUS_TEXT],
        copyHeaders(h, h[K_GUARD]), r[K_BODY], r[K_TYPE], r[K_URL]);
    }
  });
  defineMethods(Response, {
    json: function json(data, init) {
      var text = jsonStringify(data);
      if (typeof text !== 'string') throw new TypeError('Response.json: the value is not JSON-serializable.');
      return initResponse(createObject(ResponsePrototype), encoder.encode(text), 'application/json', init);
    },
    redirect: function redirect(url, status) {
      status = status === undefined ? 302 : Number(status);
      if (REDIRECT_STATUSES[status] !== true) throw new RangeError('Invalid redirect status code: ' + status);
      var headers = makeHeaders(['location', normalizeUrl(url)], GUARD_IMMUTABLE);
      return setResponse(createObject(ResponsePrototype), status, '', headers, null, 'default', '');
    },
    error: function error() {
      return setResponse(createObject(ResponsePrototype), 0, '', makeHeaders([], GUARD_IMMUTABLE), null, 'error', '');
    }
  });
  defineTag(ResponsePrototype, 'Response');

  // ---------------------------------------------------------------------
  // Errors and console.
  function errorMessage(err) {
    try {
      return String(err !== null && err !== undefined && err.message !== undefined ? err.message : err);
    } catch (e) {
      return 'Uncaught exception (its message could not be read)';
    }
  }
  function errorStack(err) {
    try {
      var stack = isObject(err) ? err.stack : undefined;
      return typeof stack === 'string' ? stack : '';
    } catch (e) {
      return '';
    }
  }

  // Used in messages: 'undefined', 'a string', 'an object', ...
  function describeValue(v) {
    if (v === null) return 'null';
    var t = typeof v;
    if (t === 'undefined') return 'undefined';
    if (t === 'object') {
      if (isArray(v)) return 'an array';
      if (v instanceof Request) return 'a Request';
      return 'an object';
    }
    return 'a ' + t;
  }

  function formatLogValue(v) {
    var t = typeof v;
    if (t === 'string') return v;
    if (t === 'function') return '[Function' + (v.name ? ': ' + v.name : ' (anonymous)') + ']';
    if (t !== 'object' || v === null) return safeString(v);
    try {
      if (v instanceof Error) {
        var stack = errorStack(v);
        return stack !== '' ? stack : String(v);
      }
      var json = jsonStringify(v);
      if (typeof json === 'string') return json;
    } catch (e) {
      // cyclic, or a throwing toJSON: fall back to String()
    }
    return safeString(v);
  }

  function hostLog(level, text) {
    try {
      host.log(level, current, text);
    } catch (e) {
      // a refused log line (size, rate) must not become the tenant's exception
    }
  }
  function logError(prefix, err) {
    var stack = errorStack(err);
    hostLog('error', prefix + (stack !== '' ? stack : errorMessage(err)));
  }

  function consoleMethod(level) {
    return function () {
      // One argument, the common case, is passed as it is: joining would
      // copy the whole of a megabyte string only for the host to keep its
      // first 4,000 bytes.
      if (arguments.length === 1) return hostLog(level, formatLogValue(arguments[0]));
      var text = '';
      for (var i = 0; i < arguments.length; i++) text += (i > 0 ? ' ' : '') + formatLogValue(arguments[i]);
      hostLog(level, text);
    };
  }
  var console = {
    log: consoleMethod('log'),
    info: consoleMethod('info'),
    warn: consoleMethod('warn'),
    error: consoleMethod('error'),
    debug: consoleMethod('debug')
  };

  // ---------------------------------------------------------------------
  // Requests in flight. `live` maps a request id to its record from handle()
  // until the request is done: answered (one respond or fail) and every
  // ctx.waitUntil promise settled. Then host.done() is called, once; the
  // runner keeps a request (its timers, its subrequests) until that call or
  // its 30 s limit. Only a record still in the table can answer or finish,
  // and `answered` lets one answer through, even if tenant code gets hold of
  // a record or of one of our callbacks.
  var live = createObject(null);
  var NO_HANDLER = 'No fetch handler: use module.exports = { fetch(request, env, ctx) { ... } } or addEventListener("fetch", ...)';

  function RequestState(id) {
    this.id = id;
    this.answered = false;
    this.pending = 0; // waitUntil promises not yet settled
    this.timers = 0; // live timers
    this.dispatching = false; // service worker: inside the fetch listeners
    this.responded = false; // service worker: respondWith() was called
    this.result = undefined;
    this.passThrough = false; // ctx.passThroughOnException() was called
    this.held = null; // handles of the bodies held for it
  }

  function finishRequest(st) {
    if (live[st.id] !== st || st.answered) return false;
    st.answered = true;
    return true;
  }

  // Calls host.done() once the request is answered and has no waitUntil
  // work left; its timers die with it.
  function closeIfIdle(st) {
    if (!st.answered || st.pending !== 0 || live[st.id] !== st) return;
    delete live[st.id];
    if (st.timers > 0) dropTimers(st);
    if (st.held !== null) {
      for (var h = 0; h < st.held.length; h++) delete heldBodies[st.held[h]];
    }
    try {
      host.done(st.id);
    } catch (e) {
      hostLog('error', 'wfp runtime: host.done refused: ' + errorMessage(e));
    }
  }

  function failRequest(st, kind, message, stack) {
    if (!finishRequest(st)) return;
    try {
      host.fail(st.id, kind, message, stack);
    } catch (e) {
      hostLog('error', 'wfp runtime: host.fail refused: ' + errorMessage(e));
    }
    closeIfIdle(st);
  }

  function failWithException(st, err) {
    failRequest(st, 'exception', errorMessage(err), errorStack(err));
  }

  function respondRequest(st, value) {
    if (live[st.id] !== st || st.answered) return;
    if (!(value instanceof Response) || value[K_STATUS] === undefined) {
      failRequest(st, 'bad_response', 'The fetch handler returned ' + describeValue(value) + ' instead of a Response.', '');
      return;
    }
    if (value[K_TYPE] === 'error') {
      failRequest(st, 'bad_response', 'The fetch handler returned Response.error() instead of a Response.', '');
      return;
    }
    var status, statusText, pairs, body;
    try {
      status = value[K_STATUS];
      statusText = value[K_STATUS_TEXT];
      pairs = headersToHost(listOf(value[K_HEADERS]));
      body = takeBody(value);
    } catch (e) {
      failWithException(st, e);
      return;
    }
    if (!finishRequest(st)) return;
    try {
      host.respond(st.id, status, statusText, pairs, body instanceof HeldBody ? body.handle : body);
    } catch (e) {
      // The host checks what it is given (header count and sizes) before it
      // takes the answer; a refused response would leave the client waiting
      // until the wall-clock limit, so it becomes the request's failure.
      try {
        host.fail(st.id, 'exception', 'Invalid response: ' + errorMessage(e), '');
      } catch (e2) {
        hostLog('error', 'wfp runtime: host refused the response: ' + errorMessage(e));
      }
    }
    closeIfIdle(st);
  }

  function onHandlerSettled(st, value, rejected) {
    if (rejected) failWithException(st, value);
    else respondRequest(st, value);
  }

  // The handler's result: a Response now, or anything that becomes one.
  function awaitResult(st, result) {
    if (result instanceof Response) {
      respondRequest(st, result);
      return;
    }
    whenSettled(toPromise(result), onHandlerSettled, st);
  }

  // ctx and FetchEvent carry their request's record under K_EVENT; a
  // detached waitUntil (`const { waitUntil } = ctx`) falls back to the
  // request whose code is running.
  var K_EVENT = slot('event');
  function requestStateOf(obj, what) {
    var st = isObject(obj) ? obj[K_EVENT] : undefined;
    if (st instanceof RequestState) return st;
    st = current !== null && current !== undefined ? live[current] : undefined;
    if (st === undefined) throw new TypeError(what + ': Illegal invocation');
    return st;
  }

  function onWaitUntilSettled(st, value, rejected) {
    // Runs in the request's context, so the log line carries its id.
    if (rejected) logError('Uncaught (in waitUntil) ', value);
    st.pending--;
    closeIfIdle(st);
  }
  function waitUntil(promise) {
    var st = requestStateOf(this, 'waitUntil');
    if (live[st.id] !== st) {
      hostLog('warn', 'waitUntil() was called after the request had finished; the promise is not waited for.');
      return;
    }
    st.pending++;
    var saved = current;
    current = st.id; // the settlement is charged to this request
    whenSettled(toPromise(promise), onWaitUntilSettled, st);
    current = saved;
  }
  // There is no origin to fall back to: an exception still fails the
  // request. The flag is kept (and documented in wfp-runtime(7)) so that
  // code written for Cloudflare runs unchanged.
  function passThroughOnException() {
    requestStateOf(this, 'passThroughOnException').passThrough = true;
  }

  function ExecutionContext() {
    throw new TypeError('Illegal constructor');
  }
  defineMethods(ExecutionContext.prototype, { waitUntil: waitUntil, passThroughOnException: passThroughOnException });
  defineTag(ExecutionContext.prototype, 'ExecutionContext');
  function makeExecutionContext(args, st) {
    var ctx = createObject(ExecutionContext.prototype);
    ctx.args = args;
    ctx[K_EVENT] = st;
    return ctx;
  }

  function FetchEvent() {
    throw new TypeError('Illegal constructor');
  }
  defineMethods(FetchEvent.prototype, {
    respondWith: function respondWith(response) {
      var st = this instanceof FetchEvent ? this[K_EVENT] : undefined;
      if (!isObject(st)) throw new TypeError('Illegal invocation');
      if (st.responded) throw new TypeError('FetchEvent.respondWith() has already been called; it can be called at most once.');
      if (!st.dispatching) throw new TypeError('FetchEvent.respondWith() must be called synchronously from the event listener.');
      st.responded = true;
      st.result = response;
    },
    waitUntil: waitUntil,
    passThroughOnException: passThroughOnException
  });
  defineTag(FetchEvent.prototype, 'FetchEvent');

  // ---------------------------------------------------------------------
  // Script formats and the fetch handler.
  var format = null;
  var env = null;
  var moduleObject = null;
  var handlerFn = null;
  var handlerThis;
  var fetchListeners = [];
  var scheduledListener = false; // addEventListener('scheduled', ...) was called
  var NO_SCHEDULED = 'Scheduled handlers are not supported by wfp yet (see wfp-runtime(7)): this script has a scheduled handler but no fetch handler.';

  function addEventListener(type, listener) {
    type = String(type);
    if (type === 'scheduled' && isObject(listener)) scheduledListener = true;
    if (type !== 'fetch' || !isObject(listener)) return;
    for (var i = 0; i < fetchListeners.length; i++) if (fetchListeners[i] === listener) return;
    fetchListeners[fetchListeners.length] = listener;
  }
  function removeEventListener(type, listener) {
    if (String(type) !== 'fetch') return;
    for (var i = 0; i < fetchListeners.length; i++) {
      if (fetchListeners[i] === listener) {
        fetchListeners.splice(i, 1);
        return;
      }
    }
  }

  function dispatchFetchEvent(st, request) {
    var event = createObject(FetchEvent.prototype);
    defineProperty(event, 'type', { value: 'fetch', enumerable: true });
    defineProperty(event, 'request', { value: request, enumerable: true });
    event[K_EVENT] = st;
    var listeners = fetchListeners.slice(0);
    st.dispatching = true;
    try {
      for (var i = 0; i < listeners.length; i++) {
        var l = listeners[i];
        if (typeof l === 'function') fnCall(l, global, event);
        else fnCall(l.handleEvent, l, event);
      }
    } finally {
      st.dispatching = false;
    }
  }

  // Values added to env for one call (an outbound worker's parameters):
  // a copy of env with them on top; the shared env is never changed.
  function envWith(extraJson) {
    if (typeof extraJson !== 'string' || extraJson === '') return env;
    var extra = jsonParse(extraJson);
    var out = {};
    var names = objectKeys(env);
    for (var i = 0; i < names.length; i++) defineValue(out, names[i], env[names[i]]);
    if (isObject(extra)) {
      names = objectKeys(extra);
      for (var j = 0; j < names.length; j++) defineValue(out, names[j], extra[names[j]]);
    }
    return out;
  }

  function handle(reqId, method, url, headers, body, argsJson, envJson) {
    if (live[reqId] !== undefined) throw new Error('wfp runtime: request ' + reqId + ' is already running');
    var st = new RequestState(reqId);
    live[reqId] = st;
    var saved = current;
    current = reqId;
    try {
      var request = initRequest(createObject(RequestPrototype), String(method), String(url),
        headersFromHost(headers, GUARD_IMMUTABLE), isObject(body) ? body : null);
      if (format === 'commonjs' && handlerFn !== null) {
        var ctx = makeExecutionContext(typeof argsJson === 'string' && argsJson !== '' ? jsonParse(argsJson) : undefined, st);
        awaitResult(st, fnCall(handlerFn, handlerThis, request, envWith(envJson), ctx));
      } else if (format === 'service-worker' && fetchListeners.length > 0) {
        dispatchFetchEvent(st, request);
        if (!st.responded) failRequest(st, 'no_handler', 'The fetch handler did not call respondWith().', '');
        else awaitResult(st, st.result);
      } else {
        failRequest(st, 'no_handler', NO_HANDLER, '');
      }
    } catch (e) {
      failWithException(st, e);
    }
    current = saved;
  }

  // ---------------------------------------------------------------------
  // Timers, within a request only (as on Cloudflare): each belongs to the
  // request whose code set it and dies with it (closeIfIdle). The host keeps
  // the clock (host.setTimer → its id; fireTimer(id) when due); the id a
  // script sees is ours, so an interval keeps one id across its re-arming.
  var timers = createObject(null); // our id -> record
  var hostTimers = createObject(null); // host id -> record
  var nextTimerId = 1;

  function TimerRecord(id, st, fn, args, interval) {
    this.id = id;
    this.hostId = 0;
    this.st = st;
    this.fn = fn;
    this.args = args; // extra arguments for fn, or null
    this.interval = interval; // ms for setInterval, -1 for setTimeout
  }

  function addTimer(name, callback, delay, args, repeat) {
    if (typeof callback !== 'function') {
      throw new TypeError(name + '(): the callback must be a function (code strings are not evaluated).');
    }
    if (current === null || current === undefined) {
      throw new Error('Disallowed operation called within global scope: ' + name + '() is only possible while handling a request.');
    }
    var st = live[current];
    if (st === undefined) throw new Error(name + '(): the request that set this timer has already finished.');
    var ms = Number(delay);
    if (!(ms > 0)) ms = 0; // NaN and negatives too
    // An interval of 0 would have the runner fire it on every loop turn.
    if (repeat && ms < 1) ms = 1;
    var extra = null;
    if (args.length > 2) {
      extra = [];
      for (var i = 2; i < args.length; i++) extra[extra.length] = args[i];
    }
    var rec = new TimerRecord(nextTimerId, st, callback, extra, repeat ? ms : -1);
    rec.hostId = host.setTimer(st.id, ms); // throws past the host's limits
    nextTimerId++;
    timers[rec.id] = rec;
    hostTimers[rec.hostId] = rec;
    st.timers++;
    return rec.id;
  }

  function removeTimer(rec) {
    if (timers[rec.id] !== rec) return;
    delete timers[rec.id];
    if (hostTimers[rec.hostId] === rec) delete hostTimers[rec.hostId];
    rec.st.timers--;
  }

  // The request is done: its timers go (the host drops its side itself).
  function dropTimers(st) {
    var ids = objectKeys(timers);
    for (var i = 0; i < ids.length; i++) {
      var rec = timers[ids[i]];
      if (rec.st === st) removeTimer(rec);
    }
  }

  function setTimeout(callback, delay) {
    return addTimer('setTimeout', callback, delay, arguments, false);
  }
  function setInterval(callback, delay) {
    return addTimer('setInterval', callback, delay, arguments, true);
  }
  // clearTimeout and clearInterval are interchangeable, as in browsers.
  function clearTimer(id) {
    if (typeof id !== 'number') return;
    var rec = timers[id];
    if (rec === undefined) return;
    removeTimer(rec);
    try {
      host.clearTimer(rec.hostId);
    } catch (e) {
      // the host forgets timers of finished requests itself
    }
  }

  // The host's timer hostId is due. Runs the callback in the context of the
  // request that set it; an exception is reported like one in a microtask
  // (logged, the request goes on), as browsers do for timers.
  function fireTimer(hostId) {
    var rec = hostTimers[hostId];
    if (rec === undefined) return false;
    delete hostTimers[hostId];
    var st = rec.st;
    if (live[st.id] !== st) {
      removeTimer(rec);
      return false;
    }
    var saved = current;
    current = st.id;
    if (rec.interval >= 0) {
      // Re-armed before the callback runs, so that it can clear itself.
      try {
        rec.hostId = host.setTimer(st.id, rec.interval);
        hostTimers[rec.hostId] = rec;
      } catch (e) {
        removeTimer(rec);
        logError('setInterval() stopped: ', e);
      }
    } else {
      removeTimer(rec);
    }
    try {
      if (rec.args === null) fnCall(rec.fn, global);
      else fnApply(rec.fn, global, rec.args);
    } catch (e) {
      logError('Uncaught ', e);
    }
    current = saved;
    return true;
  }

  // ---------------------------------------------------------------------
  // Bindings.
  var pendingSubrequests = createObject(null); // subId -> {promise, context, url}

  function dispatchFetch(bindingName, scriptName, argsJson, input, init, cpuMs, subRequests, outboundJson) {
    var promise = newPromise();
    try {
      if (current === null || current === undefined) {
        throw new Error('Disallowed operation called within global scope: dispatch fetch() is only possible while handling a request.');
      }
      var request = new Request(input, init);
      var body = takeBody(request);
      var subId = host.subrequest(current, bindingName, scriptName, argsJson, request[K_METHOD], request[K_URL],
        headersToHost(request[K_HEADERS][K_LIST]), body instanceof HeldBody ? body.handle : body, cpuMs, subRequests,
        outboundJson || '');
      pendingSubrequests[subId] = { promise: promise, context: current, url: request[K_URL], fetch: false };
    } catch (e) {
      settle(promise, REJECTED, e);
    }
    return promise;
  }

  // The global fetch(): the supervisor makes the request (sandboxes have no
  // sockets), checks where it goes, and answers with a Response whose large
  // body it keeps until read. Counts as a subrequest.
  function fetch(input, init) {
    var promise = newPromise();
    try {
      if (current === null || current === undefined) {
        throw new Error('Disallowed operation called within global scope: fetch() is only possible while handling a request.');
      }
      var request = new Request(input, init);
      var body = takeBody(request);
      var subId = host.fetch(current, request[K_METHOD], request[K_URL], headersToHost(request[K_HEADERS][K_LIST]),
        body instanceof HeldBody ? body.handle : body, REDIRECT_MODES[request[K_REDIRECT]]);
      pendingSubrequests[subId] = { promise: promise, context: current, url: request[K_URL], fetch: true };
    } catch (e) {
      settle(promise, REJECTED, e);
    }
    return promise;
  }

  function makeDispatchBinding(bindingName) {
    return {
      get: function get(name, args, options) {
        if (typeof name !== 'string') throw new TypeError('The name of the worker must be a string.');
        var argsJson = '';
        if (args !== undefined) {
          var json = jsonStringify(args);
          if (typeof json === 'string') argsJson = json;
        }
        // options.limits {cpuMs, subRequests} travel with each call; the
        // supervisor keeps the smallest of them and the script's own.
        // options.outbound {P: value} become env.P of the binding's outbound
        // worker, for the fetches of this call (the parameters it declares).
        var cpuMs = 0, subRequests = 0, outboundJson = '';
        if (isObject(options)) {
          if (isObject(options.limits)) {
            cpuMs = Number(options.limits.cpuMs) || 0;
            subRequests = Number(options.limits.subRequests) || 0;
          }
          if (isObject(options.outbound)) {
            var out = jsonStringify(options.outbound);
            if (typeof out === 'string') outboundJson = out;
          }
        }
        return {
          fetch: function fetch(input, init) {
            return dispatchFetch(bindingName, name, argsJson, input, init, cpuMs, subRequests, outboundJson);
          }
        };
      }
    };
  }

  // A service binding calls the platform worker it names, without a route:
  // the same host call as a dispatch, with no script name.
  function makeServiceBinding(bindingName) {
    return {
      fetch: function fetch(input, init) {
        return dispatchFetch(bindingName, '', '', input, init);
      }
    };
  }

  function bindingValue(b) {
    switch (b.type) {
      case 'plain_text':
      case 'secret_text':
        return String(b.text);
      case 'json':
        return typeof b.text === 'string' ? jsonParse(b.text) : b.json;
      case 'dispatch_namespace':
        return makeDispatchBinding(String(b.name));
      case 'service':
        return makeServiceBinding(String(b.name));
      default:
        throw new TypeError('Unknown binding type: ' + b.type);
    }
  }

  function defineValue(obj, name, value) {
    defineProperty(obj, name, { value: value, writable: true, enumerable: true, configurable: true });
  }

  function prepare(fmt, bindings) {
    if (fmt !== 'service-worker' && fmt !== 'commonjs') throw new TypeError('Unknown script format: ' + fmt);
    format = fmt;
    env = {};
    var list = isArray(bindings) ? bindings : [];
    for (var i = 0; i < list.length; i++) {
      var name = String(list[i].name);
      var value = bindingValue(list[i]);
      defineValue(env, name, value);
      if (fmt === 'service-worker') defineValue(global, name, value);
    }
    if (fmt === 'commonjs') {
      moduleObject = { exports: {} };
      defineValue(global, 'module', moduleObject);
      defineValue(global, 'exports', moduleObject.exports);
    }
  }

  function finish() {
    handlerFn = null;
    handlerThis = undefined;
    try {
      if (format === 'commonjs') {
        var exp = moduleObject.exports;
        if (isObject(exp)) {
          if (typeof exp.fetch === 'function') {
            handlerFn = exp.fetch;
            handlerThis = exp;
          } else if (isObject(exp['default']) && typeof exp['default'].fetch === 'function') {
            handlerThis = exp['default'];
            handlerFn = handlerThis.fetch;
          }
        }
        if (handlerFn !== null) return '';
        if (isObject(exp) && (typeof exp.scheduled === 'function' ||
            (isObject(exp['default']) && typeof exp['default'].scheduled === 'function'))) {
          return NO_SCHEDULED;
        }
        return NO_HANDLER;
      }
      if (format === 'service-worker') return fetchListeners.length > 0 ? '' : scheduledListener ? NO_SCHEDULED : NO_HANDLER;
      return 'prepare() was not called';
    } catch (e) {
      return 'Could not read the fetch handler: ' + errorMessage(e);
    }
  }

  // A response's body is null, bytes, or (handle ≠ 0) a body the
  // supervisor holds, read only if the worker reads it.
  function subResolve(subId, status, statusText, headers, body, handle, size, url, redirected) {
    var entry = pendingSubrequests[subId];
    if (entry === undefined) return false;
    delete pendingSubrequests[subId];
    var saved = current;
    current = entry.context;
    var bodyValue = isObject(body) ? body : null;
    if (handle > 0) {
      bodyValue = new HeldBody(handle, size);
      heldBodies[handle] = bodyValue;
      var st = live[entry.context];
      if (st !== undefined) {
        if (st.held === null) st.held = [];
        st.held.push(handle);
      }
    }
    // Null-body statuses (and HEAD) carry no body whatever came.
    if (status === 101 || status === 204 || status === 205 || status === 304) bodyValue = null;
    var response = setResponse(createObject(ResponsePrototype), status, String(statusText),
      headersFromHost(headers, GUARD_IMMUTABLE), bodyValue, 'default',
      typeof url === 'string' && url !== '' ? url : entry.url);
    if (redirected === true) response[K_REDIRECTED] = true;
    settle(entry.promise, FULFILLED, response);
    current = saved;
    return true;
  }

  function subReject(subId, message) {
    var entry = pendingSubrequests[subId];
    if (entry === undefined) return false;
    delete pendingSubrequests[subId];
    var saved = current;
    current = entry.context;
    settle(entry.promise, REJECTED, entry.fetch ? new TypeError(String(message)) : new Error(String(message)));
    current = saved;
    return true;
  }

  // Bodies the supervisor holds, read on demand (text(), json(), ...).
  var pendingReads = createObject(null); // readId -> {promise, context}

  function readHeld(held) {
    var promise = newPromise();
    try {
      if (current === null || current === undefined) {
        throw new Error('Disallowed operation called within global scope: a response body can only be read while handling a request.');
      }
      var readId = host.readBody(current, held.handle);
      pendingReads[readId] = { promise: promise, context: current };
    } catch (e) {
      settle(promise, REJECTED, e);
    }
    return promise;
  }

  function bodyResolve(readId, bytes) {
    var entry = pendingReads[readId];
    if (entry === undefined) return false;
    delete pendingReads[readId];
    var saved = current;
    current = entry.context;
    settle(entry.promise, FULFILLED, isObject(bytes) ? bytes : new Uint8(0));
    current = saved;
    return true;
  }

  function bodyReject(readId, message) {
    var entry = pendingReads[readId];
    if (entry === undefined) return false;
    delete pendingReads[readId];
    var saved = current;
    current = entry.context;
    settle(entry.promise, REJECTED, new TypeError(String(message)));
    current = saved;
    return true;
  }

  // ---------------------------------------------------------------------
  // structuredClone: the HTML structured clone of the values a worker can
  // hold: primitives, plain objects and arrays, Date, RegExp, boxed
  // primitives, ArrayBuffer, typed arrays, DataView, Map, Set, Error and
  // DOMException, keeping cycles and shared references. Functions, symbols
  // and platform objects (Request, Promise, WeakMap...) are refused with a
  // DataCloneError: a DOMException when encoding.js provides one.
  var MapCtor = typeof global.Map === 'function' ? global.Map : null; // polyfills.js or the engine
  var SetCtor = typeof global.Set === 'function' ? global.Set : null;
  var mapEntries = MapCtor !== null ? MapCtor.prototype.entries : null;
  var mapSet = MapCtor !== null ? MapCtor.prototype.set : null;
  var mapGet = MapCtor !== null ? MapCtor.prototype.get : null;
  var setValues = SetCtor !== null ? SetCtor.prototype.values : null;
  var setAdd = SetCtor !== null ? SetCtor.prototype.add : null;
  var dateGetTime = Date.prototype.getTime;
  var bufferSlice = ArrayBuffer.prototype.slice;
  var ERROR_TYPES = { EvalError: EvalError, RangeError: RangeError, ReferenceError: ReferenceError,
    SyntaxError: SyntaxError, TypeError: TypeError, URIError: URIError };
  var VIEW_TYPES = createObject(null); // '[object Uint8Array]' -> Uint8Array, ...
  var viewNames = ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array',
    'Uint32Array', 'Float32Array', 'Float64Array', 'DataView'];
  for (var v = 0; v < viewNames.length; v++) {
    if (typeof global[viewNames[v]] === 'function') VIEW_TYPES['[object ' + viewNames[v] + ']'] = global[viewNames[v]];
  }
  viewNames = null;

  function dataCloneError(what) {
    var message = what + ' could not be cloned.';
    var DOMExceptionCtor = global.DOMException;
    if (typeof DOMExceptionCtor === 'function') return new DOMExceptionCtor(message, 'DataCloneError');
    return new TypeError(message);
  }

  function cloneValue(value, memo) {
    if (typeof value === 'symbol') throw dataCloneError(safeString(value));
    if (typeof value === 'function') throw dataCloneError('function ' + (value.name || '(anonymous)'));
    if (!isObject(value)) return value;
    var done = fnCall(mapGet, memo, value);
    if (done !== undefined) return done;
    var tag = fnCall(objectToString, value);
    var out, it, step;
    switch (tag) {
      case '[object Object]':
      case '[object Arguments]':
        out = {};
        fnCall(mapSet, memo, value, out);
        return cloneProperties(value, out, memo);
      case '[object Array]':
        out = new Array(value.length);
        fnCall(mapSet, memo, value, out);
        return cloneProperties(value, out, memo);
      case '[object Date]':
        out = new Date(fnCall(dateGetTime, value));
        break;
      case '[object RegExp]':
        out = new RegExp(value.source, (value.global ? 'g' : '') + (value.ignoreCase ? 'i' : '') + (value.multiline ? 'm' : ''));
        break;
      case '[object Boolean]':
        out = new Boolean(value.valueOf());
        break;
      case '[object Number]':
        out = new Number(value.valueOf());
        break;
      case '[object String]':
        out = new String(value.valueOf());
        break;
      case '[object ArrayBuffer]':
        out = fnCall(bufferSlice, value, 0);
        break;
      case '[object Map]':
        if (MapCtor === null || !(value instanceof MapCtor)) throw dataCloneError(tag);
        out = new MapCtor();
        fnCall(mapSet, memo, value, out);
        it = fnCall(mapEntries, value);
        for (step = it.next(); !step.done; step = it.next()) {
          fnCall(mapSet, out, cloneValue(step.value[0], memo), cloneValue(step.value[1], memo));
        }
        return out;
      case '[object Set]':
        if (SetCtor === null || !(value instanceof SetCtor)) throw dataCloneError(tag);
        out = new SetCtor();
        fnCall(mapSet, memo, value, out);
        it = fnCall(setValues, value);
        for (step = it.next(); !step.done; step = it.next()) fnCall(setAdd, out, cloneValue(step.value, memo));
        return out;
      default:
        if (VIEW_TYPES[tag] !== undefined && isView(value)) {
          // Views of one buffer stay views of one (cloned) buffer.
          var buffer = cloneValue(value.buffer, memo);
          var n = tag === '[object DataView]' ? value.byteLength : value.length;
          out = new VIEW_TYPES[tag](buffer, value.byteOffset, n);
          break;
        }
        var DOMExceptionCtor = global.DOMException;
        if (typeof DOMExceptionCtor === 'function' && value instanceof DOMExceptionCtor) {
          out = new DOMExceptionCtor(String(value.message), String(value.name));
          break;
        }
        if (tag === '[object Error]' || value instanceof Error) {
          out = cloneError(value, memo);
          break;
        }
        throw dataCloneError(tag.slice(8, -1) + ' object');
    }
    fnCall(mapSet, memo, value, out);
    return out;
  }

  // Own enumerable string keys, as the spec copies them.
  function cloneProperties(from, to, memo) {
    var keys = objectKeys(from);
    for (var i = 0; i < keys.length; i++) {
      var v = cloneValue(from[keys[i]], memo);
      if (keys[i] === '__proto__') defineValue(to, keys[i], v);
      else to[keys[i]] = v;
    }
    return to;
  }

  function cloneError(value, memo) {
    var name = value.name;
    var Ctor = typeof name === 'string' && hasOwnProperty(ERROR_TYPES, name) ? ERROR_TYPES[name] : Error;
    var message = hasOwnProperty(value, 'message') ? String(value.message) : undefined;
    var out = message !== undefined ? new Ctor(message) : new Ctor();
    var stack = errorStack(value);
    if (stack !== '') defineHidden(out, 'stack', stack);
    if (hasOwnProperty(value, 'cause')) defineHidden(out, 'cause', cloneValue(value.cause, memo));
    return out;
  }

  function structuredClone(value, options) {
    if (arguments.length === 0) throw new TypeError("Failed to execute 'structuredClone': 1 argument required, but only 0 present.");
    if (MapCtor === null) throw new TypeError('structuredClone needs Map, which this engine lacks');
    return cloneValue(value, new MapCtor());
  }

  // ---------------------------------------------------------------------
  // Event and EventTarget: what AbortSignal needs, usable on their own. There
  // is no tree, so no capture or bubbling: an event reaches its target only.
  // An exception in a listener is logged, as browsers report it, and the
  // other listeners still run.
  var K_STOP = slot('stop');
  var K_LISTENERS = slot('listeners');

  function Event(type, init) {
    if (!(this instanceof Event)) throw new TypeError("Failed to construct 'Event': Please use the 'new' operator.");
    if (arguments.length === 0) throw new TypeError("Failed to construct 'Event': 1 argument required, but only 0 present.");
    var opts = isObject(init) ? init : {};
    this.type = String(type);
    this.bubbles = !!opts.bubbles;
    this.cancelable = !!opts.cancelable;
    this.composed = !!opts.composed;
    this.defaultPrevented = false;
    this.target = null;
    this.currentTarget = null;
    this.eventPhase = 0;
    this.isTrusted = false;
    this.timeStamp = typeof performance === 'object' && performance !== null && typeof performance.now === 'function' ? performance.now() : 0;
  }
  defineMethods(Event.prototype, {
    preventDefault: function () {
      if (this.cancelable) this.defaultPrevented = true;
    },
    stopPropagation: function () {},
    stopImmediatePropagation: function () {
      this[K_STOP] = true;
    },
    composedPath: function () {
      return this.currentTarget !== null ? [this.currentTarget] : [];
    }
  });
  defineTag(Event.prototype, 'Event');

  function EventTarget() {
    if (!(this instanceof EventTarget)) throw new TypeError("Failed to construct 'EventTarget': Please use the 'new' operator.");
  }
  function listenerCapture(options) {
    return typeof options === 'boolean' ? options : isObject(options) && !!options.capture;
  }
  // The listener list of one type: [{listener, capture, once}], or null.
  function listenersOf(target, type, create) {
    var all = target[K_LISTENERS];
    if (all === undefined) {
      if (!create) return null;
      all = createObject(null);
      defineHidden(target, K_LISTENERS, all);
    }
    var list = all[type];
    if (list === undefined) {
      if (!create) return null;
      list = all[type] = [];
    }
    return list;
  }
  function removeListenerEntry(list, entry) {
    for (var i = 0; i < list.length; i++) {
      if (list[i] === entry) {
        list.splice(i, 1);
        return;
      }
    }
  }
  function removeOnAbort(data) {
    var list = listenersOf(data.target, data.type, false);
    if (list !== null) removeListenerEntry(list, data.entry);
  }
  // Calls every listener of event.type on target (after `handler`, the
  // target's on<type> property when it has one) with the target as `this`.
  function dispatchTo(target, event, handler) {
    if (!(event instanceof Event)) throw new TypeError("Failed to execute 'dispatchEvent': parameter 1 is not of type 'Event'.");
    event.target = target;
    event.currentTarget = target;
    event.eventPhase = 2; // AT_TARGET
    try {
      if (typeof handler === 'function') fnCall(handler, target, event);
    } catch (e) {
      logError('Uncaught ', e);
    }
    var list = listenersOf(target, event.type, false);
    if (list !== null) {
      var snapshot = list.slice(0);
      for (var i = 0; i < snapshot.length && event[K_STOP] !== true; i++) {
        var entry = snapshot[i];
        if (list.indexOf(entry) < 0) continue; // removed by an earlier listener
        if (entry.once) removeListenerEntry(list, entry);
        try {
          var l = entry.listener;
          if (typeof l === 'function') fnCall(l, target, event);
          else if (isObject(l) && typeof l.handleEvent === 'function') fnCall(l.handleEvent, l, event);
        } catch (e) {
          logError('Uncaught ', e);
        }
      }
    }
    event.currentTarget = null;
    event.eventPhase = 0;
    return !event.defaultPrevented;
  }
  defineMethods(EventTarget.prototype, {
    addEventListener: function (type, listener, options) {
      if (listener === null || listener === undefined) return;
      if (!isObject(listener)) throw new TypeError("Failed to execute 'addEventListener': parameter 2 is not of type 'Object'.");
      var signal = isObject(options) ? options.signal : undefined;
      if (signal instanceof AbortSignal && signal[K_ABORT].aborted) return;
      type = String(type);
      var capture = listenerCapture(options);
      var list = listenersOf(this, type, true);
      for (var i = 0; i < list.length; i++) if (list[i].listener === listener && list[i].capture === capture) return;
      var entry = { listener: listener, capture: capture, once: isObject(options) && !!options.once };
      list[list.length] = entry;
      if (signal instanceof AbortSignal) {
        abortSubscribe(signal, bindTo(removeOnAbort, undefined, { target: this, type: type, entry: entry }));
      }
    },
    removeEventListener: function (type, listener, options) {
      var list = listenersOf(this, String(type), false);
      if (list === null) return;
      var capture = listenerCapture(options);
      for (var i = 0; i < list.length; i++) {
        if (list[i].listener === listener && list[i].capture === capture) {
          list.splice(i, 1);
          return;
        }
      }
    },
    dispatchEvent: function (event) {
      return dispatchTo(this, event, undefined);
    }
  });
  defineTag(EventTarget.prototype, 'EventTarget');

  // ---------------------------------------------------------------------
  // AbortController and AbortSignal.
  var K_ABORT = slot('abort');
  var K_SIGNAL = slot('signal');

  function AbortState() {
    this.aborted = false;
    this.reason = undefined;
    this.onabort = null;
    this.followers = null; // callbacks run on abort: AbortSignal.any, listener removal
  }

  function abortError(message, name) {
    var DOMExceptionCtor = global.DOMException;
    if (typeof DOMExceptionCtor === 'function') return new DOMExceptionCtor(message, name);
    var e = new Error(message);
    defineHidden(e, 'name', name);
    return e;
  }

  function AbortSignal() {
    throw new TypeError('Illegal constructor');
  }
  AbortSignal.prototype = createObject(EventTarget.prototype);
  defineHidden(AbortSignal.prototype, 'constructor', AbortSignal);
  var AbortSignalPrototype = AbortSignal.prototype;

  function newSignal() {
    var signal = createObject(AbortSignalPrototype);
    defineHidden(signal, K_ABORT, new AbortState());
    return signal;
  }
  function abortStateOf(signal) {
    var st = signal instanceof AbortSignal ? signal[K_ABORT] : undefined;
    if (!(st instanceof AbortState)) throw new TypeError('Illegal invocation');
    return st;
  }
  function abortSubscribe(signal, callback) {
    var st = abortStateOf(signal);
    if (st.followers === null) st.followers = [];
    st.followers[st.followers.length] = callback;
  }
  function signalAbort(signal, reason) {
    var st = abortStateOf(signal);
    if (st.aborted) return;
    st.aborted = true;
    st.reason = reason !== undefined ? reason : abortError('This operation was aborted', 'AbortError');
    var followers = st.followers;
    st.followers = null;
    if (followers !== null) {
      for (var i = 0; i < followers.length; i++) {
        try {
          followers[i](st.reason);
        } catch (e) {
          logError('Uncaught ', e);
        }
      }
    }
    dispatchTo(signal, new Event('abort'), st.onabort);
  }
  function signalTimeout(signal) {
    signalAbort(signal, abortError('The operation was aborted due to timeout', 'TimeoutError'));
  }
  function followAbort(signal, reason) {
    signalAbort(signal, reason);
  }

  defineGetters(AbortSignalPrototype, {
    aborted: function () {
      return abortStateOf(this).aborted;
    },
    reason: function () {
      return abortStateOf(this).reason;
    }
  });
  defineProperty(AbortSignalPrototype, 'onabort', {
    get: function () {
      return abortStateOf(this).onabort;
    },
    set: function (fn) {
      abortStateOf(this).onabort = isObject(fn) ? fn : null;
    },
    enumerable: true,
    configurable: true
  });
  defineMethods(AbortSignalPrototype, {
    throwIfAborted: function () {
      var st = abortStateOf(this);
      if (st.aborted) throw st.reason;
    }
  });
  defineTag(AbortSignalPrototype, 'AbortSignal');
  defineMethods(AbortSignal, {
    abort: function (reason) {
      var signal = newSignal();
      signalAbort(signal, reason);
      return signal;
    },
    // Needs a request, like setTimeout: the timer belongs to it.
    timeout: function (ms) {
      var signal = newSignal();
      addTimer('AbortSignal.timeout', bindTo(signalTimeout, undefined, signal), ms, [], false);
      return signal;
    },
    any: function (signals) {
      var list = listFromIterable(signals);
      var result = newSignal();
      var i;
      for (i = 0; i < list.length; i++) abortStateOf(list[i]);
      for (i = 0; i < list.length; i++) {
        var st = list[i][K_ABORT];
        if (st.aborted) {
          signalAbort(result, st.reason);
          return result;
        }
      }
      var follow = bindTo(followAbort, undefined, result);
      for (i = 0; i < list.length; i++) abortSubscribe(list[i], follow);
      return result;
    }
  });

  function AbortController() {
    if (!(this instanceof AbortController)) throw new TypeError("Failed to construct 'AbortController': Please use the 'new' operator.");
    defineHidden(this, K_SIGNAL, newSignal());
  }
  function controllerSignal(c) {
    var signal = c instanceof AbortController ? c[K_SIGNAL] : undefined;
    if (!(signal instanceof AbortSignal)) throw new TypeError('Illegal invocation');
    return signal;
  }
  defineGetters(AbortController.prototype, {
    signal: function () {
      return controllerSignal(this);
    }
  });
  defineMethods(AbortController.prototype, {
    abort: function (reason) {
      signalAbort(controllerSignal(this), reason);
    }
  });
  defineTag(AbortController.prototype, 'AbortController');

  // ---------------------------------------------------------------------
  // APIs not provided yet: each fails with an error naming it, listed in
  // wfp-runtime(7), rather than as an undefined global.
  var SEE_MAN = ' (see wfp-runtime(7))';
  function unsupportedConstructor(name) {
    throw new TypeError(name + ' is not supported by wfp yet' + SEE_MAN);
  }
  // ---------------------------------------------------------------------
  // The Cache API: each call goes to the supervisor, which keeps the
  // entries in the tenant's own cache file and applies Cloudflare's rules
  // (what put refuses or skips, freshness, conditional and ranged match).
  // Counts as a subrequest.
  var CACHE_OPS = { match: 0, put: 1, 'delete': 2 };
  var K_CACHE_NAME = slot('cacheName');
  var K_CACHE_DEFAULT = slot('cacheDefault');

  function Cache() {
    throw new TypeError('Illegal constructor');
  }
  var CachePrototype = Cache.prototype;
  function makeCache(isDefault, name) {
    var c = createObject(CachePrototype);
    c[K_CACHE_DEFAULT] = isDefault;
    c[K_CACHE_NAME] = name;
    return c;
  }
  function cacheOwner(c) {
    if (!(c instanceof Cache) || c[K_CACHE_NAME] === undefined) throw new TypeError('Illegal invocation');
    return c;
  }

  function cacheOp(op, cache, input, options, response) {
    var promise = newPromise();
    try {
      cacheOwner(cache);
      if (current === null || current === undefined) {
        throw new Error('Disallowed operation called within global scope: the Cache API is only available while handling a request.');
      }
      // A URL stands for a GET of it with no headers: no Request is built.
      var isRequest = input instanceof Request;
      var url = isRequest ? input[K_URL] : normalizeUrl(input);
      var method = isRequest ? input[K_METHOD] : 'GET';
      var requestPairs = isRequest ? headersToHost(input[K_HEADERS][K_LIST]) : [];
      var ignoreMethod = isObject(options) && options.ignoreMethod === true;
      var status = 0, responsePairs = [], body = null;
      if (op === CACHE_OPS.put) {
        if (!(response instanceof Response) || response[K_STATUS] === undefined) {
          throw new TypeError("Failed to execute 'put' on 'Cache': parameter 2 is not of type 'Response'.");
        }
        status = response[K_STATUS];
        responsePairs = headersToHost(listOf(response[K_HEADERS]));
        body = takeBody(response);
      }
      var subId = host.cacheOp(current, op, cache[K_CACHE_DEFAULT], cache[K_CACHE_NAME], url, method,
        requestPairs, ignoreMethod, status, responsePairs, isHeld(body) ? body.handle : body);
      pendingSubrequests[subId] = { promise: promise, context: current, url: url, fetch: true, cacheOp: op };
    } catch (e) {
      settle(promise, REJECTED, e);
    }
    return promise;
  }

  defineMethods(CachePrototype, {
    match: function match(request, options) {
      return cacheOp(CACHE_OPS.match, this, request, options, null);
    },
    put: function put(request, response) {
      return cacheOp(CACHE_OPS.put, this, request, null, response);
    },
    'delete': function (request, options) {
      return cacheOp(CACHE_OPS['delete'], this, request, options, null);
    }
  });
  var CACHE_NOT_IMPLEMENTED = ['add', 'addAll', 'matchAll', 'keys'];
  for (var cn = 0; cn < CACHE_NOT_IMPLEMENTED.length; cn++) {
    (function (name) {
      defineHidden(CachePrototype, name, function () {
        return rejectedPromise(new TypeError('Cache.' + name + '() is not implemented (as on Workers)' + SEE_MAN));
      });
    })(CACHE_NOT_IMPLEMENTED[cn]);
  }
  defineTag(CachePrototype, 'Cache');

  // The answer to a Cache API call that is not a hit: match → undefined,
  // put → undefined, delete → whether an entry went.
  function cacheResolve(subId, value) {
    var entry = pendingSubrequests[subId];
    if (entry === undefined) return false;
    delete pendingSubrequests[subId];
    var saved = current;
    current = entry.context;
    settle(entry.promise, FULFILLED, entry.cacheOp === CACHE_OPS['delete'] ? value === true : undefined);
    current = saved;
    return true;
  }

  var defaultCache = makeCache(true, '');
  var caches = {};
  defineProperty(caches, 'default', {
    get: function () {
      if (host.cacheDefault() !== true) throw new TypeError('caches.default is disabled for namespaced scripts');
      return defaultCache;
    },
    enumerable: true
  });
  defineMethods(caches, {
    open: function open(name) {
      name = String(name);
      if (name.length >= 1024) return rejectedPromise(new TypeError('Cache name is too long (1024 characters or more).'));
      return fulfilledPromise(makeCache(false, name));
    }
  });
  defineTag(caches, 'CacheStorage');

  // ---------------------------------------------------------------------
  // Globals.
  function defineGlobal(name, value) {
    defineHidden(global, name, value);
  }
  defineGlobal('Promise', Promise);
  defineGlobal('queueMicrotask', queueMicrotask);
  defineGlobal('Headers', Headers);
  defineGlobal('Request', Request);
  defineGlobal('Response', Response);
  defineGlobal('console', console);
  defineGlobal('addEventListener', addEventListener);
  defineGlobal('removeEventListener', removeEventListener);
  if (global.self === undefined) defineGlobal('self', global);
  if (typeof global.AggregateError !== 'function') defineGlobal('AggregateError', AggregateErrorCtor);
  defineGlobal('setTimeout', setTimeout);
  defineGlobal('setInterval', setInterval);
  defineGlobal('clearTimeout', clearTimer);
  defineGlobal('clearInterval', clearTimer);
  defineGlobal('structuredClone', structuredClone);
  defineGlobal('Event', Event);
  defineGlobal('EventTarget', EventTarget);
  defineGlobal('AbortController', AbortController);
  defineGlobal('AbortSignal', AbortSignal);
  var UNSUPPORTED = ['ReadableStream', 'WritableStream', 'TransformStream', 'FormData', 'Blob', 'File', 'WebSocket',
    'HTMLRewriter', 'EventSource'];
  for (var u = 0; u < UNSUPPORTED.length; u++) {
    if (global[UNSUPPORTED[u]] === undefined) defineGlobal(UNSUPPORTED[u], bindTo(unsupportedConstructor, undefined, UNSUPPORTED[u]));
  }
  if (global.fetch === undefined) defineGlobal('fetch', fetch);
  // As on Workers: performance.now() is Date.now(), timeOrigin 0; both
  // move only across I/O.
  if (global.performance === undefined) {
    var dateNow = Date.now;
    var performance = {};
    defineMethods(performance, {
      now: function now() {
        return dateNow();
      }
    });
    defineProperty(performance, 'timeOrigin', { value: 0, enumerable: true });
    defineTag(performance, 'Performance');
    defineGlobal('performance', performance);
  }
  if (global.caches === undefined) defineGlobal('caches', caches);

  var wfp = {
    prepare: prepare,
    finish: finish,
    handle: handle,
    subResolve: subResolve,
    subReject: subReject,
    bodyResolve: bodyResolve,
    bodyReject: bodyReject,
    cacheResolve: cacheResolve,
    fireTimer: fireTimer,
    drain: drain
  };
  defineProperty(wfp, 'current', {
    get: function () {
      return current;
    },
    set: function (v) {
      current = v;
    },
    enumerable: true
  });
  defineGlobal('__wfp', wfp);
}, 'prototype', { value: undefined })(typeof globalThis === 'object' && globalThis !== null ? globalThis : this);
