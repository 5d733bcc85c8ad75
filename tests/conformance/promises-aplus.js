// Conformance suite: Promises/A+ (npm promises-aplus-tests 2.1.2, its 872
// tests) against the runtime's global Promise, inside Duktape. Run by
// build/conformance_runner; trusts the suite's files under js/node_modules.
//
// The suite is written for mocha, assert and sinon under Node. What its 13
// files and 3 helpers use is provided here: describe/it/specify with
// beforeEach/afterEach and done callbacks (200 ms timeout, as the suite's
// own runner sets), assert.strictEqual & co., sinon's spy/stub/match.same/
// assert.{calledWith,notCalled,callOrder}, a require() for those and the
// helper files, and `global`. Timers are the runner's virtual time. Each
// test is one case, its id the titles of its describe blocks and its own,
// joined with " > ".
(function (global) {
  'use strict';

  var PACKAGE = 'promises-aplus-tests';
  var VERSION = '2.1.2';
  var EXPECTED_TESTS = 872;
  var TIMEOUT_MS = 200; // lib/programmaticRunner.js: mochaOpts.timeout
  var TEST_FILES = ['2.1.2.js', '2.1.3.js', '2.2.1.js', '2.2.2.js', '2.2.3.js', '2.2.4.js', '2.2.5.js',
    '2.2.6.js', '2.2.7.js', '2.3.1.js', '2.3.2.js', '2.3.3.js', '2.3.4.js'];

  var pkg = JSON.parse(__data(PACKAGE + '/package.json'));
  if (pkg.version !== VERSION) throw new Error(PACKAGE + ' is ' + pkg.version + ', this harness is for ' + VERSION);

  function describeError(e) {
    try {
      if (e && typeof e === 'object' && e.message !== undefined) return (e.name || 'Error') + ': ' + e.message;
      return 'thrown: ' + String(e);
    } catch (x) {
      return 'an exception that cannot be printed';
    }
  }

  // --- assert (Node's, the parts the suite uses) ------------------------
  function AssertionError(message) {
    this.message = message;
  }
  AssertionError.prototype = Object.create(Error.prototype);
  AssertionError.prototype.name = 'AssertionError';
  AssertionError.prototype.constructor = AssertionError;

  function show(v) {
    if (typeof v === 'string') return JSON.stringify(v);
    if (typeof v === 'function') return '[Function' + (v.name ? ': ' + v.name : '') + ']';
    try {
      return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
    } catch (e) {
      return Object.prototype.toString.call(v);
    }
  }
  function deepEqual(a, b) {
    if (a === b) return true;
    if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return a == b; // eslint-disable-line eqeqeq
    if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
    var ka = Object.keys(a);
    var kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    for (var i = 0; i < ka.length; i++) {
      if (!Object.prototype.hasOwnProperty.call(b, ka[i]) || !deepEqual(a[ka[i]], b[ka[i]])) return false;
    }
    return true;
  }
  function check(ok, message, fallback) {
    if (!ok) throw new AssertionError(message || fallback);
  }
  var assert = function (value, message) {
    check(value, message, show(value) + ' == true');
  };
  assert.ok = assert;
  assert.AssertionError = AssertionError;
  assert.fail = function (message) {
    throw new AssertionError(message || 'failed');
  };
  assert.equal = function (a, b, message) {
    check(a == b, message, show(a) + ' == ' + show(b)); // eslint-disable-line eqeqeq
  };
  assert.notEqual = function (a, b, message) {
    check(a != b, message, show(a) + ' != ' + show(b)); // eslint-disable-line eqeqeq
  };
  assert.strictEqual = function (a, b, message) {
    check(a === b, message, show(a) + ' === ' + show(b));
  };
  assert.notStrictEqual = function (a, b, message) {
    check(a !== b, message, show(a) + ' !== ' + show(b));
  };
  assert.deepEqual = function (a, b, message) {
    check(deepEqual(a, b), message, show(a) + ' deepEqual ' + show(b));
  };

  // --- sinon (1.x: spy, stub, match.same, assert) ------------------------
  var nextCallId = 1; // one order over all spies, for callOrder

  function makeSpy(fn) {
    var spy = function () {
      var args = Array.prototype.slice.call(arguments);
      spy.called = true;
      spy.callCount++;
      spy.args.push(args);
      spy.thisValues.push(this);
      spy.callIds.push(nextCallId++);
      if (spy.behaviour.throws) throw spy.behaviour.exception;
      if (spy.behaviour.returns) return spy.behaviour.value;
      return fn ? fn.apply(this, args) : undefined;
    };
    spy.called = false;
    spy.callCount = 0;
    spy.args = [];
    spy.thisValues = [];
    spy.callIds = [];
    spy.behaviour = {};
    spy.displayName = fn && fn.name ? fn.name : 'spy';
    return spy;
  }
  function Matcher(test, text) {
    this.test = test;
    this.text = text;
  }
  function matches(expected, actual) {
    return expected instanceof Matcher ? expected.test(actual) : deepEqual(actual, expected);
  }
  function isSpy(x) {
    return typeof x === 'function' && x.callIds instanceof Array;
  }

  var sinon = {
    spy: function (fn) {
      return makeSpy(fn);
    },
    stub: function () {
      var stub = makeSpy(null);
      stub.returns = function (value) {
        stub.behaviour = { returns: true, value: value };
        return stub;
      };
      // sinon 1.x: throws(string) throws an Error of that name; any other
      // value is thrown as it is.
      stub.throws = function (exception) {
        var e = exception;
        if (e === undefined) e = new Error('stub error');
        else if (typeof e === 'string') {
          e = new Error('');
          e.name = exception;
        }
        stub.behaviour = { throws: true, exception: e };
        return stub;
      };
      return stub;
    },
    match: {
      same: function (expected) {
        return new Matcher(function (actual) {
          return actual === expected;
        }, 'same(' + show(expected) + ')');
      }
    },
    assert: {
      calledWith: function (spy) {
        if (!isSpy(spy)) throw new AssertionError('calledWith: not a spy');
        var expected = Array.prototype.slice.call(arguments, 1);
        for (var c = 0; c < spy.args.length; c++) {
          var all = true;
          for (var i = 0; i < expected.length && all; i++) all = matches(expected[i], spy.args[c][i]);
          if (all) return;
        }
        throw new AssertionError('expected ' + spy.displayName + ' to be called with the given arguments (' +
          spy.callCount + ' calls)');
      },
      notCalled: function (spy) {
        if (!isSpy(spy)) throw new AssertionError('notCalled: not a spy');
        if (spy.called) throw new AssertionError('expected ' + spy.displayName + ' not to be called');
      },
      // Each spy called, and each one's first call before the last call of
      // the next one (sinon's calledBefore).
      callOrder: function () {
        var spies = Array.prototype.slice.call(arguments);
        for (var i = 0; i < spies.length; i++) {
          if (!isSpy(spies[i]) || !spies[i].called) throw new AssertionError('callOrder: spy ' + i + ' not called');
          if (i > 0) {
            var a = spies[i - 1].callIds;
            var b = spies[i].callIds;
            if (!(a[0] < b[b.length - 1])) throw new AssertionError('callOrder: spy ' + (i - 1) + ' not called before spy ' + i);
          }
        }
      }
    }
  };

  // --- mocha (BDD interface, one test at a time) -------------------------
  function Suite(title, parent) {
    this.title = title;
    this.parent = parent;
    this.entries = []; // { suite } or { test }, in declaration order
    this.beforeEach = [];
    this.afterEach = [];
  }
  var root = new Suite('', null);
  var declaring = root;

  function describe(title, fn) {
    var s = new Suite(String(title), declaring);
    declaring.entries.push({ suite: s });
    var saved = declaring;
    declaring = s;
    try {
      fn.call({});
    } finally {
      declaring = saved;
    }
  }
  function it(title, fn) {
    declaring.entries.push({ test: { title: String(title), fn: fn, suite: declaring } });
  }
  function beforeEach(fn) {
    declaring.beforeEach.push(fn);
  }
  function afterEach(fn) {
    declaring.afterEach.push(fn);
  }

  // --- the adapter: our Promise ------------------------------------------
  var adapter = {
    resolved: function (value) {
      return Promise.resolve(value);
    },
    rejected: function (reason) {
      return Promise.reject(reason);
    },
    deferred: function () {
      var d = {};
      d.promise = new Promise(function (resolve, reject) {
        d.resolve = resolve;
        d.reject = reject;
      });
      return d;
    }
  };

  // --- require -----------------------------------------------------------
  var modules = {};
  function requireFrom(dir) {
    return function (name) {
      if (name === 'assert') return assert;
      if (name === 'sinon') return sinon;
      if (name.indexOf('./') !== 0) throw new Error('require: no module ' + name + ' in this harness');
      var path = dir + '/' + name.slice(2).replace(/\.js$/, '') + '.js';
      if (!Object.prototype.hasOwnProperty.call(modules, path)) {
        var module = { exports: {} };
        modules[path] = module;
        var body = __data(path);
        // Compiled as a function body, as Node wraps a CommonJS module.
        var wrapper = new Function('exports', 'require', 'module', '__filename', '__dirname', 'global', body);
        wrapper.call(module.exports, module.exports, requireFrom(path.replace(/\/[^\/]*$/, '')), module,
          path, dir, global);
      }
      return modules[path].exports;
    };
  }

  // Globals as mocha and Node give them to test files.
  global.global = global;
  global.adapter = adapter;
  global.describe = describe;
  global.it = it;
  global.specify = it;
  global.beforeEach = beforeEach;
  global.afterEach = afterEach;

  var requireTest = requireFrom(PACKAGE + '/lib/tests');
  for (var f = 0; f < TEST_FILES.length; f++) requireTest('./' + TEST_FILES[f]);

  // --- the run -----------------------------------------------------------
  var tests = [];
  function collect(suite, path) {
    for (var i = 0; i < suite.entries.length; i++) {
      var e = suite.entries[i];
      if (e.suite) collect(e.suite, path.concat([e.suite.title]));
      else tests.push({ id: path.concat([e.test.title]).join(' > '), fn: e.test.fn, suite: e.test.suite });
    }
  }
  collect(root, []);
  if (tests.length !== EXPECTED_TESTS) {
    throw new Error('found ' + tests.length + ' tests, ' + PACKAGE + ' ' + VERSION + ' has ' + EXPECTED_TESTS);
  }
  var seen = {};
  for (var t = 0; t < tests.length; t++) {
    if (seen[tests[t].id]) tests[t].id += ' (' + (++seen[tests[t].id]) + ')';
    else seen[tests[t].id] = 1;
  }

  function hooks(suite, which) {
    var chain = [];
    for (var s = suite; s; s = s.parent) chain.unshift(s);
    var out = [];
    for (var i = 0; i < chain.length; i++) out = out.concat(chain[i][which]);
    return which === 'afterEach' ? out.reverse() : out;
  }

  var current = null; // the test running now
  var finished = 0;

  // Runs fn as mocha does: with a done callback if it takes one, else
  // synchronously (or until the promise it returns settles). Calls
  // back(error) once; later calls of done fail the test afterwards.
  function runFunction(test, fn, back) {
    var over = false;
    var timer = null;
    function finish(error) {
      if (over) {
        fail(test, 'done() called multiple times' + (error ? ' (' + describeError(error) + ')' : ''));
        return;
      }
      over = true;
      if (timer !== null) clearTimeout(timer);
      back(error);
    }
    try {
      if (fn.length > 0) {
        timer = setTimeout(function () {
          timer = null;
          finish(new Error('timeout of ' + TIMEOUT_MS + 'ms exceeded'));
        }, TIMEOUT_MS);
        fn.call({}, function done(error) {
          finish(error ? error : undefined);
        });
      } else {
        var r = fn.call({});
        if (r && typeof r.then === 'function') {
          r.then(function () {
            finish();
          }, function (e) {
            finish(e || new Error('the returned promise was rejected'));
          });
        } else {
          finish();
        }
      }
    } catch (e) {
      finish(e);
    }
  }

  function fail(test, text) {
    if (test.ok !== false) {
      test.ok = false;
      test.detail = text;
    }
    if (test.reported) {
      // Failed after it was counted (a late done or an exception): say so
      // under its own id once more, which fails the run either way.
      __result(test.id + ' (after it finished)', false, text);
    }
  }

  function runSeries(test, fns, i, back) {
    if (i >= fns.length) return back();
    runFunction(test, fns[i], function (error) {
      if (error) fail(test, describeError(error));
      runSeries(test, fns, i + 1, back);
    });
  }

  function runTest(index) {
    if (index >= tests.length) {
      current = null;
      return;
    }
    var test = tests[index];
    current = test;
    runSeries(test, hooks(test.suite, 'beforeEach'), 0, function () {
      function afterBody() {
        runSeries(test, hooks(test.suite, 'afterEach'), 0, function () {
          if (test.ok !== false) test.ok = true;
          test.reported = true;
          finished++;
          __result(test.id, test.ok, test.detail || '');
          // The next test starts on a later turn, as mocha's does, so the
          // microtasks this one left behind run first.
          setTimeout(function () {
            runTest(index + 1);
          }, 0);
        });
      }
      if (test.ok === false) return afterBody(); // a beforeEach hook failed
      runFunction(test, test.fn, function (error) {
        if (error) fail(test, describeError(error));
        afterBody();
      });
    });
  }

  // An exception thrown by a timer belongs to the test running now, as
  // mocha's uncaught-exception handler decides.
  __conformance.onUncaught = function (e) {
    if (current) fail(current, 'uncaught: ' + describeError(e));
    else __result('(uncaught exception between tests)', false, describeError(e));
  };
  __conformance.onEnd(function () {
    for (var i = finished; i < tests.length; i++) {
      if (!tests[i].reported) __result(tests[i].id, false, 'never finished: the event loop ran dry');
    }
  });

  runTest(0);
}(this));
