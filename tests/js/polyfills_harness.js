// Black-box tests of sandbox/polyfills.js: loads it into a fresh node vm context from which the built-ins it fills were deleted first, so that its own versions run.
// Runs under plain node (`node tests/js/polyfills_harness.js`), no dependencies; prints "N passed, M failed", exits non-zero on failure.
// Trusts node's built-ins as the reference behaviour; the same file is also run inside Duktape by tests/unit/runtime_prelude_test.cc.
'use strict';

const vm = require('vm');
const fs = require('fs');
const path = require('path');
const assert = require('assert');

const POLYFILLS_PATH = path.join(__dirname, '..', '..', 'sandbox', 'polyfills.js');
const POLYFILLS_SOURCE = fs.readFileSync(POLYFILLS_PATH, 'utf8');
const POLYFILLS = new vm.Script(POLYFILLS_SOURCE, { filename: 'polyfills.js' });

// What Duktape 2.7 lacks (notes/duktape.md), removed from the context
// before polyfills.js runs. Reflect.get/set are replaced by versions that
// fail on a receiver, as Duktape's do.
const STRIP = `(function (g) {
  var AP = Array.prototype, SP = String.prototype, TA = Object.getPrototypeOf(Uint8Array.prototype);
  var TAC = Object.getPrototypeOf(Uint8Array);
  function strip(o, names) { for (var i = 0; i < names.length; i++) delete o[names[i]]; }
  strip(g, ['Map', 'Set', 'WeakMap', 'WeakSet', 'globalThis']);
  strip(Array, ['from', 'of']);
  strip(AP, ['find', 'findIndex', 'findLast', 'findLastIndex', 'includes', 'fill', 'flat', 'flatMap', 'at', 'entries',
    'keys', 'values', 'copyWithin', 'sort', Symbol.iterator]);
  strip(Object, ['entries', 'values', 'fromEntries', 'getOwnPropertyDescriptors', 'hasOwn']);
  strip(SP, ['padStart', 'padEnd', 'trimStart', 'trimEnd', 'trimLeft', 'trimRight', 'replaceAll', 'at', 'codePointAt',
    'matchAll', Symbol.iterator]);
  strip(String, ['fromCodePoint', 'raw']);
  strip(Number, ['isInteger', 'isSafeInteger']);
  strip(TA, ['slice', 'map', 'filter', 'forEach', 'fill', 'indexOf', 'lastIndexOf', 'includes', 'join', 'every', 'some',
    'reduce', 'reduceRight', 'find', 'findIndex', 'findLast', 'findLastIndex', 'reverse', 'sort', 'copyWithin', 'at',
    'entries', 'keys', 'values', 'toString', 'toLocaleString', Symbol.iterator]);
  strip(TAC, ['from', 'of']);
  var get = Reflect.get, set = Reflect.set;
  Reflect.get = function (t, k, r) { if (arguments.length > 2) throw new Error('unsupported'); return get(t, k); };
  Reflect.set = function (t, k, v, r) { if (arguments.length > 3) throw new Error('unsupported'); return set(t, k, v); };
})(this)`;

function stripped() {
  const context = vm.createContext({});
  vm.runInContext(STRIP, context);
  POLYFILLS.runInContext(context);
  return context;
}
function run(context, code) {
  return vm.runInContext(code, context, { filename: 'test.js' });
}
// Values from the context have the context's prototypes; compare them as JSON.
function plain(x) {
  return x === undefined ? undefined : JSON.parse(JSON.stringify(x));
}
const typeError = (e) => e.name === 'TypeError';

const runner = require('./lib/runner.js');
const test = runner.test;

// ---------------------------------------------------------------------------
// The file itself.

// A heuristic guard; the real check is compiling the file in Duktape.
test('the source has no ES2015 syntax: let, const, class, arrows, template literals, spread', () => {
  const code = POLYFILLS_SOURCE.split('\n')
    .filter((line) => !/^\s*\/\//.test(line))
    .map((line) => line
      .replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, "''")
      .replace(/([=(,:]\s*)\/(?:[^\/\\\n]|\\.)+\/[gim]*/g, '$1/re/')
      .replace(/\s\/\/.*$/, ''))
    .join('\n');
  assert.doesNotMatch(code, /\b(let|const|class)\s+[A-Za-z_$]/);
  assert.doesNotMatch(code, /\bfor\s*\([^;)]*\bof\b/);
  assert.doesNotMatch(code, /=>|`|\.\.\.|\?\.|\?\?|\basync\b|\bawait\b|\bfunction\s*\*/);
});

test('the stripped context really lacks the built-ins, and the polyfills put them back', () => {
  const bare = vm.createContext({});
  vm.runInContext(STRIP, bare);
  assert.strictEqual(run(bare, 'typeof Map + typeof [].flat + typeof "".padStart + typeof new Uint8Array(1).slice'), 'undefinedundefinedundefinedundefined');
  const c = stripped();
  assert.strictEqual(run(c, 'typeof Map + typeof [].flat + typeof "".padStart + typeof new Uint8Array(1).slice'), 'functionfunctionfunctionfunction');
  assert.strictEqual(run(c, 'Map.toString().indexOf("[native code]")'), -1);
  assert.strictEqual(run(c, 'Array.prototype.sort.toString().indexOf("[native code]")'), -1);
});

test('with every built-in present, nothing is replaced', () => {
  const c = vm.createContext({});
  const names = ['Map', 'Set', 'WeakMap', 'WeakSet', 'Array.from', 'Array.prototype.sort', 'Array.prototype.flat',
    'Array.prototype.values', 'Object.entries', 'String.prototype.padStart', 'String.prototype[Symbol.iterator]',
    'Reflect.get', 'Reflect.set', 'Uint8Array.prototype.slice', 'Uint8Array.from', 'Number.isInteger'];
  const before = run(c, '[' + names.join(',') + ']');
  POLYFILLS.runInContext(c);
  const after = run(c, '[' + names.join(',') + ']');
  names.forEach((n, i) => assert.strictEqual(after[i], before[i], n));
});

test('what is added is non-enumerable and methods have no prototype object', () => {
  const c = stripped();
  assert.strictEqual(run(c, 'var k = []; for (var x in []) k.push(x); for (x in "s") k.push(x); for (x in new Map()) k.push(x); k.length'), 1); // "0" of "s"
  assert.strictEqual(run(c, 'Object.keys(Array.prototype).length + Object.keys(Map.prototype).length + Object.keys(String.prototype).length'), 0);
  assert.strictEqual(run(c, 'Array.prototype.flat.prototype'), undefined);
  assert.strictEqual(run(c, 'typeof Map.prototype'), 'object');
});

// ---------------------------------------------------------------------------
// Map and Set.

test('Map: SameValueZero keys, insertion order, -0 stored as +0, chaining set', () => {
  const c = stripped();
  assert.deepStrictEqual(plain(run(c, 'var m = new Map([[1, "num"], ["1", "str"], [NaN, "nan"], [-0, "zero"], [null, "n"], [undefined, "u"], [true, "t"], ["true", "T"]]);' +
    ' m.set(NaN, "nan2").set("x", 1); [m.size, m.get(1), m.get("1"), m.get(NaN), m.get(0), 1 / Array.from(m.keys())[3] > 0, m.get(null), m.get(undefined), m.get(true), m.get("true"), m.has("y")]')),
  [9, 'num', 'str', 'nan2', 'zero', true, 'n', 'u', 't', 'T', false]);
  assert.strictEqual(run(c, 'var s = Symbol("k"); var m2 = new Map(); m2.set(s, 1); m2.get(s) + (m2.get(Symbol("k")) === undefined ? 0 : 10)'), 1);
  assert.strictEqual(run(c, 'String(new Map()) + " " + Object.prototype.toString.call(new Set())'), '[object Map] [object Set]');
});

test('Map: object keys by identity, inherited ids, frozen objects and proxies', () => {
  const c = stripped();
  assert.deepStrictEqual(plain(run(c, 'var a = {}, b = Object.create(a), f = Object.freeze({}), p = new Proxy(a, {}); var m = new Map();' +
    ' m.set(a, "a"); var before = m.get(b); m.set(b, "b").set(f, "f").set(p, "p");' +
    ' [before, m.get(a), m.get(b), m.get(f), m.get(p), m.size, m.delete(f), m.has(f), m.size, JSON.stringify(a), Object.keys(a).length]')),
  [null, 'a', 'b', 'f', 'p', 4, true, false, 3, '{}', 0]);
});

test('Map: delete, clear, forEach with this, and errors on bad receivers', () => {
  const c = stripped();
  assert.deepStrictEqual(plain(run(c, 'var m = new Map([["a", 1], ["b", 2], ["c", 3]]); m.delete("b"); var out = [];' +
    ' m.forEach(function (v, k, map) { out.push(k + v + (map === m) + this.t); }, { t: "!" }); var d = m.delete("zz"); m.clear(); [out, d, m.size]')),
  [['a1true!', 'c3true!'], false, 0]);
  assert.throws(() => run(c, 'Map.prototype.get.call({}, 1)'), typeError);
  assert.throws(() => run(c, 'Map.prototype.get.call(new Set(), 1)'), typeError);
  assert.throws(() => run(c, 'Map()'), typeError);
  assert.throws(() => run(c, 'new Map([1])'), typeError);
  assert.throws(() => run(c, 'new Map(5)'), typeError);
});

test('Map iteration sees entries added during it and survives deletes, compaction and clear', () => {
  const c = stripped();
  assert.strictEqual(run(c, 'var m = new Map(); for (var i = 0; i < 100; i++) m.set(i, i); var seen = [], it = m.keys(), s;' +
    ' while (!(s = it.next()).done) { seen.push(s.value); if (s.value === 10) { for (var j = 0; j < 90; j++) m.delete(j); m.set("new", 1); } }' +
    ' seen.join()'), '0,1,2,3,4,5,6,7,8,9,10,90,91,92,93,94,95,96,97,98,99,new');
  assert.strictEqual(run(c, 'var m2 = new Map([[1, 1], [2, 2]]); var it2 = m2.entries(); it2.next(); m2.clear(); m2.set(3, 3);' +
    ' JSON.stringify(Array.from(it2))'), '[[3,3]]');
  assert.strictEqual(run(c, 'var m3 = new Map([[1, 1]]); var it3 = m3.values(); it3.next(); it3.next(); m3.set(2, 2); it3.next().done'), true);
  assert.strictEqual(run(c, 'var m4 = new Map(); for (i = 0; i < 50; i++) m4.set(i, i); var out4 = [];' +
    ' m4.forEach(function (v, k) { out4.push(k); if (k < 40) m4.delete(k + 1); }); out4.length'), 30);
});

test('Map and Set survive heavy churn with the right size and order', () => {
  const c = stripped();
  assert.strictEqual(run(c, 'var s = new Set(); for (var i = 0; i < 5000; i++) { s.add(i); if (i >= 3) s.delete(i - 3); }' +
    ' [s.size, Array.from(s).join()].join("|")'), '3|4997,4998,4999');
});

test('Set: unique values, entries are [v, v], keys is values', () => {
  const c = stripped();
  assert.deepStrictEqual(plain(run(c, 'var s = new Set([1, 2, 2, NaN, NaN, "1"]); [s.size, Array.from(s.entries()), s.keys === s.values,' +
    ' s[Symbol.iterator] === s.values, s.has(NaN), s.add(3) === s, s.delete(1), s.size]')),
  [4, [[1, 1], [2, 2], [null, null], ['1', '1']], true, true, true, true, true, 4]);
  assert.strictEqual(run(c, 'var o = []; new Set(["a", "b"]).forEach(function (v, k, set) { o.push(v + k); }); o.join()'), 'aa,bb');
});

test('a subclass that overrides set/add is called by the constructor', () => {
  const c = stripped();
  assert.strictEqual(run(c, 'function M(it) { return Reflect.construct(Map, [it], M); } M.prototype = Object.create(Map.prototype);' +
    ' M.prototype.set = function (k, v) { return Map.prototype.set.call(this, k, v * 10); }; new M([["a", 1]]).get("a")'), 10);
});

// ---------------------------------------------------------------------------
// WeakMap and WeakSet.

test('WeakMap: objects only, identity, inherited slots ignored, hidden from enumeration', () => {
  const c = stripped();
  assert.deepStrictEqual(plain(run(c, 'var w = new WeakMap(), a = {}, b = Object.create(a); w.set(a, 1);' +
    ' [w.get(a), w.has(b), w.get(b), w.set(b, 2) === w, w.get(b), w.get(a), JSON.stringify(a), Object.keys(a).length, w.delete(a), w.has(a), w.delete(a)]')),
  [1, false, null, true, 2, 1, '{}', 0, true, false, false]);
  assert.throws(() => run(c, 'new WeakMap().set(1, 1)'), typeError);
  assert.throws(() => run(c, 'new WeakSet().add("s")'), typeError);
  assert.strictEqual(run(c, 'new WeakMap().get(1)'), undefined);
  assert.strictEqual(run(c, 'var k1 = {}, k2 = {}; var w2 = new WeakMap([[k1, "x"]]); new WeakMap().has(k1) + "," + w2.get(k1) + "," + w2.has(k2)'), 'false,x,false');
});

test('WeakMap: frozen keys, keys frozen after insertion, proxies', () => {
  const c = stripped();
  assert.deepStrictEqual(plain(run(c, 'var w = new WeakMap(), f = Object.freeze({}), late = {}, p = new Proxy({}, {});' +
    ' w.set(f, "f").set(late, 1).set(p, "p"); Object.freeze(late); w.set(late, 2); var v2 = w.get(late);' +
    ' var del = w.delete(late); var gone = !w.has(late); w.set(late, 3);' +
    ' [w.get(f), v2, del, gone, w.get(late), w.get(p), w.delete(f), w.has(f)]')),
  ['f', 2, true, true, 3, 'p', true, false]);
});

test('WeakSet: add, has, delete', () => {
  const c = stripped();
  assert.strictEqual(run(c, 'var o = {}; var ws = new WeakSet([o]); var r = [ws.has(o), ws.has({})]; ws.delete(o); r.push(ws.has(o)); r.join()'), 'true,false,false');
  assert.strictEqual(run(c, 'String(new WeakSet())'), '[object WeakSet]');
});

// ---------------------------------------------------------------------------
// Iteration.

test('arrays, strings, typed arrays, Map and Set iterate through Symbol.iterator', () => {
  const c = stripped();
  const each = 'function each(x) { var out = [], it = x[Symbol.iterator](), s; while (!(s = it.next()).done) out.push(s.value); return out; }';
  assert.deepStrictEqual(plain(run(c, each + '[each([1, 2]), each("a\\ud83d\\ude00b"), each(new Uint8Array([3, 4])), each(new Map([[1, 2]])), each(new Set([5]))]')),
    [[1, 2], ['a', '\ud83d\ude00', 'b'], [3, 4], [[1, 2]], [5]]);
  assert.deepStrictEqual(plain(run(c, each + '[each([7, 8].entries()), each([7, 8].keys()), each(new Map([["k", "v"]]).values())]')), [[[0, 7], [1, 8]], [0, 1], ['v']]);
  assert.strictEqual(run(c, 'var it = [].values(); it[Symbol.iterator]() === it'), true);
  assert.strictEqual(run(c, 'Object.prototype.toString.call([].values()) + Object.prototype.toString.call(new Map().keys())'), '[object Array Iterator][object Map Iterator]');
  assert.throws(() => run(c, '[].values().next.call({})'), typeError);
});

test('node\'s own for-of and spread run on the polyfilled iterators', () => {
  const c = stripped();
  assert.strictEqual(run(c, 'var out = []; for (var x of new Map([[1, "a"]])) out.push(x.join("")); for (var y of new Set(["s"])) out.push(y);' +
    ' out.concat([...new Set([1, 1, 2])]).join()'), '1a,s,1,2');
});

test('Array.from: iterables, array-likes, arguments, map function, subclass constructor', () => {
  const c = stripped();
  assert.deepStrictEqual(plain(run(c, '[Array.from("a\\ud83d\\ude00"), Array.from({ length: 2, 0: "x" }), (function () { return Array.from(arguments); })(1, 2),' +
    ' Array.from([1, 2], function (v, i) { return v * 10 + i; }), Array.from(new Set([1, 2])), Array.from(new Map([[1, 2]])), Array.from(5)]')),
  [['a', '\ud83d\ude00'], ['x', null], [1, 2], [10, 21], [1, 2], [[1, 2]], []]);
  assert.strictEqual(run(c, 'function C(n) { this.made = n; } var r = Array.from.call(C, [1, 2]); r.made + ":" + r.length + ":" + r[1]'), '2:2:2');
  assert.throws(() => run(c, 'Array.from(null)'), typeError);
  assert.throws(() => run(c, 'Array.from([], 1)'), typeError);
  assert.deepStrictEqual(plain(run(c, 'Array.of(7, 8)')), [7, 8]);
});

test('an iterator that returns non-objects is refused', () => {
  const c = stripped();
  const bad = 'var bad = {}; bad[Symbol.iterator] = function () { return { next: function () { return 1; } }; };';
  assert.throws(() => run(c, bad + 'Array.from(bad)'), typeError);
  assert.throws(() => run(c, bad + 'new Set(bad)'), typeError);
});

// ---------------------------------------------------------------------------
// Array.

test('Array find family, includes, at, fill, flat, flatMap', () => {
  const c = stripped();
  assert.deepStrictEqual(plain(run(c, 'var a = [5, 12, 8, 130, 44]; function big(x) { return x > 10; }' +
    ' [a.find(big), a.findIndex(big), a.findLast(big), a.findLastIndex(big), a.find(function () { return false; }), a.findIndex(function () { return false; }),' +
    ' [1, NaN].includes(NaN), [1, 2, 3].includes(1, 1), [1, 2, 3].includes(3, -1), [1, 2].at(-1), [1, 2].at(5), [1, 2].at(0),' +
    ' [1, 2, 3, 4].fill(0, 1, -1), new Array(2).fill("x"), [1, [2, [3, [4]]]].flat(), [1, [2, [3, [4]]]].flat(Infinity), [1, , 2].flat(),' +
    ' [1, 2].flatMap(function (x) { return [x, [x * 2]]; })]')),
  [12, 1, 44, 4, null, -1, true, false, true, 2, null, 1, [1, 0, 0, 4], ['x', 'x'], [1, 2, [3, [4]]], [1, 2, 3, 4], [1, 2], [1, [2], 2, [4]]]);
  assert.throws(() => run(c, '[].find(1)'), typeError);
  assert.throws(() => run(c, 'Array.prototype.at.call(null, 0)'), typeError);
});

test('Array copyWithin copies overlapping ranges correctly and keeps holes', () => {
  const c = stripped();
  assert.deepStrictEqual(plain(run(c, '[[1, 2, 3, 4, 5].copyWithin(0, 3), [1, 2, 3, 4, 5].copyWithin(1, 0, 3), [1, 2, 3, 4, 5].copyWithin(-2, -4, -3)]')),
    [[4, 5, 3, 4, 5], [1, 1, 2, 3, 5], [1, 2, 3, 2, 5]]);
  assert.strictEqual(run(c, 'var h = [1, , 3].copyWithin(0, 1); (0 in h) + "," + h[1]'), 'false,3');
});

test('sort is stable, compares strings by default, puts undefined then holes last', () => {
  const c = stripped();
  assert.strictEqual(run(c, 'var a = []; for (var i = 0; i < 1000; i++) a.push({ k: (i * 7) % 13, i: i }); a.sort(function (x, y) { return x.k - y.k; });' +
    ' var ok = true; for (i = 1; i < a.length; i++) if (a[i - 1].k > a[i].k || (a[i - 1].k === a[i].k && a[i - 1].i > a[i].i)) ok = false; ok'), true);
  assert.deepStrictEqual(plain(run(c, 'var b = [3, undefined, 10, , 1, 2]; b.sort(); [b.length, b[0], b[1], b[2], b[3], 4 in b, b[4] === undefined, 5 in b]')),
    [6, 1, 10, 2, 3, true, true, false]);
  assert.deepStrictEqual(plain(run(c, '[[3, 1, 2].sort(function (a, b) { return b - a; }), ["b", "a", "C"].sort(), [1, 2, 3].sort(function () { return NaN; })]')),
    [[3, 2, 1], ['C', 'a', 'b'], [1, 2, 3]]);
  assert.throws(() => run(c, '[2, 1].sort(1)'), typeError);
  assert.strictEqual(run(c, 'var o = { length: 3, 0: "c", 1: "a", 2: "b" }; Array.prototype.sort.call(o); o[0] + o[1] + o[2]'), 'abc');
  assert.strictEqual(run(c, 'var arr = [1]; arr.sort() === arr'), true);
});

// ---------------------------------------------------------------------------
// Typed arrays.

test('typed array methods: slice, map and filter keep the type; sort is numeric and stable', () => {
  const c = stripped();
  assert.deepStrictEqual(plain(run(c, 'var u = new Uint8Array([3, 1, 2, 200]);' +
    ' [Array.from(u.slice(1, -1)), u.slice(1) instanceof Uint8Array, Array.from(u.map(function (x) { return x * 2; })), u.map(function (x) { return x; }) instanceof Uint8Array,' +
    ' Array.from(u.filter(function (x) { return x > 2; })), u.filter(Boolean) instanceof Uint8Array, Array.from(u.slice().sort()), Array.from(u.slice().sort(function (a, b) { return b - a; }))]')),
  [[1, 2], true, [6, 2, 4, 144], true, [3, 200], true, [1, 2, 3, 200], [200, 3, 2, 1]]);
  assert.strictEqual(run(c, 'var f = new Float64Array([2, -0, 0, NaN, -1]); f.sort(); Array.prototype.join.call(f) + "/" + (1 / f[1])'), '-1,0,0,2,NaN/-Infinity');
});

test('typed array methods shared with Array: forEach, reduce, join, includes, indexOf, fill, at, reverse, iteration', () => {
  const c = stripped();
  assert.deepStrictEqual(plain(run(c, 'var u = new Int16Array([1, 2, 3]); var sum = 0; u.forEach(function (x) { sum += x; });' +
    ' [sum, u.reduce(function (a, b) { return a + b; }), u.join("-"), String(u), u.includes(2), u.indexOf(3), u.lastIndexOf(1), u.every(Boolean), u.some(function (x) { return x > 2; }),' +
    ' u.find(function (x) { return x > 1; }), u.findLastIndex(function (x) { return x < 3; }), u.at(-1), Array.from(new Uint8Array(4).fill(1, 2)), Array.from(u.slice().reverse()),' +
    ' Array.from(u.entries()), Array.from(u.keys()), Array.from(new Uint8Array([5, 6, 7, 8]).copyWithin(0, 2))]')),
  [6, 6, '1-2-3', '1,2,3', true, 2, 0, true, true, 2, 1, 3, [0, 0, 1, 1], [3, 2, 1], [[0, 1], [1, 2], [2, 3]], [0, 1, 2], [7, 8, 7, 8]]);
});

test('TypedArray.from and of on every constructor', () => {
  const c = stripped();
  assert.deepStrictEqual(plain(run(c, '[Array.from(Uint8Array.from([1, 2, 300])), Array.from(Int8Array.from(new Set([1, -1]))), Array.from(Float32Array.of(1.5, 2)),' +
    ' Array.from(Uint16Array.from("12", function (s) { return +s * 2; })), Uint8ClampedArray.from([300])[0], Float64Array.from([1]) instanceof Float64Array]')),
  [[1, 2, 44], [1, -1], [1.5, 2], [2, 4], 255, true]);
  assert.throws(() => run(c, 'Uint8Array.prototype.slice.call([1, 2])'), typeError);
});

// ---------------------------------------------------------------------------
// Object, String, Number, Reflect, globals.

test('Object.entries, values, fromEntries, getOwnPropertyDescriptors, hasOwn', () => {
  const c = stripped();
  assert.deepStrictEqual(plain(run(c, 'var s = Symbol("s"); var o = { a: 1, b: 2 }; Object.defineProperty(o, "hidden", { value: 3 }); o[s] = 4;' +
    ' var d = Object.getOwnPropertyDescriptors(o);' +
    ' [Object.entries(o), Object.values(o), Object.fromEntries([["x", 1], ["y", 2]]), Object.fromEntries(new Map([["m", 1]])), Object.keys(d), d.hidden.enumerable, d[s].value,' +
    ' Object.hasOwn(o, "a"), Object.hasOwn(o, "toString"), Object.entries("ab")]')),
  [[['a', 1], ['b', 2]], [1, 2], { x: 1, y: 2 }, { m: 1 }, ['a', 'b', 'hidden'], false, 4, true, false, [['0', 'a'], ['1', 'b']]]);
  assert.strictEqual(run(c, 'Object.getPrototypeOf(Object.fromEntries([["__proto__", 1]])) === Object.prototype && Object.fromEntries([["__proto__", 1]]).__proto__ === 1'), true);
  assert.throws(() => run(c, 'Object.entries(null)'), typeError);
  assert.throws(() => run(c, 'Object.fromEntries([1])'), typeError);
});

test('String padStart, padEnd, trimStart, trimEnd, at, codePointAt, fromCodePoint, raw', () => {
  const c = stripped();
  assert.deepStrictEqual(plain(run(c, '["5".padStart(3, "0"), "5".padStart(3), "ab".padEnd(5, "xy"), "abc".padStart(2), "x".padEnd(3, ""),' +
    ' " \\t\\u00a0x \\n".trimStart(), " x \\ufeff".trimEnd(), " y ".trimLeft(), "abc".at(-1), "abc".at(3), "a\\ud83d\\ude00".codePointAt(1), "a".codePointAt(1),' +
    ' String.fromCodePoint(97, 0x1f600), String.raw({ raw: ["a", "b", "c"] }, 1), String.raw({ raw: "xyz" }, 1, 2, 3)]')),
  ['005', '  5', 'abxyx', 'abc', 'x', 'x \n', ' x', 'y ', 'c', null, 0x1f600, null, 'a\ud83d\ude00', 'a1bc', 'x1y2z']);
  assert.throws(() => run(c, 'String.fromCodePoint(-1)'), (e) => e.name === 'RangeError');
  assert.throws(() => run(c, 'String.fromCodePoint(1.5)'), (e) => e.name === 'RangeError');
  assert.throws(() => run(c, 'String.prototype.padStart.call(null, 2)'), typeError);
});

test('String replaceAll: strings with $ patterns, functions, empty needles and global regexps', () => {
  const c = stripped();
  assert.deepStrictEqual(plain(run(c, '["a.b.c".replaceAll(".", "$&$&"), "aaa".replaceAll("a", function (m, i, s) { return i + s.length; }), "abc".replaceAll("", "-"),' +
    ' "xax".replaceAll(/x/g, "y"), "a$b".replaceAll("$", "$$"), "abc".replaceAll("b", "[$`|$\'|$1]"), "aaaa".replaceAll("aa", "b"), "".replaceAll("", "z")]')),
  ['a..b..c', '345', '-a-b-c-', 'yay', 'a$b', 'a[a|c|$1]c', 'bb', 'z']);
  assert.throws(() => run(c, '"x".replaceAll(/x/, "y")'), typeError);
});

test('String matchAll yields every match with its groups and index', () => {
  const c = stripped();
  assert.deepStrictEqual(plain(run(c, 'var out = []; var it = "a1b22c333".matchAll(/(\\d)(\\d*)/g), s; while (!(s = it.next()).done) out.push([s.value[0], s.value[1], s.value.index]);' +
    ' [out, Array.from("xx".matchAll(/(?:)/g)).length, Array.from("a.b".matchAll(".")).length]')),
  [[['1', '1', 1], ['22', '2', 3], ['333', '3', 6]], 3, 3]);
  assert.throws(() => run(c, '"x".matchAll(/x/)'), typeError);
});

test('Reflect.get and Reflect.set with a receiver run accessors on the receiver, as Babel super calls need', () => {
  const c = stripped();
  assert.deepStrictEqual(plain(run(c, 'var base = { get who() { return this.name; }, set who(v) { this.seen = v; }, plain: 1 }; var child = Object.create(base);' +
    ' var me = { name: "me" }; var ro = Object.defineProperty({}, "ro", { value: 1 }); var noSet = { get g() { return 1; } };' +
    ' [Reflect.get(child, "who", me), Reflect.get(child, "plain", me), Reflect.get(child, "missing", me), Reflect.set(child, "who", 5, me), me.seen,' +
    ' Reflect.set(child, "fresh", 6, me), me.fresh, Object.getOwnPropertyDescriptor(me, "fresh").enumerable, Reflect.set(ro, "ro", 2, me), Reflect.set(noSet, "g", 2, me),' +
    ' Reflect.set({}, "x", 1, 5), Reflect.get({ q: 3 }, "q"), Reflect.set(me, "name", "you"), me.name]')),
  ['me', 1, null, true, 5, true, 6, true, false, false, false, 3, true, 'you']);
  assert.throws(() => run(c, 'Reflect.get(1, "x", {})'), typeError);
});

test('a Babel-style class with super accessors works', () => {
  const c = stripped();
  // What @babel/plugin-transform-classes emits for `super.greeting` in a getter (loose: false).
  assert.strictEqual(run(c, 'function _get() { return _get = Reflect.get.bind(), _get.apply(null, arguments); }' +
    ' function Base() {} Object.defineProperty(Base.prototype, "greeting", { get: function () { return "hi " + this.name; } });' +
    ' function Child() { this.name = "child"; } Child.prototype = Object.create(Base.prototype);' +
    ' Object.defineProperty(Child.prototype, "greeting", { get: function () { return _get(Base.prototype, "greeting", this) + "!"; } });' +
    ' new Child().greeting'), 'hi child!');
});

test('Number helpers, globalThis and Symbol.asyncIterator', () => {
  const c = stripped();
  assert.deepStrictEqual(plain(run(c, '[Number.isInteger(5), Number.isInteger(5.5), Number.isInteger("5"), Number.isSafeInteger(Math.pow(2, 53)), Number.isSafeInteger(-9007199254740991),' +
    ' globalThis === this, typeof Symbol.asyncIterator]')), [true, false, false, false, true, true, 'symbol']);
});

// ---------------------------------------------------------------------------

runner.run();
