// cache::policy as tables of (request fields, response fields, stored times, now) → verdict:
// storing (§3), freshness (§4.2), age (§4.2.3), serving (§4.2.4, §5.2, RFC 5861). Each row
// names the section it checks. The stored response was requested and received at T0 unless a
// row says otherwise; "@+N" in a field is the HTTP-date T0 + N seconds.
#include "policy_fixtures.h"

#include <catch2/catch.hpp>
#include <re2/re2.h>

using namespace ferry;
using namespace ferry::cache;
using namespace ferry::cache::policy;
using namespace ferry::cache::policy_test;

namespace {

constexpr std::string_view Uri = "http://example.com/a";

struct VerdictRow {
  const char* name;
  const char* request;  // request fields
  const char* response; // stored response fields
  long long now;        // seconds after T0
  Verdict verdict;
  bool requested = false;
  int status = 200;
};

// clang-format off
const VerdictRow VerdictRows[] = {
  // Freshness lifetime and age (§4.2, §4.2.1, §4.2.3)
  {"§4.2.1 max-age=60 at age 30 is fresh",
   "", "Date: @0\nCache-Control: max-age=60", 30, Verdict::Fresh},
  {"§4.2 fresh only while lifetime > age: max-age=60 at age 60 is stale",
   "", "Date: @0\nCache-Control: max-age=60", 60, Verdict::Revalidate},
  {"§5.2.2.10 s-maxage overrides max-age in a shared cache",
   "", "Date: @0\nCache-Control: max-age=100, s-maxage=10", 20, Verdict::Revalidate},
  {"§5.2.2.10 s-maxage longer than max-age keeps it fresh",
   "", "Date: @0\nCache-Control: max-age=10, s-maxage=100", 20, Verdict::Fresh},
  {"§5.2.2.1 max-age overrides Expires",
   "", "Date: @0\nExpires: @+10\nCache-Control: max-age=100", 50, Verdict::Fresh},
  {"§5.2.2.1 max-age=0 overrides a later Expires",
   "", "Date: @0\nExpires: @+1000\nCache-Control: max-age=0", 0, Verdict::Revalidate},
  {"§4.2.1 Expires minus Date: fresh before",
   "", "Date: @0\nExpires: @+100", 99, Verdict::Fresh},
  {"§4.2.1 Expires minus Date: stale after",
   "", "Date: @0\nExpires: @+100", 100, Verdict::Revalidate},
  {"§4.2.1 Expires is measured from Date, not the local clock",
   "", "Date: @-1000\nExpires: @-900", 0, Verdict::Revalidate},
  {"§4.2.1 Expires without Date is measured from the response time",
   "", "Expires: @+100", 50, Verdict::Fresh},
  {"§5.3 an invalid Expires means already expired",
   "", "Date: @0\nExpires: 0", 0, Verdict::Revalidate},
  {"§5.3 an Expires before Date is already expired",
   "", "Date: @0\nExpires: @-10", 0, Verdict::Revalidate},
  {"§4.2.1 an invalid max-age is stale",
   "", "Date: @0\nCache-Control: max-age=soon", 0, Verdict::Revalidate},
  {"§4.2.1 the first of two max-age directives counts",
   "", "Date: @0\nCache-Control: max-age=100\nCache-Control: max-age=1", 50, Verdict::Fresh},
  {"§5.2 a quoted max-age argument is accepted",
   "", "Date: @0\nCache-Control: max-age=\"60\"", 30, Verdict::Fresh},
  {"§5.2 directive names are case-insensitive",
   "", "Date: @0\nCache-Control: MAX-AGE=60", 30, Verdict::Fresh},
  {"§4.2.2 heuristic: 10% of Date minus Last-Modified, fresh before",
   "", "Date: @0\nLast-Modified: @-10000", 999, Verdict::Fresh},
  {"§4.2.2 heuristic: 10% of Date minus Last-Modified, stale after",
   "", "Date: @0\nLast-Modified: @-10000", 1000, Verdict::Revalidate},
  {"§4.2.2 heuristic capped at heuristic_max (24h)",
   "", "Date: @0\nLast-Modified: @-8640000", 86400, Verdict::Revalidate},
  {"§4.2.2 heuristic below the cap",
   "", "Date: @0\nLast-Modified: @-8640000", 86399, Verdict::Fresh},
  {"§4.2.2 no heuristic without Last-Modified",
   "", "Date: @0", 0, Verdict::Revalidate},
  {"§4.2.2 no heuristic for a status not heuristically cacheable (302)",
   "", "Date: @0\nLast-Modified: @-10000", 10, Verdict::Revalidate, false, 302},
  {"§4.2.2 public allows a heuristic for a 302",
   "", "Date: @0\nLast-Modified: @-10000\nCache-Control: public", 10, Verdict::Fresh, false,
   302},
  {"§4.2.2 404 is heuristically cacheable",
   "", "Date: @0\nLast-Modified: @-10000", 10, Verdict::Fresh, false, 404},
  {"§4.2.2 heuristics never apply with explicit freshness (Expires in the past)",
   "", "Date: @0\nExpires: @-1\nLast-Modified: @-10000", 10, Verdict::Revalidate},
  {"§4.2.3 an upstream Age counts towards the current age",
   "", "Date: @0\nAge: 90\nCache-Control: max-age=100", 20, Verdict::Revalidate},
  {"#11 §5.1 only the first member of a list-based Age counts: old, 0 is stale",
   "", "Date: @0\nAge: 7200, 0\nCache-Control: max-age=3600", 0, Verdict::Revalidate},
  {"#11 §5.1 only the first Age line counts: 0 then old is fresh",
   "", "Date: @0\nAge: 0\nAge: 7200\nCache-Control: max-age=3600", 0, Verdict::Fresh},
  {"#11 §5.1 an invalid Age is ignored, not read further",
   "", "Date: @0\nAge: 7200.0, 7200\nCache-Control: max-age=3600", 0, Verdict::Fresh},
  {"§4.2.3 a Date far behind the response time ages the response (apparent_age)",
   "", "Date: @-95\nCache-Control: max-age=100", 10, Verdict::Revalidate},
  // Request directives (§5.2.1, §5.4)
  {"§5.2.1.1 request max-age=0 forces revalidation of a fresh response",
   "Cache-Control: max-age=0", "Date: @0\nCache-Control: max-age=600", 10, Verdict::Revalidate,
   true},
  {"§5.2.1.1 request max-age at least the age accepts it",
   "Cache-Control: max-age=30", "Date: @0\nCache-Control: max-age=600", 30, Verdict::Fresh},
  {"§5.2.1.1 request max-age below the age refuses it",
   "Cache-Control: max-age=29", "Date: @0\nCache-Control: max-age=600", 30,
   Verdict::Revalidate, true},
  {"§5.2.1.1 an invalid request max-age counts as 0",
   "Cache-Control: max-age=x", "Date: @0\nCache-Control: max-age=600", 10, Verdict::Revalidate,
   true},
  {"§5.2.1.1 request max-age also limits max-stale",
   "Cache-Control: max-age=100, max-stale", "Date: @0\nCache-Control: max-age=10", 200,
   Verdict::Revalidate},
  {"§5.2.1.2 max-stale without a value accepts any staleness",
   "Cache-Control: max-stale", "Date: @0\nCache-Control: max-age=10", 100000,
   Verdict::StaleAllowed},
  {"§5.2.1.2 max-stale=N accepts staleness up to N",
   "Cache-Control: max-stale=50", "Date: @0\nCache-Control: max-age=10", 60,
   Verdict::StaleAllowed},
  {"§5.2.1.2 max-stale=N refuses staleness past N",
   "Cache-Control: max-stale=50", "Date: @0\nCache-Control: max-age=10", 61,
   Verdict::Revalidate},
  {"§5.2.1.2 an invalid max-stale allows nothing",
   "Cache-Control: max-stale=lots", "Date: @0\nCache-Control: max-age=10", 11,
   Verdict::Revalidate},
  {"§5.2.1.3 min-fresh met",
   "Cache-Control: min-fresh=40", "Date: @0\nCache-Control: max-age=100", 50, Verdict::Fresh},
  {"§5.2.1.3 min-fresh unmet",
   "Cache-Control: min-fresh=60", "Date: @0\nCache-Control: max-age=100", 50,
   Verdict::Revalidate, true},
  {"§5.2.1.4 request no-cache revalidates a fresh response",
   "Cache-Control: no-cache", "Date: @0\nCache-Control: max-age=600", 1, Verdict::Revalidate,
   true},
  {"§5.2.1.4 request no-cache on a stale response is a stale revalidation",
   "Cache-Control: no-cache", "Date: @0\nCache-Control: max-age=6", 10, Verdict::Revalidate},
  {"§5.4 Pragma: no-cache without Cache-Control is no-cache",
   "Pragma: no-cache", "Date: @0\nCache-Control: max-age=600", 1, Verdict::Revalidate, true},
  {"§5.4 Pragma: no-cache is ignored when the request has Cache-Control",
   "Pragma: no-cache\nCache-Control: max-stale=0", "Date: @0\nCache-Control: max-age=600", 1,
   Verdict::Fresh},
  {"§5.2.1.5 request no-store may still be answered from the cache",
   "Cache-Control: no-store", "Date: @0\nCache-Control: max-age=600", 1, Verdict::Fresh},
  {"§5.2.1.7 only-if-cached with a fresh response serves it",
   "Cache-Control: only-if-cached", "Date: @0\nCache-Control: max-age=600", 1, Verdict::Fresh},
  {"§5.2.1.7 only-if-cached with a stale response: 504",
   "Cache-Control: only-if-cached", "Date: @0\nCache-Control: max-age=6", 10,
   Verdict::Unavailable},
  {"§5.2.1.7 only-if-cached and a no-cache response: 504",
   "Cache-Control: only-if-cached", "Date: @0\nCache-Control: max-age=600, no-cache", 1,
   Verdict::Unavailable},
  {"§5.2.1.7 only-if-cached with max-stale serves the stale response",
   "Cache-Control: only-if-cached, max-stale", "Date: @0\nCache-Control: max-age=6", 10,
   Verdict::StaleAllowed},
  // Response directives (§5.2.2)
  {"§5.2.2.4 response no-cache is revalidated even when fresh",
   "", "Date: @0\nCache-Control: max-age=600, no-cache", 1, Verdict::Revalidate},
  {"§5.2.2.4 response no-cache beats max-stale",
   "Cache-Control: max-stale", "Date: @0\nCache-Control: no-cache", 1, Verdict::Revalidate},
  {"§5.2.2.4 qualified no-cache=\"Set-Cookie\" does not force revalidation",
   "", "Date: @0\nCache-Control: max-age=600, no-cache=\"Set-Cookie\"", 1, Verdict::Fresh},
  {"§5.2.2.2 must-revalidate: never served stale, even with max-stale",
   "Cache-Control: max-stale", "Date: @0\nCache-Control: max-age=10, must-revalidate", 11,
   Verdict::Revalidate},
  {"§5.2.2.2 must-revalidate: served while fresh",
   "", "Date: @0\nCache-Control: max-age=10, must-revalidate", 9, Verdict::Fresh},
  {"§5.2.2.8 proxy-revalidate: a shared cache never serves it stale",
   "Cache-Control: max-stale", "Date: @0\nCache-Control: max-age=10, proxy-revalidate", 11,
   Verdict::Revalidate},
  {"§5.2.2.10 s-maxage implies proxy-revalidate",
   "Cache-Control: max-stale", "Date: @0\nCache-Control: s-maxage=10", 11, Verdict::Revalidate},
  {"§5.2.2.2 + §5.2.1.7 must-revalidate and only-if-cached when stale: 504",
   "Cache-Control: only-if-cached, max-stale",
   "Date: @0\nCache-Control: max-age=10, must-revalidate", 11, Verdict::Unavailable},
  // RFC 5861
  {"RFC 5861 §3 stale-while-revalidate within its window",
   "", "Date: @0\nCache-Control: max-age=10, stale-while-revalidate=30", 40,
   Verdict::StaleWhileRevalidate},
  {"RFC 5861 §3 stale-while-revalidate past its window",
   "", "Date: @0\nCache-Control: max-age=10, stale-while-revalidate=30", 41,
   Verdict::Revalidate},
  {"RFC 5861 §3 a fresh response is Fresh, not stale-while-revalidate",
   "", "Date: @0\nCache-Control: max-age=10, stale-while-revalidate=30", 5, Verdict::Fresh},
  {"RFC 5861 §3 + §5.2.2.2 must-revalidate forbids stale-while-revalidate",
   "", "Date: @0\nCache-Control: max-age=10, stale-while-revalidate=30, must-revalidate", 20,
   Verdict::Revalidate},
  {"RFC 5861 §3 + §5.2.1.4 request no-cache forbids stale-while-revalidate",
   "Cache-Control: no-cache", "Date: @0\nCache-Control: max-age=10, stale-while-revalidate=30",
   20, Verdict::Revalidate},
  {"RFC 5861 §3 + §5.2.1.7 only-if-cached may use stale-while-revalidate",
   "Cache-Control: only-if-cached",
   "Date: @0\nCache-Control: max-age=10, stale-while-revalidate=30", 20,
   Verdict::StaleWhileRevalidate},
  {"§5.2.1.2 max-stale is checked before stale-while-revalidate",
   "Cache-Control: max-stale=100",
   "Date: @0\nCache-Control: max-age=10, stale-while-revalidate=30", 20, Verdict::StaleAllowed},
};
// clang-format on

} // namespace

TEST_CASE("serving verdicts: (request, stored response, now) → verdict", "[cache]") {
  const Settings settings;
  for (const VerdictRow& row : VerdictRows) {
    SECTION(row.name) {
      const http::RequestHead req = request(row.request);
      const http::ResponseHead res = response(row.status, row.response);
      const Stored stored = storedResponse(res, T0, T0, Uri, settings);
      const Decision decision = decide(req, stored, at(row.now));
      INFO("lifetime " << stored.lifetime.count() << "s, age " << decision.age.count() << "s");
      CHECK(decision.verdict == row.verdict);
      CHECK(decision.requested == row.requested);
      CHECK(decision.ttl == stored.lifetime - decision.age);
    }
  }
}

TEST_CASE("#11 §5.1 Age field values → age_value", "[cache]") {
  struct Row {
    const char* name;
    const char* fields;
    std::optional<long long> age;
  };
  const Row rows[] = {
      {"no Age", "", std::nullopt},
      {"delta-seconds", "Age: 60", 60},
      {"zero", "Age: 0", 0},
      {"optional whitespace around it", "Age:  60 ", 60},
      {"leading zeros", "Age: 0060", 60},
      {"§1.2.2 2^31 - 1", "Age: 2147483647", 2147483647LL},
      {"§1.2.2 2^31", "Age: 2147483648", 2147483648LL},
      {"§1.2.2 past 2^31 reads as 2^31", "Age: 99999999999999999999", 2147483648LL},
      {"a list: its first member", "Age: 7200, 0", 7200},
      {"a list starting with 0", "Age: 0, 7200", 0},
      {"two lines: the first", "Age: 7200\nAge: 0", 7200},
      {"empty list members are not members (RFC 9110 §5.6.1)", "Age: , 30", 30},
      {"invalid: non-numeric", "Age: abc", std::nullopt},
      {"invalid: negative", "Age: -7200", std::nullopt},
      {"invalid: a fraction", "Age: 7200.0", std::nullopt},
      {"invalid: a unit suffix", "Age: 7200s", std::nullopt},
      {"invalid: a parameter", "Age: 7200;foo=bar", std::nullopt},
      {"invalid first member: ignored, not the next one", "Age: old, 30", std::nullopt},
      {"invalid first line: ignored, not the next one", "Age: x\nAge: 30", std::nullopt},
      {"empty", "Age: ", std::nullopt},
  };
  for (const Row& row : rows) {
    SECTION(row.name) {
      const auto age = parseAge(fields(row.fields));
      REQUIRE(age.has_value() == row.age.has_value());
      if (row.age)
        CHECK(age->count() == *row.age);
    }
  }
}

namespace {

struct TargetedRow {
  const char* name;
  std::vector<std::string> targeted; // cache.targeted_fields
  const char* response;
  long long now;
  StoreDecision decision;
  Verdict verdict; // were it stored
};

const std::vector<std::string> Cdn = {"CDN-Cache-Control"};

// clang-format off
const TargetedRow TargetedRows[] = {
  {"RFC 9213 §2.1 CDN-Cache-Control max-age gives freshness",
   Cdn, "Date: @0\nCDN-Cache-Control: max-age=3600", 10, StoreDecision::Store, Verdict::Fresh},
  {"RFC 9213 §2.1 it replaces a longer Cache-Control max-age",
   Cdn, "Date: @0\nCache-Control: max-age=3600\nCDN-Cache-Control: max-age=1", 10,
   StoreDecision::Store, Verdict::Revalidate},
  {"RFC 9213 §2.1 ...and a shorter one",
   Cdn, "Date: @0\nCache-Control: max-age=1\nCDN-Cache-Control: max-age=3600", 10,
   StoreDecision::Store, Verdict::Fresh},
  {"RFC 9213 §2.1 max-age=0 is stale despite a future Expires",
   Cdn, "Date: @0\nExpires: @+10000\nCDN-Cache-Control: max-age=0", 0,
   StoreDecision::Store, Verdict::Revalidate},
  {"RFC 9213 §2.1 Expires is ignored when a targeted field applies",
   Cdn, "Date: @0\nExpires: @+10000\nCDN-Cache-Control: must-revalidate", 10,
   StoreDecision::Store, Verdict::Revalidate},
  {"RFC 9213 §2.1 a past Expires does not shorten it",
   Cdn, "Date: @0\nExpires: @-10000\nCDN-Cache-Control: max-age=3600", 10,
   StoreDecision::Store, Verdict::Fresh},
  {"RFC 9213 §2.1 private in it is not stored, whatever Cache-Control says",
   Cdn, "Date: @0\nCache-Control: max-age=10000\nCDN-Cache-Control: private", 10,
   StoreDecision::Private, Verdict::Revalidate},
  {"RFC 9213 §2.1 no-store in it is not stored",
   Cdn, "Date: @0\nCache-Control: max-age=10000\nCDN-Cache-Control: no-store", 10,
   StoreDecision::ResponseNoStore, Verdict::Revalidate},
  {"RFC 9213 §2.1 no-cache in it is always revalidated",
   Cdn, "Date: @0\nCache-Control: max-age=10000\nCDN-Cache-Control: no-cache", 10,
   StoreDecision::Store, Verdict::Revalidate},
  {"RFC 9213 §2.1 it overrides Cache-Control: no-store",
   Cdn, "Date: @0\nCache-Control: no-store\nCDN-Cache-Control: max-age=10000", 10,
   StoreDecision::Store, Verdict::Fresh},
  {"RFC 9213 §2.1 must-revalidate in it: never served stale",
   Cdn, "Date: @0\nCDN-Cache-Control: max-age=1, must-revalidate", 5,
   StoreDecision::Store, Verdict::Revalidate},
  {"RFC 9213 §2.2 an extension directive is ignored",
   Cdn, "Date: @0\nCDN-Cache-Control: foobar, max-age=3600", 10, StoreDecision::Store,
   Verdict::Fresh},
  {"RFC 9213 §2.2 max-age past 2^31 counts as 2^31",
   Cdn, "Date: @0\nCDN-Cache-Control: max-age=99999999999", 10, StoreDecision::Store,
   Verdict::Fresh},
  {"RFC 9213 §2.2 an invalid structured field is ignored: Cache-Control applies",
   Cdn, "Date: @0\nCache-Control: no-store\nCDN-Cache-Control: max-age=10000, &&&&&", 10,
   StoreDecision::ResponseNoStore, Verdict::Revalidate},
  {"RFC 9213 §2.2 a directive of the wrong type makes the field invalid",
   Cdn, "Date: @0\nCache-Control: no-store\nCDN-Cache-Control: max-age=\"10000\"", 10,
   StoreDecision::ResponseNoStore, Verdict::Revalidate},
  {"RFC 9213 §2.2 a negative max-age makes the field invalid",
   Cdn, "Date: @0\nCache-Control: max-age=60\nCDN-Cache-Control: max-age=-1", 10,
   StoreDecision::Store, Verdict::Fresh},
  {"RFC 9213 §2.2 spaces around = are invalid",
   Cdn, "Date: @0\nCache-Control: max-age=1\nCDN-Cache-Control: max-age =100", 10,
   StoreDecision::Store, Verdict::Revalidate},
  {"RFC 9213 §2.1 an empty field is ignored",
   Cdn, "Date: @0\nCache-Control: max-age=60\nCDN-Cache-Control: ", 10,
   StoreDecision::Store, Verdict::Fresh},
  {"RFC 9213 §2.2 qualified private as a String removes only the field",
   Cdn, "Date: @0\nCDN-Cache-Control: private=\"X-User\", max-age=60", 10,
   StoreDecision::Store, Verdict::Fresh},
  {"RFC 9213 §2.1 the first listed field present wins",
   {"Acme-Cache-Control", "CDN-Cache-Control"},
   "Date: @0\nCDN-Cache-Control: max-age=1\nAcme-Cache-Control: max-age=3600", 10,
   StoreDecision::Store, Verdict::Fresh},
  {"RFC 9213 §2.1 a listed field absent: the next one",
   {"Acme-Cache-Control", "CDN-Cache-Control"}, "Date: @0\nCDN-Cache-Control: max-age=1", 10,
   StoreDecision::Store, Verdict::Revalidate},
  {"RFC 9213 §2.1 a listed field invalid: the next one",
   {"Acme-Cache-Control", "CDN-Cache-Control"},
   "Date: @0\nAcme-Cache-Control: max-age=1.5\nCDN-Cache-Control: max-age=3600", 10,
   StoreDecision::Store, Verdict::Fresh},
  {"RFC 9213 §2.1 a field not on the list changes nothing",
   Cdn, "Date: @0\nCache-Control: max-age=60\nAcme-Cache-Control: no-store", 10,
   StoreDecision::Store, Verdict::Fresh},
  {"#11 off by default: CDN-Cache-Control is only passed on",
   {}, "Date: @0\nCache-Control: max-age=60\nCDN-Cache-Control: no-store", 10,
   StoreDecision::Store, Verdict::Fresh},
};
// clang-format on

} // namespace

TEST_CASE("#11 RFC 9213 targeted fields replace Cache-Control and Expires", "[cache]") {
  for (const TargetedRow& row : TargetedRows) {
    SECTION(row.name) {
      Settings settings;
      settings.targeted_fields = row.targeted;
      const http::ResponseHead res = response(200, row.response);
      CHECK(storability(request(""), res, settings) == row.decision);
      const Stored stored = storedResponse(res, T0, T0, Uri, settings);
      CHECK(decide(request(""), stored, at(row.now)).verdict == row.verdict);
    }
  }
}

TEST_CASE("#11 RFC 9213 §2.2 qualified no-cache and private in a targeted field", "[cache]") {
  Settings settings;
  settings.targeted_fields = Cdn;
  http::Headers h = fields("CDN-Cache-Control: no-cache=\"X-A, x-b\", private=\"X-C\"\n"
                           "X-A: 1\nX-B: 2\nX-C: 3\nX-D: 4");
  const ResponseDirectives d = parseResponseDirectives(h, settings.targeted_fields);
  CHECK(d.targeted);
  CHECK_FALSE(d.no_cache);
  CHECK(d.no_cache_fields == std::vector<std::string>{"x-a", "x-b"});
  CHECK(d.private_fields == std::vector<std::string>{"x-c"});
  removeUnstorableFields(h, settings);
  CHECK(dump(h) == "CDN-Cache-Control: no-cache=\"X-A, x-b\", private=\"X-C\"\nX-D: 4\n");
}

TEST_CASE("§4.2.3 the decision reports current_age and ttl", "[cache]") {
  const http::ResponseHead res = response(200, "Date: @0\nAge: 5\nCache-Control: max-age=100");
  const Stored stored = storedResponse(res, at(-2), T0, Uri, Settings());
  CHECK(stored.lifetime == Seconds(100));
  CHECK(stored.initial_age == Seconds(7)); // its age on arrival, kept with the Entry
  const Decision decision = decide(request(""), stored, at(30));
  // corrected_age_value = 5 + 2; resident_time = 30.
  CHECK(decision.age == Seconds(37));
  CHECK(decision.ttl == Seconds(63));
  CHECK(decision.verdict == Verdict::Fresh);
}

namespace {

struct StoreRow {
  const char* name;
  const char* method;
  const char* request;
  int status;
  const char* response;
  StoreDecision decision;
  SetCookie set_cookie = SetCookie::Strip;
};

// clang-format off
const StoreRow StoreRows[] = {
  {"§3 a 200 to GET with max-age is stored", "GET", "", 200, "Cache-Control: max-age=60",
   StoreDecision::Store},
  {"§3 a 200 to GET without freshness is stored (heuristically cacheable)", "GET", "", 200, "",
   StoreDecision::Store},
  {"§3 HEAD is answered from a stored GET, never stored", "HEAD", "", 200,
   "Cache-Control: max-age=60", StoreDecision::Method},
  {"§3 POST responses are not stored", "POST", "", 200, "Cache-Control: max-age=60",
   StoreDecision::Method},
  {"§3 a 1xx is not final", "GET", "", 103, "Cache-Control: max-age=60", StoreDecision::Status},
  {"§3.3 a 206 is never stored", "GET", "", 206, "Cache-Control: max-age=60",
   StoreDecision::Status},
  {"§4.3.4 a 304 only updates, never stored", "GET", "", 304, "Cache-Control: max-age=60",
   StoreDecision::Status},
  {"§4.2.2 a 302 without explicit freshness is not stored", "GET", "", 302, "",
   StoreDecision::Status},
  {"§3 a 302 with max-age is stored", "GET", "", 302, "Cache-Control: max-age=60",
   StoreDecision::Store},
  {"§3 a 500 with Expires is stored", "GET", "", 500, "Date: @0\nExpires: @+60",
   StoreDecision::Store},
  {"§3 a 307 with s-maxage is stored", "GET", "", 307, "Cache-Control: s-maxage=60",
   StoreDecision::Store},
  {"§3 a 303 with public is stored", "GET", "", 303, "Cache-Control: public",
   StoreDecision::Store},
  {"§4.2.2 each heuristically cacheable status: 203", "GET", "", 203, "", StoreDecision::Store},
  {"§4.2.2 each heuristically cacheable status: 204", "GET", "", 204, "", StoreDecision::Store},
  {"§4.2.2 each heuristically cacheable status: 300", "GET", "", 300, "", StoreDecision::Store},
  {"§4.2.2 each heuristically cacheable status: 301", "GET", "", 301, "", StoreDecision::Store},
  {"§4.2.2 each heuristically cacheable status: 308", "GET", "", 308, "", StoreDecision::Store},
  {"§4.2.2 each heuristically cacheable status: 404", "GET", "", 404, "", StoreDecision::Store},
  {"§4.2.2 each heuristically cacheable status: 405", "GET", "", 405, "", StoreDecision::Store},
  {"§4.2.2 each heuristically cacheable status: 410", "GET", "", 410, "", StoreDecision::Store},
  {"§4.2.2 each heuristically cacheable status: 414", "GET", "", 414, "", StoreDecision::Store},
  {"§4.2.2 each heuristically cacheable status: 501", "GET", "", 501, "", StoreDecision::Store},
  {"§4.2.2 503 is not heuristically cacheable", "GET", "", 503, "", StoreDecision::Status},
  {"§5.2.2.5 response no-store", "GET", "", 200, "Cache-Control: max-age=60, no-store",
   StoreDecision::ResponseNoStore},
  {"§5.2.1.5 request no-store", "GET", "Cache-Control: no-store", 200,
   "Cache-Control: max-age=60", StoreDecision::RequestNoStore},
  {"§5.2.2.7 private is not stored by a shared cache", "GET", "", 200,
   "Cache-Control: private, max-age=60", StoreDecision::Private},
  {"§5.2.2.7 qualified private is stored without the named fields", "GET", "", 200,
   "Cache-Control: private=\"Set-Cookie\", max-age=60", StoreDecision::Store},
  {"§5.2.2.4 no-cache is stored (and always revalidated)", "GET", "", 200,
   "Cache-Control: no-cache", StoreDecision::Store},
  {"§3.5 Authorization without an explicit permission is not stored", "GET",
   "Authorization: Basic dTpw", 200, "Cache-Control: max-age=60", StoreDecision::Authorization},
  {"§3.5 Authorization with public is stored", "GET", "Authorization: Basic dTpw", 200,
   "Cache-Control: public, max-age=60", StoreDecision::Store},
  {"§3.5 Authorization with s-maxage is stored", "GET", "Authorization: Basic dTpw", 200,
   "Cache-Control: s-maxage=60", StoreDecision::Store},
  {"§3.5 Authorization with must-revalidate is stored", "GET", "Authorization: Basic dTpw", 200,
   "Cache-Control: must-revalidate, max-age=60", StoreDecision::Store},
  {"§4.1 Vary: * is never stored", "GET", "", 200, "Cache-Control: max-age=60\nVary: *",
   StoreDecision::VaryAny},
  {"§4.1 Vary: * among other fields is never stored", "GET", "", 200,
   "Cache-Control: max-age=60\nVary: Accept, *", StoreDecision::VaryAny},
  {"§4.1 Vary on a field is stored", "GET", "", 200,
   "Cache-Control: max-age=60\nVary: Accept-Encoding", StoreDecision::Store},
  {"§5.2.2.3 must-understand with a known status overrides no-store", "GET", "", 200,
   "Cache-Control: must-understand, no-store, max-age=60", StoreDecision::Store},
  {"§5.2.2.3 must-understand with an unknown status is not stored", "GET", "", 299,
   "Cache-Control: must-understand, no-store, max-age=60", StoreDecision::MustUnderstand},
  {"§3 Set-Cookie does not prevent storing", "GET", "", 200,
   "Cache-Control: max-age=60\nSet-Cookie: a=b", StoreDecision::Store},
  {"#11 set_cookie: strip stores a response that sets a cookie", "GET", "", 200,
   "Cache-Control: max-age=60\nSet-Cookie: a=b", StoreDecision::Store, SetCookie::Strip},
  {"#11 set_cookie: store stores a response that sets a cookie", "GET", "", 200,
   "Cache-Control: max-age=60\nSet-Cookie: a=b", StoreDecision::Store, SetCookie::Store},
  {"#11 set_cookie: refuse does not store Set-Cookie", "GET", "", 200,
   "Cache-Control: max-age=60\nSet-Cookie: a=b", StoreDecision::SetCookie, SetCookie::Refuse},
  {"#11 set_cookie: refuse does not store Set-Cookie2", "GET", "", 200,
   "Cache-Control: max-age=60\nset-cookie2: a=b", StoreDecision::SetCookie, SetCookie::Refuse},
  {"#11 set_cookie: refuse stores a response without a cookie", "GET", "", 200,
   "Cache-Control: max-age=60", StoreDecision::Store, SetCookie::Refuse},
  {"#11 set_cookie: refuse after the RFC reasons: no-store says no-store", "GET", "", 200,
   "Cache-Control: no-store\nSet-Cookie: a=b", StoreDecision::ResponseNoStore,
   SetCookie::Refuse},
};
// clang-format on

} // namespace

TEST_CASE("storability: (method, request, response) → store or why not", "[cache]") {
  for (const StoreRow& row : StoreRows) {
    SECTION(row.name) {
      Settings settings;
      settings.set_cookie = row.set_cookie;
      const http::RequestHead req = request(row.request, row.method);
      const http::ResponseHead res = response(row.status, row.response);
      CHECK(storability(req, res, settings) == row.decision);
      CHECK(isStorable(req, res, settings) == (row.decision == StoreDecision::Store));
    }
  }
}

TEST_CASE("storability reasons read as Cache-Status details", "[cache]") {
  CHECK(describe(StoreDecision::Store) == "stored");
  CHECK(describe(StoreDecision::RequestNoStore) == "no-store");
  CHECK(describe(StoreDecision::ResponseNoStore) == "no-store");
  CHECK(describe(StoreDecision::Private) == "private");
  CHECK(describe(StoreDecision::Authorization) == "authorization");
  CHECK(describe(StoreDecision::VaryAny) == "vary-star");
  CHECK(describe(StoreDecision::Method) == "method");
  CHECK(describe(StoreDecision::Status) == "status");
  CHECK(describe(StoreDecision::MustUnderstand) == "must-understand");
  CHECK(describe(StoreDecision::SetCookie) == "set-cookie");
  CHECK(describe(StoreDecision::TransferCoded) == "transfer-coded"); // #11
}

TEST_CASE("§5.2.2.4 §5.2.2.7 qualified no-cache and private fields are not stored", "[cache]") {
  const Settings settings = storeCookies();
  http::Headers h = fields("Cache-Control: max-age=60, no-cache=\"Set-Cookie, X-Token\"\n"
                           "Set-Cookie: a=1\n"
                           "Content-Type: text/plain\n"
                           "set-cookie: b=2\n"
                           "x-token: t\n"
                           "Cache-Control: private=\"X-User\"\n"
                           "X-User: alice");
  CHECK(removeUnstorableFields(h, settings) == 4);
  CHECK(dump(h) == "Cache-Control: max-age=60, no-cache=\"Set-Cookie, X-Token\"\n"
                   "Content-Type: text/plain\n"
                   "Cache-Control: private=\"X-User\"\n");

  http::Headers plain = fields("Cache-Control: max-age=60\nSet-Cookie: a=1");
  CHECK(removeUnstorableFields(plain, settings) == 0);
  CHECK(dump(plain) == "Cache-Control: max-age=60\nSet-Cookie: a=1\n");
}

TEST_CASE("#11 set_cookie decides whether cookie fields are stored with the response", "[cache]") {
  struct Row {
    const char* name;
    SetCookie set_cookie;
    const char* stored; // what is left to store
  };
  const char* received = "Cache-Control: max-age=60\n"
                         "Set-Cookie: sid=alice\n"
                         "Content-Type: text/plain\n"
                         "set-cookie2: old=1\n"
                         "X-Set-Cookie: kept";
  const Row rows[] = {
      {"strip (the default) removes Set-Cookie and Set-Cookie2", SetCookie::Strip,
       "Cache-Control: max-age=60\nContent-Type: text/plain\nX-Set-Cookie: kept\n"},
      {"store keeps them (RFC 9111 §3)", SetCookie::Store,
       "Cache-Control: max-age=60\nSet-Cookie: sid=alice\nContent-Type: text/plain\n"
       "set-cookie2: old=1\nX-Set-Cookie: kept\n"},
  };
  CHECK(Settings().set_cookie == SetCookie::Strip);
  for (const Row& row : rows) {
    SECTION(row.name) {
      Settings settings;
      settings.set_cookie = row.set_cookie;
      http::Headers h = fields(received);
      removeUnstorableFields(h, settings);
      CHECK(dump(h) == row.stored);
    }
  }
}

namespace {

struct LifetimeRow {
  const char* name;
  const char* uri;
  int status;
  const char* response;
  long long lifetime; // seconds
};

RefreshRule rule(const std::string& pattern, bool icase, Seconds min, unsigned percent,
                 Seconds max) {
  RefreshRule r;
  r.pattern = pattern;
  r.ignore_case = icase;
  RE2::Options options;
  options.set_case_sensitive(!icase);
  r.regex = std::make_shared<const RE2>(pattern, options);
  REQUIRE(r.regex->ok());
  r.min = min;
  r.percent = percent;
  r.max = max;
  return r;
}

Settings withRules() {
  Settings settings;
  settings.refresh_rules.push_back(rule("\\.deb$", false, 30 * 24h, 100, 365 * 24h));
  settings.refresh_rules.push_back(rule("/Packages(\\.xz)?$", true, 0s, 20, 0s));
  settings.refresh_rules.push_back(rule("^http://static\\.", false, 60s, 50, 3600s));
  return settings;
}

// clang-format off
const LifetimeRow LifetimeRows[] = {
  {"§4.2.1 s-maxage first", "http://x/a", 200, "Cache-Control: s-maxage=5, max-age=7", 5},
  {"§4.2.1 max-age next", "http://x/a", 200, "Cache-Control: max-age=7\nExpires: @+100", 7},
  {"§4.2.1 Expires minus Date", "http://x/a", 200, "Date: @+10\nExpires: @+100", 90},
  {"§5.3 an invalid Expires is 0", "http://x/a", 200, "Expires: never", 0},
  {"§1.2.2 delta-seconds past 2^31 count as 2^31", "http://x/a", 200,
   "Cache-Control: max-age=99999999999999999999", 2147483648LL},
  {"§4.2.1 Expires in year 9999 stays within 2^31 seconds", "http://x/a", 200,
   "Date: @0\nExpires: Fri, 31 Dec 9999 23:59:59 GMT", 2147483648LL},
  {"§4.2.2 refresh rule: percent of the Last-Modified age, clamped to min", "http://d/x.deb",
   200, "Date: @0\nLast-Modified: @-86400", 30 * 86400},
  {"§4.2.2 refresh rule: percent of the Last-Modified age between min and max",
   "http://d/x.deb", 200, "Date: @0\nLast-Modified: @-8640000", 8640000},
  {"§4.2.2 refresh rule: clamped to max", "http://d/x.deb", 200,
   "Date: @0\nLast-Modified: @-86400000", 365 * 86400},
  {"§4.2.2 refresh rule: min without Last-Modified", "http://d/x.deb", 200, "Date: @0",
   30 * 86400},
  {"§4.2.2 refresh rule never overrides explicit freshness", "http://d/x.deb", 200,
   "Date: @0\nCache-Control: max-age=5\nLast-Modified: @-86400", 5},
  {"§4.2.2 refresh rule with ignore_case and max 0", "http://d/dists/PACKAGES.XZ", 200,
   "Date: @0\nLast-Modified: @-86400", 0},
  {"§4.2.2 the first matching rule applies", "http://static.x/a.deb", 200, "Date: @0",
   30 * 86400},
  {"§4.2.2 a rule anchored at the start", "http://static.x/a.css", 200,
   "Date: @0\nLast-Modified: @-1000", 500},
  {"§4.2.2 no rule matches: the default heuristic", "http://x/a.debs", 200,
   "Date: @0\nLast-Modified: @-1000", 100},
  {"§4.2.2 no heuristic or rule for a status not heuristically cacheable", "http://d/x.deb",
   302, "Date: @0\nLast-Modified: @-86400", 0},
  {"§4.2.2 a Last-Modified after Date gives 0", "http://x/a", 200,
   "Date: @0\nLast-Modified: @+100", 0},
};
// clang-format on

} // namespace

TEST_CASE("freshness lifetime (§4.2.1, §4.2.2) with refresh rules", "[cache]") {
  const Settings settings = withRules();
  for (const LifetimeRow& row : LifetimeRows) {
    SECTION(row.name) {
      CHECK(freshnessLifetime(response(row.status, row.response), T0, row.uri, settings) ==
            Seconds(row.lifetime));
    }
  }
}

TEST_CASE("#9 a refresh rule pattern like (a+)+$ is matched in linear time on an 8 KiB URL",
          "[cache]") {
  // A client chooses the URL: 8 KiB of 'a' then 'b', the worst case for (a+)+$.
  const std::string uri = "http://x/" + std::string(8192, 'a') + "b";
  const auto lastModified = response(200, "Date: @0\nLast-Modified: @-1000");
  Settings settings;
  settings.refresh_rules.push_back(rule("(a+)+$", false, 60s, 100, 3600s));
  CHECK(freshnessLifetime(lastModified, T0, uri, settings) == 100s); // no match: 10% default
  settings.refresh_rules.push_back(rule("(a+)+b$", false, 60s, 100, 3600s));
  CHECK(freshnessLifetime(lastModified, T0, uri, settings) == 1000s); // the second rule
}

TEST_CASE("§4.2.2 heuristic percent and cap come from the settings", "[cache]") {
  Settings settings;
  settings.heuristic_percent = 50;
  settings.heuristic_max = 300s;
  CHECK(freshnessLifetime(response(200, "Date: @0\nLast-Modified: @-400"), T0, Uri, settings) ==
        200s);
  CHECK(freshnessLifetime(response(200, "Date: @0\nLast-Modified: @-4000"), T0, Uri, settings) ==
        300s);
  settings.heuristic_max = 0s;
  CHECK(freshnessLifetime(response(200, "Date: @0\nLast-Modified: @-4000"), T0, Uri, settings) ==
        0s);
}

TEST_CASE("§4.2.1 explicit freshness is max-age, s-maxage or Expires", "[cache]") {
  CHECK(hasExplicitFreshness(response(200, "Cache-Control: max-age=1"), {}));
  CHECK(hasExplicitFreshness(response(200, "Cache-Control: s-maxage=1"), {}));
  CHECK(hasExplicitFreshness(response(200, "Expires: 0"), {}));
  CHECK_FALSE(hasExplicitFreshness(response(200, "Cache-Control: public"), {}));
  CHECK_FALSE(hasExplicitFreshness(response(200, "Last-Modified: @-100"), {}));
}

namespace {

struct AgeRow {
  const char* name;
  const char* response;
  long long request_time, response_time, now; // seconds after T0
  AgeCalculation expected;
};

AgeCalculation ages(long long apparent, long long delay, long long corrected_value,
                    long long corrected_initial, long long resident, long long current) {
  return {Seconds(apparent),          Seconds(delay),    Seconds(corrected_value),
          Seconds(corrected_initial), Seconds(resident), Seconds(current)};
}

// clang-format off
const AgeRow AgeRows[] = {
  {"§4.2.3 a response straight from the origin", "Date: @0", 0, 0, 10, ages(0, 0, 0, 0, 10, 10)},
  {"§4.2.3 response_delay is added to the Age received", "Date: @0\nAge: 30", 0, 2, 10,
   ages(2, 2, 32, 32, 8, 40)},
  {"§4.2.3 apparent_age wins when the Date is older than Age says", "Date: @-100\nAge: 30", 0,
   0, 0, ages(100, 0, 30, 100, 0, 100)},
  {"§4.2.3 a Date in the future gives apparent_age 0", "Date: @+100", 0, 0, 5,
   ages(0, 0, 0, 0, 5, 5)},
  {"§4.2.3 without Date the response time stands in (RFC 9110 §6.6.1)", "Age: 7", -1, 0, 3,
   ages(0, 1, 8, 8, 3, 11)},
  {"§4.2.3 an invalid Age counts as 0", "Date: @0\nAge: -5", 0, 0, 3, ages(0, 0, 0, 0, 3, 3)},
  {"§4.2.3 a clock that went back gives resident_time 0", "Date: @0", 0, 0, -50,
   ages(0, 0, 0, 0, 0, 0)},
  {"§1.2.2 a huge Age counts as 2^31", "Date: @0\nAge: 9999999999999", 0, 0, 0,
   ages(0, 0, 2147483648LL, 2147483648LL, 0, 2147483648LL)},
};
// clang-format on

} // namespace

TEST_CASE("age calculation (§4.2.3), each step", "[cache]") {
  for (const AgeRow& row : AgeRows) {
    SECTION(row.name) {
      const AgeCalculation a = calculateAge(response(200, row.response), at(row.request_time),
                                            at(row.response_time), at(row.now));
      CHECK(a.apparent_age == row.expected.apparent_age);
      CHECK(a.response_delay == row.expected.response_delay);
      CHECK(a.corrected_age_value == row.expected.corrected_age_value);
      CHECK(a.corrected_initial_age == row.expected.corrected_initial_age);
      CHECK(a.resident_time == row.expected.resident_time);
      CHECK(a.current_age == row.expected.current_age);
    }
  }
}

TEST_CASE("§4.2.3 fractions of a second are floored", "[cache]") {
  const AgeCalculation a = calculateAge(response(200, "Date: @0"), T0, T0 + 900ms, T0 + 2500ms);
  CHECK(a.response_delay == Seconds(0));
  CHECK(a.resident_time == Seconds(2));
}

TEST_CASE("§5.1 the Age value to send", "[cache]") {
  CHECK(ageValue(Seconds(0)) == "0");
  CHECK(ageValue(Seconds(37)) == "37");
  CHECK(ageValue(Seconds(-3)) == "0");
  CHECK(ageValue(Seconds(5'000'000'000LL)) == "2147483648");
}

namespace {

struct StaleOnErrorRow {
  const char* name;
  const char* request;
  const char* response;
  long long now;
  bool allowed;
};

// clang-format off
const StaleOnErrorRow StaleOnErrorRows[] = {
  {"RFC 5861 §4 stale-if-error within its window", "",
   "Date: @0\nCache-Control: max-age=10, stale-if-error=60", 70, true},
  {"RFC 5861 §4 stale-if-error past its window", "",
   "Date: @0\nCache-Control: max-age=10, stale-if-error=60", 71, false},
  {"RFC 5861 §4 stale-if-error in the request", "Cache-Control: stale-if-error=100",
   "Date: @0\nCache-Control: max-age=10", 50, true},
  {"RFC 5861 §4 no stale-if-error: the error goes to the client", "",
   "Date: @0\nCache-Control: max-age=10", 11, false},
  {"§5.2.1.2 max-stale accepts a stale response on error too", "Cache-Control: max-stale=100",
   "Date: @0\nCache-Control: max-age=10", 50, true},
  {"§4.2.4 a response still fresh may be served when revalidation fails", "",
   "Date: @0\nCache-Control: max-age=100", 50, true},
  {"§5.2.2.2 must-revalidate: 504 rather than stale", "",
   "Date: @0\nCache-Control: max-age=10, stale-if-error=60, must-revalidate", 20, false},
  {"§5.2.2.8 proxy-revalidate: 504 rather than stale", "",
   "Date: @0\nCache-Control: max-age=10, stale-if-error=60, proxy-revalidate", 20, false},
  {"§5.2.2.10 s-maxage: 504 rather than stale", "",
   "Date: @0\nCache-Control: s-maxage=10, stale-if-error=60", 20, false},
  {"§5.2.2.4 response no-cache: never without validation", "",
   "Date: @0\nCache-Control: max-age=100, no-cache, stale-if-error=60", 20, false},
  {"§5.2.1.4 request no-cache: never without validation", "Cache-Control: no-cache",
   "Date: @0\nCache-Control: max-age=100, stale-if-error=60", 20, false},
};
// clang-format on

} // namespace

TEST_CASE("stale-if-error (RFC 5861 §4) and its limits (§4.2.4)", "[cache]") {
  const Settings settings;
  for (const StaleOnErrorRow& row : StaleOnErrorRows) {
    SECTION(row.name) {
      const http::ResponseHead res = response(200, row.response);
      const Stored stored = storedResponse(res, T0, T0, Uri, settings);
      CHECK(mayServeStaleOnError(request(row.request), stored, at(row.now)) == row.allowed);
    }
  }
}

TEST_CASE("methods and statuses", "[cache]") {
  CHECK(isCacheableMethod("GET"));
  CHECK(isCacheableMethod("HEAD"));
  CHECK_FALSE(isCacheableMethod("get")); // methods are case-sensitive (RFC 9110 §9.1)
  CHECK_FALSE(isCacheableMethod("POST"));
  CHECK(isSafeMethod("OPTIONS"));
  CHECK(isSafeMethod("TRACE"));
  CHECK_FALSE(isSafeMethod("PATCH"));
  CHECK_FALSE(isSafeMethod("PROPFIND")); // §4.4: unknown safety counts as unsafe
  CHECK(isOriginError(500));
  CHECK(isOriginError(502));
  CHECK(isOriginError(503));
  CHECK(isOriginError(504));
  CHECK_FALSE(isOriginError(501));
  CHECK_FALSE(isOriginError(404));
  CHECK(isHeuristicallyCacheable(206));
  CHECK_FALSE(isHeuristicallyCacheable(302));
  CHECK(isOnlyIfCached(request("Cache-Control: max-age=0, only-if-cached")));
  CHECK_FALSE(isOnlyIfCached(request("Cache-Control: no-cache")));
}

TEST_CASE("§5.2 request and response directives are read as written", "[cache]") {
  const RequestDirectives r =
      parseRequestDirectives(fields("Cache-Control: max-stale, min-fresh=5\n"
                                    "Cache-Control: stale-if-error=9, no-store, only-if-cached"));
  CHECK(r.max_stale == MaxDeltaSeconds);
  CHECK(r.min_fresh == Seconds(5));
  CHECK(r.stale_if_error == Seconds(9));
  CHECK(r.no_store);
  CHECK(r.only_if_cached);
  CHECK_FALSE(r.no_cache);
  CHECK_FALSE(r.max_age);

  const ResponseDirectives d = parseResponseDirectives(
      fields("Cache-Control: public, immutable, must-understand, no-cache=\"A, b\", "
             "private=X-C, stale-while-revalidate=3\nPragma: no-cache"),
      {});
  CHECK(d.is_public);
  CHECK(d.immutable);
  CHECK(d.must_understand);
  CHECK_FALSE(d.no_cache);   // qualified only
  CHECK_FALSE(d.is_private); // qualified only (token form accepted)
  CHECK(d.no_cache_fields == std::vector<std::string>{"a", "b"});
  CHECK(d.private_fields == std::vector<std::string>{"x-c"});
  CHECK(d.stale_while_revalidate == Seconds(3));
  CHECK_FALSE(d.max_age);

  // §5.2.2.4: an empty qualified list reads as the unqualified directive.
  CHECK(parseResponseDirectives(fields("Cache-Control: no-cache=\"\""), {}).no_cache);
  // §5.4: Pragma means nothing in a response.
  CHECK_FALSE(parseResponseDirectives(fields("Pragma: no-cache"), {}).no_cache);
}
