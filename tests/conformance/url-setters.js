// Conformance suite: the URL setters against WPT's setters_tests.json, the way WPT's url/url-setters.any.js runs it.
// Run by build/conformance_runner inside the engine with the real prelude; trusts the data file.
// Case id: "<attribute> <index> <href> = <new value>".
(function (global) {
  'use strict';

  var DATA = 'wpt/url/setters_tests.json';
  var EXPECTED_CASES = 278;

  function shorten(s) {
    s = String(s);
    return s.length > 80 ? s.substring(0, 77) + '...' : s;
  }
  function describe(e) {
    try {
      return (e && e.name) + ': ' + shorten(e && e.message);
    } catch (x) {
      return 'an exception that cannot be printed';
    }
  }

  var groups = JSON.parse(__data(DATA));
  var count = 0;
  var attributes = Object.keys(groups);
  for (var a = 0; a < attributes.length; a++) {
    var attribute = attributes[a];
    if (attribute === 'comment') continue;
    var cases = groups[attribute];
    for (var i = 0; i < cases.length; i++) {
      var c = cases[i];
      count++;
      var id = attribute + ' ' + i + ' <' + shorten(c.href) + '> = ' + JSON.stringify(shorten(c.new_value));
      var problems = [];
      try {
        var url = new global.URL(c.href);
        url[attribute] = c.new_value;
        var keys = Object.keys(c.expected);
        for (var k = 0; k < keys.length; k++) {
          var got = url[keys[k]];
          if (got !== c.expected[keys[k]]) {
            problems.push(keys[k] + ' <' + shorten(got) + '> expected <' + shorten(c.expected[keys[k]]) + '>');
          }
        }
      } catch (e) {
        problems.push('threw ' + describe(e));
      }
      __result(id, problems.length === 0, problems.join('; '));
    }
  }
  if (count !== EXPECTED_CASES) throw new Error(DATA + ' has ' + count + ' cases, this suite expects ' + EXPECTED_CASES);
}(typeof globalThis === 'object' && globalThis !== null ? globalThis : this));
