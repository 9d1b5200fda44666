// Request targets (RFC 9112 §3.2): which of the four forms a request uses, the origin it names
// and the key the cache stores it under. Pure string work: no DNS, no policy (which schemes
// and ports are allowed is the proxy's decision).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/http/parse_error.h"

namespace ferry::http {

enum class TargetForm {
  Origin,    // "/path?query" (RFC 9112 §3.2.1): a request meant for an origin server
  Absolute,  // "http://host[:port]/path?query" (§3.2.2): what a forward proxy receives
  Authority, // "host:port" (§3.2.3): CONNECT only
  Asterisk   // "*" (§3.2.4): OPTIONS only
};

struct Target {
  TargetForm form = TargetForm::Origin;
  std::string scheme;     // "http" or "https", lower case; empty for Authority and Asterisk
  std::string host;       // lower case reg-name or IP literal; IPv6 without brackets
  std::uint16_t port = 0; // the explicit port or the scheme's default; 0 when unknown
  std::string path;       // path and query, byte-exact; "/" when the URI's path is empty;
                          // "*" for Asterisk; empty for Authority
  ParseError error;       // status 400 or 501 when the target is invalid for the method

  bool isValid() const noexcept { return !error.isError(); }
  // The port is the scheme's default (http 80, https 443).
  bool isDefaultPort() const noexcept;
  // host[:port] as the Host field carries it: IPv6 in brackets, a default port omitted
  // (always present for Authority form, which has no scheme).
  std::string authority() const;
  // authority() appended to `out`: for a string that holds it among more (a key).
  void appendAuthority(std::string& out) const;
};

// Classifies and validates `raw` for `method` (case-sensitive):
//   CONNECT  → must be authority-form with a port (RFC 9110 §9.3.6);
//   "*"      → Asterisk, OPTIONS only;
//   "/..."   → Origin: path set, scheme/host/port left empty;
//   other    → Absolute: scheme "http" or "https" (else 501), authority without userinfo,
//              non-empty host, port 1..65535, no fragment.
// Never throws; check isValid().
Target parseTarget(std::string_view method, std::string_view raw);

// Whether `host` (lower case, as in Target) is named by `pattern`: "example.com" names that
// host only, ".example.com" that host and every name under it, "*" every host. Patterns are
// compared case-insensitively, and a host's trailing dot ("example.com.") is ignored.
bool hostMatches(std::string_view host, std::string_view pattern) noexcept;

// The cache key of a target: scheme "://" host [":" port] path, with scheme and host lower
// case, a default port dropped, IPv6 in brackets and the path byte-exact (RFC 9111 §2,
// RFC 3986 §6.2.3). Meaningful for Absolute targets and Origin targets completed from Host.
std::string cacheKey(const Target& target);

struct HostPort {
  std::string host; // lower case; IPv6 without brackets
  std::uint16_t port = 0;
  bool has_port = false;
};

// Parses uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2), e.g. a Host field value.
// Rejects userinfo, empty hosts, characters outside reg-name and ports outside 1..65535.
// An empty port ("host:") counts as absent.
std::optional<HostPort> parseHostPort(std::string_view text);

} // namespace ferry::http
