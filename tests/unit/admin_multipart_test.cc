// Unit tests of the admin API's multipart/form-data parser (supervisor/multipart.cc).
// Runs in the unit test binary; the bodies below play the hostile admin client.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "supervisor/multipart.h"

namespace wfp {
namespace {

const std::string kBoundary = "----wfpBoundary7MA4YWxk";

std::string part(const std::string& disposition, const std::string& type, const std::string& body) {
  std::string s = "--" + kBoundary + "\r\nContent-Disposition: " + disposition + "\r\n";
  if (!type.empty()) s += "Content-Type: " + type + "\r\n";
  return s + "\r\n" + body + "\r\n";
}

std::string close_delimiter() {
  return "--" + kBoundary + "--\r\n";
}

std::string upload_body() {
  return part("form-data; name=\"metadata\"", "application/json", R"({"body_part":"worker.js"})") +
         part("form-data; name=\"worker.js\"; filename=\"worker.js\"", "application/javascript",
              "addEventListener('fetch', e => e.respondWith(new Response('hi')));\r\n// x") +
         close_delimiter();
}

TEST(MultipartBoundary, IsTakenFromAQuotedOrBareParameter) {
  std::string b, err;
  ASSERT_TRUE(multipart_boundary("multipart/form-data; boundary=abc-123", b, err)) << err;
  EXPECT_EQ(b, "abc-123");
  ASSERT_TRUE(multipart_boundary("Multipart/Form-Data;boundary=\"a b:c\"", b, err)) << err;
  EXPECT_EQ(b, "a b:c");
}

TEST(MultipartBoundary, RefusesOtherTypesAndMissingOrBadBoundaries) {
  std::string b, err;
  EXPECT_FALSE(multipart_boundary("application/json", b, err));
  EXPECT_FALSE(multipart_boundary("multipart/form-data", b, err));
  EXPECT_NE(err.find("no boundary"), std::string::npos) << err;
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=", b, err));
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=\"\"", b, err));
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=\"unterminated", b, err));
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'x'), b, err));
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=\"ends with space \"", b, err));
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=a; boundary=b", b, err));
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=a\x01", b, err));
}

TEST(Multipart, ParsesAWellFormedUpload) {
  std::vector<MultipartPart> parts;
  std::string err;
  ASSERT_TRUE(parse_multipart(upload_body(), kBoundary, parts, err)) << err;
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].name, "metadata");
  EXPECT_EQ(parts[0].content_type, "application/json");
  EXPECT_EQ(parts[0].body, R"({"body_part":"worker.js"})");
  EXPECT_EQ(parts[1].name, "worker.js");
  EXPECT_EQ(parts[1].filename, "worker.js");
  EXPECT_EQ(parts[1].content_type, "application/javascript");
  // CRLF inside a part's content belongs to the content.
  EXPECT_EQ(parts[1].body,
            "addEventListener('fetch', e => e.respondWith(new Response('hi')));\r\n// x");
}

TEST(Multipart, IgnoresPreambleEpilogueAndTransportPadding) {
  std::string body = "preamble text\r\n--" + kBoundary + "  \r\n" +
                     "Content-Disposition: form-data; name=a\r\n\r\nA\r\n" + close_delimiter() +
                     "epilogue";
  std::vector<MultipartPart> parts;
  std::string err;
  ASSERT_TRUE(parse_multipart(body, kBoundary, parts, err)) << err;
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].name, "a");
  EXPECT_EQ(parts[0].body, "A");
  EXPECT_EQ(parts[0].content_type, "");
}

TEST(Multipart, KeepsEmptyPartsAndBinaryContent) {
  std::string bin("\0\xff\r\n--x", 7);
  std::string body = part("form-data; name=\"empty\"", "", "") +
                     part("form-data; name=\"bin\"", "application/octet-stream", bin) +
                     close_delimiter();
  std::vector<MultipartPart> parts;
  std::string err;
  ASSERT_TRUE(parse_multipart(body, kBoundary, parts, err)) << err;
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].body, "");
  EXPECT_EQ(parts[1].body, bin);
}

TEST(Multipart, RefusesABodyWithoutTheBoundary) {
  std::vector<MultipartPart> parts;
  std::string err;
  EXPECT_FALSE(parse_multipart(upload_body(), "someOtherBoundary", parts, err));
  EXPECT_NE(err.find("does not contain the boundary"), std::string::npos) << err;
  EXPECT_FALSE(parse_multipart("", kBoundary, parts, err));
}

TEST(Multipart, RefusesABodyMissingTheFinalBoundary) {
  std::string body = part("form-data; name=\"metadata\"", "application/json", "{}");
  std::vector<MultipartPart> parts;
  std::string err;
  EXPECT_FALSE(parse_multipart(body, kBoundary, parts, err));
  EXPECT_NE(err.find("closing boundary"), std::string::npos) << err;

  // A part that is cut off in its content.
  body = "--" + kBoundary + "\r\nContent-Disposition: form-data; name=a\r\n\r\ntruncated";
  EXPECT_FALSE(parse_multipart(body, kBoundary, parts, err));
  EXPECT_NE(err.find("closing boundary"), std::string::npos) << err;
}

TEST(Multipart, RefusesADelimiterNotFollowedByCrlf) {
  std::string body = "--" + kBoundary + "garbage\r\n" +
                     "Content-Disposition: form-data; name=a\r\n\r\nA\r\n" + close_delimiter();
  std::vector<MultipartPart> parts;
  std::string err;
  EXPECT_FALSE(parse_multipart(body, kBoundary, parts, err));
  EXPECT_NE(err.find("CRLF"), std::string::npos) << err;

  // LF-only framing is not multipart.
  body =
      "--" + kBoundary + "\nContent-Disposition: form-data; name=a\n\nA\n--" + kBoundary + "--\n";
  EXPECT_FALSE(parse_multipart(body, kBoundary, parts, err));
}

TEST(Multipart, RefusesMoreThanSixtyFourParts) {
  std::string body;
  for (int i = 0; i < 65; i++)
    body += part("form-data; name=\"p" + std::to_string(i) + "\"", "", "x");
  body += close_delimiter();
  std::vector<MultipartPart> parts;
  std::string err;
  EXPECT_FALSE(parse_multipart(body, kBoundary, parts, err));
  EXPECT_NE(err.find("more than 64 parts"), std::string::npos) << err;

  // Exactly 64 is fine.
  body.clear();
  for (int i = 0; i < 64; i++)
    body += part("form-data; name=\"p" + std::to_string(i) + "\"", "", "x");
  body += close_delimiter();
  EXPECT_TRUE(parse_multipart(body, kBoundary, parts, err)) << err;
  EXPECT_EQ(parts.size(), 64u);
}

TEST(Multipart, RefusesPartsWithoutAName) {
  std::vector<MultipartPart> parts;
  std::string err;
  std::string body = part("form-data; filename=\"x.js\"", "", "x") + close_delimiter();
  EXPECT_FALSE(parse_multipart(body, kBoundary, parts, err));
  EXPECT_NE(err.find("no name"), std::string::npos) << err;

  body = part("form-data; name=\"\"", "", "x") + close_delimiter();
  EXPECT_FALSE(parse_multipart(body, kBoundary, parts, err));

  // No Content-Disposition at all (only Content-Type).
  body = "--" + kBoundary + "\r\nContent-Type: text/plain\r\n\r\nx\r\n" + close_delimiter();
  EXPECT_FALSE(parse_multipart(body, kBoundary, parts, err));
  EXPECT_NE(err.find("Content-Disposition"), std::string::npos) << err;

  // No headers at all.
  body = "--" + kBoundary + "\r\n\r\nx\r\n" + close_delimiter();
  EXPECT_FALSE(parse_multipart(body, kBoundary, parts, err));
}

TEST(Multipart, RefusesMalformedPartHeaders) {
  std::vector<MultipartPart> parts;
  std::string err;
  const std::vector<std::string> bad_heads = {
      "Content-Disposition: attachment; name=\"a\"",               // not form-data
      "Content-Disposition: form-data; name=\"a",                  // unterminated quote
      "Content-Disposition: form-data; name=\"a\"; name=\"b\"",    // two names
      "Content-Disposition form-data; name=\"a\"",                 // no colon
      "Content-Disposition: form-data; name=\"a\"\r\n continued",  // folding
      "Content-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; name=\"a\"",
      "Content-Disposition: form-data; name=\"a\"\r\nContent-Type: a\r\nContent-Type: b",
      std::string("Content-Disposition: form-data; name=\"a\x00\"", 40),  // NUL
  };
  for (const std::string& head : bad_heads) {
    std::string body = "--" + kBoundary + "\r\n" + head + "\r\n\r\nx\r\n" + close_delimiter();
    EXPECT_FALSE(parse_multipart(body, kBoundary, parts, err)) << head;
  }
}

TEST(Multipart, RefusesDuplicatePartNames) {
  std::string body = part("form-data; name=\"a\"", "", "1") +
                     part("form-data; name=\"a\"", "", "2") + close_delimiter();
  std::vector<MultipartPart> parts;
  std::string err;
  EXPECT_FALSE(parse_multipart(body, kBoundary, parts, err));
  EXPECT_NE(err.find("two parts named"), std::string::npos) << err;
}

TEST(Multipart, RefusesOversizedPartHeaders) {
  MultipartLimits limits;
  limits.max_part_header_bytes = 100;
  std::string body =
      part("form-data; name=\"a\"; filename=\"" + std::string(200, 'f') + "\"", "", "x") +
      close_delimiter();
  std::vector<MultipartPart> parts;
  std::string err;
  EXPECT_FALSE(parse_multipart(body, kBoundary, parts, err, limits));
  EXPECT_NE(err.find("headers over"), std::string::npos) << err;
}

}  // namespace
}  // namespace wfp
