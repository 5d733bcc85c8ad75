// Conformance suite: URLSearchParams parsing against WPT's urlencoded-parser-data.json, the way
// WPT's url/urlencoded-parser.any.js runs it (construct from the string, iterate the pairs; also toString round-trip).
// Run by build/conformance_runner inside the engine with the real prelude; trusts the data file. Case id: "<index> <input as JSON>".
(function (global) {
  'use strict';

  var DATA = 'wpt/url/urlencoded-parser-data.json';
  var EXPECTED_ENTRIES = 35;

  function describe(e) {
    try {
      return (e && e.name) + ': ' + (e && e.message);
    } catch (x) {
      return 'an exception that cannot be printed';
    }
  }
  function show(pairs) {
    return JSON.stringify(pairs);
  }

  var cases = JSON.parse(__data(DATA));
  if (cases.length !== EXPECTED_ENTRIES) {
    throw new Error(DATA + ' has ' + cases.length + ' entries, this suite expects ' + EXPECTED_ENTRIES);
  }
  for (var i = 0; i < cases.length; i++) {
    var c = cases[i];
    var id = i + ' ' + JSON.stringify(c.input);
    var got = [];
    try {
      var params = new global.URLSearchParams(c.input);
      // The iterator protocol by hand: for-of is ES2015 syntax.
      var it = params.entries();
      for (var step = it.next(); !step.done; step = it.next()) got.push(step.value);
      var problem = show(got) === show(c.output) ? '' : 'pairs ' + show(got) + ', expected ' + show(c.output);
      // Serializing and parsing again must give the same pairs.
      if (problem === '') {
        var again = new global.URLSearchParams(params.toString());
        var pairs = [];
        again.forEach(function (value, name) { pairs.push([name, value]); });
        if (show(pairs) !== show(c.output)) problem = 'after toString: ' + show(pairs);
      }
      __result(id, problem === '', problem);
    } catch (e) {
      __result(id, false, 'threw ' + describe(e));
    }
  }
}(typeof globalThis === 'object' && globalThis !== null ? globalThis : this));
