// What the cache did for one exchange, as one enum mapped to the Cache-Status field value
// (RFC 9211) and to Squid's access-log result code. One table in cache_status.cpp holds both
// spellings. Formatting only: deciding the outcome is the proxy's.
#pragma once

#include "ferry/core/counters.h"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::cache {

// Each outcome's Cache-Status parameters and Squid code are in the comment beside it.
enum class Outcome {
  Hit,                  // hit · TCP_HIT: fresh, from a disk store
  MemoryHit,            // hit · TCP_MEM_HIT: fresh, from the memory store
  NotModifiedHit,       // hit · TCP_IMS_HIT: the client's conditional answered with a 304
  StaleHit,             // hit · TCP_STALE_HIT: stale, within the request's max-stale
  StaleWhileRevalidate, // hit; detail=stale-while-revalidate · TCP_STALE_HIT
  Miss,                 // fwd=miss · TCP_MISS: not found, reason unspecified
  UriMiss,              // fwd=uri-miss · TCP_MISS: nothing stored for the URI
  VaryMiss,             // fwd=vary-miss · TCP_MISS: stored, but for other Vary values
  ClientRefresh,        // fwd=request · TCP_CLIENT_REFRESH_MISS: the request's no-cache etc.
  RefreshUnmodified,    // fwd=stale · TCP_REFRESH_UNMODIFIED: revalidated, origin said 304
  RefreshModified,      // fwd=stale · TCP_REFRESH_MODIFIED: revalidated, a new response came
  StaleIfError,         // fwd=stale; detail=stale-if-error · TCP_REFRESH_FAIL_OLD
  RefreshFailed,        // fwd=stale · TCP_REFRESH_FAIL_ERR: revalidation failed, error sent
  SwapFail,             // fwd=miss; detail=swapfail · TCP_SWAPFAIL_MISS: unreadable, refetched
  Bypass,               // fwd=bypass · TCP_MISS: method not cacheable (POST...)
  OnlyIfCached,         // detail=only-if-cached · TCP_MISS: nothing usable, 504 sent
  Denied,               // detail=denied · TCP_DENIED: client not allowed, 403 sent
  Tunnel,               // fwd=bypass · TCP_TUNNEL: CONNECT
  Error,                // detail=error · NONE: ferry answered an error itself
};

// Parameters of one Cache-Status entry beyond the outcome.
struct CacheStatus {
  Outcome outcome = Outcome::Miss;
  std::optional<int> fwd_status;           // fwd-status: the origin's status
  bool stored = false;                     // stored: the response was stored
  std::optional<std::chrono::seconds> ttl; // ttl: remaining freshness, negative if stale
  std::string_view detail; // replaces the outcome's own detail, e.g. a storability reason like
                           // "no-store"; a token, else sent as a quoted string
};

// The Cache-Status field value, e.g. "ferry; fwd=stale; fwd-status=304; ttl=60". `cache` is the
// cache's name (the Via pseudonym), a token.
std::string cacheStatusValue(std::string_view cache, const CacheStatus& status);

// Squid's result code for the access log, e.g. "TCP_MEM_HIT".
std::string_view squidCode(Outcome outcome) noexcept;

// The cache_status_* counter of the outcome's class: hit, revalidated (fwd=stale), miss,
// bypass, or none (ferry answered itself).
core::Counter statusCounter(Outcome outcome) noexcept;

} // namespace ferry::cache
