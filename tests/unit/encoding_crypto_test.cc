// Unit tests of TextEncoder/TextDecoder, atob/btoa, DOMException and crypto: each case runs
// as JavaScript in a real heap with the real prelude (natives included) and reads the answer.
// Runs in the test process; trusts the host (sandbox/host.cc) to load workers as wfpd does.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "sandbox/host.h"

namespace wfp {
namespace {

struct Answers : HostSink {
  bool answered = false;
  bool ok = false;
  std::string body;
  std::string failure;
  void respond(uint64_t, int, const std::string&, HeaderList, std::string b) override {
    answered = ok = true;
    body = std::move(b);
  }
  void fail(uint64_t, ErrorCode, const std::string& message, const std::string&) override {
    answered = true;
    failure = message;
  }
  uint64_t subrequest(uint64_t, const std::string&, const std::string&, const std::string&,
                      const std::string&, const std::string&, HeaderList, std::string) override {
    throw std::runtime_error("no subrequests in these tests");
  }
  void log(uint64_t, const std::string&, const std::string&) override {}
  uint64_t set_timer(uint64_t, int64_t) override { throw std::runtime_error("no timers here"); }
  void clear_timer(uint64_t) override {}
  void done(uint64_t) override {}
};

// Helpers every case may use: hex(buffer or view), bytes(list) → Uint8Array,
// codes(string) → its UTF-16 code units in hex, err(e) → "Name: message".
const char* kHelpers = R"JS(
function hex(b) {
  var u = b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  var s = '';
  for (var i = 0; i < u.length; i++) s += (u[i] < 16 ? '0' : '') + u[i].toString(16);
  return s;
}
function bytes(list) { return new Uint8Array(list); }
function unhex(h) {
  var u = new Uint8Array(h.length / 2);
  for (var i = 0; i < u.length; i++) u[i] = parseInt(h.substr(2 * i, 2), 16);
  return u;
}
function codes(s) {
  var out = [];
  for (var i = 0; i < s.length; i++) out.push(s.charCodeAt(i).toString(16));
  return out.join(' ');
}
function err(e) { return (e && e.name) + ': ' + (e && e.message); }
function utf8(s) { return new TextEncoder().encode(s); }
)JS";

// A fresh heap with a worker whose fetch handler runs `body` (a function
// body; it may return a promise) and answers String(result), or
// "THROW Name: message".
struct JsCase {
  Answers rec;
  WorkerHeap heap{&rec};
  std::string load_error;
  explicit JsCase(const std::string& body, int64_t cpu_ms) {
    heap.set_memory_limit(64 << 20);
    std::string source = std::string(kHelpers) +
                         "module.exports = { fetch: function (request) {\n"
                         "  function show(e) { return 'THROW ' + err(e); }\n"
                         "  try {\n"
                         "    var v = (function () {\n" +
                         body +
                         "\n    })();\n"
                         "    return Promise.resolve(v).then(function (x) { return new Response(String(x)); },\n"
                         "                                   function (e) { return new Response(show(e)); });\n"
                         "  } catch (e) { return new Response(show(e)); }\n"
                         "} };\n";
    ErrorCode code;
    if (!heap.load("ns/test", "commonjs", source, "", "", "[]", cpu_ms, code, load_error) && load_error.empty())
      load_error = "load failed";
  }
  std::string request(int64_t cpu_ms, const HeaderList& headers = {}) {
    if (!load_error.empty()) return "LOAD FAILED " + load_error;
    rec = Answers();
    heap.handle(1, "GET", "http://x.example/", headers, "", "", cpu_ms);
    if (!rec.answered) return "NO ANSWER";
    if (!rec.ok) return "FAILED " + rec.failure;
    return rec.body;
  }
};

std::string run_js(const std::string& body, int64_t cpu_ms = 2000) {
  JsCase c(body, cpu_ms);
  return c.request(cpu_ms);
}

// ---------------------------------------------------------------------------
// TextEncoder

TEST(EncodingTextEncoder, EncodesAsciiAndMultibyteTextAsUtf8) {
  EXPECT_EQ(run_js("return hex(new TextEncoder().encode('aé€'))"), "61c3a9e282ac");
  EXPECT_EQ(run_js("return hex(new TextEncoder().encode()) + '|' + new TextEncoder().encoding"), "|utf-8");
  EXPECT_EQ(run_js("var u = new TextEncoder().encode(12); return (u instanceof Uint8Array) + ' ' + hex(u)"),
            "true 3132");
}

TEST(EncodingTextEncoder, EncodesASurrogatePairAsOneFourByteCharacter) {
  EXPECT_EQ(run_js("return hex(new TextEncoder().encode('\\ud83d\\ude00x'))"), "f09f9880" "78");
  // Written directly in the source (UTF-8 there) it is the same pair.
  EXPECT_EQ(run_js("return hex(new TextEncoder().encode('😀'))"), "f09f9880");
}

TEST(EncodingTextEncoder, EncodesLoneSurrogatesAsReplacementCharacters) {
  EXPECT_EQ(run_js("return hex(new TextEncoder().encode('a\\ud800b\\udc00\\ude00\\ud83d'))"),
            "61" "efbfbd" "62" "efbfbd" "efbfbd" "efbfbd");
}

TEST(EncodingTextEncoder, EncodeIntoStopsBeforeACharacterThatDoesNotFit) {
  EXPECT_EQ(run_js("var d = new Uint8Array(5); var r = new TextEncoder().encodeInto('a😀b', d);"
                   "return r.read + ' ' + r.written + ' ' + hex(d)"),
            "3 5 61f09f9880");
  EXPECT_EQ(run_js("var d = new Uint8Array(4); var r = new TextEncoder().encodeInto('a😀b', d);"
                   "return r.read + ' ' + r.written + ' ' + hex(d)"),
            "1 1 61000000");
  // Into a view: only the view's bytes are written.
  EXPECT_EQ(run_js("var b = new Uint8Array(6); var r = new TextEncoder().encodeInto('éé', b.subarray(1, 4));"
                   "return r.read + ' ' + r.written + ' ' + hex(b)"),
            "1 2 00c3a9000000");
  EXPECT_EQ(run_js("try { new TextEncoder().encodeInto('a', new Uint16Array(2)); } catch (e) { return err(e); }"),
            "TypeError: Failed to execute 'encodeInto' on 'TextEncoder': parameter 2 is not of type 'Uint8Array'.");
}

// Header values are byte strings (Fetch): the host gives each byte its
// own code point, as browsers and Workers do, so UTF-8 bytes in a header
// read as Latin-1 text and encode back to two bytes each.
TEST(EncodingTextEncoder, EncodesHeaderByteStringsAsLatin1Text) {
  JsCase c("var v = request.headers.get('x-text'); return hex(utf8(v)) + ' ' + btoa(v.slice(0, 1) === 'a' ? 'ok' : 'no')",
           2000);
  EXPECT_EQ(c.request(2000, {{"x-text", "a\xc3\xa9\xf0\x9f\x98\x80\xff!"}}),
            "61c383c2a9c3b0c29fc298c280c3bf21 b2s=");
}

// ---------------------------------------------------------------------------
// TextDecoder

TEST(EncodingTextDecoder, DecodesUtf8WithNonBmpCharactersAsSurrogatePairs) {
  EXPECT_EQ(run_js("var s = new TextDecoder().decode(bytes([0x61, 0xf0, 0x9f, 0x98, 0x80, 0xc3, 0xa9]));"
                   "return s.length + ' ' + codes(s)"),
            "4 61 d83d de00 e9");
  EXPECT_EQ(run_js("var s = '😀 héllo \\ud83d\\ude00 €'; return new TextDecoder().decode(utf8(s)) === s"), "true");
}

TEST(EncodingTextDecoder, ReplacesEachMaximalSubpartOfAnInvalidSequence) {
  // The cases of the WHATWG Encoding standard and Unicode's "maximal subpart" table.
  const char* cases[][2] = {
      {"[0xc3]", "fffd"},
      {"[0xe2, 0x82]", "fffd"},
      {"[0xe2, 0x82, 0x41]", "fffd 41"},
      {"[0xf0, 0x80, 0x80]", "fffd fffd fffd"},
      {"[0xed, 0xa0, 0x80]", "fffd fffd fffd"},
      {"[0xf4, 0x90, 0x80, 0x80]", "fffd fffd fffd fffd"},
      {"[0xc0, 0xaf]", "fffd fffd"},
      {"[0xff, 0x41, 0x80]", "fffd 41 fffd"},
      {"[0x61, 0xf1, 0x80, 0x80, 0xe1, 0x80, 0xc2, 0x62, 0x80, 0x63, 0x80, 0xbf, 0x64]",
       "61 fffd fffd fffd 62 fffd 63 fffd fffd 64"},
  };
  for (auto& c : cases)
    EXPECT_EQ(run_js(std::string("return codes(new TextDecoder().decode(bytes(") + c[0] + ")))"), c[1]) << c[0];
}

TEST(EncodingTextDecoder, FatalDecoderThrowsTypeErrorOnInvalidInput) {
  EXPECT_EQ(run_js("var d = new TextDecoder('utf-8', {fatal: true});"
                   "try { d.decode(bytes([0x61, 0xff])); return 'no throw'; } catch (e) { return d.fatal + ' ' + err(e); }"),
            "true TypeError: The encoded data was not valid for encoding utf-8");
  // Unfinished at the end of a non-streaming call is an error too.
  EXPECT_EQ(run_js("try { new TextDecoder('utf8', {fatal: true}).decode(bytes([0xe2, 0x82])); return 'no throw'; }"
                   "catch (e) { return e instanceof TypeError; }"),
            "true");
  EXPECT_EQ(run_js("return new TextDecoder('utf-8', {fatal: true}).decode(bytes([0xe2, 0x82, 0xac]))"), "€");
}

TEST(EncodingTextDecoder, StripsOneLeadingBomUnlessIgnoreBomIsSet) {
  EXPECT_EQ(run_js("return codes(new TextDecoder().decode(bytes([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf, 0x41])))"),
            "feff 41");
  EXPECT_EQ(run_js("var d = new TextDecoder('utf-8', {ignoreBOM: true});"
                   "return d.ignoreBOM + ' ' + codes(d.decode(bytes([0xef, 0xbb, 0xbf, 0x41])))"),
            "true feff 41");
  // A BOM in a later streaming chunk is content.
  EXPECT_EQ(run_js("var d = new TextDecoder(); var a = d.decode(bytes([0xef, 0xbb]), {stream: true});"
                   "var b = d.decode(bytes([0xbf, 0xef, 0xbb, 0xbf]), {stream: true}); var c = d.decode();"
                   "return codes(a + b + c)"),
            "feff");
  // Each non-streaming call starts afresh, BOM included.
  EXPECT_EQ(run_js("var d = new TextDecoder(); d.decode(bytes([0x41]));"
                   "return codes(d.decode(bytes([0xef, 0xbb, 0xbf, 0x42])))"),
            "42");
}

TEST(EncodingTextDecoder, StreamingKeepsASequenceSplitAcrossChunks) {
  EXPECT_EQ(run_js("var d = new TextDecoder(); var out = [];"
                   "out.push(d.decode(bytes([0x61, 0xf0, 0x9f]), {stream: true}));"
                   "out.push(d.decode(bytes([0x98]), {stream: true}));"
                   "out.push(d.decode(bytes([0x80, 0x62]), {stream: true}));"
                   "out.push(d.decode());"
                   "return out.map(codes).join('|')"),
            "61||d83d de00 62|");
  // An unfinished sequence left at the final call is one U+FFFD.
  EXPECT_EQ(run_js("var d = new TextDecoder(); var a = d.decode(bytes([0xe2, 0x82]), {stream: true});"
                   "return codes(a + d.decode())"),
            "fffd");
  // An invalid continuation is not held back, even when streaming.
  EXPECT_EQ(run_js("return codes(new TextDecoder().decode(bytes([0xe0, 0x80]), {stream: true}))"),
            "fffd fffd");
}

// Random bytes (biased towards UTF-8 lead and continuation bytes, UTF-16
// surrogate halves) cut into random chunks decode exactly as in one call,
// to well-formed UTF-16 that survives re-encoding; a fatal decoder agrees.
TEST(EncodingTextDecoder, StreamingInRandomChunksMatchesOneCall) {
  for (const char* label : {"utf-8", "utf-16le", "utf-16be"}) {
    std::string js = std::string("var label = '") + label + "';" + R"JS(
      var pool = [0x41, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x00, 0xd8, 0xdc, 0xfe];
      var r = new Uint8Array(4096);
      for (var round = 0; round < 200; round++) {
        crypto.getRandomValues(r);
        var n = r[0] % 40, input = new Uint8Array(n);
        for (var i = 0; i < n; i++) input[i] = r[i + 1] & 1 ? pool[r[i + 1] % pool.length] : r[i + 1];
        var whole = new TextDecoder(label).decode(input);
        var d = new TextDecoder(label), parts = '', at = 0, k = 100;
        while (at < n) { var step = 1 + r[k++] % 4; parts += d.decode(input.subarray(at, at + step), {stream: true}); at += step; }
        parts += d.decode();
        if (parts !== whole) return 'chunked differs for [' + Array.prototype.join.call(input, ',') + ']: ' + codes(parts) + ' vs ' + codes(whole);
        for (var j = 0; j < whole.length; j++) {
          var c = whole.charCodeAt(j);
          if (c >= 0xd800 && c <= 0xdbff) { var t = whole.charCodeAt(j + 1); if (!(t >= 0xdc00 && t <= 0xdfff)) return 'lone lead'; j++; }
          else if (c >= 0xdc00 && c <= 0xdfff) return 'lone trail';
        }
        if (new TextDecoder().decode(utf8(whole)) !== whole) return 'round trip differs';
        // Fatal: the same text, or an error; never an error for clean input.
        var strict;
        try { strict = new TextDecoder(label, {fatal: true}).decode(input); } catch (e) { strict = null; }
        if (strict === null ? whole.indexOf('\ufffd') < 0 : strict !== whole) return 'fatal disagrees';
      }
      return 'ok';
    )JS";
    EXPECT_EQ(run_js(js, 5000), "ok") << label;
  }
}

TEST(EncodingTextDecoder, AcceptsEveryUtf8LabelTrimmedAndCaseFolded) {
  EXPECT_EQ(run_js("var l = ['utf-8', 'UTF8', ' \\t\\nUnicode-1-1-UTF-8\\f\\r ', 'unicode11utf8', 'unicode20utf8',"
                   "'x-unicode20utf8', undefined];"
                   "return l.map(function (x) { return new TextDecoder(x).encoding; }).join(',')"),
            "utf-8,utf-8,utf-8,utf-8,utf-8,utf-8,utf-8");
}

TEST(EncodingTextDecoder, RefusesUnsupportedLabelsWithARangeErrorNamingThem) {
  EXPECT_EQ(run_js("try { new TextDecoder('latin1'); } catch (e) { return err(e); }"),
            "RangeError: Failed to construct 'TextDecoder': the encoding label provided ('latin1') is not "
            "supported.");
  EXPECT_EQ(run_js("try { new TextDecoder('utf-\\u212a'); } catch (e) { return e.name; }"), "RangeError");
  EXPECT_EQ(run_js("try { new TextDecoder('\\u00a0utf-8'); } catch (e) { return e.name; }"), "RangeError");
}

TEST(EncodingTextDecoder, DecodesUtf16InBothByteOrders) {
  EXPECT_EQ(run_js("var d = new TextDecoder('utf-16le');"
                   "return d.encoding + ' ' + codes(d.decode(bytes([0xff, 0xfe, 0x41, 0x00, 0x3d, 0xd8, 0x00, 0xde])))"),
            "utf-16le 41 d83d de00");
  EXPECT_EQ(run_js("var d = new TextDecoder('utf-16be');"
                   "return d.encoding + ' ' + codes(d.decode(bytes([0xfe, 0xff, 0x00, 0x41, 0xd8, 0x3d, 0xde, 0x00])))"),
            "utf-16be 41 d83d de00");
  EXPECT_EQ(run_js("return new TextDecoder('utf-16').encoding + ' ' + new TextDecoder('UCS-2').encoding"),
            "utf-16le utf-16le");
  // Lone surrogates and an odd trailing byte are replaced.
  EXPECT_EQ(run_js("return codes(new TextDecoder('utf-16le').decode(bytes([0x00, 0xdc, 0x00, 0xd8, 0x41, 0x00, 0x42])))"),
            "fffd fffd 41 fffd");
  // Streaming: a pair split across three chunks.
  EXPECT_EQ(run_js("var d = new TextDecoder('utf-16le');"
                   "var s = d.decode(bytes([0x3d]), {stream: true}) + d.decode(bytes([0xd8, 0x00]), {stream: true}) +"
                   "d.decode(bytes([0xde]));"
                   "return codes(s)"),
            "d83d de00");
}

TEST(EncodingTextDecoder, DecodesArrayBuffersTypedArraysAndDataViews) {
  EXPECT_EQ(run_js("var u = utf8('xhéllox'); var d = new TextDecoder();"
                   "return [d.decode(u.buffer), d.decode(u.subarray(1, 7)), d.decode(new DataView(u.buffer, 1, 6)),"
                   "d.decode(new Uint16Array(utf8('abcd').buffer)), d.decode(), d.decode(new ArrayBuffer(0))].join('|')"),
            "xhéllox|héllo|héllo|abcd||");
  EXPECT_EQ(run_js("try { new TextDecoder().decode('text'); } catch (e) { return e.name; }"), "TypeError");
  EXPECT_EQ(run_js("try { new TextDecoder().decode(null); } catch (e) { return e.name; }"), "TypeError");
}

TEST(EncodingTextDecoder, ExposesItsOptionsAsReadOnlyProperties) {
  EXPECT_EQ(run_js("var d = new TextDecoder(' UTF-8 ', {fatal: 1, ignoreBOM: 0});"
                   "d.fatal = false; return [d.encoding, d.fatal, d.ignoreBOM,"
                   "Object.prototype.toString.call(d)].join(' ')"),
            "utf-8 true false [object TextDecoder]");
}

TEST(EncodingTextDecoder, RuntimeBodiesKeepNonBmpText) {
  EXPECT_EQ(run_js("return new Response('a😀').text().then(function (t) { return codes(t); })"),
            "61 d83d de00");
  EXPECT_EQ(run_js("return new Response('a😀').arrayBuffer().then(hex)"), "61f09f9880");
}

// ---------------------------------------------------------------------------
// atob, btoa, DOMException

TEST(EncodingBase64, AtobDecodesForgivingBase64) {
  EXPECT_EQ(run_js("return codes(atob(' YW\\nJj ZA== '))"), "61 62 63 64");
  EXPECT_EQ(run_js("return codes(atob('//A'))"), "ff f0");
  EXPECT_EQ(run_js("return atob('') === '' && atob('ab') === 'i'"), "true");
}

TEST(EncodingBase64, AtobThrowsInvalidCharacterErrorOnBadInput) {
  EXPECT_EQ(run_js("try { atob('a'); } catch (e) {"
                   "return [e.name, e.code, e instanceof DOMException, e instanceof Error].join(' '); }"),
            "InvalidCharacterError 5 true true");
  for (const char* bad : {"abcde", "ab=c", "ab\\u00a0cd", "\\ud800\\udc00", "a===", "abc=="})
    EXPECT_EQ(run_js(std::string("try { atob('") + bad + "'); return 'no throw'; } catch (e) { return e.name; }"),
              "InvalidCharacterError")
        << bad;
  EXPECT_EQ(run_js("try { atob(); } catch (e) { return e.name; }"), "TypeError");
}

TEST(EncodingBase64, BtoaEncodesLatin1AndRefusesWiderCharacters) {
  EXPECT_EQ(run_js("return [btoa(''), btoa('a'), btoa('ab'), btoa('abc'), btoa('\\u00ff\\u00fe\\u0000')].join(',')"),
            ",YQ==,YWI=,YWJj,//4A");
  EXPECT_EQ(run_js("try { btoa('\\u0100'); } catch (e) { return e.name + ' ' + e.code; }"), "InvalidCharacterError 5");
  EXPECT_EQ(run_js("try { btoa('😀'); } catch (e) { return e.name; }"), "InvalidCharacterError");
  // Every Latin-1 code unit survives the round trip.
  EXPECT_EQ(run_js("var s = ''; for (var i = 0; i < 256; i++) s += String.fromCharCode(i);"
                   "return atob(btoa(s)) === s"),
            "true");
}

TEST(EncodingDomException, HasNameMessageLegacyCodeAndAStack) {
  EXPECT_EQ(run_js("var e = new DOMException('gone', 'NotFoundError');"
                   "return [e.name, e.message, e.code, DOMException.NOT_FOUND_ERR, e instanceof Error,"
                   "String(e), typeof e.stack, Object.keys(e).length,"
                   "Object.prototype.toString.call(e)].join('|')"),
            "NotFoundError|gone|8|8|true|NotFoundError: gone|string|0|[object DOMException]");
  EXPECT_EQ(run_js("var e = new DOMException(); return [e.name, e.message, e.code].join('|')"), "Error||0");
  EXPECT_EQ(run_js("var e = new DOMException('m', 'CustomName'); return e.code"), "0");
  EXPECT_EQ(run_js("try { DOMException('x'); } catch (e) { return e.name; }"), "TypeError");
}

// ---------------------------------------------------------------------------
// crypto.getRandomValues, crypto.randomUUID

TEST(CryptoRandom, GetRandomValuesFillsAndReturnsTheSameArray) {
  EXPECT_EQ(run_js("var a = new Uint32Array(64); var r = crypto.getRandomValues(a);"
                   "var nonzero = 0; for (var i = 0; i < a.length; i++) if (a[i] !== 0) nonzero++;"
                   "return (r === a) + ' ' + (nonzero > 60)"),
            "true true");
  EXPECT_EQ(run_js("var a = new Uint8Array(65536); return crypto.getRandomValues(a).length"), "65536");
  EXPECT_EQ(run_js("var b = new Uint8Array(8); crypto.getRandomValues(b.subarray(2, 4));"
                   "return b[0] + b[1] + b[4] + b[5] + b[6] + b[7]"),
            "0");
}

TEST(CryptoRandom, GetRandomValuesRefusesOversizedAndNonIntegerArrays) {
  EXPECT_EQ(run_js("try { crypto.getRandomValues(new Uint8Array(65537)); } catch (e) {"
                   "return e.name + ' ' + e.code + ' ' + (e instanceof DOMException); }"),
            "QuotaExceededError 22 true");
  EXPECT_EQ(run_js("try { crypto.getRandomValues(new Int32Array(16385)); } catch (e) { return e.name; }"),
            "QuotaExceededError");
  for (const char* bad : {"new Float32Array(4)", "new Float64Array(4)", "new DataView(new ArrayBuffer(4))"})
    EXPECT_EQ(run_js(std::string("try { crypto.getRandomValues(") + bad + "); } catch (e) { return e.name + ' ' + e.code; }"),
              "TypeMismatchError 17")
        << bad;
  EXPECT_EQ(run_js("try { crypto.getRandomValues([1, 2]); } catch (e) { return e.name; }"), "TypeError");
}

TEST(CryptoRandom, RandomUuidIsAVersion4UuidAndDiffersEachTime) {
  EXPECT_EQ(run_js("var re = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;"
                   "var seen = {}; for (var i = 0; i < 200; i++) { var u = crypto.randomUUID();"
                   "if (!re.test(u)) return 'bad ' + u; if (seen[u]) return 'repeat'; seen[u] = 1; }"
                   "return 'ok'"),
            "ok");
}

// ---------------------------------------------------------------------------
// crypto.subtle.digest

TEST(CryptoDigest, MatchesTheKnownShaVectors) {
  EXPECT_EQ(run_js("var abc = utf8('abc');"
                   "return Promise.all([crypto.subtle.digest('SHA-1', abc), crypto.subtle.digest('sha-256', abc),"
                   "crypto.subtle.digest({name: 'SHA-384'}, abc.buffer), crypto.subtle.digest({name: 'SHA-512'}, new DataView(abc.buffer)),"
                   "crypto.subtle.digest('SHA-256', new ArrayBuffer(0))]).then(function (r) { return r.map(hex).join(' '); })"),
            "a9993e364706816aba3e25717850c26c9cd0d89d "
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad "
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7 "
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f "
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(run_js("return crypto.subtle.digest('SHA-256', utf8('xabcx').subarray(1, 4)).then(function (d) {"
                   "return (d instanceof ArrayBuffer) + ' ' + hex(d); })"),
            "true ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CryptoDigest, RejectsUnknownAlgorithmsAndNonBufferData) {
  EXPECT_EQ(run_js("return crypto.subtle.digest('MD5', utf8('a')).then(null, err)"),
            "NotSupportedError: Failed to execute 'digest' on 'SubtleCrypto': algorithm 'MD5' is not supported");
  EXPECT_EQ(run_js("return crypto.subtle.digest('SHA-256', 'text').then(null, function (e) { return e.name; })"),
            "TypeError");
  // A failure is a rejected promise, never a synchronous throw.
  EXPECT_EQ(run_js("var p = crypto.subtle.digest(); return (typeof p.then) + ' ' + (p instanceof Promise)"),
            "function true");
}

// ---------------------------------------------------------------------------
// crypto.subtle HMAC

// RFC 4231 test cases 1, 2, 3, 4, 6 and 7 for HMAC-SHA-256, case 2 for the other hashes.
TEST(CryptoHmac, SignsTheRfc4231Vectors) {
  struct Case {
    const char* hash;
    const char* key;
    const char* data;
    const char* mac;
  } cases[] = {
      {"SHA-256", "repeat('0b', 20)", "utf8('Hi There')",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"SHA-256", "utf8('Jefe')", "utf8('what do ya want for nothing?')",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {"SHA-256", "repeat('aa', 20)", "repeat('dd', 50)",
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {"SHA-256", "unhex('0102030405060708090a0b0c0d0e0f10111213141516171819')", "repeat('cd', 50)",
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {"SHA-256", "repeat('aa', 131)", "utf8('Test Using Larger Than Block-Size Key - Hash Key First')",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {"SHA-256", "repeat('aa', 131)",
       "utf8('This is a test using a larger than block-size key and a larger than block-size data. The key "
       "needs to be hashed before being used by the HMAC algorithm.')",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
      {"SHA-1", "utf8('Jefe')", "utf8('what do ya want for nothing?')", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
      {"SHA-384", "utf8('Jefe')", "utf8('what do ya want for nothing?')",
       "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"},
      {"SHA-512", "utf8('Jefe')", "utf8('what do ya want for nothing?')",
       "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4"
       "a6b4b636e070a38bce737"},
  };
  for (const Case& c : cases) {
    std::string js = std::string("function repeat(h, n) { var s = ''; while (n--) s += h; return unhex(s); }") +
                     "var data = " + c.data + ";" +
                     "return crypto.subtle.importKey('raw', " + c.key + ", {name: 'HMAC', hash: '" + c.hash +
                     "'}, false, ['sign', 'verify']).then(function (key) {"
                     "  return crypto.subtle.sign('HMAC', key, data).then(function (mac) {"
                     "    return crypto.subtle.verify({name: 'HMAC'}, key, mac, data).then(function (ok) {"
                     "      var bad = new Uint8Array(mac.slice ? mac.slice(0) : mac); bad[0] ^= 1;"
                     "      return crypto.subtle.verify('HMAC', key, bad, data).then(function (ok2) {"
                     "        return hex(mac) + ' ' + ok + ' ' + ok2; }); }); }); })";
    EXPECT_EQ(run_js(js), std::string(c.mac) + " true false") << c.hash << " " << c.key;
  }
}

TEST(CryptoHmac, KeysDescribeThemselvesButKeepTheirBytes) {
  EXPECT_EQ(run_js("return crypto.subtle.importKey('raw', utf8('secret'), {name: 'hmac', hash: {name: 'SHA-512'}},"
                   "false, ['verify']).then(function (k) {"
                   "return [k instanceof CryptoKey, k.type, k.extractable, k.algorithm.name, k.algorithm.hash.name,"
                   "k.algorithm.length, k.usages.join('+'), JSON.stringify(k), Object.keys(k).length,"
                   "Object.prototype.toString.call(k)].join(' '); })"),
            "true secret false HMAC SHA-512 48 verify {} 0 [object CryptoKey]");
  // Whatever a tenant finds on the key, calling it gives nothing back.
  EXPECT_EQ(run_js("return crypto.subtle.importKey('raw', utf8('secret'), {name: 'HMAC', hash: 'SHA-256'},"
                   "false, ['sign']).then(function (k) {"
                   "var found = []; Object.getOwnPropertySymbols(k).forEach(function (s) {"
                   "  var v = k[s]; found.push(typeof v + ':' + (typeof v === 'function' ? v() : v)); });"
                   "return found.join(',') + ' ' + Object.isFrozen(k); })"),
            "function:undefined true");
  EXPECT_EQ(run_js("return crypto.subtle.importKey('raw', utf8('secret'), {name: 'HMAC', hash: 'SHA-256'},"
                   "false, ['sign']).then(function (k) { return crypto.subtle.exportKey('raw', k); }).then(null, err)"),
            "InvalidAccessError: Failed to execute 'exportKey' on 'SubtleCrypto': key is not extractable");
  EXPECT_EQ(run_js("try { new CryptoKey(); } catch (e) { return err(e); }"), "TypeError: Illegal constructor");
}

TEST(CryptoHmac, ExportsExtractableKeysAsRawAndJwk) {
  EXPECT_EQ(run_js("var raw = unhex('00ff10');"
                   "return crypto.subtle.importKey('raw', raw, {name: 'HMAC', hash: 'SHA-256'}, true, ['sign', 'verify'])"
                   ".then(function (k) { raw[0] = 7; return Promise.all([crypto.subtle.exportKey('raw', k),"
                   "crypto.subtle.exportKey('jwk', k)]); }).then(function (r) {"
                   "return hex(r[0]) + ' ' + JSON.stringify(r[1]); })"),
            "00ff10 {\"kty\":\"oct\",\"k\":\"AP8Q\",\"alg\":\"HS256\",\"key_ops\":[\"sign\",\"verify\"],\"ext\":true}");
}

TEST(CryptoHmac, RefusesWrongUsagesAlgorithmsAndForgedKeys) {
  EXPECT_EQ(run_js("return crypto.subtle.importKey('raw', utf8('k'), {name: 'HMAC', hash: 'SHA-256'}, false,"
                   "['encrypt']).then(null, function (e) { return e.name; })"),
            "SyntaxError");
  EXPECT_EQ(run_js("return crypto.subtle.importKey('raw', utf8('k'), {name: 'HMAC', hash: 'SHA-256'}, false,"
                   "[]).then(null, function (e) { return e.name; })"),
            "SyntaxError");
  EXPECT_EQ(run_js("return crypto.subtle.importKey('raw', utf8('k'), {name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256'},"
                   "false, ['sign']).then(null, err)"),
            "NotSupportedError: Failed to execute 'importKey' on 'SubtleCrypto': algorithm 'RSASSA-PKCS1-v1_5' is "
            "not supported");
  EXPECT_EQ(run_js("return crypto.subtle.importKey('raw', utf8('k'), {name: 'HMAC', hash: 'MD5'}, false,"
                   "['sign']).then(null, function (e) { return e.name; })"),
            "NotSupportedError");
  EXPECT_EQ(run_js("return crypto.subtle.importKey('raw', new Uint8Array(0), {name: 'HMAC', hash: 'SHA-1'}, false,"
                   "['sign']).then(null, function (e) { return e.name; })"),
            "DataError");
  EXPECT_EQ(run_js("return crypto.subtle.encrypt({name: 'AES-GCM'}, null, utf8('x')).then(null, err)"),
            "NotSupportedError: Failed to execute 'encrypt' on 'SubtleCrypto': algorithm 'AES-GCM' is not supported");
  // A verify-only key cannot sign.
  EXPECT_EQ(run_js("return crypto.subtle.importKey('raw', utf8('k'), {name: 'HMAC', hash: 'SHA-256'}, false,"
                   "['verify']).then(function (k) { return crypto.subtle.sign('HMAC', k, utf8('x')); })"
                   ".then(null, function (e) { return e.name; })"),
            "InvalidAccessError");
  // A forged key, even one carrying a real key's hidden slot copied over, is refused or useless.
  EXPECT_EQ(run_js("var fake = Object.create(CryptoKey.prototype);"
                   "return crypto.subtle.sign('HMAC', fake, utf8('x')).then(null, function (e) { return e.name; })"),
            "TypeError");
  EXPECT_EQ(run_js("var stolen = null; return crypto.subtle.importKey('raw', utf8('k'), {name: 'HMAC', hash: 'SHA-256'},"
                   "false, ['sign']).then(function (k) { var fake = {};"
                   "Object.getOwnPropertySymbols(k).forEach(function (s) { fake[s] = function () { stolen = arguments.length; }; });"
                   "return crypto.subtle.sign('HMAC', fake, utf8('x')); }).then(null, function (e) { return e.name + ' ' + stolen; })"),
            "TypeError 0");
}

TEST(CryptoHmac, GeneratesKeysOfTheHashBlockSize) {
  EXPECT_EQ(run_js("return crypto.subtle.generateKey({name: 'HMAC', hash: 'SHA-256'}, true, ['sign'])"
                   ".then(function (k) { return crypto.subtle.exportKey('raw', k).then(function (raw) {"
                   "return k.algorithm.length + ' ' + raw.byteLength; }); })"),
            "512 64");
}

TEST(CryptoHmac, TimingSafeEqualComparesBuffersOfEqualLength) {
  EXPECT_EQ(run_js("var s = crypto.subtle; return [s.timingSafeEqual(utf8('abc'), utf8('abc')),"
                   "s.timingSafeEqual(utf8('abc'), utf8('abd'))].join(' ')"),
            "true false");
  EXPECT_EQ(run_js("try { crypto.subtle.timingSafeEqual(utf8('a'), utf8('ab')); } catch (e) { return e.name; }"),
            "TypeError");
}

// A dispatcher checking an HS256 JWT (RFC 7519) before routing: split,
// base64url-decode, verify the MAC over "header.payload", then read claims.
const char* kJwtVerifier = R"JS(
function b64url(s) {
  s = s.replace(/-/g, '+').replace(/_/g, '/');
  var bin = atob(s), u = new Uint8Array(bin.length);
  for (var i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i);
  return u;
}
function verifyJwt(token, key) {
  var parts = token.split('.');
  if (parts.length !== 3) return Promise.resolve('malformed');
  var header = JSON.parse(new TextDecoder().decode(b64url(parts[0])));
  if (header.alg !== 'HS256') return Promise.resolve('wrong alg');
  var signed = new TextEncoder().encode(parts[0] + '.' + parts[1]);
  return crypto.subtle.verify('HMAC', key, b64url(parts[2]), signed).then(function (ok) {
    if (!ok) return 'bad signature';
    var claims = JSON.parse(new TextDecoder('utf-8', {fatal: true}).decode(b64url(parts[1])));
    return 'ok ' + claims.sub + ' ' + claims.name + ' ' + claims.exp;
  });
}
)JS";

TEST(CryptoJwt, VerifiesAnHs256TokenAsADispatcherWould) {
  const std::string token =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjdXN0b21lci1hIiwibmFtZSI6Ilpvw6sg8J-YgCIsImV4cCI6NDEwMjQ0NDgwMH0."
      "kIuKGjYEP4xmbsqbNFCZuRbkc1ZN_Z6lgzEVkIM81lE";
  std::string tampered = token;
  tampered[token.find('.') + 5] ^= 1;
  std::string js = std::string(kJwtVerifier) +
                   "return crypto.subtle.importKey('raw', new TextEncoder().encode('wfp-dispatch-secret'),"
                   "{name: 'HMAC', hash: 'SHA-256'}, false, ['verify']).then(function (key) {"
                   "return Promise.all([verifyJwt('" + token + "', key), verifyJwt('" + tampered + "', key)]); })"
                   ".then(function (r) { return r.join(' | '); })";
  EXPECT_EQ(run_js(js), "ok customer-a Zoë 😀 4102444800 | bad signature");
}

// RFC 7515 appendix A.1: an HS256 JWS with its key given as a JWK.
TEST(CryptoJwt, VerifiesTheRfc7515ExampleWithAJwkKey) {
  std::string js = std::string(kJwtVerifier) +
                   "var jwk = {kty: 'oct', k: 'AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow'};"
                   "var token = 'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';"
                   "return crypto.subtle.importKey('jwk', jwk, {name: 'HMAC', hash: 'SHA-256'}, false, ['verify'])"
                   ".then(function (key) { var p = token.split('.');"
                   "return crypto.subtle.verify('HMAC', key, b64url(p[2]), new TextEncoder().encode(p[0] + '.' + p[1])); })";
  EXPECT_EQ(run_js(js), "true");
}

// ---------------------------------------------------------------------------
// Costs, printed for the record (this VM is noisy): nothing is asserted.

// µs per `op`: a request looping n times over it, less one looping over
// nothing; only the requests are timed, not making the heap.
double cost_us(const std::string& setup, const std::string& op, int n) {
  auto time_loop = [&](const std::string& body) {
    JsCase c(setup + "for (var i = 0; i < " + std::to_string(n) + "; i++) { " + body + " } return 'ok'", 30000);
    auto t0 = std::chrono::steady_clock::now();
    std::string r = c.request(30000);
    auto t1 = std::chrono::steady_clock::now();
    EXPECT_EQ(r, "ok");
    return std::chrono::duration<double, std::micro>(t1 - t0).count();
  };
  double empty = time_loop("sink = i;");
  double full = time_loop("sink = " + op + ";");
  return (full - empty) / n;
}

TEST(EncodingCryptoCost, PrintsTheCostOfEncodingAndHashingOneKilobyte) {
  std::string setup =
      "var sink; var text = ''; while (text.length < 1024) text += 'abcdefghijklmnopqrstuvwxyz012345';"
      "var enc = new TextEncoder(); var dec = new TextDecoder(); var kb = enc.encode(text);"
      "var mixed = ''; while (mixed.length < 512) mixed += 'héllo wörld €😀 ';";
  int n = 20000;
  double encode = cost_us(setup, "enc.encode(text)", n);
  double encode_mixed = cost_us(setup, "enc.encode(mixed)", n);
  double decode = cost_us(setup, "dec.decode(kb)", n);
  double digest = cost_us(setup, "crypto.subtle.digest('SHA-256', kb)", n);
  double promise = cost_us(setup, "new Promise(function (resolve) { resolve(kb); })", n);
  double uuid = cost_us(setup, "crypto.randomUUID()", n);
  double b64 = cost_us(setup, "atob(btoa(text))", n);
  printf("[ cost ] TextEncoder.encode 1 KB ASCII: %.2f us; 1 KB mixed non-ASCII: %.2f us; TextDecoder.decode 1 KB: %.2f us\n",
         encode, encode_mixed, decode);
  printf("[ cost ] crypto.subtle.digest SHA-256 1 KB (promise made, not awaited): %.2f us, of which a bare"
         " resolved Promise is %.2f us; randomUUID: %.2f us; atob(btoa(1 KB)): %.2f us\n",
         digest, promise, uuid, b64);
}

}  // namespace
}  // namespace wfp
