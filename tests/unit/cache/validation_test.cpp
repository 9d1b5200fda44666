// Validation (RFC 9111 §4.3): the revalidation request, updating a stored response from a
// 304, and the client's own conditionals answered from the cache (RFC 9110 §13).
#include "policy_fixtures.h"

#include <catch2/catch.hpp>

using namespace ferry;
using namespace ferry::cache;
using namespace ferry::cache::policy;
using namespace ferry::cache::policy_test;

TEST_CASE("§4.3.1 the revalidation request carries the stored validators", "[cache]") {
  http::Headers req = fields("Host: example.com\n"
                             "If-None-Match: \"client\"\n"
                             "Accept: */*\n"
                             "If-Modified-Since: @-5\n"
                             "Range: bytes=0-10\n"
                             "If-Range: \"client\"");
  const http::ResponseHead stored =
      response(200, "ETag: \"v1\"\nLast-Modified: Thu, 01 Jan 2026 00:00:00 GMT");
  CHECK(prepareRevalidation(req, stored));
  CHECK(dump(req) == "Host: example.com\n"
                     "Accept: */*\n"
                     "If-None-Match: \"v1\"\n"
                     "If-Modified-Since: Thu, 01 Jan 2026 00:00:00 GMT\n");

  http::Headers onlyDate = fields("Host: example.com");
  CHECK(prepareRevalidation(onlyDate, response(200, "Last-Modified: @-9")));
  CHECK(onlyDate.get("If-Modified-Since") == withDates("@-9"));
  CHECK_FALSE(onlyDate.has("If-None-Match"));

  // No validator: an unconditional refetch, without the client's conditionals either.
  http::Headers none = fields("Host: example.com\nIf-None-Match: \"client\"");
  CHECK_FALSE(prepareRevalidation(none, response(200, "Cache-Control: max-age=1")));
  CHECK(dump(none) == "Host: example.com\n");
}

TEST_CASE("#9 background revalidation is a bodiless conditional GET", "[cache]") {
  http::RequestHead client;
  client.method = "HEAD";
  client.target = "http://example.com/a";
  client.headers = fields("Host: example.com\n"
                          "Accept: */*\n"
                          "Content-Length: 3\n"
                          "Content-Type: text/plain\n"
                          "content-encoding: gzip\n"
                          "Expect: 100-continue\n"
                          "If-Match: \"client\"\n"
                          "If-Unmodified-Since: @-5\n"
                          "If-None-Match: \"client\"\n"
                          "Range: bytes=0-1\n"
                          "Accept-Language: fr");
  const http::RequestHead sent = backgroundRevalidation(client, response(200, "ETag: \"v1\""));
  CHECK(sent.method == "GET");
  CHECK(sent.target == client.target);
  CHECK(dump(sent.headers) == "Host: example.com\n"
                              "Accept: */*\n"
                              "Accept-Language: fr\n"
                              "If-None-Match: \"v1\"\n");
}

namespace {

struct FreshenRow {
  const char* name;
  const char* stored;
  const char* not_modified;
  bool selected;
};

// clang-format off
const FreshenRow FreshenRows[] = {
  {"§4.3.4 same strong ETag", "ETag: \"a\"", "ETag: \"a\"", true},
  {"§4.3.4 different strong ETag", "ETag: \"a\"", "ETag: \"b\"", false},
  {"§4.3.4 a strong ETag does not select a weak one", "ETag: W/\"a\"", "ETag: \"a\"", false},
  {"§4.3.4 weak ETag, weak comparison", "ETag: \"a\"", "ETag: W/\"a\"", true},
  {"§4.3.4 ETag in the 304 but none stored", "Last-Modified: @-10", "ETag: \"a\"", false},
  {"§4.3.4 same Last-Modified", "ETag: \"a\"\nLast-Modified: @-10", "Last-Modified: @-10", true},
  {"§4.3.4 different Last-Modified", "Last-Modified: @-10", "Last-Modified: @-11", false},
  {"§4.3.4 no validator in the 304 updates what it revalidated", "ETag: \"a\"", "Date: @0",
   true},
};
// clang-format on

} // namespace

TEST_CASE("§4.3.4 which 304 selects the stored response", "[cache]") {
  for (const FreshenRow& row : FreshenRows) {
    SECTION(row.name) {
      CHECK(canFreshen(response(200, row.stored), response(304, row.not_modified)) == row.selected);
    }
  }
}

TEST_CASE("#11 §4.3.5 which 200 to HEAD updates the stored GET response", "[cache]") {
  // The stored body is 5 bytes.
  // clang-format off
  const FreshenRow rows[] = {
    {"no validator, no length: updates", "ETag: \"a\"", "Cache-Control: max-age=9", true},
    {"same ETag and length", "ETag: \"a\"", "ETag: \"a\"\nContent-Length: 5", true},
    {"different ETag", "ETag: \"a\"", "ETag: \"b\"", false},
    {"ETag where none is stored", "Last-Modified: @-10", "ETag: \"a\"", false},
    {"weak where strong is stored", "ETag: \"a\"", "ETag: W/\"a\"", false},
    {"same weak ETag", "ETag: W/\"a\"", "ETag: W/\"a\"", true},
    {"every validator received must match", "ETag: \"a\"\nLast-Modified: @-10",
     "ETag: \"a\"\nLast-Modified: @-11", false},
    {"same Last-Modified", "Last-Modified: @-10", "Last-Modified: @-10", true},
    {"a different Content-Length", "ETag: \"a\"", "ETag: \"a\"\nContent-Length: 6", false},
  };
  // clang-format on
  for (const FreshenRow& row : rows) {
    INFO(row.name);
    CHECK(headUpdates(response(200, row.stored), 5, response(200, row.not_modified)) ==
          row.selected);
  }
}

TEST_CASE("§3.2 §4.3.4 freshening replaces fields, except framing and coding", "[cache]") {
  http::ResponseHead stored = response(200, "Date: @-100\n"
                                            "Content-Type: text/plain\n"
                                            "Content-Length: 5\n"
                                            "Content-Encoding: gzip\n"
                                            "Cache-Control: max-age=10\n"
                                            "ETag: \"a\"\n"
                                            "Age: 40\n"
                                            "Set-Cookie: old=1\n"
                                            "X-Kept: yes");
  const http::ResponseHead notModified = response(304, "Date: @0\n"
                                                       "Cache-Control: max-age=60\n"
                                                       "ETag: \"a\"\n"
                                                       "Content-Length: 0\n"
                                                       "Content-Encoding: br\n"
                                                       "Transfer-Encoding: chunked\n"
                                                       "Content-Range: bytes */5\n"
                                                       "Connection: X-Hop\n"
                                                       "X-Hop: 1\n"
                                                       "Keep-Alive: timeout=5\n"
                                                       "Set-Cookie: new=1\n"
                                                       "Set-Cookie: new=2\n"
                                                       "X-Added: 1");
  freshen(stored, notModified, at(1), storeCookies());
  CHECK(dump(stored.headers) == withDates("Date: @0\n"
                                          "Content-Type: text/plain\n"
                                          "Content-Length: 5\n"
                                          "Content-Encoding: gzip\n"
                                          "Cache-Control: max-age=60\n"
                                          "ETag: \"a\"\n"
                                          "Set-Cookie: old=1\n"
                                          "X-Kept: yes\n"
                                          "X-Added: 1\n"));
  CHECK(stored.status == 200);
}

TEST_CASE("§4.3.4 freshening: Age and Date belong to the new exchange", "[cache]") {
  http::ResponseHead stored = response(200, "Date: @-100\nAge: 40\nETag: \"a\"");
  freshen(stored, response(304, "Age: 3\nETag: \"a\""), at(2), Settings());
  // RFC 9110 §6.6.1: a 304 without Date is dated when it arrived.
  CHECK(dump(stored.headers) == withDates("Date: @+2\nAge: 3\nETag: \"a\"\n"));
}

TEST_CASE("#11 a 304's per-client fields reach the client that asked, not the stored response",
          "[cache]") {
  const http::ResponseHead notModified = response(304, "ETag: \"a\"\n"
                                                       "Set-Cookie: sid=bob\n"
                                                       "Set-Cookie2: v=bob\n"
                                                       "Authentication-Info: nextnonce=\"b\"\n"
                                                       "Proxy-Authentication-Info: rspauth=x\n"
                                                       "X-Served-By: b");
  http::ResponseHead stored = response(200, "Date: @0\nETag: \"a\"\nSet-Cookie: sid=alice");
  freshen(stored, notModified, at(0), storeCookies());
  CHECK(dump(stored.headers) == withDates("Date: @0\n"
                                          "ETag: \"a\"\n"
                                          "Set-Cookie: sid=alice\n"
                                          "X-Served-By: b\n"));
  CHECK(dump(withClientFields(stored, notModified).headers) ==
        withDates("Date: @0\n"
                  "ETag: \"a\"\n"
                  "Set-Cookie: sid=bob\n"
                  "X-Served-By: b\n"
                  "Set-Cookie2: v=bob\n"
                  "Authentication-Info: nextnonce=\"b\"\n"
                  "Proxy-Authentication-Info: rspauth=x\n"));
  for (const char* name :
       {"set-cookie", "SET-COOKIE2", "Authentication-Info", "Proxy-Authentication-Info"})
    CHECK(isPerClientField(name));
  CHECK_FALSE(isPerClientField("Authorization-Info"));
}

namespace {

struct OutcomeRow {
  const char* name;
  const char* request;      // the request the 304 answered
  const char* stored;       // the stored response's fields
  const char* not_modified; // the 304's fields
  FreshenOutcome outcome;
};

// clang-format off
const OutcomeRow OutcomeRows[] = {
  {"§4.3.4 a plain 304 updates the stored response",
   "", "ETag: \"a\"\nCache-Control: max-age=10", "ETag: \"a\"\nCache-Control: max-age=60",
   FreshenOutcome::Update},
  {"#11 §5.2.2.7 a 304 with private removes the stored response",
   "", "ETag: \"a\"\nCache-Control: max-age=10", "Cache-Control: private, max-age=60",
   FreshenOutcome::Remove},
  {"#11 §5.2.2.5 a 304 with no-store removes the stored response",
   "", "ETag: \"a\"\nCache-Control: max-age=10", "Cache-Control: no-store",
   FreshenOutcome::Remove},
  {"#11 §4.1 a 304 with Vary: * removes the stored response",
   "", "ETag: \"a\"\nCache-Control: max-age=10", "Vary: *", FreshenOutcome::Remove},
  {"#11 §5.2.2.3 must-understand with a known status keeps it despite no-store",
   "", "ETag: \"a\"", "Cache-Control: must-understand, no-store, max-age=60",
   FreshenOutcome::Update},
  {"#11 §5.2.2.7 private in the stored response, replaced by the 304's Cache-Control",
   "", "ETag: \"a\"\nCache-Control: private", "Cache-Control: max-age=60",
   FreshenOutcome::Update},
  {"#11 §5.2.1.5 the request's no-store: served, the stored response left alone",
   "Cache-Control: no-store", "ETag: \"a\"", "Cache-Control: max-age=60",
   FreshenOutcome::ServeOnly},
  {"#11 §3.5 a 304 to a request with Authorization stays with that client",
   "Authorization: Basic dTpw", "ETag: \"a\"\nCache-Control: max-age=10",
   "Cache-Control: max-age=60", FreshenOutcome::ServeOnly},
  {"#11 §3.5 ...unless the new head allows sharing it (public)",
   "Authorization: Basic dTpw", "ETag: \"a\"", "Cache-Control: public, max-age=60",
   FreshenOutcome::Update},
  {"#11 §3.5 ...or s-maxage",
   "Authorization: Basic dTpw", "ETag: \"a\"", "Cache-Control: s-maxage=60",
   FreshenOutcome::Update},
  {"#11 a 304's Set-Cookie is not merged, so set_cookie: refuse does not remove",
   "", "ETag: \"a\"\nCache-Control: max-age=10", "Set-Cookie: sid=bob",
   FreshenOutcome::Update},
};
// clang-format on

} // namespace

TEST_CASE("#11 what a 304 does to the stored response it freshens", "[cache]") {
  for (const OutcomeRow& row : OutcomeRows) {
    SECTION(row.name) {
      Settings settings;
      settings.set_cookie = SetCookie::Refuse;
      http::ResponseHead stored = response(200, row.stored);
      freshen(stored, response(304, row.not_modified), T0, settings);
      CHECK(freshenOutcome(request(row.request), stored, settings) == row.outcome);
    }
  }
}

TEST_CASE("§5.2.2.4 freshening removes fields the new no-cache names", "[cache]") {
  http::ResponseHead stored = response(200, "Date: @0\nSet-Cookie: a=1\nETag: \"a\"");
  freshen(stored, response(304, "Date: @0\nCache-Control: no-cache=\"Set-Cookie\""), at(0),
          storeCookies());
  CHECK_FALSE(stored.headers.has("Set-Cookie"));
}

namespace {

struct ConditionalRow {
  const char* name;
  const char* method;
  const char* request;
  const char* stored;
  bool not_modified;
};

// clang-format off
const ConditionalRow ConditionalRows[] = {
  {"RFC 9110 §13.1.2 If-None-Match matching the ETag: 304", "GET",
   "If-None-Match: \"a\"", "ETag: \"a\"", true},
  {"RFC 9110 §13.1.2 If-None-Match uses weak comparison", "GET",
   "If-None-Match: W/\"a\"", "ETag: \"a\"", true},
  {"RFC 9110 §13.1.2 weak comparison the other way round", "GET",
   "If-None-Match: \"a\"", "ETag: W/\"a\"", true},
  {"RFC 9110 §13.1.2 one of several entity-tags matches", "GET",
   "If-None-Match: \"x\", \"y\"\nIf-None-Match: \"a\"", "ETag: \"a\"", true},
  {"RFC 9110 §13.1.2 no entity-tag matches: 200", "GET",
   "If-None-Match: \"x\", \"y\"", "ETag: \"a\"", false},
  {"RFC 9110 §13.1.2 If-None-Match: * matches any stored response", "GET",
   "If-None-Match: *", "Content-Type: text/plain", true},
  {"RFC 9110 §13.1.2 If-None-Match without a stored ETag: 200", "GET",
   "If-None-Match: \"a\"", "Last-Modified: @-100", false},
  {"RFC 9110 §13.1.2 HEAD too", "HEAD", "If-None-Match: \"a\"", "ETag: \"a\"", true},
  {"RFC 9110 §13.2.2 If-None-Match decides: If-Modified-Since is ignored", "GET",
   "If-None-Match: \"x\"\nIf-Modified-Since: @0", "ETag: \"a\"\nLast-Modified: @-100", false},
  {"RFC 9110 §13.1.3 not modified since", "GET",
   "If-Modified-Since: @-50", "Last-Modified: @-100", true},
  {"RFC 9110 §13.1.3 modified at exactly that time counts as not modified", "GET",
   "If-Modified-Since: @-100", "Last-Modified: @-100", true},
  {"RFC 9110 §13.1.3 modified since", "GET",
   "If-Modified-Since: @-150", "Last-Modified: @-100", false},
  {"RFC 9110 §13.1.3 an invalid date is ignored", "GET",
   "If-Modified-Since: yesterday", "Last-Modified: @-100", false},
  {"RFC 9110 §13.1.3 two If-Modified-Since fields are ignored", "GET",
   "If-Modified-Since: @0\nIf-Modified-Since: @0", "Last-Modified: @-100", false},
  {"RFC 9111 §4.3.2 without Last-Modified, Date is used", "GET",
   "If-Modified-Since: @-10", "Date: @-20", true},
  {"RFC 9111 §4.3.2 without Last-Modified, Date is used (modified)", "GET",
   "If-Modified-Since: @-30", "Date: @-20", false},
  {"RFC 9111 §4.3.2 without Date, the response time is used", "GET",
   "If-Modified-Since: @0", "ETag: \"a\"", true},
  {"RFC 9110 §13.1.3 If-Modified-Since only for GET and HEAD", "POST",
   "If-Modified-Since: @0", "Last-Modified: @-100", false},
  {"RFC 9111 §4.3.2 If-Match does not apply to a cache", "GET",
   "If-Match: \"x\"", "ETag: \"a\"", false},
  {"no conditionals: 200", "GET", "", "ETag: \"a\"\nLast-Modified: @-100", false},
};
// clang-format on

} // namespace

TEST_CASE("the client's conditionals against a stored response", "[cache]") {
  for (const ConditionalRow& row : ConditionalRows) {
    SECTION(row.name) {
      const http::ResponseHead stored = response(200, row.stored);
      const Stored view = storedResponse(stored, T0, T0, "http://example.com/a", Settings());
      CHECK(isNotModified(request(row.request, row.method), view) == row.not_modified);
    }
  }
}

TEST_CASE("RFC 9110 §15.4.5 what a 304 from the cache carries", "[cache]") {
  const http::ResponseHead stored = response(200, "Date: @0\n"
                                                  "Content-Type: text/html\n"
                                                  "Content-Length: 42\n"
                                                  "Cache-Control: max-age=60\n"
                                                  "ETag: \"a\"\n"
                                                  "Last-Modified: @-100\n"
                                                  "Vary: Accept-Encoding\n"
                                                  "Expires: @+60\n"
                                                  "Content-Location: /a.html\n"
                                                  "Set-Cookie: a=1");
  const http::ResponseHead nm = notModifiedResponse(stored);
  CHECK(nm.status == 304);
  CHECK(nm.reason == "Not Modified");
  CHECK(dump(nm.headers) == withDates("Date: @0\n"
                                      "Cache-Control: max-age=60\n"
                                      "ETag: \"a\"\n"
                                      "Vary: Accept-Encoding\n"
                                      "Expires: @+60\n"
                                      "Content-Location: /a.html\n"));
  // Without an ETag, Last-Modified helps the client's cache.
  const http::ResponseHead noEtag =
      notModifiedResponse(response(200, "Date: @0\nLast-Modified: @-100\nContent-Length: 42"));
  CHECK(dump(noEtag.headers) == withDates("Date: @0\nLast-Modified: @-100\n"));
}

TEST_CASE("RFC 9110 §8.8.3.2 entity-tag comparison", "[cache]") {
  CHECK(strongMatch("\"1\"", "\"1\""));
  CHECK_FALSE(strongMatch("W/\"1\"", "W/\"1\""));
  CHECK_FALSE(strongMatch("W/\"1\"", "\"1\""));
  CHECK_FALSE(strongMatch("\"1\"", "\"2\""));
  CHECK(weakMatch("W/\"1\"", "W/\"1\""));
  CHECK(weakMatch("W/\"1\"", "\"1\""));
  CHECK(weakMatch("\"1\"", "\"1\""));
  CHECK_FALSE(weakMatch("W/\"1\"", "\"2\""));
  CHECK_FALSE(weakMatch("", ""));
}
