// Tests of the Cache API's rules (supervisor/cache_rules.cc): what put()
// refuses and skips and for how long it stores, how match() answers HEAD,
// conditional and ranged requests, cache keys, and HTTP dates. Pure
// functions: no processes, files or clocks beyond the fixed `now` below.
#include "supervisor/cache_rules.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <string>

namespace wfp::cache {
namespace {

// Sun, 06 Nov 1994 08:49:37 GMT, RFC 9110's example date.
constexpr int64_t kExampleDate = 784111777;
constexpr int64_t kNow = 1700000000;

PutDecision put(int status, const HeaderList& headers, const std::string& method = "GET") {
  return decide_put(method, status, headers, kNow);
}

void expect_reject(const PutDecision& d, const std::string& message) {
  EXPECT_EQ(d.kind, PutDecision::reject);
  EXPECT_EQ(d.error, message);
}

void expect_skip(const PutDecision& d) {
  EXPECT_EQ(d.kind, PutDecision::skip);
  EXPECT_EQ(d.error, "");
}

void expect_store(const PutDecision& d, int64_t ttl) {
  EXPECT_EQ(d.kind, PutDecision::store);
  EXPECT_EQ(d.ttl_seconds, ttl);
}

const char* const kNonGet = "Cannot cache response to non-GET request.";
const char* const kPartial = "Cannot cache response to a range request (206 Partial Content).";
const char* const kVaryStar = "Cannot cache response with 'Vary: *' header.";

// --- put() ----------------------------------------------------------------

TEST(CacheRulesPut, RejectsEveryMethodButGetWithCloudflaresMessage) {
  for (const char* m : {"HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "get"})
    expect_reject(put(200, {}, m), kNonGet);
  expect_store(put(200, {}, "GET"), 7200);
}

TEST(CacheRulesPut, RejectsPartialContent) {
  expect_reject(put(206, {}), kPartial);
  expect_reject(put(206, {{"Cache-Control", "max-age=60"}}), kPartial);
}

TEST(CacheRulesPut, RejectsVaryStarAnywhereInAnyVaryLine) {
  expect_reject(put(200, {{"Vary", "*"}}), kVaryStar);
  expect_reject(put(200, {{"vary", "Accept-Encoding, *"}}), kVaryStar);
  expect_reject(put(200, {{"Vary", "Accept"}, {"VARY", " \t*\t "}}), kVaryStar);
  expect_reject(put(200, {{"Vary", "*,Accept"}}), kVaryStar);
}

TEST(CacheRulesPut, StoresVaryWithoutAStarMember) {
  expect_store(put(200, {{"Vary", "Accept-Encoding, X-*"}}), 7200);
  expect_store(put(200, {{"Vary", "**"}}), 7200);
}

TEST(CacheRulesPut, RejectsBeforeItSkips) {
  // A non-GET 304 with no-store is still a rejection, in the header's order.
  expect_reject(put(304, {{"Cache-Control", "no-store"}}, "POST"), kNonGet);
  expect_reject(put(206, {{"Vary", "*"}}, "HEAD"), kNonGet);
  expect_reject(put(206, {{"Vary", "*"}}), kPartial);
  expect_reject(put(304, {{"Vary", "*"}}), kVaryStar);
  expect_reject(put(200, {{"Vary", "*"}, {"Set-Cookie", "a=b"}, {"Cache-Control", "private"}}),
                kVaryStar);
}

TEST(CacheRulesPut, SkipsNotModifiedEvenWithExplicitFreshness) {
  expect_skip(put(304, {}));
  expect_skip(put(304, {{"Cache-Control", "max-age=600"}}));
}

TEST(CacheRulesPut, SkipsSetCookieWithoutPrivateSetCookie) {
  expect_skip(put(200, {{"Set-Cookie", "a=b"}}));
  expect_skip(put(200, {{"set-cookie", "a=b"}, {"Cache-Control", "max-age=60"}}));
  expect_skip(put(200, {{"Set-Cookie", "a=b"}, {"Cache-Control", "private=\"Authorization\""}}));
  expect_skip(put(200, {{"Set-Cookie", "a=b"}, {"Cache-Control", "public"}}));
}

TEST(CacheRulesPut, StoresSetCookieWhenPrivateNamesSetCookie) {
  expect_store(put(200, {{"Set-Cookie", "a=b"}, {"Cache-Control", "private=\"Set-Cookie\""}}),
               7200);
  expect_store(put(200, {{"Set-Cookie", "a=b"}, {"Cache-Control", "private=Set-Cookie"}}), 7200);
  expect_store(put(200, {{"Set-Cookie", "a=b"}, {"cache-control", "PRIVATE=set-cookie"}}), 7200);
  expect_store(put(200, {{"Set-Cookie", "a=b"},
                         {"Cache-Control", "max-age=30, private=\"Authorization, Set-Cookie\""}}),
               30);
  expect_store(put(200, {{"Set-Cookie", "a=b"}, {"Cache-Control", "private = \"Set-Cookie\""}}),
               7200);
}

TEST(CacheRulesPut, SkipsNoStoreAndBarePrivate) {
  expect_skip(put(200, {{"Cache-Control", "no-store"}}));
  expect_skip(put(200, {{"Cache-Control", "No-Store"}}));
  expect_skip(put(200, {{"Cache-Control", "public, max-age=60, no-store"}}));
  expect_skip(put(200, {{"Cache-Control", "max-age=60"}, {"Cache-Control", "no-store"}}));
  expect_skip(put(200, {{"Cache-Control", "private"}}));
  expect_skip(put(200, {{"Cache-Control", "s-maxage=60,Private"}}));
  // Bare private wins over a field-listing private beside it.
  expect_skip(put(200, {{"Set-Cookie", "a=b"}, {"Cache-Control", "private=Set-Cookie, private"}}));
}

TEST(CacheRulesPut, TakesAnUnreadablePrivateFieldListAsBarePrivate) {
  expect_skip(put(200, {{"Cache-Control", "private=\"\""}}));
  expect_skip(put(200, {{"Cache-Control", "private="}}));
  expect_skip(put(200, {{"Cache-Control", "private=\"Set-Cookie"}}));
  expect_skip(put(200, {{"Set-Cookie", "a=b"}, {"Cache-Control", "private=\"Set-Cookie\"junk"}}));
}

TEST(CacheRulesPut, StoresPrivateWithAFieldListAndNoSetCookie) {
  expect_store(put(200, {{"Cache-Control", "private=\"Authorization\", max-age=90"}}), 90);
}

TEST(CacheRulesPut, PrefersSMaxageOverMaxAgeOverExpiresOverDefaults) {
  const std::string expires = "Sun, 06 Nov 1994 09:49:37 GMT";  // one hour after the Date
  const std::string date = "Sun, 06 Nov 1994 08:49:37 GMT";
  expect_store(
      put(200,
          {{"Cache-Control", "max-age=50, s-maxage=40"}, {"Expires", expires}, {"Date", date}}),
      40);
  expect_store(put(200, {{"Cache-Control", "max-age=50"}, {"Expires", expires}, {"Date", date}}),
               50);
  expect_store(put(200, {{"Expires", expires}, {"Date", date}}), 3600);
  expect_store(put(404, {{"Expires", expires}, {"Date", date}}), 3600);
  expect_store(put(200, {}), 7200);
}

TEST(CacheRulesPut, CombinesEveryCacheControlLine) {
  expect_store(put(200, {{"Cache-Control", "max-age=50"}, {"cache-control", "s-maxage=40"}}), 40);
  expect_store(put(200, {{"Cache-Control", "public"}, {"CACHE-CONTROL", "MAX-AGE=70"}}), 70);
}

TEST(CacheRulesPut, IgnoresMalformedAges) {
  expect_store(put(200, {{"Cache-Control", "s-maxage=-1, max-age=60"}}), 60);
  expect_store(put(200, {{"Cache-Control", "s-maxage=1h, max-age=60"}}), 60);
  expect_store(put(200, {{"Cache-Control", "s-maxage, max-age=60"}}), 60);
  expect_store(put(200, {{"Cache-Control", "s-maxage=, max-age=60"}}), 60);
  expect_store(put(200, {{"Cache-Control", "max-age=+5"}}), 7200);
  expect_store(put(200, {{"Cache-Control", "max-age=5.5"}}), 7200);
  expect_store(put(200, {{"Cache-Control", "max-age=5 6"}}), 7200);
  expect_store(put(200, {{"Cache-Control", "max-age=-60"},
                         {"Expires", "Sun, 06 Nov 1994 08:50:37 GMT"},
                         {"Date", "Sun, 06 Nov 1994 08:49:37 GMT"}}),
               60);
}

TEST(CacheRulesPut, AcceptsAQuotedAgeAsRecipientsShould) {
  expect_store(put(200, {{"Cache-Control", "max-age=\"75\""}}), 75);
}

TEST(CacheRulesPut, UsesTheFirstWellFormedAge) {
  expect_store(put(200, {{"Cache-Control", "max-age=10, max-age=20"}}), 10);
  expect_store(put(200, {{"Cache-Control", "max-age=x, max-age=20"}}), 20);
}

TEST(CacheRulesPut, ClampsAnEnormousAgeToTwoToTheThirtyFirst) {
  expect_store(put(200, {{"Cache-Control", "max-age=99999999999999999999999999"}}), 2147483648);
  expect_store(put(200, {{"Cache-Control", "s-maxage=2147483649"}}), 2147483648);
  expect_store(put(200, {{"Cache-Control", "max-age=2147483647"}}), 2147483647);
}

TEST(CacheRulesPut, SkipsAZeroFreshness) {
  expect_skip(put(200, {{"Cache-Control", "max-age=0"}}));
  expect_skip(put(200, {{"Cache-Control", "s-maxage=0, max-age=60"}}));
  expect_skip(put(200, {{"Expires", "Sun, 06 Nov 1994 08:49:37 GMT"},
                        {"Date", "Sun, 06 Nov 1994 08:49:37 GMT"}}));
}

TEST(CacheRulesPut, MeasuresExpiresFromTheDateHeader) {
  expect_store(put(200, {{"Date", "Sun, 06 Nov 1994 08:49:37 GMT"},
                         {"Expires", "Sun, 06 Nov 1994 08:51:37 GMT"}}),
               120);
  // The obsolete forms count as valid dates on either side.
  expect_store(put(200, {{"Date", "Sun Nov  6 08:49:37 1994"},
                         {"Expires", "Sunday, 06-Nov-94 08:50:37 GMT"}}),
               60);
}

TEST(CacheRulesPut, MeasuresExpiresFromNowWithoutAValidDate) {
  const int64_t now = kExampleDate - 300;
  expect_store(decide_put("GET", 200, {{"Expires", "Sun, 06 Nov 1994 08:49:37 GMT"}}, now), 300);
  expect_store(
      decide_put("GET", 200, {{"Expires", "Sun, 06 Nov 1994 08:49:37 GMT"}, {"Date", "yesterday"}},
                 now),
      300);
}

TEST(CacheRulesPut, SkipsAnExpiresInThePast) {
  expect_skip(put(200, {{"Expires", "Sun, 06 Nov 1994 08:49:37 GMT"}}));  // kNow is 2023
  expect_skip(put(200, {{"Date", "Sun, 06 Nov 1994 08:49:37 GMT"},
                        {"Expires", "Sun, 06 Nov 1994 08:48:37 GMT"}}));
}

TEST(CacheRulesPut, TakesAnInvalidExpiresAsAlreadyExpired) {
  for (const char* bad : {"0", "-1", "", "never", "Sun, 06 Nov 1994 08:49:37 PST"}) {
    SCOPED_TRACE(bad);
    expect_skip(put(200, {{"Expires", bad}}));
  }
  // ...instead of falling back to the status default.
  expect_skip(put(301, {{"Expires", "0"}}));
}

TEST(CacheRulesPut, UsesTheFirstExpiresLine) {
  expect_store(put(200, {{"Date", "Sun, 06 Nov 1994 08:49:37 GMT"},
                         {"Expires", "Sun, 06 Nov 1994 08:50:37 GMT"},
                         {"Expires", "Sun, 06 Nov 1994 09:49:37 GMT"}}),
               60);
}

TEST(CacheRulesPut, GivesEachStatusItsDefaultFreshness) {
  expect_store(put(200, {}), 7200);
  expect_store(put(301, {}), 7200);
  expect_store(put(302, {}), 1200);
  expect_store(put(303, {}), 1200);
  expect_store(put(404, {}), 180);
  expect_store(put(410, {}), 180);
}

TEST(CacheRulesPut, SkipsOtherStatusesWithoutExplicitFreshness) {
  for (int status : {100, 201, 202, 203, 204, 300, 307, 308, 400, 401, 403, 405, 500, 502, 503}) {
    SCOPED_TRACE(status);
    expect_skip(put(status, {}));
  }
}

TEST(CacheRulesPut, StoresAnyStatusWithExplicitFreshness) {
  expect_store(put(500, {{"Cache-Control", "max-age=30"}}), 30);
  expect_store(put(203, {{"Cache-Control", "s-maxage=15"}}), 15);
}

// --- match() --------------------------------------------------------------

Entry sample_entry() {
  Entry e;
  e.status = 200;
  e.headers = {{"Content-Type", "text/plain"},
               {"Content-Length", "10"},
               {"Content-Encoding", "identity"},
               {"ETag", "\"v1\""},
               {"Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT"},
               {"Cache-Control", "max-age=60"},
               {"Expires", "Sun, 06 Nov 1994 09:49:37 GMT"},
               {"Vary", "Accept-Encoding"},
               {"Date", "Sun, 06 Nov 1994 08:49:37 GMT"},
               {"Content-Location", "/doc"},
               {"X-Custom", "kept"}};
  e.body = "0123456789";
  return e;
}

const HeaderList kValidators = {{"ETag", "\"v1\""},
                                {"Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT"},
                                {"Cache-Control", "max-age=60"},
                                {"Expires", "Sun, 06 Nov 1994 09:49:37 GMT"},
                                {"Vary", "Accept-Encoding"},
                                {"Date", "Sun, 06 Nov 1994 08:49:37 GMT"},
                                {"Content-Location", "/doc"}};

std::optional<std::string> header(const HeaderList& h, const std::string& name) {
  std::optional<std::string> found;
  for (const auto& [n, v] : h)
    if (n == name) {
      EXPECT_FALSE(found) << "two " << name << " headers";
      found = v;
    }
  return found;
}

void expect_whole(const MatchAnswer& a, const Entry& e) {
  EXPECT_EQ(a.status, e.status);
  EXPECT_EQ(a.headers, e.headers);
  EXPECT_EQ(a.body, e.body);
}

void expect_not_modified(const MatchAnswer& a) {
  EXPECT_EQ(a.status, 304);
  EXPECT_EQ(a.headers, kValidators);
  EXPECT_EQ(a.body, "");
}

MatchAnswer get(const HeaderList& request, const Entry& e = sample_entry()) {
  return answer_match("GET", request, e);
}

TEST(CacheRulesMatch, AnswersAPlainGetWithTheEntryAsStored) {
  expect_whole(get({}), sample_entry());
  expect_whole(get({{"Accept", "*/*"}}), sample_entry());
}

TEST(CacheRulesMatch, AnswersHeadWithTheHeadersAndNoBody) {
  MatchAnswer a = answer_match("HEAD", {}, sample_entry());
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.headers, sample_entry().headers);
  EXPECT_EQ(a.body, "");
  Entry gone = sample_entry();
  gone.status = 404;
  EXPECT_EQ(answer_match("HEAD", {}, gone).status, 404);
}

TEST(CacheRulesMatch, IgnoresRangeOnHead) {
  MatchAnswer a = answer_match("HEAD", {{"Range", "bytes=0-1"}}, sample_entry());
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.headers, sample_entry().headers);
  EXPECT_EQ(a.body, "");
}

TEST(CacheRulesMatch, AnswersOtherMethodsWithTheEntryAsStored) {
  // Only through match(..., {ignoreMethod: true}).
  expect_whole(
      answer_match("POST", {{"If-None-Match", "*"}, {"Range", "bytes=0-1"}}, sample_entry()),
      sample_entry());
}

TEST(CacheRulesMatch, AnswersAMatchingStrongIfNoneMatchWith304) {
  expect_not_modified(get({{"If-None-Match", "\"v1\""}}));
  expect_not_modified(get({{"if-none-match", "  \"v1\"  "}}));
}

TEST(CacheRulesMatch, ComparesIfNoneMatchWeakly) {
  expect_not_modified(get({{"If-None-Match", "W/\"v1\""}}));
  Entry weak = sample_entry();
  weak.headers[3].second = "W/\"v1\"";
  MatchAnswer a = get({{"If-None-Match", "\"v1\""}}, weak);
  EXPECT_EQ(a.status, 304);
  EXPECT_EQ(header(a.headers, "ETag"), "W/\"v1\"");
  EXPECT_EQ(get({{"If-None-Match", "W/\"v1\""}}, weak).status, 304);
}

TEST(CacheRulesMatch, MatchesAnyTagOfAnIfNoneMatchList) {
  expect_not_modified(get({{"If-None-Match", "\"a\", W/\"b\", \"v1\""}}));
  expect_not_modified(get({{"If-None-Match", "\"a\""}, {"If-None-Match", "\"v1\""}}));
  // A comma inside a tag is part of it, not a separator.
  Entry comma = sample_entry();
  comma.headers[3].second = "\"x,y\"";
  EXPECT_EQ(get({{"If-None-Match", "\"q\", \"x,y\""}}, comma).status, 304);
  EXPECT_EQ(get({{"If-None-Match", "\"x\", \"y\""}}, comma).status, 200);
}

TEST(CacheRulesMatch, AnswersIfNoneMatchStarWith304EvenWithoutAnETag) {
  expect_not_modified(get({{"If-None-Match", "*"}}));
  Entry untagged = sample_entry();
  untagged.headers.erase(untagged.headers.begin() + 3);
  MatchAnswer a = get({{"If-None-Match", "*"}}, untagged);
  EXPECT_EQ(a.status, 304);
  EXPECT_FALSE(header(a.headers, "ETag"));
  // A quoted "*" is an ordinary tag.
  EXPECT_EQ(get({{"If-None-Match", "\"*\""}}).status, 200);
}

TEST(CacheRulesMatch, ServesTheEntryWhenIfNoneMatchDoesNotMatch) {
  expect_whole(get({{"If-None-Match", "\"v2\""}}), sample_entry());
  expect_whole(get({{"If-None-Match", "\"V1\""}}), sample_entry());  // tags are case-sensitive
  Entry untagged = sample_entry();
  untagged.headers.erase(untagged.headers.begin() + 3);
  expect_whole(get({{"If-None-Match", "\"v1\""}}, untagged), untagged);
}

TEST(CacheRulesMatch, IgnoresIfModifiedSinceWhenIfNoneMatchIsPresent) {
  expect_whole(
      get({{"If-None-Match", "\"v2\""}, {"If-Modified-Since", "Sun, 06 Nov 1994 09:00:00 GMT"}}),
      sample_entry());
}

TEST(CacheRulesMatch, AnswersIfModifiedSinceAtOrAfterLastModifiedWith304) {
  expect_not_modified(get({{"If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"}}));
  expect_not_modified(get({{"If-Modified-Since", "Sun, 06 Nov 1994 08:49:38 GMT"}}));
  expect_not_modified(get({{"If-Modified-Since", "Sunday, 06-Nov-94 09:00:00 GMT"}}));
}

TEST(CacheRulesMatch, ServesTheEntryWhenModifiedSinceIfModifiedSince) {
  expect_whole(get({{"If-Modified-Since", "Sun, 06 Nov 1994 08:49:36 GMT"}}), sample_entry());
}

TEST(CacheRulesMatch, IgnoresAnUnusableIfModifiedSince) {
  expect_whole(get({{"If-Modified-Since", "tomorrow"}}), sample_entry());
  expect_whole(get({{"If-Modified-Since", "Sun, 06 Nov 1994 09:00:00 GMT"},
                    {"If-Modified-Since", "Sun, 06 Nov 1994 09:00:00 GMT"}}),
               sample_entry());
  Entry undated = sample_entry();
  undated.headers.erase(undated.headers.begin() + 4);
  expect_whole(get({{"If-Modified-Since", "Sun, 06 Nov 1994 09:00:00 GMT"}}, undated), undated);
}

TEST(CacheRulesMatch, AnswersAConditionalHeadWith304) {
  MatchAnswer a = answer_match("HEAD", {{"If-None-Match", "\"v1\""}}, sample_entry());
  expect_not_modified(a);
}

TEST(CacheRulesMatch, IgnoresPreconditionsOnANon2xxEntry) {
  Entry missing = sample_entry();
  missing.status = 404;
  expect_whole(get({{"If-None-Match", "\"v1\""}}, missing), missing);
  expect_whole(get({{"If-Modified-Since", "Sun, 06 Nov 1994 09:00:00 GMT"}}, missing), missing);
}

TEST(CacheRulesMatch, PrefersNotModifiedOverARange) {
  expect_not_modified(get({{"If-None-Match", "\"v1\""}, {"Range", "bytes=0-1"}}));
}

void expect_partial(const MatchAnswer& a, const std::string& content_range,
                    const std::string& body) {
  EXPECT_EQ(a.status, 206);
  EXPECT_EQ(header(a.headers, "Content-Range"), content_range);
  EXPECT_EQ(header(a.headers, "Content-Length"), std::to_string(body.size()));
  EXPECT_EQ(a.body, body);
  // Everything else of the entry stays.
  EXPECT_EQ(header(a.headers, "Content-Type"), "text/plain");
  EXPECT_EQ(header(a.headers, "X-Custom"), "kept");
  EXPECT_EQ(header(a.headers, "ETag"), "\"v1\"");
}

TEST(CacheRulesMatch, AnswersAClosedRangeWith206) {
  expect_partial(get({{"Range", "bytes=2-5"}}), "bytes 2-5/10", "2345");
  expect_partial(get({{"Range", "bytes=0-0"}}), "bytes 0-0/10", "0");
  expect_partial(get({{"range", "Bytes=9-9"}}), "bytes 9-9/10", "9");
}

TEST(CacheRulesMatch, AnswersAnOpenRangeWith206) {
  expect_partial(get({{"Range", "bytes=7-"}}), "bytes 7-9/10", "789");
  expect_partial(get({{"Range", "bytes=0-"}}), "bytes 0-9/10", "0123456789");
}

TEST(CacheRulesMatch, AnswersASuffixRangeWith206) {
  expect_partial(get({{"Range", "bytes=-3"}}), "bytes 7-9/10", "789");
  expect_partial(get({{"Range", "bytes=-10"}}), "bytes 0-9/10", "0123456789");
  expect_partial(get({{"Range", "bytes=-50"}}), "bytes 0-9/10", "0123456789");
}

TEST(CacheRulesMatch, ClampsARangePastTheEnd) {
  expect_partial(get({{"Range", "bytes=5-100"}}), "bytes 5-9/10", "56789");
  expect_partial(get({{"Range", "bytes=5-99999999999999999999999"}}), "bytes 5-9/10", "56789");
}

TEST(CacheRulesMatch, ReplacesTheStoredContentRangeAndLength) {
  Entry e = sample_entry();
  e.headers.emplace_back("content-length", "10");
  e.headers.emplace_back("content-range", "bytes 0-9/10");
  MatchAnswer a = get({{"Range", "bytes=1-2"}}, e);
  int lengths = 0, ranges = 0;
  for (const auto& [n, v] : a.headers) {
    if (n == "Content-Length" || n == "content-length") ++lengths;
    if (n == "Content-Range" || n == "content-range") ++ranges;
  }
  EXPECT_EQ(lengths, 1);
  EXPECT_EQ(ranges, 1);
  EXPECT_EQ(header(a.headers, "Content-Length"), "2");
}

void expect_unsatisfiable(const MatchAnswer& a, const std::string& content_range) {
  EXPECT_EQ(a.status, 416);
  EXPECT_EQ(header(a.headers, "Content-Range"), content_range);
  EXPECT_EQ(header(a.headers, "Content-Length"), "0");
  EXPECT_FALSE(header(a.headers, "Content-Type"));
  EXPECT_FALSE(header(a.headers, "Content-Encoding"));
  EXPECT_EQ(header(a.headers, "ETag"), "\"v1\"");
  EXPECT_EQ(a.body, "");
}

TEST(CacheRulesMatch, AnswersAnUnsatisfiableRangeWith416) {
  expect_unsatisfiable(get({{"Range", "bytes=10-"}}), "bytes */10");
  expect_unsatisfiable(get({{"Range", "bytes=10-20"}}), "bytes */10");
  expect_unsatisfiable(get({{"Range", "bytes=99999999999999999999999-"}}), "bytes */10");
  expect_unsatisfiable(get({{"Range", "bytes=-0"}}), "bytes */10");
  Entry empty = sample_entry();
  empty.body.clear();
  expect_unsatisfiable(get({{"Range", "bytes=0-"}}, empty), "bytes */0");
  expect_unsatisfiable(get({{"Range", "bytes=-5"}}, empty), "bytes */0");
}

TEST(CacheRulesMatch, ServesTheWholeEntryForSeveralRanges) {
  expect_whole(get({{"Range", "bytes=0-1, 4-5"}}), sample_entry());
  expect_whole(get({{"Range", "bytes=0-1,-2"}}), sample_entry());
  expect_whole(get({{"Range", "bytes=0-1"}, {"Range", "bytes=4-5"}}), sample_entry());
  // Empty list members are not ranges (RFC 9110 §5.6.1).
  expect_partial(get({{"Range", "bytes=, 2-3 ,"}}), "bytes 2-3/10", "23");
}

TEST(CacheRulesMatch, ServesTheWholeEntryForAMalformedRange) {
  for (const char* bad : {"bytes=abc", "bytes=", "bytes=5", "bytes=5-2", "bytes=-", "bytes=1-x",
                          "bytes=+1-2", "items=0-1", "bytes 0-1", "0-1", "bytes=0 -1"}) {
    SCOPED_TRACE(bad);
    expect_whole(get({{"Range", bad}}), sample_entry());
  }
}

TEST(CacheRulesMatch, IgnoresRangeOnANon200Entry) {
  Entry missing = sample_entry();
  missing.status = 404;
  expect_whole(get({{"Range", "bytes=0-1"}}, missing), missing);
  Entry moved = sample_entry();
  moved.status = 203;
  expect_whole(get({{"Range", "bytes=0-1"}}, moved), moved);
}

TEST(CacheRulesMatch, HonoursRangeOnlyWhileIfRangeStillNamesTheEntry) {
  expect_partial(get({{"Range", "bytes=0-1"}, {"If-Range", "\"v1\""}}), "bytes 0-1/10", "01");
  expect_partial(get({{"Range", "bytes=0-1"}, {"If-Range", "Sun, 06 Nov 1994 08:49:37 GMT"}}),
                 "bytes 0-1/10", "01");
  expect_whole(get({{"Range", "bytes=0-1"}, {"If-Range", "\"v2\""}}), sample_entry());
  expect_whole(get({{"Range", "bytes=0-1"}, {"If-Range", "W/\"v1\""}}), sample_entry());
  expect_whole(get({{"Range", "bytes=0-1"}, {"If-Range", "Sun, 06 Nov 1994 08:49:38 GMT"}}),
               sample_entry());
  expect_whole(get({{"Range", "bytes=0-1"}, {"If-Range", "garbage"}}), sample_entry());
  Entry weak = sample_entry();
  weak.headers[3].second = "W/\"v1\"";
  expect_whole(get({{"Range", "bytes=0-1"}, {"If-Range", "\"v1\""}}, weak), weak);
}

// --- cache keys -----------------------------------------------------------

TEST(CacheRulesKey, SerialisesTheUrlWithoutItsFragment) {
  EXPECT_EQ(cache_key("https://Example.COM:443/a/../b?q=1#frag"), "https://example.com/b?q=1");
  EXPECT_EQ(cache_key("http://example.com"), "http://example.com/");
  EXPECT_EQ(cache_key("HTTP://example.com:80/x#"), "http://example.com/x");
  EXPECT_EQ(cache_key("http://example.com:8080/x?#y"), "http://example.com:8080/x?");
  EXPECT_EQ(cache_key("  https://example.com/a b  "), "https://example.com/a%20b");
  EXPECT_EQ(cache_key("https://user:pw@example.com/"), "https://user:pw@example.com/");
}

TEST(CacheRulesKey, RefusesAnythingButAnAbsoluteHttpUrl) {
  for (const char* bad :
       {"", "/path", "example.com/x", "//example.com/x", "ftp://example.com/", "file:///etc/passwd",
        "data:text/plain,hi", "javascript:alert(1)", "wss://example.com/",
        "blob:https://example.com/uuid", "http://", "https://exa mple.com/", "not a url"})
    EXPECT_FALSE(cache_key(bad)) << bad;
}

// --- HTTP dates -----------------------------------------------------------

TEST(CacheRulesDate, ReadsAllThreeFormats) {
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), kExampleDate);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), kExampleDate);
  EXPECT_EQ(parse_http_date("Sun Nov 06 08:49:37 1994"), kExampleDate);
  // A two-digit year is at most 50 years ahead of the system clock: right
  // until 2044, when "94" becomes 2094.
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), kExampleDate);
}

TEST(CacheRulesDate, ReadsNamesCaseInsensitivelyAndTrimsWhitespace) {
  EXPECT_EQ(parse_http_date("sun, 06 NOV 1994 08:49:37 gmt"), kExampleDate);
  EXPECT_EQ(parse_http_date("SUNDAY, 06-nov-94 08:49:37 Gmt"), kExampleDate);
  EXPECT_EQ(parse_http_date(" \tSun, 06 Nov 1994 08:49:37 GMT "), kExampleDate);
}

TEST(CacheRulesDate, ReadsTheCalendarEdges) {
  EXPECT_EQ(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
  EXPECT_EQ(parse_http_date("Tue, 29 Feb 2000 12:00:00 GMT"), 951825600);
  EXPECT_EQ(parse_http_date("Fri, 31 Dec 1999 23:59:59 GMT"), 946684799);
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:60 GMT"), kExampleDate + 23);  // leap second
  EXPECT_EQ(parse_http_date("Wed, 31 Dec 1969 23:59:59 GMT"), -1);
}

TEST(CacheRulesDate, PutsTwoDigitYearsWithinFiftyYearsAhead) {
  std::time_t t = std::time(nullptr);
  std::tm now{};
  gmtime_r(&t, &now);
  const int year = now.tm_year + 1900;
  auto jan1 = [](int y) {
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mday = 1;
    return int64_t(timegm(&tm));
  };
  auto rfc850 = [](int y) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "Monday, 01-Jan-%02d 00:00:00 GMT", y % 100);
    return parse_http_date(buf);
  };
  EXPECT_EQ(rfc850(year + 50), jan1(year + 50));
  EXPECT_EQ(rfc850(year + 51), jan1(year - 49));
  EXPECT_EQ(rfc850(year), jan1(year));
}

TEST(CacheRulesDate, RefusesGarbage) {
  for (const char* bad : {
           "",
           "0",
           "-1",
           "784111777",
           "yesterday",
           "Sun, 06 Nov 1994",
           "Sun, 06 Nov 1994 08:49:37",
           "Sun, 06 Nov 1994 08:49:37 UTC",
           "Sun, 06 Nov 1994 08:49:37 GMT+1",
           "Sun, 6 Nov 1994 08:49:37 GMT",
           "Sun, 06 Nov 94 08:49:37 GMT",
           "Sun, 06-Nov-1994 08:49:37 GMT",
           "Xyz, 06 Nov 1994 08:49:37 GMT",
           "Sun, 06 Nox 1994 08:49:37 GMT",
           "Sun, 32 Jan 1994 08:49:37 GMT",
           "Sun, 00 Jan 1994 08:49:37 GMT",
           "Sun, 30 Feb 2000 08:49:37 GMT",
           "Thu, 29 Feb 1900 08:49:37 GMT",
           "Sun, 06 Nov 1994 24:00:00 GMT",
           "Sun, 06 Nov 1994 08:60:00 GMT",
           "Sun, 06 Nov 1994 08:49:61 GMT",
           "Sun, 06 Nov 1994 8:49:37 GMT",
           "Sun, 06 Nov 1994 08-49-37 GMT",
           "Sun, 0x Nov 1994 08:49:37 GMT",
           "Sun, 06 Nov 1994 08:49:37 GMTX",
           "Sun,  06 Nov 1994 08:49:37 GMT",
           "Sun, 06 Nov 1994 08:49:37 GMT junk",
           "Sun 06 Nov 1994 08:49:37 GMT",
           "Sun, 06-Nov-94 08:49:37 GMT",
           "Sundae, 06-Nov-94 08:49:37 GMT",
           "Sunday, 06-Nov-94 08:49:37",
           "Sunday, 06 Nov 94 08:49:37 GMT",
           "Sunday, 06-Nov-1994 08:49:37 GMT",
           "Sun Nov 6 08:49:37 1994",
           "Sun Nov  6 08:49:37 94",
           "Sun Nov  6 08:49:37 1994 GMT",
           "Sun Nov   6 08:49:37 1994",
           "Sun Nov x6 08:49:37 1994",
           "Sun Nov  6 08:49:37  994",
       })
    EXPECT_FALSE(parse_http_date(bad)) << bad;
}

}  // namespace
}  // namespace wfp::cache
