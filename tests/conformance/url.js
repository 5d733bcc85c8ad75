// Conformance suite: the URL constructor against WPT's urltestdata.json and urltestdata-javascript-only.json,
// the way WPT's url/url-constructor.any.js, url-origin.any.js and url-statics-canparse.any.js run them.
// Run by build/conformance_runner inside the engine with the real prelude; trusts the data files. Case id: "<index> <input> [@ <base>]".
(function (global) {
  'use strict';

  var FILES = [
    { name: 'wpt/url/urltestdata.json', prefix: '', entries: 1004 },
    { name: 'wpt/url/urltestdata-javascript-only.json', prefix: 'js-only ', entries: 2 }
  ];
  var ATTRIBUTES = ['href', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash'];

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

  function runCase(c, base) {
    var url, problems = [];
    if (c.failure) {
      try {
        url = base === undefined ? new global.URL(c.input) : new global.URL(c.input, base);
      } catch (e) {
        if (!(e instanceof TypeError)) return 'threw ' + describe(e) + ', expected TypeError';
        if (global.URL.canParse(c.input, base) !== false) return 'URL.canParse is true for a failure';
        if (global.URL.parse(c.input, base) !== null) return 'URL.parse is not null for a failure';
        return '';
      }
      return 'parsed as <' + shorten(url.href) + '>, expected failure';
    }
    try {
      url = base === undefined ? new global.URL(c.input) : new global.URL(c.input, base);
    } catch (e) {
      return 'threw ' + describe(e);
    }
    for (var k = 0; k < ATTRIBUTES.length; k++) {
      var a = ATTRIBUTES[k];
      if (url[a] !== c[a]) problems.push(a + ' <' + shorten(url[a]) + '> expected <' + shorten(c[a]) + '>');
    }
    if ('origin' in c && url.origin !== c.origin) {
      problems.push('origin <' + shorten(url.origin) + '> expected <' + shorten(c.origin) + '>');
    }
    if ('searchParams' in c && url.searchParams.toString() !== c.searchParams) {
      problems.push('searchParams <' + shorten(url.searchParams) + '> expected <' + shorten(c.searchParams) + '>');
    }
    if (global.URL.canParse(c.input, base) !== true) problems.push('URL.canParse is not true');
    var parsed = global.URL.parse(c.input, base);
    if (parsed === null || parsed.href !== c.href) problems.push('URL.parse differs');
    return problems.join('; ');
  }

  for (var f = 0; f < FILES.length; f++) {
    var cases = JSON.parse(__data(FILES[f].name));
    if (cases.length !== FILES[f].entries) {
      throw new Error(FILES[f].name + ' has ' + cases.length + ' entries, this suite expects ' + FILES[f].entries);
    }
    for (var i = 0; i < cases.length; i++) {
      var c = cases[i];
      if (typeof c === 'string') continue; // a comment
      var base = c.base !== null && c.base !== undefined ? c.base : undefined;
      var id = FILES[f].prefix + i + ' ' + shorten(c.input) + (base !== undefined ? ' @ ' + shorten(base) : '');
      var problem = runCase(c, base);
      __result(id, problem === '', problem);
    }
  }
}(typeof globalThis === 'object' && globalThis !== null ? globalThis : this));
