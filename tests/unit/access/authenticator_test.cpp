// Basic credentials: parsing, verification with crypt_r, the credentials cache (a hit costs
// no hash), the lockout per client address, and an account changed by a reload.
#include "ferry/access/authenticator.h"

#include "ferry/core/counters.h"

#include <catch2/catch.hpp>

using namespace ferry::access;
using ferry::core::Counter;
using Outcome = Authenticator::Outcome;

namespace {

// alice:wonder (bcrypt), bob:builder (sha512-crypt)
constexpr const char* AliceHash = "$2b$05$9htJACe2nxmaQqBeygi/DeSHYcszHzMvvE74HaFgwYLM/4OCXzlWu";
constexpr const char* BobHash =
    "$6$u0yDXvRXVqB0RmDc$XHD2K24VYJ9n51z7T3ZbazkopTK1MbsRS8Z5BVxFoXv0Yp/"
    "o42tbH5Z7sOjojJTeEHk3KDXSrYds2DbVrhS.D0";
constexpr const char* AliceWonder = "Basic YWxpY2U6d29uZGVy"; // alice:wonder
constexpr const char* AliceWrong = "Basic YWxpY2U6d3Jvbmc=";  // alice:wrong
constexpr const char* BobBuilder = "Basic Ym9iOmJ1aWxkZXI=";  // bob:builder
constexpr const char* CarolWonder = "Basic Y2Fyb2w6d29uZGVy"; // carol:wonder

BasicAuth settings() {
  BasicAuth basic;
  basic.file = "htpasswd";
  basic.accounts = {{"alice", AliceHash}, {"bob", BobHash}};
  basic.credentials_ttl = std::chrono::seconds(60);
  basic.max_failures = 3;
  basic.lockout = std::chrono::seconds(30);
  return basic;
}

std::uint64_t counter(Counter which) {
  for (const auto& value : ferry::core::snapshotCounters())
    if (value.name == ferry::core::name(which))
      return value.value;
  return 0;
}

const ferry::net::Address Client = *ferry::net::Address::parse("192.0.2.10:5000");
const ferry::net::Address Other = *ferry::net::Address::parse("192.0.2.11:5000");

} // namespace

TEST_CASE("#14 Basic credentials are parsed as RFC 7617 says", "[access]") {
  auto alice = parseBasic("Basic YWxpY2U6d29uZGVy");
  REQUIRE(alice);
  CHECK(alice->user == "alice");
  CHECK(alice->password == "wonder");
  auto colon = parseBasic("basic   dTpwOnc6"); // u:p:w: — the password keeps its colons
  REQUIRE(colon);
  CHECK(colon->user == "u");
  CHECK(colon->password == "p:w:");
  CHECK(parseBasic("Basic dTo=")->password.empty());
  CHECK_FALSE(parseBasic("Bearer YWxpY2U6d29uZGVy"));
  CHECK_FALSE(parseBasic("Basic"));
  CHECK_FALSE(parseBasic("Basic YWxpY2U"));          // not a multiple of 4
  CHECK_FALSE(parseBasic("Basic YWxp*2U6d29uZGVy")); // not base64
  CHECK_FALSE(parseBasic("Basic YWxpY2U="));         // "alice": no colon
  CHECK_FALSE(parseBasic("Basic OnB3"));             // ":pw": no user
  CHECK(basicChallenge("ferry") == "Basic realm=\"ferry\", charset=\"UTF-8\"");
}

TEST_CASE("#14 a verified password is cached; a wrong one is not", "[access]") {
  Authenticator auth;
  const BasicAuth basic = settings();
  const auto now = Authenticator::Clock::time_point(std::chrono::hours(1));
  const auto checks = counter(Counter::AuthPasswordChecks);
  const auto hits = counter(Counter::AuthCacheHits);

  auto first = auth.check(basic, AliceWonder, Client, now);
  CHECK(first.outcome == Outcome::Verified);
  CHECK(first.user == "alice");
  CHECK(counter(Counter::AuthPasswordChecks) == checks + 1);
  // Within the TTL, from any address: no second hash.
  CHECK(auth.check(basic, AliceWonder, Other, now + std::chrono::seconds(59)).outcome ==
        Outcome::Verified);
  CHECK(counter(Counter::AuthPasswordChecks) == checks + 1);
  CHECK(counter(Counter::AuthCacheHits) == hits + 1);
  // Past it, hashed again.
  CHECK(auth.check(basic, AliceWonder, Client, now + std::chrono::seconds(61)).outcome ==
        Outcome::Verified);
  CHECK(counter(Counter::AuthPasswordChecks) == checks + 2);

  CHECK(auth.check(basic, BobBuilder, Client, now).user == "bob");
  const auto failures = counter(Counter::AuthFailures);
  CHECK(auth.check(basic, AliceWrong, Other, now).outcome == Outcome::Wrong);
  CHECK(auth.check(basic, CarolWonder, Other, now).outcome == Outcome::Wrong); // no such user
  CHECK(auth.check(basic, "Bearer x", Other, now).outcome == Outcome::Wrong);
  CHECK(counter(Counter::AuthFailures) == failures + 3);
}

TEST_CASE("#14 after max_failures an address is answered unchecked until the lockout ends",
          "[access]") {
  Authenticator auth;
  const BasicAuth basic = settings();
  const auto now = Authenticator::Clock::time_point(std::chrono::hours(1));
  for (int i = 0; i < 3; ++i)
    CHECK(auth.check(basic, AliceWrong, Client, now).outcome == Outcome::Wrong);
  const auto checks = counter(Counter::AuthPasswordChecks);
  const auto throttled = counter(Counter::AuthThrottled);
  // Locked out: even the right password is not hashed.
  CHECK(auth.check(basic, AliceWonder, Client, now + std::chrono::seconds(1)).outcome ==
        Outcome::Throttled);
  CHECK(auth.check(basic, AliceWrong, Client, now + std::chrono::seconds(29)).outcome ==
        Outcome::Throttled);
  CHECK(counter(Counter::AuthPasswordChecks) == checks);
  CHECK(counter(Counter::AuthThrottled) == throttled + 2);
  // Another address is not.
  CHECK(auth.check(basic, AliceWonder, Other, now).outcome == Outcome::Verified);
  // A password verified before stays usable from the locked address (cache hit, no hash).
  CHECK(auth.check(basic, AliceWonder, Client, now + std::chrono::seconds(2)).outcome ==
        Outcome::Verified);
  // The lockout ends.
  CHECK(auth.check(basic, BobBuilder, Client, now + std::chrono::seconds(31)).outcome ==
        Outcome::Verified);
}

TEST_CASE("#14 a changed or removed account stops matching the cache at once", "[access]") {
  Authenticator auth;
  BasicAuth basic = settings();
  const auto now = Authenticator::Clock::time_point(std::chrono::hours(1));
  REQUIRE(auth.check(basic, AliceWonder, Client, now).outcome == Outcome::Verified);
  BasicAuth changed = basic;
  changed.accounts["alice"] = BobHash; // alice's password is now "builder"
  CHECK(auth.check(changed, AliceWonder, Client, now).outcome == Outcome::Wrong);
  BasicAuth removed = basic;
  removed.accounts.erase("alice");
  CHECK(auth.check(removed, AliceWonder, Other, now).outcome == Outcome::Wrong);
}
