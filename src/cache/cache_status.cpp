// The Cache-Status field (RFC 9211) and Squid result codes, from one table of outcomes.
#include "ferry/cache/cache_status.h"

#include <array>

namespace ferry::cache {

namespace {

struct Row {
  Outcome outcome;
  bool hit;                // the "hit" parameter
  std::string_view fwd;    // the "fwd" parameter; empty: not forwarded
  std::string_view detail; // the default "detail"; empty: none
  std::string_view squid;  // Squid's result code
};

constexpr std::array<Row, 19> Rows = {{
    {Outcome::Hit, true, "", "", "TCP_HIT"},
    {Outcome::MemoryHit, true, "", "", "TCP_MEM_HIT"},
    {Outcome::NotModifiedHit, true, "", "", "TCP_IMS_HIT"},
    {Outcome::StaleHit, true, "", "", "TCP_STALE_HIT"},
    {Outcome::StaleWhileRevalidate, true, "", "stale-while-revalidate", "TCP_STALE_HIT"},
    {Outcome::Miss, false, "miss", "", "TCP_MISS"},
    {Outcome::UriMiss, false, "uri-miss", "", "TCP_MISS"},
    {Outcome::VaryMiss, false, "vary-miss", "", "TCP_MISS"},
    {Outcome::ClientRefresh, false, "request", "", "TCP_CLIENT_REFRESH_MISS"},
    {Outcome::RefreshUnmodified, false, "stale", "", "TCP_REFRESH_UNMODIFIED"},
    {Outcome::RefreshModified, false, "stale", "", "TCP_REFRESH_MODIFIED"},
    {Outcome::StaleIfError, false, "stale", "stale-if-error", "TCP_REFRESH_FAIL_OLD"},
    {Outcome::RefreshFailed, false, "stale", "", "TCP_REFRESH_FAIL_ERR"},
    {Outcome::SwapFail, false, "miss", "swapfail", "TCP_SWAPFAIL_MISS"},
    {Outcome::Bypass, false, "bypass", "", "TCP_MISS"},
    {Outcome::OnlyIfCached, false, "", "only-if-cached", "TCP_MISS"},
    {Outcome::Denied, false, "", "denied", "TCP_DENIED"},
    {Outcome::Tunnel, false, "bypass", "", "TCP_TUNNEL"},
    {Outcome::Error, false, "", "error", "NONE"},
}};

constexpr bool rowsInEnumOrder() {
  for (std::size_t i = 0; i < Rows.size(); ++i)
    if (static_cast<std::size_t>(Rows[i].outcome) != i)
      return false;
  return true;
}
static_assert(rowsInEnumOrder(), "Rows must list every Outcome in declaration order");

const Row& rowOf(Outcome outcome) {
  return Rows[static_cast<std::size_t>(outcome)];
}

bool isAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// RFC 8941 §3.3.4: sf-token = ( ALPHA / "*" ) *( tchar / ":" / "/" ).
bool isToken(std::string_view text) {
  if (text.empty() || !(isAlpha(text.front()) || text.front() == '*'))
    return false;
  for (char c : text) {
    const bool tchar = isAlpha(c) || (c >= '0' && c <= '9') ||
                       std::string_view("!#$%&'*+-.^_`|~:/").find(c) != std::string_view::npos;
    if (!tchar)
      return false;
  }
  return true;
}

// RFC 8941 §3.3.3: sf-string of printable ASCII; other bytes become '?'.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += (c >= 0x20 && c <= 0x7e) ? c : '?';
  }
  out += '"';
  return out;
}

} // namespace

std::string cacheStatusValue(std::string_view cache, const CacheStatus& status) {
  const Row& row = rowOf(status.outcome);
  const std::string_view detail = status.detail.empty() ? row.detail : status.detail;
  std::string out;
  out.reserve(cache.size() + 96 + detail.size()); // every parameter, and the detail
  out += cache;
  if (row.hit)
    out += "; hit";
  if (!row.fwd.empty()) {
    out += "; fwd=";
    out += row.fwd;
  }
  if (status.fwd_status) {
    out += "; fwd-status=";
    out += std::to_string(*status.fwd_status);
  }
  if (status.stored)
    out += "; stored";
  if (status.ttl) {
    out += "; ttl=";
    out += std::to_string(status.ttl->count());
  }
  if (!detail.empty()) {
    out += "; detail=";
    if (isToken(detail))
      out += detail;
    else
      out += quoted(detail);
  }
  return out;
}

std::string_view squidCode(Outcome outcome) noexcept {
  return rowOf(outcome).squid;
}

core::Counter statusCounter(Outcome outcome) noexcept {
  const Row& row = rowOf(outcome);
  if (row.hit)
    return core::Counter::CacheStatusHit;
  if (row.fwd == "stale")
    return core::Counter::CacheStatusRevalidated;
  if (row.fwd == "bypass")
    return core::Counter::CacheStatusBypass;
  if (row.fwd.empty())
    return core::Counter::CacheStatusNone;
  return core::Counter::CacheStatusMiss;
}

} // namespace ferry::cache
