// Conformance suite: host ToASCII (IDNA) in the URL parser against WPT's toascii.json, the way WPT's
// url/toascii.window.js runs it: through new URL(), and through the host and hostname setters.
// Run by build/conformance_runner inside the engine with the real prelude; trusts the data file. Case id: "<index> <input> (URL|host|hostname)".
(function (global) {
  'use strict';

  var DATA = 'wpt/url/toascii.json';
  var EXPECTED_ENTRIES = 93;

  function describe(e) {
    try {
      return (e && e.name) + ': ' + (e && e.message);
    } catch (x) {
      return 'an exception that cannot be printed';
    }
  }

  var cases = JSON.parse(__data(DATA));
  if (cases.length !== EXPECTED_ENTRIES) {
    throw new Error(DATA + ' has ' + cases.length + ' entries, this suite expects ' + EXPECTED_ENTRIES);
  }
  for (var i = 0; i < cases.length; i++) {
    var c = cases[i];
    if (typeof c === 'string') continue; // a comment
    var id = i + ' ' + c.input;
    var problem = '';
    var url = null;
    try {
      url = new global.URL('https://' + c.input + '/x');
    } catch (e) {
      if (c.output !== null) problem = 'threw ' + describe(e);
      else if (!(e instanceof TypeError)) problem = 'threw ' + describe(e) + ', expected TypeError';
    }
    if (url !== null) {
      if (c.output === null) {
        problem = 'parsed as <' + url.href + '>, expected failure';
      } else if (url.host !== c.output || url.hostname !== c.output || url.pathname !== '/x' ||
                 url.href !== 'https://' + c.output + '/x') {
        problem = 'host <' + url.host + '> hostname <' + url.hostname + '> href <' + url.href + '>, expected ' + c.output;
      }
    }
    __result(id + ' (URL)', problem === '', problem);

    var setters = ['host', 'hostname'];
    for (var s = 0; s < setters.length; s++) {
      var attribute = setters[s];
      var want = c.output !== null ? c.output : 'x';
      try {
        var target = new global.URL('https://x/x');
        target[attribute] = c.input;
        __result(id + ' (' + attribute + ')', target[attribute] === want,
          attribute + ' <' + target[attribute] + '>, expected <' + want + '>');
      } catch (e) {
        __result(id + ' (' + attribute + ')', false, 'threw ' + describe(e));
      }
    }
  }
}(typeof globalThis === 'object' && globalThis !== null ? globalThis : this));
