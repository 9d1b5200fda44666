// Process-wide counters: the one table of counters (name, help), plus one `closes_<name>`
// counter per CloseReason. Each thread increments its own block of slots (no shared cache
// line, no locked instruction); snapshotCounters() sums every block, including those of
// threads that have exited. Counters only ever grow; gauges.h has the values that go down,
// histograms.h the latencies.
#pragma once

#include "ferry/core/close_reason.h"
#include "ferry/core/thread_slots.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// X(enumerator, name, help). Names are snake_case, unique, exported as ferry_<name>.
#define FERRY_COUNTERS(X)                                                                          \
  X(ClientConnectionsAccepted, "client_connections_accepted", "client connections accepted")       \
  X(ClientConnectionsRefused, "client_connections_refused",                                        \
    "client connections closed unserved at limits.client_connections")                             \
  X(AcceptPauses, "accept_pauses",                                                                 \
    "pauses in accepting after accept() failed (out of file descriptors or memory)")               \
  X(RequestsTotal, "requests_total", "requests received from clients, CONNECT included")           \
  X(Responses1xx, "responses_1xx", "interim 1xx responses sent to clients")                        \
  X(Responses2xx, "responses_2xx", "responses with a 2xx status sent to clients")                  \
  X(Responses3xx, "responses_3xx", "responses with a 3xx status sent to clients")                  \
  X(Responses4xx, "responses_4xx", "responses with a 4xx status sent to clients")                  \
  X(Responses5xx, "responses_5xx", "responses with a 5xx status sent to clients")                  \
  X(OriginConnectionsOpened, "origin_connections_opened", "TCP connections opened to origins")     \
  X(OriginConnectionsReused, "origin_connections_reused",                                          \
    "requests sent on a pooled origin connection")                                                 \
  X(OriginConnectionsUnclean, "origin_connections_unclean",                                        \
    "origin connections closed, not reused: bytes after a response, or data or EOF when taken")    \
  X(OriginRetries, "origin_retries",                                                               \
    "idempotent requests retried on a fresh origin connection after a dead pooled one")            \
  X(OriginBytesIn, "origin_bytes_in", "bytes received from origins")                               \
  X(OriginBytesOut, "origin_bytes_out", "bytes sent to origins")                                   \
  X(ClientBytesIn, "client_bytes_in", "bytes received from clients")                               \
  X(ClientBytesOut, "client_bytes_out", "bytes sent to clients")                                   \
  X(TunnelsOpened, "tunnels_opened", "CONNECT tunnels established")                                \
  X(TunnelsSpliced, "tunnels_spliced",                                                             \
    "tunnels (CONNECT and Upgrade) relayed in the kernel with splice(2)")                          \
  X(BodiesSpliced, "bodies_spliced",                                                               \
    "response bodies not stored, relayed in the kernel with splice(2)")                            \
  X(DestinationsDenied, "destinations_denied",                                                     \
    "requests refused for where they go: access.http_ports, connect_ports, deny_destinations, "    \
    "or ferry itself")                                                                             \
  X(AccessDenied, "access_denied", "requests denied by an access rule (access.rules)")             \
  X(AuthChallenges, "auth_challenges",                                                             \
    "407 answers: credentials missing where needed, wrong, or from a locked-out address")          \
  X(AuthFailures, "auth_failures",                                                                 \
    "proxy credentials refused: unknown user, wrong password or not Basic")                        \
  X(AuthThrottled, "auth_throttled",                                                               \
    "407 answers given unchecked to a client address locked out after auth failures")              \
  X(AuthPasswordChecks, "auth_password_checks",                                                    \
    "passwords hashed to check them (credentials cache misses)")                                   \
  X(AuthCacheHits, "auth_cache_hits", "proxy credentials accepted from the credentials cache")     \
  X(CacheHits, "cache_hits", "requests answered from the cache")                                   \
  X(CacheMisses, "cache_misses", "cacheable requests forwarded to the origin")                     \
  X(CacheStatusHit, "cache_status_hit", "exchanges whose Cache-Status says hit (fresh or stale)")  \
  X(CacheStatusRevalidated, "cache_status_revalidated",                                            \
    "exchanges whose Cache-Status says fwd=stale (revalidated with the origin)")                   \
  X(CacheStatusMiss, "cache_status_miss",                                                          \
    "exchanges whose Cache-Status says fwd=miss, uri-miss, vary-miss or request")                  \
  X(CacheStatusBypass, "cache_status_bypass",                                                      \
    "exchanges the cache took no part in (fwd=bypass: methods not cached, tunnels)")               \
  X(CacheStatusNone, "cache_status_none",                                                          \
    "exchanges ferry answered itself: errors, refusals, only-if-cached")                           \
  X(CacheFillsContinued, "cache_fills_continued",                                                  \
    "responses whose client left mid-body, fetched on for the other clients streaming them")       \
  X(CacheFillsStopped, "cache_fills_stopped",                                                      \
    "responses not stored because their client left and no other client streamed them")            \
  X(CacheDiskHits, "cache_disk_hits", "stored responses read back from the disk tier")             \
  X(CacheDiskWrites, "cache_disk_writes", "stored responses written to the disk tier")             \
  X(CacheDiskWritesSkipped, "cache_disk_writes_skipped",                                           \
    "stored responses not written to the disk tier because its write queue was full")              \
  X(CacheDiskEvictions, "cache_disk_evictions",                                                    \
    "responses evicted from the disk tier to stay within cache.disk.size")                         \
  X(CacheDiskErrors, "cache_disk_errors",                                                          \
    "disk tier reads or writes that failed (disk full, I/O error, a damaged or missing body)")     \
  X(AccessLogDropped, "access_log_dropped",                                                        \
    "access log lines dropped because the queue was full or the write failed")

namespace ferry::core {

// Every counter: the table above, then closes_<name> for each CloseReason in its order.
enum class Counter {
#define FERRY_X(e, n, h) e,
#define FERRY_X_CLOSE(e, n, d) Closes##e,
  FERRY_COUNTERS(FERRY_X) FERRY_CLOSE_REASONS(FERRY_X_CLOSE)
#undef FERRY_X_CLOSE
#undef FERRY_X
};

inline constexpr std::size_t kCounterCount = 0
#define FERRY_X(e, n, h) +1
                                             FERRY_COUNTERS(FERRY_X)
#undef FERRY_X
                                             + kCloseReasonCount;

namespace detail {
inline constexpr std::array<std::string_view, kCounterCount> kCounterNames{
#define FERRY_X(e, n, h) n,
#define FERRY_X_CLOSE(e, n, d) "closes_" n,
    FERRY_COUNTERS(FERRY_X) FERRY_CLOSE_REASONS(FERRY_X_CLOSE)
#undef FERRY_X_CLOSE
#undef FERRY_X
};
inline constexpr std::array<std::string_view, kCounterCount> kCounterHelps{
#define FERRY_X(e, n, h) h,
#define FERRY_X_CLOSE(e, n, d) "connections closed: " d,
    FERRY_COUNTERS(FERRY_X) FERRY_CLOSE_REASONS(FERRY_X_CLOSE)
#undef FERRY_X_CLOSE
#undef FERRY_X
};

struct CounterTag;
using CounterSlots = ThreadSlots<CounterTag, kCounterCount>;
} // namespace detail

constexpr std::size_t index(Counter counter) noexcept {
  return static_cast<std::size_t>(counter);
}

// snake_case name without the ferry_ prefix, and the one-line help. Static storage.
constexpr std::string_view name(Counter counter) noexcept {
  return detail::kCounterNames[index(counter)];
}
constexpr std::string_view help(Counter counter) noexcept {
  return detail::kCounterHelps[index(counter)];
}

constexpr Counter closeCounter(CloseReason reason) noexcept {
  return static_cast<Counter>(kCounterCount - kCloseReasonCount + index(reason));
}

// Adds n to a counter. Any thread; wait-free, touches only the calling thread's block.
inline void count(Counter counter, std::uint64_t n = 1) noexcept {
  detail::CounterSlots::add(index(counter), n);
}

// Counts one connection closed for `reason` (closes_<name>).
inline void countClose(CloseReason reason) noexcept {
  count(closeCounter(reason));
}

struct CounterValue {
  std::string_view name; // static storage, without the ferry_ prefix
  std::string_view help; // static storage
  std::uint64_t value = 0;
};

// Sums of every counter over all threads, live or exited, in table order. Any thread;
// takes a mutex shared with thread start and exit, never with count().
std::vector<CounterValue> snapshotCounters();

// Prometheus text exposition format 0.0.4: HELP, TYPE counter and a sample per counter,
// each name prefixed with ferry_. Pure.
std::string renderPrometheus(const std::vector<CounterValue>& values);

} // namespace ferry::core
