// Built-ins Duktape 2.7 lacks: Map, Set, WeakMap, WeakSet, iteration (Symbol.iterator), ES2015-ES2023 Array, TypedArray, String and Object methods, a stable sort, Reflect.get/set with a receiver.
// Evaluated first in every Duktape heap (zygote image, sandbox, dispatcher) by sandbox/host.cc; uses no host natives.
// Trusts only the built-ins it captures while it loads; tenant code may later replace any global or prototype, which breaks only its own requests.
// The whole file is one function, called at once. Its prototype is taken
// away before the call: a function and its prototype form a cycle that only
// the mark-and-sweep collector frees, so this function and the bytecode of
// every function in the file would stay in the heap (and in the zygote's
// image) until the first full collection. Naming the function instead would
// keep it alive for good, through the scope of every closure made here.
Object.defineProperty(function (global) {
  'use strict';

  // Everything below is feature-tested: a built-in the engine already has is
  // kept, so this file costs nothing for what Duktape (or a newer engine)
  // does natively. Memory is the budget here (every function object stays in
  // every sandbox heap), so methods share one implementation wherever the
  // semantics allow, e.g. typed arrays borrow the generic Array methods.
  var ObjectPrototype = Object.prototype;
  var ArrayPrototype = Array.prototype;
  var StringPrototype = String.prototype;
  var defineProperty = Object.defineProperty;
  var getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
  var getOwnPropertyNames = Object.getOwnPropertyNames;
  var getOwnPropertySymbols = Object.getOwnPropertySymbols;
  var getPrototypeOf = Object.getPrototypeOf;
  var createObject = Object.create;
  var objectKeys = Object.keys;
  var isExtensible = Object.isExtensible;
  var isArray = Array.isArray;
  var hasOwnProp = Function.prototype.call.bind(ObjectPrototype.hasOwnProperty);
  var objectToString = Function.prototype.call.bind(ObjectPrototype.toString);
  var floor = Math.floor;
  var abs = Math.abs;
  var MAX_LENGTH = 9007199254740991;
  var hasSymbol = typeof Symbol === 'function';
  var SYMBOL_ITERATOR = hasSymbol && typeof Symbol.iterator === 'symbol' ? Symbol.iterator : '@@iterator';
  var SYMBOL_TAG = hasSymbol && typeof Symbol.toStringTag === 'symbol' ? Symbol.toStringTag : null;

  // Internal slots: symbol-keyed and non-enumerable, so for-in, Object.keys,
  // JSON and Object.assign never see them.
  function slot(name) {
    return hasSymbol ? Symbol('wfp.' + name) : '__wfp_' + name;
  }

  // Built-in methods are non-enumerable and have no prototype object; the
  // prototype is dropped (it cannot be deleted) to save ~90 bytes a method.
  function hidden(obj, key, value) {
    defineProperty(obj, key, { value: value, writable: true, enumerable: false, configurable: true });
  }
  function method(obj, key, fn) {
    fn.prototype = undefined;
    hidden(obj, key, fn);
  }
  // Installs only what is missing. A function left out is freed at once:
  // without its prototype it forms no cycle for the garbage collector.
  function fill(obj, key, fn) {
    fn.prototype = undefined;
    if (typeof obj[key] !== 'function') hidden(obj, key, fn);
  }
  function tag(obj, name) {
    if (SYMBOL_TAG !== null) defineProperty(obj, SYMBOL_TAG, { value: name, configurable: true });
  }
  // For a function used once while loading: frees it now (see above) and
  // returns null for the variable that held it.
  function once(fn) {
    fn.prototype = undefined;
    return null;
  }
  function getter(obj, key, fn) {
    fn.prototype = undefined;
    defineProperty(obj, key, { get: fn, enumerable: false, configurable: true });
  }

  function isObject(x) {
    return x !== null && (typeof x === 'object' || typeof x === 'function');
  }
  function toObject(x, what) {
    if (x === null || x === undefined) throw new TypeError(what + ' called on null or undefined');
    return Object(x);
  }
  function toInteger(x) {
    var n = +x;
    if (n !== n) return 0;
    return n < 0 ? -floor(-n) : floor(n);
  }
  function toLength(x) {
    var n = toInteger(x);
    return n <= 0 ? 0 : n > MAX_LENGTH ? MAX_LENGTH : n;
  }
  // A relative index (negative counts from the end) clamped to [0, len].
  function clampIndex(x, len, dflt) {
    if (x === undefined) return dflt;
    var n = toInteger(x);
    if (n < 0) return n + len < 0 ? 0 : n + len;
    return n > len ? len : n;
  }
  function sameValueZero(a, b) {
    return a === b || (a !== a && b !== b);
  }
  function requireFunction(fn, what) {
    if (typeof fn !== 'function') throw new TypeError(what + ': ' + String(typeof fn) + ' is not a function');
  }
  function noMore() {
    return { value: undefined, done: true };
  }

  // ---------------------------------------------------------------------
  // Iteration. One prototype for every iterator made here ([Symbol.iterator]
  // returns the iterator itself), and one helper that walks any iterable.
  // `arguments` objects get no iterator (their prototype is Object.prototype
  // in Duktape); lowered code reaches them through Array.from, which takes
  // any array-like.
  var IteratorPrototype = {};
  method(IteratorPrototype, SYMBOL_ITERATOR, function () {
    return this;
  });

  var K_TARGET = slot('target'); // what is iterated; null once done
  var K_INDEX = slot('index');
  var K_KIND = slot('kind'); // one of the KIND_ values
  var KIND_KEYS = 0;
  var KIND_VALUES = 1;
  var KIND_ENTRIES = 2;
  var KIND_SET_ENTRIES = 3; // [key, key]

  function makeIteratorPrototype(next, name) {
    var proto = createObject(IteratorPrototype);
    method(proto, 'next', next);
    tag(proto, name);
    return proto;
  }
  function checkIterator(it, name) {
    if (!isObject(it) || !(K_INDEX in it)) throw new TypeError(name + '.next called on an incompatible receiver');
  }

  // Arrays, typed arrays and other array-likes; reads length at each step,
  // as the spec does, so an array growing during the loop is followed.
  var ArrayIteratorPrototype = makeIteratorPrototype(function () {
    checkIterator(this, 'Array Iterator');
    var o = this[K_TARGET];
    if (o === null) return noMore();
    var i = this[K_INDEX];
    if (i >= toLength(o.length)) {
      this[K_TARGET] = null;
      return noMore();
    }
    this[K_INDEX] = i + 1;
    var kind = this[K_KIND];
    return { value: kind === KIND_VALUES ? o[i] : kind === KIND_KEYS ? i : [i, o[i]], done: false };
  }, 'Array Iterator');
  function arrayIterator(o, kind) {
    var it = createObject(ArrayIteratorPrototype);
    it[K_TARGET] = toObject(o, 'Array Iterator');
    it[K_INDEX] = 0;
    it[K_KIND] = kind;
    return it;
  }
  function arrayValues() {
    return arrayIterator(this, KIND_VALUES);
  }
  fill(ArrayPrototype, 'values', arrayValues);
  arrayValues = ArrayPrototype.values; // the engine's, if it had one
  fill(ArrayPrototype, 'keys', function () {
    return arrayIterator(this, KIND_KEYS);
  });
  fill(ArrayPrototype, 'entries', function () {
    return arrayIterator(this, KIND_ENTRIES);
  });
  if (typeof ArrayPrototype[SYMBOL_ITERATOR] !== 'function') hidden(ArrayPrototype, SYMBOL_ITERATOR, arrayValues);

  // Strings iterate by code point: a surrogate pair is one step.
  function codePointLength(s, i) {
    var c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      var d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) return 2;
    }
    return 1;
  }
  var StringIteratorPrototype = makeIteratorPrototype(function () {
    checkIterator(this, 'String Iterator');
    var s = this[K_TARGET];
    if (s === null) return noMore();
    var i = this[K_INDEX];
    if (i >= s.length) {
      this[K_TARGET] = null;
      return noMore();
    }
    var n = codePointLength(s, i);
    this[K_INDEX] = i + n;
    return { value: s.substr(i, n), done: false };
  }, 'String Iterator');
  if (typeof StringPrototype[SYMBOL_ITERATOR] !== 'function') {
    method(StringPrototype, SYMBOL_ITERATOR, function () {
      var it = createObject(StringIteratorPrototype);
      it[K_TARGET] = String(toObject(this, 'String.prototype[Symbol.iterator]'));
      it[K_INDEX] = 0;
      return it;
    });
  }

  // The values of an iterable as an array (arrays and strings directly,
  // anything else through its iterator), or of an array-like by index when
  // it has no iterator and arrayLike is true. The iterator is read to the
  // end first, so a constructor that then fails on a value has no iterator
  // left to close.
  function listOf(items, arrayLike, what) {
    if (items === null || items === undefined) throw new TypeError(what + ': ' + String(items) + ' is not iterable');
    var getIterator = items[SYMBOL_ITERATOR];
    var list = [];
    var i;
    if (getIterator === undefined || getIterator === null) {
      if (!arrayLike) throw new TypeError(what + ': ' + objectToString(items) + ' is not iterable');
      var o = Object(items);
      var n = toLength(o.length);
      for (i = 0; i < n; i++) list[i] = o[i];
      return list;
    }
    if (getIterator === arrayValues && isArray(items)) {
      for (i = 0; i < items.length; i++) list[i] = items[i];
      return list;
    }
    if (typeof getIterator !== 'function') throw new TypeError(what + ': Symbol.iterator is not a function');
    var it = getIterator.call(items);
    if (!isObject(it)) throw new TypeError(what + ': the iterator is not an object');
    var next = it.next;
    for (;;) {
      var step = next.call(it);
      if (!isObject(step)) throw new TypeError(what + ': iterator result ' + String(step) + ' is not an object');
      if (step.done) return list;
      list[list.length] = step.value;
    }
  }
  function entryOf(entry) {
    if (!isObject(entry)) throw new TypeError('Iterator value ' + String(entry) + ' is not an entry object');
    return entry;
  }

  // ---------------------------------------------------------------------
  // Map and Set: insertion-ordered arrays of keys (and values), a dictionary
  // from a key's fast key to its position, and SameValueZero equality.
  //
  // Fast keys: 's' + string, 'n' + number (-0 as 0, NaN as 'NaN'), fixed
  // names for booleans, null and undefined, a symbol as itself, and for an
  // object 'o' + an id stored on the object under a hidden symbol-keyed,
  // non-enumerable slot (visible only to Object.getOwnPropertySymbols).
  // Objects that cannot take the slot (frozen, sealed, Proxy) are found by a
  // linear scan instead, only when the collection holds any.
  //
  // A deleted entry leaves a hole; holes are compacted away once they
  // outnumber the live entries. Iterators and forEach stay correct across a
  // compaction through a log: each compaction fills in the current log node
  // (the old key array) and starts a new one; a cursor still on an old node
  // replays the compactions it missed. The log is referenced only by live
  // cursors, so nodes are freed with them.
  var HOLE = {};
  var CLEARED = {};
  var K_OBJECT_ID = slot('id');
  var nextObjectId = 1;

  function Store() {
    this.k = [];
    this.v = [];
    this.idx = createObject(null);
    this.size = 0;
    this.holes = 0;
    this.slow = 0; // keys without a fast key
    this.log = { old: null, next: null };
  }

  // The fast key of a primitive, or of an object that already has an id.
  function fastKey(key) {
    switch (typeof key) {
      case 'string':
        return 's' + key;
      case 'number':
        return key !== key ? 'NaN' : key === 0 ? 'n0' : 'n' + key;
      case 'boolean':
        return key ? 'true' : 'false';
      case 'undefined':
        return 'undefined';
      case 'symbol':
        return key;
      default:
        if (key === null) return 'null';
        var id = key[K_OBJECT_ID];
        return typeof id === 'number' ? 'o' + id : null;
    }
  }
  // The fast key for a new object key: gives it an id of its own (an
  // inherited id belongs to its prototype). Null when the object refuses.
  function objectFastKey(key) {
    if (hasOwnProp(key, K_OBJECT_ID)) return 'o' + key[K_OBJECT_ID];
    var id = nextObjectId++;
    try {
      defineProperty(key, K_OBJECT_ID, { value: id, writable: false, enumerable: false, configurable: false });
    } catch (e) {
      return null; // not extensible
    }
    // A Proxy takes the definition but reads through to its target.
    return key[K_OBJECT_ID] === id ? 'o' + id : null;
  }

  function find(s, key) {
    var fk = fastKey(key);
    var k = s.k;
    if (fk !== null) {
      var pos = s.idx[fk];
      // An object's id may be inherited from another key: check identity.
      if (pos !== undefined && (k[pos] === key || !isObject(key))) return pos;
    }
    if (s.slow > 0 && isObject(key)) {
      for (var i = 0; i < k.length; i++) if (k[i] === key) return i;
    }
    return -1;
  }

  function storeAdd(s, key, value) {
    var pos = find(s, key);
    if (pos >= 0) {
      s.v[pos] = value;
      return;
    }
    if (key === 0) key = 0; // -0 becomes +0
    var fk = isObject(key) ? objectFastKey(key) : fastKey(key);
    pos = s.k.length;
    s.k[pos] = key;
    s.v[pos] = value;
    if (fk === null) s.slow++;
    else s.idx[fk] = pos;
    s.size++;
  }

  function storeDelete(s, key) {
    var pos = find(s, key);
    if (pos < 0) return false;
    var fk = fastKey(key);
    if (fk !== null && s.idx[fk] === pos) delete s.idx[fk];
    else s.slow--;
    s.k[pos] = HOLE;
    s.v[pos] = undefined;
    s.size--;
    s.holes++;
    if (s.size === 0) storeClear(s);
    else if (s.holes > 16 && s.holes > s.size) storeCompact(s);
    return true;
  }

  function logCompaction(s, old) {
    var node = { old: null, next: null };
    s.log.old = old;
    s.log.next = node;
    s.log = node;
  }

  function storeCompact(s) {
    var oldK = s.k;
    var oldV = s.v;
    var k = [];
    var v = [];
    for (var i = 0; i < oldK.length; i++) {
      var key = oldK[i];
      if (key === HOLE) continue;
      var fk = fastKey(key);
      if (fk !== null && s.idx[fk] === i) s.idx[fk] = k.length;
      k[k.length] = key;
      v[v.length] = oldV[i];
    }
    s.k = k;
    s.v = v;
    s.holes = 0;
    logCompaction(s, oldK);
  }

  function storeClear(s) {
    if (s.k.length === 0) return;
    s.k = [];
    s.v = [];
    s.idx = createObject(null);
    s.size = 0;
    s.holes = 0;
    s.slow = 0;
    logCompaction(s, CLEARED);
  }

  // A cursor ({s, i, log}) moves to the next live position, or returns -1.
  function cursorNext(c) {
    var s = c.s;
    var i = c.i;
    var node = c.log;
    while (node.next !== null) {
      var old = node.old;
      if (old === CLEARED) {
        i = 0;
      } else {
        var holes = 0;
        for (var j = 0; j < i && j < old.length; j++) if (old[j] === HOLE) holes++;
        i -= holes;
      }
      node = node.next;
    }
    c.log = node;
    var k = s.k;
    while (i < k.length && k[i] === HOLE) i++;
    if (i >= k.length) {
      c.i = i;
      return -1;
    }
    c.i = i + 1;
    return i;
  }
  function newCursor(s) {
    return { s: s, i: 0, log: s.log };
  }

  var K_MAP = slot('map');
  var K_SET = slot('set');
  function mapStore(m, name) {
    var s = isObject(m) ? m[K_MAP] : undefined;
    if (!(s instanceof Store)) throw new TypeError('Method Map.prototype.' + name + ' called on an incompatible receiver');
    return s;
  }
  function setStore(m, name) {
    var s = isObject(m) ? m[K_SET] : undefined;
    if (!(s instanceof Store)) throw new TypeError('Method Set.prototype.' + name + ' called on an incompatible receiver');
    return s;
  }

  var CollectionIteratorPrototype = makeIteratorPrototype(function () {
    checkIterator(this, 'Map/Set Iterator');
    var c = this[K_TARGET];
    if (c === null) return noMore();
    var pos = cursorNext(c);
    if (pos < 0) {
      this[K_TARGET] = null; // stays done even if entries are added later
      return noMore();
    }
    var kind = this[K_KIND];
    var key = c.s.k[pos];
    if (kind === KIND_KEYS) return { value: key, done: false };
    if (kind === KIND_VALUES) return { value: c.s.v[pos], done: false };
    return { value: [key, kind === KIND_ENTRIES ? c.s.v[pos] : key], done: false };
  }, 'Map Iterator');
  function collectionIterator(s, kind) {
    var it = createObject(CollectionIteratorPrototype);
    it[K_TARGET] = newCursor(s);
    it[K_INDEX] = 0;
    it[K_KIND] = kind;
    return it;
  }
  function storeForEach(s, callback, thisArg, self, isSet) {
    requireFunction(callback, (isSet ? 'Set' : 'Map') + '.prototype.forEach');
    var c = newCursor(s);
    for (;;) {
      var pos = cursorNext(c);
      if (pos < 0) return;
      var key = s.k[pos];
      callback.call(thisArg, isSet ? key : s.v[pos], key, self);
    }
  }

  // The constructors are declarations (a name costs less that way); they
  // are installed only where the engine has none.
  function Map(iterable) {
    if (!(this instanceof Map)) throw new TypeError("Constructor Map requires 'new'");
    var s = new Store();
    hidden(this, K_MAP, s);
    if (iterable === undefined || iterable === null) return;
    var list = listOf(iterable, false, 'new Map');
    // A subclass that overrides set() gets it called, as the spec says.
    var adder = this.set === mapSet ? null : this.set;
    for (var i = 0; i < list.length; i++) {
      var e = entryOf(list[i]);
      if (adder === null) storeAdd(s, e[0], e[1]);
      else adder.call(this, e[0], e[1]);
    }
  }
  function Set(iterable) {
    if (!(this instanceof Set)) throw new TypeError("Constructor Set requires 'new'");
    var s = new Store();
    hidden(this, K_SET, s);
    if (iterable === undefined || iterable === null) return;
    var list = listOf(iterable, false, 'new Set');
    var adder = this.add === setAdd ? null : this.add;
    for (var i = 0; i < list.length; i++) {
      if (adder === null) storeAdd(s, list[i], undefined);
      else adder.call(this, list[i]);
    }
  }
  var mapSet, setAdd;

  if (typeof global.Map !== 'function') {
    mapSet = function (key, value) {
      storeAdd(mapStore(this, 'set'), key, value);
      return this;
    };
    var mapEntries = function () {
      return collectionIterator(mapStore(this, 'entries'), KIND_ENTRIES);
    };
    var MapPrototype = Map.prototype;
    method(MapPrototype, 'get', function (key) {
      var s = mapStore(this, 'get');
      var pos = find(s, key);
      return pos < 0 ? undefined : s.v[pos];
    });
    method(MapPrototype, 'set', mapSet);
    method(MapPrototype, 'has', function (key) {
      return find(mapStore(this, 'has'), key) >= 0;
    });
    method(MapPrototype, 'delete', function (key) {
      return storeDelete(mapStore(this, 'delete'), key);
    });
    method(MapPrototype, 'clear', function () {
      storeClear(mapStore(this, 'clear'));
    });
    method(MapPrototype, 'forEach', function (callback, thisArg) {
      storeForEach(mapStore(this, 'forEach'), callback, thisArg, this, false);
    });
    getter(MapPrototype, 'size', function () {
      return mapStore(this, 'size').size;
    });
    method(MapPrototype, 'keys', function () {
      return collectionIterator(mapStore(this, 'keys'), KIND_KEYS);
    });
    method(MapPrototype, 'values', function () {
      return collectionIterator(mapStore(this, 'values'), KIND_VALUES);
    });
    method(MapPrototype, 'entries', mapEntries);
    hidden(MapPrototype, SYMBOL_ITERATOR, mapEntries);
    tag(MapPrototype, 'Map');
    hidden(global, 'Map', Map);
  }

  if (typeof global.Set !== 'function') {
    setAdd = function (value) {
      storeAdd(setStore(this, 'add'), value, undefined);
      return this;
    };
    var setValues = function () {
      return collectionIterator(setStore(this, 'values'), KIND_KEYS);
    };
    var SetPrototype = Set.prototype;
    method(SetPrototype, 'add', setAdd);
    method(SetPrototype, 'has', function (value) {
      return find(setStore(this, 'has'), value) >= 0;
    });
    method(SetPrototype, 'delete', function (value) {
      return storeDelete(setStore(this, 'delete'), value);
    });
    method(SetPrototype, 'clear', function () {
      storeClear(setStore(this, 'clear'));
    });
    method(SetPrototype, 'forEach', function (callback, thisArg) {
      storeForEach(setStore(this, 'forEach'), callback, thisArg, this, true);
    });
    getter(SetPrototype, 'size', function () {
      return setStore(this, 'size').size;
    });
    method(SetPrototype, 'entries', function () {
      return collectionIterator(setStore(this, 'entries'), KIND_SET_ENTRIES);
    });
    method(SetPrototype, 'values', setValues);
    hidden(SetPrototype, 'keys', setValues);
    hidden(SetPrototype, SYMBOL_ITERATOR, setValues);
    tag(SetPrototype, 'Set');
    hidden(global, 'Set', Set);
  }

  // ---------------------------------------------------------------------
  // WeakMap and WeakSet. Without weak references in Duktape, an entry lives
  // on its key: a non-enumerable slot keyed by a symbol private to the
  // collection holds a box [value]. The entry is collected with the key, as
  // it should be; the trade-off is the reverse case: an entry outlives a
  // dropped WeakMap until its key dies, and the slot is visible to
  // Object.getOwnPropertySymbols(key). Keys that cannot take a slot (frozen,
  // sealed, Proxy) go in a strong list in the collection, held while it
  // lives. A box, not the value, sits in the slot so that a key frozen
  // after insertion can still be updated and deleted (the box is emptied).
  var K_WEAK = slot('weak');

  function weakState(w, name) {
    var st = isObject(w) ? w[K_WEAK] : undefined;
    if (st === undefined || st.name !== name) throw new TypeError(name + ' method called on an incompatible receiver');
    return st;
  }
  function WeakState(name) {
    this.name = name;
    this.sym = slot(name);
    this.keys = null; // keys that take no slot, and their values
    this.values = null;
  }
  // The box of a key, or undefined.
  function weakBox(st, key) {
    if (!isObject(key)) return undefined;
    if (hasOwnProp(key, st.sym)) {
      var box = key[st.sym];
      if (isArray(box) && box.length === 1) return box;
    }
    var keys = st.keys;
    if (keys !== null) {
      for (var i = 0; i < keys.length; i++) if (keys[i] === key) return st.values[i];
    }
    return undefined;
  }
  function weakSet(st, key, value) {
    if (!isObject(key)) throw new TypeError('Invalid value used as ' + st.name + ' key');
    var box = weakBox(st, key);
    if (box !== undefined) {
      box[0] = value;
      return;
    }
    box = [value];
    if (hasOwnProp(key, st.sym)) {
      // An emptied box that could not be removed (the key was frozen later).
      var old = key[st.sym];
      if (isArray(old)) {
        old[0] = value;
        return;
      }
    }
    try {
      defineProperty(key, st.sym, { value: box, writable: false, enumerable: false, configurable: true });
      if (key[st.sym] === box) return;
      delete key[st.sym];
    } catch (e) {
      // not extensible: the strong list below
    }
    if (st.keys === null) {
      st.keys = [];
      st.values = [];
    }
    st.keys[st.keys.length] = key;
    st.values[st.values.length] = box;
  }
  function weakDelete(st, key) {
    var box = weakBox(st, key);
    if (box === undefined) return false;
    box.length = 0;
    var keys = st.keys;
    if (keys !== null) {
      for (var i = 0; i < keys.length; i++) {
        if (keys[i] === key) {
          keys.splice(i, 1);
          st.values.splice(i, 1);
          return true;
        }
      }
    }
    try {
      delete key[st.sym];
    } catch (e) {
      // frozen since: the emptied box stays and reads as absent
    }
    return true;
  }
  // Fills a new WeakMap (pairs) or WeakSet from an iterable, through its
  // own set/add as the spec says.
  function weakFill(w, iterable, pairs) {
    if (iterable === undefined || iterable === null) return;
    var list = listOf(iterable, false, pairs ? 'new WeakMap' : 'new WeakSet');
    var adder = pairs ? w.set : w.add;
    for (var i = 0; i < list.length; i++) {
      if (pairs) adder.call(w, entryOf(list[i])[0], list[i][1]);
      else adder.call(w, list[i]);
    }
  }

  function WeakMap(iterable) {
    if (!(this instanceof WeakMap)) throw new TypeError("Constructor WeakMap requires 'new'");
    hidden(this, K_WEAK, new WeakState('WeakMap'));
    weakFill(this, iterable, true);
  }
  function WeakSet(iterable) {
    if (!(this instanceof WeakSet)) throw new TypeError("Constructor WeakSet requires 'new'");
    hidden(this, K_WEAK, new WeakState('WeakSet'));
    weakFill(this, iterable, false);
  }

  if (typeof global.WeakMap !== 'function') {
    var WeakMapPrototype = WeakMap.prototype;
    method(WeakMapPrototype, 'get', function (key) {
      var box = weakBox(weakState(this, 'WeakMap'), key);
      return box === undefined ? undefined : box[0];
    });
    method(WeakMapPrototype, 'set', function (key, value) {
      weakSet(weakState(this, 'WeakMap'), key, value);
      return this;
    });
    method(WeakMapPrototype, 'has', function (key) {
      return weakBox(weakState(this, 'WeakMap'), key) !== undefined;
    });
    method(WeakMapPrototype, 'delete', function (key) {
      return weakDelete(weakState(this, 'WeakMap'), key);
    });
    tag(WeakMapPrototype, 'WeakMap');
    hidden(global, 'WeakMap', WeakMap);
  }

  if (typeof global.WeakSet !== 'function') {
    var WeakSetPrototype = WeakSet.prototype;
    method(WeakSetPrototype, 'add', function (value) {
      weakSet(weakState(this, 'WeakSet'), value, true);
      return this;
    });
    method(WeakSetPrototype, 'has', function (value) {
      return weakBox(weakState(this, 'WeakSet'), value) !== undefined;
    });
    method(WeakSetPrototype, 'delete', function (value) {
      return weakDelete(weakState(this, 'WeakSet'), value);
    });
    tag(WeakSetPrototype, 'WeakSet');
    hidden(global, 'WeakSet', WeakSet);
  }

  // ---------------------------------------------------------------------
  // Symbols and the global object.
  if (hasSymbol && typeof Symbol.asyncIterator !== 'symbol') {
    defineProperty(Symbol, 'asyncIterator', { value: Symbol('Symbol.asyncIterator') });
  }
  if (typeof global.globalThis !== 'object') hidden(global, 'globalThis', global);

  // ---------------------------------------------------------------------
  // Array.
  fill(Array, 'from', function (items, mapFn, thisArg) {
    if (mapFn !== undefined) requireFunction(mapFn, 'Array.from');
    var list = listOf(items, true, 'Array.from');
    var n = list.length;
    var C = typeof this === 'function' && this !== Array ? this : null;
    var out = C !== null ? new C(n) : list;
    for (var i = 0; i < n; i++) {
      var v = mapFn !== undefined ? mapFn.call(thisArg, list[i], i) : list[i];
      if (out !== list || mapFn !== undefined) out[i] = v;
    }
    if (C !== null) out.length = n;
    return out;
  });
  fill(Array, 'of', function () {
    var n = arguments.length;
    var C = typeof this === 'function' && this !== Array ? this : null;
    var out = C !== null ? new C(n) : new Array(n);
    for (var i = 0; i < n; i++) out[i] = arguments[i];
    out.length = n;
    return out;
  });

  // The find family, shared by arrays and typed arrays. fromEnd: search
  // backwards; wantIndex: the index instead of the element.
  function findIn(o, predicate, thisArg, fromEnd, wantIndex, name) {
    o = toObject(o, name);
    requireFunction(predicate, name);
    var n = toLength(o.length);
    for (var k = 0; k < n; k++) {
      var i = fromEnd ? n - 1 - k : k;
      var v = o[i];
      if (predicate.call(thisArg, v, i, o)) return wantIndex ? i : v;
    }
    return wantIndex ? -1 : undefined;
  }
  fill(ArrayPrototype, 'find', function (predicate, thisArg) {
    return findIn(this, predicate, thisArg, false, false, 'Array.prototype.find');
  });
  fill(ArrayPrototype, 'findIndex', function (predicate, thisArg) {
    return findIn(this, predicate, thisArg, false, true, 'Array.prototype.findIndex');
  });
  fill(ArrayPrototype, 'findLast', function (predicate, thisArg) {
    return findIn(this, predicate, thisArg, true, false, 'Array.prototype.findLast');
  });
  fill(ArrayPrototype, 'findLastIndex', function (predicate, thisArg) {
    return findIn(this, predicate, thisArg, true, true, 'Array.prototype.findLastIndex');
  });
  fill(ArrayPrototype, 'includes', function (search, fromIndex) {
    var o = toObject(this, 'Array.prototype.includes');
    var n = toLength(o.length);
    for (var i = clampIndex(fromIndex, n, 0); i < n; i++) if (sameValueZero(o[i], search)) return true;
    return false;
  });
  fill(ArrayPrototype, 'fill', function (value, start, end) {
    var o = toObject(this, 'Array.prototype.fill');
    var n = toLength(o.length);
    for (var i = clampIndex(start, n, 0), to = clampIndex(end, n, n); i < to; i++) o[i] = value;
    return o;
  });
  fill(ArrayPrototype, 'at', function (index) {
    var o = toObject(this, 'Array.prototype.at');
    var n = toLength(o.length);
    var i = toInteger(index);
    if (i < 0) i += n;
    return i < 0 || i >= n ? undefined : o[i];
  });
  fill(ArrayPrototype, 'copyWithin', function (target, start, end) {
    var o = toObject(this, 'Array.prototype.copyWithin');
    var n = toLength(o.length);
    var to = clampIndex(target, n, 0);
    var from = clampIndex(start, n, 0);
    var count = Math.min(clampIndex(end, n, n) - from, n - to);
    var step = 1;
    if (from < to && to < from + count) { // overlapping: copy backwards
      step = -1;
      from += count - 1;
      to += count - 1;
    }
    for (; count > 0; count--, from += step, to += step) {
      if (from in o) o[to] = o[from];
      else delete o[to];
    }
    return o;
  });
  function flattenInto(out, source, depth) {
    var n = toLength(source.length);
    for (var i = 0; i < n; i++) {
      if (!(i in source)) continue;
      var v = source[i];
      if (depth > 0 && isArray(v)) flattenInto(out, v, depth - 1);
      else out[out.length] = v;
    }
    return out;
  }
  fill(ArrayPrototype, 'flat', function (depth) {
    var o = toObject(this, 'Array.prototype.flat');
    return flattenInto([], o, depth === undefined ? 1 : toInteger(depth));
  });
  fill(ArrayPrototype, 'flatMap', function (callback, thisArg) {
    var o = toObject(this, 'Array.prototype.flatMap');
    requireFunction(callback, 'Array.prototype.flatMap');
    var n = toLength(o.length);
    var out = [];
    for (var i = 0; i < n; i++) {
      if (!(i in o)) continue;
      var v = callback.call(thisArg, o[i], i, o);
      if (isArray(v)) flattenInto(out, v, 0);
      else out[out.length] = v;
    }
    return out;
  });

  // A stable merge sort (insertion sort on short runs, then bottom-up
  // merges). compare(a, b) > 0 moves b before a; NaN counts as 0, so an
  // inconsistent comparator gives some order but never an error. Returns
  // the sorted array: `a` itself or a scratch array.
  var RUN = 8;
  function mergeSort(a, compare) {
    var n = a.length;
    var i, j, k, x;
    for (var lo = 0; lo < n; lo += RUN) {
      var end = lo + RUN < n ? lo + RUN : n;
      for (i = lo + 1; i < end; i++) {
        x = a[i];
        for (j = i - 1; j >= lo && compare(a[j], x) > 0; j--) a[j + 1] = a[j];
        a[j + 1] = x;
      }
    }
    var src = a;
    var dst = new Array(n);
    for (var width = RUN; width < n; width *= 2) {
      for (lo = 0; lo < n; lo += 2 * width) {
        var mid = lo + width < n ? lo + width : n;
        var hi = lo + 2 * width < n ? lo + 2 * width : n;
        i = lo;
        j = mid;
        k = lo;
        while (i < mid && j < hi) dst[k++] = compare(src[i], src[j]) > 0 ? src[j++] : src[i++];
        while (i < mid) dst[k++] = src[i++];
        while (j < hi) dst[k++] = src[j++];
      }
      x = src;
      src = dst;
      dst = x;
    }
    return src;
  }
  // The default order compares strings; each element is converted once and
  // a permutation is sorted.
  function sortByString(values) {
    var n = values.length;
    var order = new Array(n);
    var strings = new Array(n);
    for (var i = 0; i < n; i++) {
      order[i] = i;
      strings[i] = String(values[i]);
    }
    order = mergeSort(order, function (a, b) {
      var x = strings[a];
      var y = strings[b];
      return x > y ? 1 : x < y ? -1 : 0;
    });
    for (i = 0; i < n; i++) strings[i] = values[order[i]];
    return strings;
  }
  // Duktape's sort is a quicksort with random pivots: not stable. Probe it
  // with groups of equal keys; a lucky stable result is vanishingly rare.
  function sortIsStable() {
    var sort = ArrayPrototype.sort;
    if (typeof sort !== 'function') return false;
    var a = [];
    for (var i = 0; i < 30; i++) a[i] = { k: i % 3, i: i };
    var byKey = function (x, y) {
      return x.k - y.k;
    };
    byKey.prototype = undefined;
    sort.call(a, byKey);
    for (i = 1; i < a.length; i++) if (a[i - 1].k === a[i].k && a[i - 1].i > a[i].i) return false;
    return true;
  }
  var stable = sortIsStable();
  sortIsStable = once(sortIsStable);
  if (!stable) {
    method(ArrayPrototype, 'sort', function (compare) {
      if (compare !== undefined) requireFunction(compare, 'Array.prototype.sort: the comparison function');
      var o = toObject(this, 'Array.prototype.sort');
      var n = toLength(o.length);
      var values = [];
      var undefinedCount = 0;
      // Holes are dropped, then undefineds go last, then the holes.
      for (var i = 0; i < n; i++) {
        if (!(i in o)) continue;
        var v = o[i];
        if (v === undefined) undefinedCount++;
        else values[values.length] = v;
      }
      values = compare === undefined ? sortByString(values) : mergeSort(values, compare);
      var m = values.length;
      for (i = 0; i < m; i++) o[i] = values[i];
      for (; i < m + undefinedCount; i++) o[i] = undefined;
      for (; i < n; i++) delete o[i];
      return o;
    });
  }

  // ---------------------------------------------------------------------
  // Typed arrays. Duktape has one shared prototype above Uint8Array.prototype
  // and the others (the spec's %TypedArray%.prototype) holding only set and
  // subarray; the generic Array methods work on typed arrays unchanged, so
  // they are shared instead of copied. The constructors' own prototype is
  // Function.prototype in Duktape, so from/of go on each constructor.
  var TYPED_ARRAYS = ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array',
    'Uint32Array', 'Float32Array', 'Float64Array'];
  if (typeof Uint8Array === 'function') {
    var TypedArrayPrototype = getPrototypeOf(Uint8Array.prototype);
    var typedProtos = [];
    if (TypedArrayPrototype === ObjectPrototype || TypedArrayPrototype === null) {
      for (var t = 0; t < TYPED_ARRAYS.length; t++) {
        if (typeof global[TYPED_ARRAYS[t]] === 'function') typedProtos[typedProtos.length] = global[TYPED_ARRAYS[t]].prototype;
      }
    } else {
      typedProtos[0] = TypedArrayPrototype;
    }
    // toString is inherited from Object.prototype until replaced.
    var shareFromArray = function (name) {
      for (var p = 0; p < typedProtos.length; p++) {
        var have = typedProtos[p][name];
        if (typeof have !== 'function' || have === ObjectPrototype[name]) hidden(typedProtos[p], name, ArrayPrototype[name]);
      }
    };
    var fillTyped = function (name, fn) {
      for (var p = 0; p < typedProtos.length; p++) fill(typedProtos[p], name, fn);
    };
    var SHARED = ['forEach', 'every', 'some', 'reduce', 'reduceRight', 'indexOf', 'lastIndexOf', 'join', 'reverse',
      'includes', 'find', 'findIndex', 'findLast', 'findLastIndex', 'fill', 'at', 'copyWithin', 'keys', 'values',
      'entries', 'toString', 'toLocaleString'];
    for (var sh = 0; sh < SHARED.length; sh++) shareFromArray(SHARED[sh]);
    for (var q = 0; q < typedProtos.length; q++) {
      if (typeof typedProtos[q][SYMBOL_ITERATOR] !== 'function') hidden(typedProtos[q], SYMBOL_ITERATOR, typedProtos[q].values);
    }
    var typedCreate = function (ta, n) {
      var C = ta.constructor;
      if (typeof C !== 'function') throw new TypeError('not a typed array');
      return new C(n);
    };
    var typedLength = function (ta, name) {
      if (!isObject(ta) || typeof ta.byteLength !== 'number' || typeof ta.BYTES_PER_ELEMENT !== 'number') {
        throw new TypeError(name + ': this is not a typed array');
      }
      return ta.length;
    };
    fillTyped('slice', function (start, end) {
      var n = typedLength(this, 'slice');
      var from = clampIndex(start, n, 0);
      var count = clampIndex(end, n, n) - from;
      var out = typedCreate(this, count > 0 ? count : 0);
      for (var i = 0; i < count; i++) out[i] = this[from + i];
      return out;
    });
    fillTyped('map', function (callback, thisArg) {
      var n = typedLength(this, 'map');
      requireFunction(callback, 'TypedArray.prototype.map');
      var out = typedCreate(this, n);
      for (var i = 0; i < n; i++) out[i] = callback.call(thisArg, this[i], i, this);
      return out;
    });
    fillTyped('filter', function (callback, thisArg) {
      var n = typedLength(this, 'filter');
      requireFunction(callback, 'TypedArray.prototype.filter');
      var kept = [];
      for (var i = 0; i < n; i++) if (callback.call(thisArg, this[i], i, this)) kept[kept.length] = this[i];
      var out = typedCreate(this, kept.length);
      for (i = 0; i < kept.length; i++) out[i] = kept[i];
      return out;
    });
    // Numeric order by default, -0 before +0 and NaN last; stable.
    var compareNumbers = function (a, b) {
      if (a !== a) return b !== b ? 0 : 1;
      if (b !== b) return -1;
      if (a === b) return a === 0 && b === 0 ? (1 / a < 0 ? (1 / b < 0 ? 0 : -1) : 1 / b < 0 ? 1 : 0) : 0;
      return a < b ? -1 : 1;
    };
    fillTyped('sort', function (compare) {
      if (compare !== undefined) requireFunction(compare, 'TypedArray.prototype.sort: the comparison function');
      var n = typedLength(this, 'sort');
      var values = new Array(n);
      for (var i = 0; i < n; i++) values[i] = this[i];
      values = mergeSort(values, compare === undefined ? compareNumbers : compare);
      for (i = 0; i < n; i++) this[i] = values[i];
      return this;
    });
    var typedFrom = function (source, mapFn, thisArg) {
      if (mapFn !== undefined) requireFunction(mapFn, 'TypedArray.from');
      var list = listOf(source, true, 'TypedArray.from');
      if (mapFn !== undefined) for (var i = 0; i < list.length; i++) list[i] = mapFn.call(thisArg, list[i], i);
      return new this(list);
    };
    var typedOf = function () {
      var n = arguments.length;
      var out = new this(n);
      for (var i = 0; i < n; i++) out[i] = arguments[i];
      return out;
    };
    typedFrom.prototype = typedOf.prototype = undefined;
    for (var c = 0; c < TYPED_ARRAYS.length; c++) {
      var ctor = global[TYPED_ARRAYS[c]];
      if (typeof ctor !== 'function') continue;
      if (typeof ctor.from !== 'function') hidden(ctor, 'from', typedFrom);
      if (typeof ctor.of !== 'function') hidden(ctor, 'of', typedOf);
    }
    TYPED_ARRAYS = typedProtos = SHARED = null;
    shareFromArray = once(shareFromArray);
    fillTyped = once(fillTyped);
  }

  // ---------------------------------------------------------------------
  // Object.
  fill(Object, 'entries', function (o) {
    o = toObject(o, 'Object.entries');
    var keys = objectKeys(o);
    for (var i = 0; i < keys.length; i++) keys[i] = [keys[i], o[keys[i]]];
    return keys;
  });
  fill(Object, 'values', function (o) {
    o = toObject(o, 'Object.values');
    var keys = objectKeys(o);
    for (var i = 0; i < keys.length; i++) keys[i] = o[keys[i]];
    return keys;
  });
  function addProperty(o, key, value) {
    defineProperty(o, key, { value: value, writable: true, enumerable: true, configurable: true });
  }
  fill(Object, 'fromEntries', function (iterable) {
    var list = listOf(iterable, false, 'Object.fromEntries');
    var o = {};
    for (var i = 0; i < list.length; i++) {
      var e = entryOf(list[i]);
      addProperty(o, typeof e[0] === 'symbol' ? e[0] : String(e[0]), e[1]);
    }
    return o;
  });
  fill(Object, 'getOwnPropertyDescriptors', function (o) {
    o = toObject(o, 'Object.getOwnPropertyDescriptors');
    var out = {};
    var keys = getOwnPropertyNames(o);
    if (typeof getOwnPropertySymbols === 'function') keys = keys.concat(getOwnPropertySymbols(o));
    for (var i = 0; i < keys.length; i++) {
      var d = getOwnPropertyDescriptor(o, keys[i]);
      if (d !== undefined) addProperty(out, keys[i], d);
    }
    return out;
  });
  fill(Object, 'hasOwn', function (o, key) {
    return hasOwnProp(toObject(o, 'Object.hasOwn'), key);
  });

  // ---------------------------------------------------------------------
  // String.
  function thisString(s, name) {
    if (s === null || s === undefined) throw new TypeError('String.prototype.' + name + ' called on null or undefined');
    return String(s);
  }
  function pad(s, maxLength, filler, atStart) {
    var n = toLength(maxLength);
    var f = filler === undefined ? ' ' : String(filler);
    if (n <= s.length || f === '') return s;
    var need = n - s.length;
    while (f.length < need) f += f;
    f = f.slice(0, need);
    return atStart ? f + s : s + f;
  }
  fill(StringPrototype, 'padStart', function (maxLength, filler) {
    return pad(thisString(this, 'padStart'), maxLength, filler, true);
  });
  fill(StringPrototype, 'padEnd', function (maxLength, filler) {
    return pad(thisString(this, 'padEnd'), maxLength, filler, false);
  });
  var LEADING_SPACE = /^[\s\uFEFF\xA0]+/;
  var TRAILING_SPACE = /[\s\uFEFF\xA0]+$/;
  fill(StringPrototype, 'trimStart', function () {
    return thisString(this, 'trimStart').replace(LEADING_SPACE, '');
  });
  fill(StringPrototype, 'trimEnd', function () {
    return thisString(this, 'trimEnd').replace(TRAILING_SPACE, '');
  });
  if (typeof StringPrototype.trimLeft !== 'function') hidden(StringPrototype, 'trimLeft', StringPrototype.trimStart);
  if (typeof StringPrototype.trimRight !== 'function') hidden(StringPrototype, 'trimRight', StringPrototype.trimEnd);
  fill(StringPrototype, 'at', function (index) {
    var s = thisString(this, 'at');
    var i = toInteger(index);
    if (i < 0) i += s.length;
    return i < 0 || i >= s.length ? undefined : s.charAt(i);
  });
  fill(StringPrototype, 'codePointAt', function (pos) {
    var s = thisString(this, 'codePointAt');
    var i = toInteger(pos);
    if (i < 0 || i >= s.length) return undefined;
    var c = s.charCodeAt(i);
    return codePointLength(s, i) === 2 ? (c - 0xd800) * 0x400 + s.charCodeAt(i + 1) - 0xdc00 + 0x10000 : c;
  });
  fill(String, 'fromCodePoint', function () {
    var out = '';
    for (var i = 0; i < arguments.length; i++) {
      var cp = +arguments[i];
      if (cp !== toInteger(cp) || cp < 0 || cp > 0x10ffff) throw new RangeError('Invalid code point ' + String(arguments[i]));
      if (cp < 0x10000) {
        out += String.fromCharCode(cp);
      } else {
        cp -= 0x10000;
        out += String.fromCharCode(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
      }
    }
    return out;
  });
  fill(String, 'raw', function (template) {
    var strings = toObject(toObject(template, 'String.raw').raw, 'String.raw');
    var n = toLength(strings.length);
    var out = '';
    for (var i = 0; i < n; i++) {
      out += String(strings[i]);
      if (i + 1 < n && i + 1 < arguments.length) out += String(arguments[i + 1]);
    }
    return out;
  });
  function isRegExp(x) {
    return isObject(x) && objectToString(x) === '[object RegExp]';
  }
  function regExpFlags(re) {
    var flags = re.flags;
    if (typeof flags === 'string') return flags;
    return (re.global ? 'g' : '') + (re.ignoreCase ? 'i' : '') + (re.multiline ? 'm' : '');
  }
  // $$, $&, $` and $' of a replacement template (there are no captures).
  function substitute(template, matched, s, pos) {
    if (template.indexOf('$') < 0) return template;
    var out = '';
    for (var i = 0; i < template.length; i++) {
      var c = template.charAt(i);
      var d = template.charAt(i + 1);
      if (c !== '$' || i + 1 >= template.length) {
        out += c;
      } else if (d === '$') {
        out += '$';
        i++;
      } else if (d === '&') {
        out += matched;
        i++;
      } else if (d === '`') {
        out += s.slice(0, pos);
        i++;
      } else if (d === "'") {
        out += s.slice(pos + matched.length);
        i++;
      } else {
        out += c;
      }
    }
    return out;
  }
  fill(StringPrototype, 'replaceAll', function (search, replacement) {
    var s = thisString(this, 'replaceAll');
    if (isRegExp(search)) {
      if (regExpFlags(search).indexOf('g') < 0) throw new TypeError('replaceAll must be called with a global RegExp');
      return s.replace(search, replacement);
    }
    var needle = String(search);
    var functional = typeof replacement === 'function';
    var template = functional ? '' : String(replacement);
    var step = needle.length > 0 ? needle.length : 1;
    var out = '';
    var last = 0;
    for (var pos = s.indexOf(needle, 0); pos >= 0 && pos <= s.length; pos = s.indexOf(needle, pos + step)) {
      out += s.slice(last, pos) + (functional ? String(replacement(needle, pos, s)) : substitute(template, needle, s, pos));
      last = pos + needle.length;
      if (needle.length === 0 && pos >= s.length) break;
    }
    return out + s.slice(last);
  });
  var RegExpStringIteratorPrototype = makeIteratorPrototype(function () {
    checkIterator(this, 'RegExp String Iterator');
    var re = this[K_TARGET];
    if (re === null) return noMore();
    var m = re.exec(this[K_KIND]);
    if (m === null) {
      this[K_TARGET] = null;
      return noMore();
    }
    if (m[0] === '') re.lastIndex = re.lastIndex + 1; // an empty match must still advance
    return { value: m, done: false };
  }, 'RegExp String Iterator');
  fill(StringPrototype, 'matchAll', function (regexp) {
    var s = thisString(this, 'matchAll');
    var re;
    if (isRegExp(regexp)) {
      var flags = regExpFlags(regexp);
      if (flags.indexOf('g') < 0) throw new TypeError('matchAll must be called with a global RegExp');
      re = new RegExp(regexp.source, flags);
      re.lastIndex = toLength(regexp.lastIndex);
    } else {
      re = new RegExp(regexp === undefined ? '(?:)' : regexp, 'g');
    }
    var it = createObject(RegExpStringIteratorPrototype);
    it[K_TARGET] = re;
    it[K_INDEX] = 0;
    it[K_KIND] = s; // the subject string
    return it;
  });

  // ---------------------------------------------------------------------
  // Reflect.get/set with a receiver. Duktape throws "unsupported" when the
  // receiver is given; Babel's class helpers (super.x) pass one. Walk the
  // prototype chain as the spec does and run accessors on the receiver.
  // Proxies in the chain are seen without their traps.
  if (typeof Reflect === 'object' && Reflect !== null) {
    var reflectGet = Reflect.get;
    var reflectSet = Reflect.set;
    var receiverWorks = function () {
      try {
        var seen;
        var target = {};
        var getX = function () {
          seen = this;
          return 1;
        };
        getX.prototype = undefined;
        defineProperty(target, 'x', { get: getX });
        var receiver = {};
        return typeof reflectGet === 'function' && typeof reflectSet === 'function' &&
          reflectGet(target, 'x', receiver) === 1 && seen === receiver && reflectSet({}, 'y', 2, receiver) && receiver.y === 2;
      } catch (e) {
        return false;
      }
    };
    var toKey = function (key) {
      return typeof key === 'symbol' ? key : String(key);
    };
    var findDescriptor = function (o, key) {
      for (; o !== null; o = getPrototypeOf(o)) {
        var d = getOwnPropertyDescriptor(o, key);
        if (d !== undefined) return d;
      }
      return undefined;
    };
    var works = receiverWorks();
    receiverWorks = once(receiverWorks);
    if (!works) {
      method(Reflect, 'get', function (target, key, receiver) {
        if (!isObject(target)) throw new TypeError('Reflect.get called on non-object');
        if (arguments.length < 3 || receiver === target) {
          return typeof reflectGet === 'function' ? reflectGet(target, key) : target[key];
        }
        var d = findDescriptor(target, toKey(key));
        if (d === undefined) return undefined;
        if ('value' in d) return d.value;
        return d.get === undefined ? undefined : d.get.call(receiver);
      });
      method(Reflect, 'set', function (target, key, value, receiver) {
        if (!isObject(target)) throw new TypeError('Reflect.set called on non-object');
        if (arguments.length < 4 || receiver === target) {
          if (typeof reflectSet === 'function') return reflectSet(target, key, value);
          receiver = target;
        }
        key = toKey(key);
        var d = findDescriptor(target, key);
        if (d !== undefined && !('value' in d)) {
          if (d.set === undefined) return false;
          d.set.call(receiver, value);
          return true;
        }
        if (d !== undefined && !d.writable) return false;
        if (!isObject(receiver)) return false;
        var own = getOwnPropertyDescriptor(receiver, key);
        try {
          if (own !== undefined) {
            if (!('value' in own) || !own.writable) return false;
            defineProperty(receiver, key, { value: value });
          } else {
            if (!isExtensible(receiver)) return false;
            defineProperty(receiver, key, { value: value, writable: true, enumerable: true, configurable: true });
          }
        } catch (e) {
          return false;
        }
        return true;
      });
    }
  }

  // ---------------------------------------------------------------------
  // Number (Duktape has these; kept for engines that do not).
  fill(Number, 'isInteger', function (x) {
    return typeof x === 'number' && x === x && x !== Infinity && x !== -Infinity && floor(x) === x;
  });
  fill(Number, 'isSafeInteger', function (x) {
    return Number.isInteger(x) && abs(x) <= MAX_LENGTH;
  });
  if (typeof Number.EPSILON !== 'number') defineProperty(Number, 'EPSILON', { value: Math.pow(2, -52) });
  if (typeof Number.MAX_SAFE_INTEGER !== 'number') defineProperty(Number, 'MAX_SAFE_INTEGER', { value: MAX_LENGTH });
  if (typeof Number.MIN_SAFE_INTEGER !== 'number') defineProperty(Number, 'MIN_SAFE_INTEGER', { value: -MAX_LENGTH });

  // Helpers are never constructed: drop their prototype objects too.
  var helpers = [slot, hidden, method, fill, tag, once, getter, isObject, toObject, toInteger, toLength, clampIndex,
    sameValueZero, requireFunction, noMore, makeIteratorPrototype, checkIterator, arrayIterator, codePointLength,
    listOf, entryOf, fastKey, objectFastKey, find, storeAdd, storeDelete, logCompaction, storeCompact, storeClear,
    cursorNext, newCursor, mapStore, setStore, collectionIterator, storeForEach, weakState, weakBox, weakSet,
    weakDelete, weakFill, findIn, flattenInto, mergeSort, sortByString, addProperty, thisString, pad,
    isRegExp, regExpFlags, substitute, typedCreate, typedLength, compareNumbers, toKey, findDescriptor];
  for (var h = 0; h < helpers.length; h++) if (typeof helpers[h] === 'function') helpers[h].prototype = undefined;
  helpers = null;
}, 'prototype', { value: undefined })(typeof globalThis === 'object' && globalThis !== null ? globalThis : this);
