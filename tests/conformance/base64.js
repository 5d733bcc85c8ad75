// Conformance suite: atob() against WPT's forgiving-base64 data (fetch/data-urls/base64.json),
// the way WPT's html/webappapis/atob/base64.any.js runs it, inside the engine with the real prelude.
// Run by build/conformance_runner; trusts the data file. One case per entry, its id atob(<input as JSON>).
(function (global) {
  'use strict';

  var DATA = 'wpt/fetch/data-urls/base64.json';
  var EXPECTED_ENTRIES = 71;

  var cases = JSON.parse(__data(DATA));
  if (cases.length !== EXPECTED_ENTRIES) {
    throw new Error(DATA + ' has ' + cases.length + ' entries, this suite expects ' + EXPECTED_ENTRIES);
  }

  function codes(s) {
    var out = [];
    for (var i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
    return out;
  }
  function describe(e) {
    try {
      return (e && e.name) + ': ' + (e && e.message);
    } catch (x) {
      return 'an exception that cannot be printed';
    }
  }

  for (var i = 0; i < cases.length; i++) {
    var input = cases[i][0];
    var expected = cases[i][1];
    var id = 'atob(' + JSON.stringify(input) + ')';
    var result;
    try {
      result = global.atob(input);
    } catch (e) {
      // WPT's assert_throws_dom: a DOMException with that name and its legacy code.
      if (expected !== null) {
        __result(id, false, 'threw ' + describe(e) + ', expected [' + expected.join(', ') + ']');
      } else {
        var ok = e instanceof DOMException && e.name === 'InvalidCharacterError' && e.code === 5;
        __result(id, ok, ok ? '' : 'threw ' + describe(e) + ', expected DOMException InvalidCharacterError (code 5)');
      }
      continue;
    }
    if (expected === null) {
      __result(id, false, 'returned [' + codes(result).join(', ') + '], expected InvalidCharacterError');
      continue;
    }
    var got = codes(result);
    __result(id, got.join(',') === expected.join(','), 'returned [' + got.join(', ') + '], expected [' + expected.join(', ') + ']');
  }
}(typeof globalThis === 'object' && globalThis !== null ? globalThis : this));
