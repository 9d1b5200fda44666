// Why a connection ended: the one table of close reasons. The close path records a reason,
// counters.h gives each one a `closes_<name>` counter, /metrics and the access log read it.
// Adding a reason is adding one row below; nothing else lists them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

// X(enumerator, counter name, description). Names are snake_case and unique; descriptions
// are one line, lower case, no final full stop.
#define FERRY_CLOSE_REASONS(X)                                                                     \
  X(ClientEof, "client_eof", "client closed the connection")                                       \
  X(ClientReset, "client_reset", "client connection reset or failed with a socket error")          \
  X(ClientHeaderTimeout, "client_header_timeout",                                                  \
    "request head not complete within timeouts.client_header")                                     \
  X(ClientIdleTimeout, "client_idle_timeout", "no new request within timeouts.client_idle")        \
  X(ClientBodyTimeout, "client_body_timeout",                                                      \
    "request body upload stalled for timeouts.client_idle")                                        \
  X(ClientRequestError, "client_request_error",                                                    \
    "malformed or oversized request answered with 4xx")                                            \
  X(ClientNotAllowed, "client_not_allowed", "client outside allowed_clients answered with 403")    \
  X(ConnectNotAllowed, "connect_not_allowed",                                                      \
    "CONNECT, destination or PURGE refused by the access rules (403)")                             \
  X(ClientConnectionClose, "client_connection_close", "request carried Connection: close")         \
  X(Http10NoKeepAlive, "http10_no_keep_alive", "HTTP/1.0 request without Connection: keep-alive")  \
  X(OriginTruncated, "origin_truncated", "response body cut short by the origin")                  \
  X(StoreFailed, "store_failed", "body being read from a disk cache file that failed mid-way")     \
  X(OriginError, "origin_error", "origin unreachable or failed before a response (502 sent)")      \
  X(OriginTimeout, "origin_timeout", "origin did not answer in time (504 sent)")                   \
  X(CloseDelimitedResponse, "close_delimited_response", "response body delimited by close")        \
  X(TunnelDone, "tunnel_done", "CONNECT tunnel ended by either side")                              \
  X(TunnelIdleTimeout, "tunnel_idle_timeout", "no tunnel bytes within timeouts.tunnel_idle")       \
  X(Shutdown, "shutdown", "idle connection closed while draining on SIGTERM")                      \
  X(ShutdownForced, "shutdown_forced", "still busy when timeouts.shutdown_grace expired")

namespace ferry::core {

enum class CloseReason : std::uint8_t { // a byte: ClientSession holds one
#define FERRY_X(e, n, d) e,
  FERRY_CLOSE_REASONS(FERRY_X)
#undef FERRY_X
};

inline constexpr std::size_t kCloseReasonCount = 0
#define FERRY_X(e, n, d) +1
    FERRY_CLOSE_REASONS(FERRY_X)
#undef FERRY_X
    ;

// Every reason in table order, for iteration.
inline constexpr std::array<CloseReason, kCloseReasonCount> kAllCloseReasons{
#define FERRY_X(e, n, d) CloseReason::e,
    FERRY_CLOSE_REASONS(FERRY_X)
#undef FERRY_X
};

namespace detail {
inline constexpr std::array<std::string_view, kCloseReasonCount> kCloseReasonNames{
#define FERRY_X(e, n, d) n,
    FERRY_CLOSE_REASONS(FERRY_X)
#undef FERRY_X
};
inline constexpr std::array<std::string_view, kCloseReasonCount> kCloseReasonDescriptions{
#define FERRY_X(e, n, d) d,
    FERRY_CLOSE_REASONS(FERRY_X)
#undef FERRY_X
};
} // namespace detail

// Position of the reason in the table, 0 .. kCloseReasonCount-1.
constexpr std::size_t index(CloseReason reason) noexcept {
  return static_cast<std::size_t>(reason);
}

// snake_case name, as used in the counter `closes_<name>` and in logs. Static storage.
constexpr std::string_view name(CloseReason reason) noexcept {
  return detail::kCloseReasonNames[index(reason)];
}

// One-line description for /metrics help and the daemon log. Static storage.
constexpr std::string_view description(CloseReason reason) noexcept {
  return detail::kCloseReasonDescriptions[index(reason)];
}

// True for reasons caused by a deadline; the Squid access log marks such an unfinished
// exchange _TIMEDOUT rather than _ABORTED.
constexpr bool isTimeout(CloseReason reason) noexcept {
  switch (reason) {
  case CloseReason::ClientHeaderTimeout:
  case CloseReason::ClientIdleTimeout:
  case CloseReason::OriginTimeout:
  case CloseReason::TunnelIdleTimeout:
  case CloseReason::ShutdownForced:
    return true;
  default:
    return false;
  }
}

} // namespace ferry::core
