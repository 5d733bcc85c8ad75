// url.js: the URL and URLSearchParams globals (WHATWG URL Standard) over the C++ parser in sandbox/url_natives.cc.
// Evaluated once per Duktape heap by sandbox/host.cc, after polyfills.js and before runtime.js (which deletes __host).
// Trusts only the __host natives it captures here; tenant code calling these classes is hostile and never sees the natives.
(function (global) {
  'use strict';

  var host = global.__host;
  if (host === null || typeof host !== 'object') throw new Error('url.js: __host is missing');
  var urlParse = host.urlParse;
  var urlCanParse = host.urlCanParse;
  var urlSet = host.urlSet;
  var urlOrigin = host.urlOrigin;
  var formParse = host.formParse;
  var formSerialize = host.formSerialize;

  var defineProperty = Object.defineProperty;
  var createObject = Object.create;
  var objectKeys = Object.keys;
  var isArray = Array.isArray;
  var hasSymbol = typeof Symbol === 'function';
  var iteratorSymbol = hasSymbol && typeof Symbol.iterator === 'symbol' ? Symbol.iterator : null;
  var toStringTagSymbol = hasSymbol && typeof Symbol.toStringTag === 'symbol' ? Symbol.toStringTag : null;

  // Internal slots live under symbols: invisible to for-in, Object.keys and JSON.
  function slot(name) {
    return hasSymbol ? Symbol('wfp.url.' + name) : '__wfp_url_' + name;
  }
  var K_PARTS = slot('parts'); // URL: the native's components, see PARTS below
  var K_PARAMS = slot('params'); // URL: its URLSearchParams, made on first use
  var K_LIST = slot('list'); // URLSearchParams: [name0, value0, name1, value1, ...]
  var K_OWNER = slot('owner'); // URLSearchParams: the URL it belongs to, or null
  var K_TARGET = slot('target'); // iterator: its URLSearchParams
  var K_KIND = slot('kind'); // iterator: 0 keys, 1 values, 2 entries
  var K_INDEX = slot('index'); // iterator: next pair

  // PARTS: [href, protocol, username, password, hostname, port, pathname, search, hash]
  var HREF = 0, PROTOCOL = 1, USERNAME = 2, PASSWORD = 3, HOSTNAME = 4, PORT = 5;
  var PATHNAME = 6, SEARCH = 7, HASH = 8;

  // WebIDL's ToString for DOMString/USVString arguments: symbols throw.
  function toStr(x) {
    if (typeof x === 'string') return x;
    if (typeof x === 'symbol') throw new TypeError('Cannot convert a Symbol value to a string');
    return String(x);
  }
  // USVString: lone surrogates become U+FFFD (the natives do the same for
  // what they receive; this is for names and values kept in JS).
  var SURROGATE = /[\uD800-\uDFFF]/;
  function toUsv(x) {
    var s = toStr(x);
    if (!SURROGATE.test(s)) return s;
    var out = '';
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        var d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          out += s.charAt(i) + s.charAt(i + 1);
          i++;
          continue;
        }
      }
      out += c >= 0xd800 && c <= 0xdfff ? '\uFFFD' : s.charAt(i);
    }
    return out;
  }
  // No function here mentions `arguments`: Duktape then builds an arguments
  // object on every call (measured: +0.9 us). So a missing argument reads as
  // undefined ("undefined" once converted) instead of throwing a TypeError.
  function setLength(fn, n) {
    defineProperty(fn, 'length', { value: n });
    return fn;
  }
  function defineMember(proto, name, value) {
    defineProperty(proto, name, { value: value, writable: true, enumerable: true, configurable: true });
  }
  function defineAccessor(proto, name, get, set) {
    defineProperty(proto, name, { get: get, set: set, enumerable: true, configurable: true });
  }
  function defineTag(proto, tag) {
    if (toStringTagSymbol !== null) {
      defineProperty(proto, toStringTagSymbol, { value: tag, writable: false, enumerable: false, configurable: true });
    }
  }
  function defineGlobal(name, value) {
    defineProperty(global, name, { value: value, writable: true, enumerable: false, configurable: true });
  }

  // -----------------------------------------------------------------------
  // URL

  function partsOf(url) {
    var parts = url !== null && url !== undefined ? url[K_PARTS] : undefined;
    if (parts === undefined) throw new TypeError('Illegal invocation: not a URL');
    return parts;
  }
  // The list of a query string ("" or "?..."), as URLSearchParams keeps it.
  function listOfSearch(search) {
    return search.length > 1 ? formParse(search.substring(1)) : [];
  }
  // After the URL's query changed: its URLSearchParams, if made, follows.
  function queryChanged(url) {
    var params = url[K_PARAMS];
    if (params !== undefined) params[K_LIST] = listOfSearch(url[K_PARTS][SEARCH]);
  }
  function setPart(url, setter, value) {
    var parts = urlSet(partsOf(url)[HREF], setter, toUsv(value));
    if (parts !== undefined) url[K_PARTS] = parts;
  }

  // The hot path of the whole file: no `arguments` (Duktape would build an
  // arguments object on every call), no helper call for string input. A
  // missing argument reads as "undefined", which fails with a TypeError too.
  function URL(url, base) {
    if (!(this instanceof URL)) throw new TypeError("Failed to construct 'URL': Please use the 'new' operator");
    var input = typeof url === 'string' ? url : toStr(url);
    var parts = base === undefined ? urlParse(input) : urlParse(input, toStr(base));
    if (parts === null) throw new TypeError('Invalid URL: ' + input);
    this[K_PARTS] = parts;
  }
  setLength(URL, 1);
  var URLPrototype = URL.prototype;

  function makeUrl(parts) {
    var url = createObject(URLPrototype);
    url[K_PARTS] = parts;
    return url;
  }

  defineProperty(URL, 'canParse', {
    value: setLength(function canParse(url, base) {
      var input = toStr(url);
      return base === undefined ? urlCanParse(input) : urlCanParse(input, toStr(base));
    }, 1),
    writable: true, enumerable: true, configurable: true
  });
  defineProperty(URL, 'parse', {
    value: setLength(function parse(url, base) {
      var input = toStr(url);
      var parts = base === undefined ? urlParse(input) : urlParse(input, toStr(base));
      return parts === null ? null : makeUrl(parts);
    }, 1),
    writable: true, enumerable: true, configurable: true
  });

  function hostOf(parts) {
    return parts[PORT] === '' ? parts[HOSTNAME] : parts[HOSTNAME] + ':' + parts[PORT];
  }

  defineAccessor(URLPrototype, 'href', function () {
    return partsOf(this)[HREF];
  }, function (value) {
    partsOf(this);
    var input = toUsv(value);
    var parts = urlParse(input);
    if (parts === null) throw new TypeError('Invalid URL: ' + input);
    this[K_PARTS] = parts;
    queryChanged(this);
  });
  defineAccessor(URLPrototype, 'origin', function () {
    var parts = partsOf(this);
    switch (parts[PROTOCOL]) {
      case 'http:': case 'https:': case 'ws:': case 'wss:': case 'ftp:':
        return parts[PROTOCOL] + '//' + hostOf(parts);
      case 'blob:':
        return urlOrigin(parts[HREF]);
      default:
        return 'null';
    }
  }, undefined);
  defineAccessor(URLPrototype, 'protocol', function () {
    return partsOf(this)[PROTOCOL];
  }, function (value) {
    setPart(this, 'protocol', value);
  });
  defineAccessor(URLPrototype, 'username', function () {
    return partsOf(this)[USERNAME];
  }, function (value) {
    setPart(this, 'username', value);
  });
  defineAccessor(URLPrototype, 'password', function () {
    return partsOf(this)[PASSWORD];
  }, function (value) {
    setPart(this, 'password', value);
  });
  defineAccessor(URLPrototype, 'host', function () {
    return hostOf(partsOf(this));
  }, function (value) {
    setPart(this, 'host', value);
  });
  defineAccessor(URLPrototype, 'hostname', function () {
    return partsOf(this)[HOSTNAME];
  }, function (value) {
    setPart(this, 'hostname', value);
  });
  defineAccessor(URLPrototype, 'port', function () {
    return partsOf(this)[PORT];
  }, function (value) {
    setPart(this, 'port', value);
  });
  defineAccessor(URLPrototype, 'pathname', function () {
    return partsOf(this)[PATHNAME];
  }, function (value) {
    setPart(this, 'pathname', value);
  });
  defineAccessor(URLPrototype, 'search', function () {
    return partsOf(this)[SEARCH];
  }, function (value) {
    setPart(this, 'search', value);
    queryChanged(this);
  });
  defineAccessor(URLPrototype, 'searchParams', function () {
    var parts = partsOf(this);
    var params = this[K_PARAMS];
    if (params === undefined) {
      params = createObject(URLSearchParamsPrototype);
      params[K_LIST] = listOfSearch(parts[SEARCH]);
      params[K_OWNER] = this;
      this[K_PARAMS] = params;
    }
    return params;
  }, undefined);
  defineAccessor(URLPrototype, 'hash', function () {
    return partsOf(this)[HASH];
  }, function (value) {
    setPart(this, 'hash', value);
  });
  defineMember(URLPrototype, 'toString', function toString() {
    return partsOf(this)[HREF];
  });
  defineMember(URLPrototype, 'toJSON', function toJSON() {
    return partsOf(this)[HREF];
  });
  defineTag(URLPrototype, 'URL');

  // -----------------------------------------------------------------------
  // URLSearchParams

  function listOf(params) {
    var list = params !== null && params !== undefined ? params[K_LIST] : undefined;
    if (list === undefined) throw new TypeError('Illegal invocation: not a URLSearchParams');
    return list;
  }
  // The URLSearchParams update steps: the owning URL's query follows the list.
  function listChanged(params) {
    var url = params[K_OWNER];
    if (url === null || url === undefined) return;
    var parts = urlSet(url[K_PARTS][HREF], 'search', formSerialize(params[K_LIST]));
    if (parts !== undefined) url[K_PARTS] = parts;
  }

  // An iterable's items as an array (WebIDL sequence conversion).
  function sequenceOf(value, what) {
    if (isArray(value)) return value;
    var method = iteratorSymbol !== null && value !== null && (typeof value === 'object' || typeof value === 'function')
      ? value[iteratorSymbol] : undefined;
    if (typeof method !== 'function') {
      throw new TypeError("Failed to construct 'URLSearchParams': " + what + ' is not iterable');
    }
    var iterator = method.call(value);
    var items = [];
    for (;;) {
      var step = iterator.next();
      if (step === null || typeof step !== 'object') throw new TypeError('iterator result is not an object');
      if (step.done) return items;
      items[items.length] = step.value;
    }
  }

  function URLSearchParams(init) {
    if (!(this instanceof URLSearchParams)) {
      throw new TypeError("Failed to construct 'URLSearchParams': Please use the 'new' operator");
    }
    var list = [];
    if (init === undefined) {
      // empty
    } else if (init !== null && (typeof init === 'object' || typeof init === 'function')) {
      if (init[K_LIST] !== undefined && init instanceof URLSearchParams) {
        list = init[K_LIST].slice();
      } else if (isArray(init) || (iteratorSymbol !== null && init[iteratorSymbol] !== undefined && init[iteratorSymbol] !== null)) {
        var pairs = sequenceOf(init, 'The provided value');
        for (var i = 0; i < pairs.length; i++) {
          var pair = pairs[i];
          if (pair === null || (typeof pair !== 'object' && typeof pair !== 'function')) {
            throw new TypeError("Failed to construct 'URLSearchParams': The provided value cannot be converted to a sequence.");
          }
          pair = sequenceOf(pair, 'An element');
          if (pair.length !== 2) {
            throw new TypeError("Failed to construct 'URLSearchParams': Sequence initializer must only contain pair elements");
          }
          list[list.length] = toUsv(pair[0]);
          list[list.length] = toUsv(pair[1]);
        }
      } else {
        var keys = objectKeys(init);
        for (var k = 0; k < keys.length; k++) {
          list[list.length] = toUsv(keys[k]);
          list[list.length] = toUsv(init[keys[k]]);
        }
      }
    } else {
      var s = toUsv(init);
      if (s.charAt(0) === '?') s = s.substring(1);
      list = formParse(s);
    }
    this[K_LIST] = list;
    this[K_OWNER] = null;
  }
  var URLSearchParamsPrototype = URLSearchParams.prototype;

  // Stable merge sort of the pairs by name, in UTF-16 code units (Duktape
  // compares strings in that order; its Array.prototype.sort is not stable).
  function sortPairs(list) {
    var n = list.length / 2;
    var a = [], b = [], i;
    for (i = 0; i < n; i++) a[i] = i;
    for (var width = 1; width < n; width *= 2) {
      for (var lo = 0; lo < n; lo += 2 * width) {
        var mid = Math.min(lo + width, n), hi = Math.min(lo + 2 * width, n);
        var p = lo, q = mid, o = lo;
        while (p < mid && q < hi) {
          // Take from the right run only when its name is strictly smaller.
          if (list[2 * a[q]] < list[2 * a[p]]) b[o++] = a[q++];
          else b[o++] = a[p++];
        }
        while (p < mid) b[o++] = a[p++];
        while (q < hi) b[o++] = a[q++];
      }
      var t = a;
      a = b;
      b = t;
    }
    var out = [];
    for (i = 0; i < n; i++) {
      out[2 * i] = list[2 * a[i]];
      out[2 * i + 1] = list[2 * a[i] + 1];
    }
    return out;
  }

  function makeIterator(params, kind) {
    listOf(params);
    var it = createObject(IteratorPrototype);
    it[K_TARGET] = params;
    it[K_KIND] = kind;
    it[K_INDEX] = 0;
    return it;
  }
  var IteratorPrototype = {};
  defineMember(IteratorPrototype, 'next', function next() {
    var params = this[K_TARGET];
    if (params === undefined) throw new TypeError('Illegal invocation: not a URLSearchParams iterator');
    // Live: pairs added or removed while iterating are seen, as the standard says.
    var list = params[K_LIST], i = this[K_INDEX];
    if (2 * i >= list.length) return { value: undefined, done: true };
    this[K_INDEX] = i + 1;
    var kind = this[K_KIND];
    var value = kind === 0 ? list[2 * i] : kind === 1 ? list[2 * i + 1] : [list[2 * i], list[2 * i + 1]];
    return { value: value, done: false };
  });
  if (iteratorSymbol !== null) {
    defineProperty(IteratorPrototype, iteratorSymbol, {
      value: function () { return this; }, writable: true, enumerable: false, configurable: true
    });
  }
  defineTag(IteratorPrototype, 'URLSearchParams Iterator');

  defineMember(URLSearchParamsPrototype, 'append', function append(name, value) {
    var list = listOf(this);
    list[list.length] = toUsv(name);
    list[list.length] = toUsv(value);
    listChanged(this);
  });
  defineMember(URLSearchParamsPrototype, 'delete', setLength(function (name, value) {
    var list = listOf(this);
    name = toUsv(name);
    var matchValue = value !== undefined;
    if (matchValue) value = toUsv(value);
    var out = [];
    for (var i = 0; i < list.length; i += 2) {
      if (list[i] === name && (!matchValue || list[i + 1] === value)) continue;
      out[out.length] = list[i];
      out[out.length] = list[i + 1];
    }
    this[K_LIST] = out;
    listChanged(this);
  }, 1));
  defineMember(URLSearchParamsPrototype, 'get', function get(name) {
    var list = listOf(this);
    name = toUsv(name);
    for (var i = 0; i < list.length; i += 2) {
      if (list[i] === name) return list[i + 1];
    }
    return null;
  });
  defineMember(URLSearchParamsPrototype, 'getAll', function getAll(name) {
    var list = listOf(this);
    name = toUsv(name);
    var out = [];
    for (var i = 0; i < list.length; i += 2) {
      if (list[i] === name) out[out.length] = list[i + 1];
    }
    return out;
  });
  defineMember(URLSearchParamsPrototype, 'has', setLength(function has(name, value) {
    var list = listOf(this);
    name = toUsv(name);
    var matchValue = value !== undefined;
    if (matchValue) value = toUsv(value);
    for (var i = 0; i < list.length; i += 2) {
      if (list[i] === name && (!matchValue || list[i + 1] === value)) return true;
    }
    return false;
  }, 1));
  defineMember(URLSearchParamsPrototype, 'set', function set(name, value) {
    var list = listOf(this);
    name = toUsv(name);
    value = toUsv(value);
    var out = [], found = false;
    for (var i = 0; i < list.length; i += 2) {
      if (list[i] === name) {
        if (found) continue;
        found = true;
        out[out.length] = name;
        out[out.length] = value;
      } else {
        out[out.length] = list[i];
        out[out.length] = list[i + 1];
      }
    }
    if (!found) {
      out[out.length] = name;
      out[out.length] = value;
    }
    this[K_LIST] = out;
    listChanged(this);
  });
  defineMember(URLSearchParamsPrototype, 'sort', function sort() {
    this[K_LIST] = sortPairs(listOf(this));
    listChanged(this);
  });
  defineMember(URLSearchParamsPrototype, 'forEach', setLength(function forEach(callback, thisArg) {
    listOf(this);
    if (typeof callback !== 'function') {
      throw new TypeError("Failed to execute 'forEach' on 'URLSearchParams': parameter 1 is not a function");
    }
    // Live, like the iterators: the list is read again at every step.
    for (var i = 0; 2 * i < this[K_LIST].length; i++) {
      var list = this[K_LIST];
      callback.call(thisArg, list[2 * i + 1], list[2 * i], this);
    }
  }, 1));
  defineMember(URLSearchParamsPrototype, 'keys', function keys() {
    return makeIterator(this, 0);
  });
  defineMember(URLSearchParamsPrototype, 'values', function values() {
    return makeIterator(this, 1);
  });
  defineMember(URLSearchParamsPrototype, 'entries', function entries() {
    return makeIterator(this, 2);
  });
  if (iteratorSymbol !== null) {
    defineProperty(URLSearchParamsPrototype, iteratorSymbol, {
      value: URLSearchParamsPrototype.entries, writable: true, enumerable: false, configurable: true
    });
  }
  defineAccessor(URLSearchParamsPrototype, 'size', function () {
    return listOf(this).length / 2;
  }, undefined);
  defineMember(URLSearchParamsPrototype, 'toString', function toString() {
    return formSerialize(listOf(this));
  });
  defineTag(URLSearchParamsPrototype, 'URLSearchParams');

  defineGlobal('URL', URL);
  defineGlobal('URLSearchParams', URLSearchParams);
}(typeof globalThis === 'object' && globalThis !== null ? globalThis : this));
