// The lowering heap's own prelude, loaded before core-js and Babel (all three
// as bytecode made at build time, see tools/dump_bytecode.cc). Runs in the
// compiler child, in the Lowerer's heap only, never in a worker heap; it
// trusts core-js and Babel (pinned by js/package-lock.json), never the source
// it is asked to lower: every failure is returned as a value.
(function (global) {
  'use strict';

  // Babel reports deprecations and hints through console; nobody reads the
  // compiler child's console, so they are dropped.
  var noop = function () {};
  global.console = { log: noop, info: noop, warn: noop, error: noop, debug: noop, trace: noop };

  // Local time, for Duktape, is glibc's mktime(), which looks at
  // /etc/localtime on every call unless TZ is set; the compiler child is
  // seccomp-locked, so that look is fatal. core-js probes Date methods as
  // it loads, and Babel has no use for local time: here it is UTC.
  var DP = Date.prototype;
  var parts = ['FullYear', 'Month', 'Date', 'Hours', 'Minutes', 'Seconds', 'Milliseconds'];
  for (var p = 0; p < parts.length; p++) {
    DP['get' + parts[p]] = DP['getUTC' + parts[p]];
    DP['set' + parts[p]] = DP['setUTC' + parts[p]];
  }
  DP.getDay = DP.getUTCDay;
  DP.getYear = function getYear() { return DP.getUTCFullYear.call(this) - 1900; };
  DP.getTimezoneOffset = function getTimezoneOffset() { return 0; };
  DP.toString = DP.toLocaleString = DP.toUTCString;
  DP.toDateString = DP.toLocaleDateString = function () { return DP.toISOString.call(this).slice(0, 10); };
  DP.toTimeString = DP.toLocaleTimeString = function () { return DP.toISOString.call(this).slice(11, 19); };

  // core-js picks its Promise scheduler when it loads: without a
  // queueMicrotask already defined its Promise never settles. Jobs wait here
  // until the end of each lowering, which runs them (Babel's synchronous
  // transform queues none; the drain is bounded so a job that keeps queueing
  // can't hold the compiler).
  var jobs = [];
  global.queueMicrotask = function (fn) {
    if (typeof fn !== 'function') throw new TypeError('queueMicrotask: argument is not a function');
    jobs.push(fn);
  };
  function drainJobs() {
    for (var n = 0; jobs.length > 0 && n < 10000; n++) {
      try { jobs.shift()(); } catch (e) { /* a job's failure is not the lowering's */ }
    }
    jobs.length = 0;
  }

  // Duktape's Reflect.get/Reflect.set throw "unsupported" when given a
  // receiver other than the target, which is how the `_get` helper inside
  // Babel's own (compiled) bundle reads `super.x`. The receiver form is done here by hand: find the property
  // along the prototype chain, then call its accessor with the receiver.
  var reflectGet = Reflect.get, reflectSet = Reflect.set;
  var getOwn = Object.getOwnPropertyDescriptor, getProto = Object.getPrototypeOf;
  function findProperty(obj, key) {
    for (var depth = 0; obj !== null && obj !== undefined && depth < 10000; depth++) {
      var d = getOwn(obj, key);
      if (d) return d;
      obj = getProto(obj);
    }
    return undefined;
  }
  function requireObject(x, what) {
    if (x === null || (typeof x !== 'object' && typeof x !== 'function')) throw new TypeError(what + ' called on non-object');
  }
  Reflect.get = function get(target, key, receiver) {
    if (arguments.length < 3 || receiver === target) return reflectGet(target, key);
    requireObject(target, 'Reflect.get');
    var d = findProperty(target, key);
    if (d === undefined) return undefined;
    if ('value' in d) return d.value;
    return d.get === undefined ? undefined : d.get.call(receiver);
  };
  Reflect.set = function set(target, key, value, receiver) {
    if (arguments.length < 4 || receiver === target) return reflectSet(target, key, value);
    requireObject(target, 'Reflect.set');
    var d = findProperty(target, key);
    if (d !== undefined && !('value' in d)) {
      if (d.set === undefined) return false;
      d.set.call(receiver, value);
      return true;
    }
    if (d !== undefined && !d.writable) return false;
    if (receiver === null || (typeof receiver !== 'object' && typeof receiver !== 'function')) return false;
    var own = getOwn(receiver, key);
    if (own !== undefined) {
      if (!('value' in own) || !own.writable) return false;
      Object.defineProperty(receiver, key, { value: value });
      return true;
    }
    if (!Object.isExtensible(receiver)) return false;
    Object.defineProperty(receiver, key, { value: value, writable: true, enumerable: true, configurable: true });
    return true;
  };

  // Source map "mappings" → the original line (1-based) of the first mapped
  // segment of each generated line; 0 for a line with no mapping (the
  // helpers Babel puts on line 1, for instance).
  var BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  var digit = {};
  for (var i = 0; i < BASE64.length; i++) digit[BASE64.charAt(i)] = i;
  function lineMap(mappings, lines) {
    var out = [], pos = 0, n = mappings.length, srcLine = 0;
    var fields = [0, 0, 0, 0, 0];
    while (out.length < lines) {
      var first = 0, mapped = false;
      // One generated line: segments up to the next ';'.
      while (pos < n && mappings.charAt(pos) !== ';') {
        var count = 0;
        while (pos < n && mappings.charAt(pos) !== ',' && mappings.charAt(pos) !== ';') {
          var value = 0, shift = 0, more = true;
          while (more) {
            var d = digit[mappings.charAt(pos++)];
            if (d === undefined || shift > 30) throw new Error('bad source map');
            more = (d & 32) !== 0;
            value += (d & 31) * Math.pow(2, shift);
            shift += 5;
          }
          var signed = (value % 2) ? -(value - 1) / 2 : value / 2;
          if (count < 5) fields[count] = signed;
          count++;
        }
        // The third field is the original line, relative to the previous
        // segment that had one, across generated lines.
        if (count >= 4) {
          srcLine += fields[2];
          if (!mapped) first = srcLine + 1;
          mapped = true;
        }
        if (pos < n && mappings.charAt(pos) === ',') pos++;
      }
      out.push(first);
      if (pos < n) pos++;  // the ';'
    }
    return out;
  }

  // Babel's message is "FILE: text (LINE:COL)" followed by a code frame;
  // the caller adds its own "FILE:LINE:COL:" prefix.
  function cleanMessage(e, filename) {
    var msg = String(e && e.message !== undefined ? e.message : e);
    var nl = msg.indexOf('\n');
    if (nl >= 0) msg = msg.slice(0, nl);
    // Babel names the file as it resolved it ("/w.js" for "w.js").
    var at = msg.indexOf(filename + ': ');
    if (at >= 0 && !/\s/.test(msg.slice(0, at))) msg = msg.slice(at + filename.length + 2);
    msg = msg.replace(/ \(\d+:\d+\)$/, '');
    return msg;
  }

  // Babel's configuration, built once: Babel caches loaded plugins and
  // presets by the identity of these objects, so reuse keeps them warm.
  // What the script is, read from its syntax tree before any plugin
  // changes it (Program is entered first, and this plugin runs before the
  // preset's): an ES module, or a script using CommonJS's module/exports
  // or the global addEventListener, each only when not a local binding.
  var seen = null;
  function unbound(path, name) { return !path.scope.getBinding(name); }
  function isGlobalName(node, path, names) {
    return node.type === 'Identifier' && names.indexOf(node.name) >= 0 && unbound(path, node.name);
  }
  function propertyIs(node, name) {
    return node.computed ? node.property.type === 'StringLiteral' && node.property.value === name
      : node.property.type === 'Identifier' && node.property.name === name;
  }
  // Syntax Babel leaves as it is (it has no ES5 form) and Duktape can't
  // run: refused here, at its original position, rather than failing later
  // in the lowered code (compile) or at run time (regex flags).
  function refuse(node, message) {
    var e = new SyntaxError(message);
    if (node.loc) e.loc = { line: node.loc.start.line, column: node.loc.start.column };
    throw e;
  }
  function hasLookbehind(pattern) {
    var inClass = false;
    for (var i = 0; i < pattern.length; i++) {
      var c = pattern.charAt(i);
      if (c === '\\') i++;
      else if (c === '[') inClass = true;
      else if (c === ']') inClass = false;
      else if (!inClass && c === '(' && (pattern.substr(i, 4) === '(?<=' || pattern.substr(i, 4) === '(?<!')) return true;
    }
    return false;
  }
  var detectVisitor = {
    BigIntLiteral: function (path) {
      refuse(path.node, 'BigInt is not supported by this runtime');
    },
    RegExpLiteral: function (path) {
      var node = path.node;
      if (node.flags.indexOf('y') >= 0) refuse(node, 'the regular expression flag "y" (sticky) is not supported by this runtime');
      if (node.flags.indexOf('d') >= 0) refuse(node, 'the regular expression flag "d" (indices) is not supported by this runtime');
      if (hasLookbehind(node.pattern)) refuse(node, 'lookbehind in regular expressions is not supported by this runtime');
    },
    // One file is one worker: there is nothing to import from (bundlers
    // inline the modules; CommonJS output would call a missing require).
    ImportDeclaration: function (path) {
      refuse(path.node, 'import from "' + path.node.source.value + '": a worker is one file; bundle its modules');
    },
    ExportAllDeclaration: function (path) {
      refuse(path.node, 'export from "' + path.node.source.value + '": a worker is one file; bundle its modules');
    },
    ExportNamedDeclaration: function (path) {
      if (path.node.source) refuse(path.node, 'export from "' + path.node.source.value + '": a worker is one file; bundle its modules');
    },
    ImportExpression: function (path) {
      refuse(path.node, 'import() is not supported: a worker is one file');
    },
    MetaProperty: function (path) {
      if (path.node.meta.name === 'import') refuse(path.node, 'import.meta is not supported: a worker is one file');
    },
    AwaitExpression: function (path) {
      if (!path.getFunctionParent()) refuse(path.node, 'top-level await is not supported');
    },
    ForOfStatement: function (path) {
      if (path.node.await && !path.getFunctionParent()) refuse(path.node, 'top-level await is not supported');
    },
    MemberExpression: function (path) {
      var node = path.node;
      if (isGlobalName(node.object, path, ['exports'])) seen.usesExports = true;
      else if (isGlobalName(node.object, path, ['module']) && propertyIs(node, 'exports')) seen.usesExports = true;
    },
    CallExpression: function (path) {
      var callee = path.node.callee;
      if (callee.type === 'Import') refuse(path.node, 'import() is not supported: a worker is one file');
      if (isGlobalName(callee, path, ['addEventListener'])) seen.usesAddEventListener = true;
      else if (callee.type === 'MemberExpression' && isGlobalName(callee.object, path, ['self', 'globalThis']) &&
               propertyIs(callee, 'addEventListener')) seen.usesAddEventListener = true;
    }
  };
  function detectModule() {
    return {
      visitor: {
        Program: function (path) {
          seen.module = path.node.sourceType === 'module';
          path.traverse(detectVisitor);
        }
      }
    };
  }
  var envPreset = ['env', { targets: { ie: '11' }, modules: 'commonjs' }];
  var presets = [envPreset];
  var plugins = [detectModule];

  // The one entry point, called by sandbox/lowering.cc. Returns
  // {ok, code, module, usesExports, usesAddEventListener, lineMap}
  // or {ok: false, name, message, line, column}.
  global.__wfpLower = function (filename, source, moduleHint) {
    seen = { module: false, usesExports: false, usesAddEventListener: false };
    var result;
    try {
      var r = Babel.transform(source, {
        filename: filename,
        sourceType: moduleHint ? 'module' : 'unambiguous',
        babelrc: false,
        configFile: false,
        highlightCode: false,
        presets: presets,
        plugins: plugins,
        retainLines: true,
        sourceMaps: true,
        comments: false,
        compact: false
      });
      var code = String(r.code);
      var lines = code.split('\n').length;
      result = {
        ok: true,
        code: code,
        module: seen.module,
        usesExports: seen.usesExports,
        usesAddEventListener: seen.usesAddEventListener,
        lineMap: JSON.stringify(lineMap(r.map && r.map.mappings ? String(r.map.mappings) : '', lines))
      };
    } catch (e) {
      var loc = e && e.loc;
      result = {
        ok: false,
        name: String(e && e.name ? e.name : 'Error'),
        message: cleanMessage(e, filename),
        line: loc && typeof loc.line === 'number' ? loc.line : 0,
        column: loc && typeof loc.column === 'number' ? loc.column + 1 : 0
      };
    }
    drainJobs();
    return result;
  };
})(typeof globalThis !== 'undefined' ? globalThis : this);
