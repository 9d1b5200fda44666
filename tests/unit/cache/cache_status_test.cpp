// Cache-Status (RFC 9211) values and Squid result codes, from one table of outcomes.
#include "ferry/cache/cache_status.h"

#include <catch2/catch.hpp>

#include <set>

using namespace ferry::cache;
using namespace std::chrono_literals;

namespace {

struct StatusRow {
  const char* name;
  CacheStatus status;
  const char* value;
  const char* squid;
};

// clang-format off
const StatusRow StatusRows[] = {
  {"RFC 9211 §2.1 hit from memory", {Outcome::MemoryHit, {}, false, 40s, ""},
   "ferry; hit; ttl=40", "TCP_MEM_HIT"},
  {"RFC 9211 §2.1 hit from disk", {Outcome::Hit, {}, false, {}, ""}, "ferry; hit", "TCP_HIT"},
  {"RFC 9211 §2.1 the client's conditional answered from the cache",
   {Outcome::NotModifiedHit, {}, false, {}, ""}, "ferry; hit", "TCP_IMS_HIT"},
  {"RFC 9211 §2.1 stale within max-stale has a negative ttl",
   {Outcome::StaleHit, {}, false, -5s, ""}, "ferry; hit; ttl=-5", "TCP_STALE_HIT"},
  {"RFC 5861 §3 stale-while-revalidate", {Outcome::StaleWhileRevalidate, {}, false, -3s, ""},
   "ferry; hit; ttl=-3; detail=stale-while-revalidate", "TCP_STALE_HIT"},
  {"RFC 9211 §2.2 miss, stored", {Outcome::Miss, 200, true, 60s, ""},
   "ferry; fwd=miss; fwd-status=200; stored; ttl=60", "TCP_MISS"},
  {"RFC 9211 §2.2 uri-miss", {Outcome::UriMiss, 200, true, {}, ""},
   "ferry; fwd=uri-miss; fwd-status=200; stored", "TCP_MISS"},
  {"RFC 9211 §2.2 vary-miss", {Outcome::VaryMiss, 200, false, {}, ""},
   "ferry; fwd=vary-miss; fwd-status=200", "TCP_MISS"},
  {"RFC 9211 §2.2 not stored, with the reason", {Outcome::UriMiss, 200, false, {}, "no-store"},
   "ferry; fwd=uri-miss; fwd-status=200; detail=no-store", "TCP_MISS"},
  {"RFC 9211 §2.2 the request asked to revalidate", {Outcome::ClientRefresh, 304, false, {}, ""},
   "ferry; fwd=request; fwd-status=304", "TCP_CLIENT_REFRESH_MISS"},
  {"RFC 9211 §2.2 bypass for a method not cached", {Outcome::Bypass, 201, false, {}, ""},
   "ferry; fwd=bypass; fwd-status=201", "TCP_MISS"},
  {"RFC 9211 §2.2 stale, revalidated: 304", {Outcome::RefreshUnmodified, 304, false, 60s, ""},
   "ferry; fwd=stale; fwd-status=304; ttl=60", "TCP_REFRESH_UNMODIFIED"},
  {"RFC 9211 §2.2 stale, a new response", {Outcome::RefreshModified, 200, true, {}, ""},
   "ferry; fwd=stale; fwd-status=200; stored", "TCP_REFRESH_MODIFIED"},
  {"RFC 5861 §4 stale-if-error", {Outcome::StaleIfError, 503, false, -10s, ""},
   "ferry; fwd=stale; fwd-status=503; ttl=-10; detail=stale-if-error", "TCP_REFRESH_FAIL_OLD"},
  {"RFC 9211 §2.2 stale, revalidation failed", {Outcome::RefreshFailed, 502, false, {}, ""},
   "ferry; fwd=stale; fwd-status=502", "TCP_REFRESH_FAIL_ERR"},
  {"RFC 9211 §2.2 stored but unreadable", {Outcome::SwapFail, 200, true, {}, ""},
   "ferry; fwd=miss; fwd-status=200; stored; detail=swapfail", "TCP_SWAPFAIL_MISS"},
  {"RFC 9111 §5.2.1.7 only-if-cached miss", {Outcome::OnlyIfCached, {}, false, {}, ""},
   "ferry; detail=only-if-cached", "TCP_MISS"},
  {"denied", {Outcome::Denied, {}, false, {}, ""}, "ferry; detail=denied", "TCP_DENIED"},
  {"CONNECT tunnel", {Outcome::Tunnel, {}, false, {}, ""}, "ferry; fwd=bypass", "TCP_TUNNEL"},
  {"error answered by ferry", {Outcome::Error, {}, false, {}, ""}, "ferry; detail=error",
   "NONE"},
  {"RFC 8941 §3.3.3 a detail that is not a token is a string",
   {Outcome::Miss, {}, false, {}, "too \"big\" 1"}, "ferry; fwd=miss; detail=\"too \\\"big\\\" 1\"",
   "TCP_MISS"},
};
// clang-format on

} // namespace

TEST_CASE("Cache-Status values and Squid codes (RFC 9211)", "[cache]") {
  for (const StatusRow& row : StatusRows) {
    SECTION(row.name) {
      CHECK(cacheStatusValue("ferry", row.status) == row.value);
      CHECK(squidCode(row.status.outcome) == row.squid);
    }
  }
}

TEST_CASE("RFC 9211 the cache name comes first", "[cache]") {
  CHECK(cacheStatusValue("cache-7.example", {Outcome::MemoryHit, {}, false, {}, ""}) ==
        "cache-7.example; hit");
}

TEST_CASE("every outcome has a Squid code", "[cache]") {
  for (int i = 0; i <= static_cast<int>(Outcome::Error); ++i) {
    INFO(i);
    CHECK_FALSE(squidCode(static_cast<Outcome>(i)).empty());
  }
}

TEST_CASE("#14 each outcome counts under the class its Cache-Status value names", "[cache]") {
  using ferry::core::Counter;
  const std::pair<Outcome, Counter> rows[] = {
      {Outcome::Hit, Counter::CacheStatusHit},
      {Outcome::MemoryHit, Counter::CacheStatusHit},
      {Outcome::NotModifiedHit, Counter::CacheStatusHit},
      {Outcome::StaleHit, Counter::CacheStatusHit},
      {Outcome::StaleWhileRevalidate, Counter::CacheStatusHit},
      {Outcome::Miss, Counter::CacheStatusMiss},
      {Outcome::UriMiss, Counter::CacheStatusMiss},
      {Outcome::VaryMiss, Counter::CacheStatusMiss},
      {Outcome::ClientRefresh, Counter::CacheStatusMiss},
      {Outcome::RefreshUnmodified, Counter::CacheStatusRevalidated},
      {Outcome::RefreshModified, Counter::CacheStatusRevalidated},
      {Outcome::StaleIfError, Counter::CacheStatusRevalidated},
      {Outcome::RefreshFailed, Counter::CacheStatusRevalidated},
      {Outcome::SwapFail, Counter::CacheStatusMiss},
      {Outcome::Bypass, Counter::CacheStatusBypass},
      {Outcome::OnlyIfCached, Counter::CacheStatusNone},
      {Outcome::Denied, Counter::CacheStatusNone},
      {Outcome::Tunnel, Counter::CacheStatusBypass},
      {Outcome::Error, Counter::CacheStatusNone},
  };
  CHECK(std::size(rows) == static_cast<std::size_t>(Outcome::Error) + 1);
  for (const auto& [outcome, counter] : rows) {
    INFO(squidCode(outcome));
    CHECK(statusCounter(outcome) == counter);
  }
}
