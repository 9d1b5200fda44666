// Request-target classification (RFC 9112 §3.2) and the authority grammar of RFC 3986
// §3.2.2, restricted to what DNS names and IP literals use: anything more exotic (userinfo,
// pct-encoded or sub-delim host names, IPvFuture, zone ids) is refused, not interpreted.
#include "ferry/http/target.h"

#include "ferry/http/headers.h"

#include <algorithm>

#include "chars.h"

namespace ferry::http {
namespace {

bool isAlpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Host names as DNS and /etc/hosts use them: ALPHA DIGIT "-" "." "_" "~" (a subset of
// RFC 3986 reg-name; "_" and "~" are unreserved and occur in the wild).
bool isHostChar(char c) noexcept {
  return isAlpha(c) || chars::isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// Path and query bytes after llhttp's strict URL check: visible ASCII except "#" — a
// request-target never carries a fragment (RFC 9112 §3.2).
bool isValidPathAndQuery(std::string_view s) noexcept {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '#') {
      return false;
    }
  }
  return true;
}

std::uint16_t defaultPort(std::string_view scheme) noexcept {
  if (scheme == "http") {
    return 80;
  }
  if (scheme == "https") {
    return 443;
  }
  return 0;
}

bool isHexDigit(char c) noexcept {
  return chars::isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// RFC 3986 §3.2.2: dec-octet "." dec-octet "." dec-octet "." dec-octet, where a dec-octet is
// 0..255 without leading zeros.
bool isIpv4Address(std::string_view s) noexcept {
  for (int i = 0; i < 4; ++i) {
    const std::size_t end = i < 3 ? s.find('.') : s.size();
    if (end == std::string_view::npos) {
      return false;
    }
    const std::string_view octet = s.substr(0, end);
    std::uint64_t value = 0;
    if ((octet.size() > 1 && octet.front() == '0') || !chars::parseDecimal(octet, 255, value)) {
      return false;
    }
    s.remove_prefix(i < 3 ? end + 1 : end);
  }
  return true;
}

// The 16-bit pieces of `s`, h16 *( ":" h16 ) (RFC 3986 §3.2.2), counted: an IPv4address as
// the last piece counts two when `ipv4_last`. 0 for empty input, -1 when `s` is no such list.
int countPieces(std::string_view s, bool ipv4_last) noexcept {
  if (s.empty()) {
    return 0;
  }
  for (int pieces = 1;; ++pieces) {
    const std::size_t colon = s.find(':');
    const std::string_view piece = s.substr(0, colon);
    if (colon == std::string_view::npos && ipv4_last && piece.find('.') != std::string_view::npos) {
      return isIpv4Address(piece) ? pieces + 1 : -1;
    }
    if (piece.empty() || piece.size() > 4 || !std::all_of(piece.begin(), piece.end(), isHexDigit)) {
      return -1;
    }
    if (colon == std::string_view::npos) {
      return pieces;
    }
    s.remove_prefix(colon + 1);
  }
}

// RFC 3986 §3.2.2 IPv6address: eight pieces, or fewer around one "::" that stands for at
// least one zero piece; the last two may be written as an IPv4address.
bool isIpv6Address(std::string_view s) noexcept {
  const std::size_t gap = s.find("::");
  if (gap == std::string_view::npos) {
    return countPieces(s, true) == 8;
  }
  const int before = countPieces(s.substr(0, gap), false);
  const int after = countPieces(s.substr(gap + 2), true);
  return before >= 0 && after >= 0 && before + after <= 7;
}

Target invalid(Target t, int status, const char* reason) {
  t.error = ParseError{status, reason};
  return t;
}

void appendHost(std::string& out, const std::string& host) {
  if (host.find(':') != std::string::npos) {
    out += '[';
    out += host;
    out += ']';
  } else {
    out += host;
  }
}

} // namespace

std::optional<HostPort> parseHostPort(std::string_view text) {
  HostPort result;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    // IP-literal (RFC 3986 §3.2.2); only IPv6 addresses, no zone id, no IPvFuture.
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    const std::string_view literal = text.substr(1, close - 1);
    if (!isIpv6Address(literal)) {
      return std::nullopt;
    }
    result.host.reserve(literal.size());
    for (char c : literal) {
      result.host += chars::toLower(c);
    }
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return std::nullopt;
      }
      port_text = rest.substr(1);
    }
  } else {
    const std::size_t colon = text.find(':');
    const std::string_view name = text.substr(0, colon);
    if (name.empty()) {
      return std::nullopt;
    }
    result.host.reserve(name.size());
    for (char c : name) {
      if (!isHostChar(c)) {
        return std::nullopt; // also refuses "@" (userinfo), "%", sub-delims, spaces
      }
      result.host += chars::toLower(c);
    }
    if (colon != std::string_view::npos) {
      port_text = text.substr(colon + 1);
    }
  }
  if (!port_text.empty()) {
    std::uint64_t port = 0;
    if (!chars::parseDecimal(port_text, 65535, port) || port == 0) {
      return std::nullopt;
    }
    result.port = static_cast<std::uint16_t>(port);
    result.has_port = true;
  }
  return result;
}

Target parseTarget(std::string_view method, std::string_view raw) {
  Target t;
  if (raw.empty()) {
    return invalid(std::move(t), 400, "empty request-target");
  }
  if (method == "CONNECT") {
    // RFC 9112 §3.2.3, RFC 9110 §9.3.6: authority-form, and the port is mandatory.
    t.form = TargetForm::Authority;
    auto hp = parseHostPort(raw);
    if (!hp) {
      return invalid(std::move(t), 400, "invalid CONNECT authority");
    }
    if (!hp->has_port) {
      return invalid(std::move(t), 400, "CONNECT target without port");
    }
    t.host = std::move(hp->host);
    t.port = hp->port;
    return t;
  }
  if (raw == "*") {
    // RFC 9112 §3.2.4: asterisk-form is for server-wide OPTIONS only.
    t.form = TargetForm::Asterisk;
    t.path = "*";
    if (method != "OPTIONS") {
      return invalid(std::move(t), 400, "asterisk-form target outside OPTIONS");
    }
    return t;
  }
  if (raw.front() == '/') {
    t.form = TargetForm::Origin;
    if (!isValidPathAndQuery(raw)) {
      return invalid(std::move(t), 400, "invalid character in request-target");
    }
    t.path = raw;
    return t;
  }

  // absolute-form (RFC 9112 §3.2.2): scheme "://" authority path-abempty [ "?" query ].
  t.form = TargetForm::Absolute;
  const std::size_t colon = raw.find(':');
  if (colon == std::string_view::npos || colon == 0 || !isAlpha(raw.front())) {
    return invalid(std::move(t), 400, "invalid request-target");
  }
  for (char c : raw.substr(0, colon)) {
    // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), case-insensitive.
    if (!isAlpha(c) && !chars::isDigit(c) && c != '+' && c != '-' && c != '.') {
      return invalid(std::move(t), 400, "invalid scheme in request-target");
    }
    t.scheme += chars::toLower(c);
  }
  if (raw.substr(colon, 3) != "://") {
    return invalid(std::move(t), 400, "absolute-form target without authority");
  }
  const std::uint16_t default_port = defaultPort(t.scheme);
  if (default_port == 0) {
    return invalid(std::move(t), 501, "unsupported URI scheme");
  }
  const std::string_view rest = raw.substr(colon + 3);
  const std::size_t authority_end = rest.find_first_of("/?#");
  auto hp = parseHostPort(rest.substr(0, authority_end));
  if (!hp) {
    return invalid(std::move(t), 400, "invalid authority in request-target");
  }
  t.host = std::move(hp->host);
  t.port = hp->has_port ? hp->port : default_port;
  const std::string_view path =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (!isValidPathAndQuery(path)) {
    return invalid(std::move(t), 400, "invalid character in request-target");
  }
  // RFC 9112 §3.2.1: an empty path is sent as "/".
  t.path.reserve(path.size() + 1);
  if (path.empty() || path.front() != '/') {
    t.path.push_back('/');
  }
  t.path.append(path);
  return t;
}

bool Target::isDefaultPort() const noexcept {
  return port != 0 && port == defaultPort(scheme);
}

std::string Target::authority() const {
  std::string out;
  out.reserve(host.size() + 8);
  appendAuthority(out);
  return out;
}

void Target::appendAuthority(std::string& out) const {
  appendHost(out, host);
  if (port != 0 && (form == TargetForm::Authority || !isDefaultPort())) {
    out += ':';
    out += std::to_string(port);
  }
}

std::string cacheKey(const Target& target) {
  if (target.form == TargetForm::Authority || target.form == TargetForm::Asterisk) {
    return target.authority();
  }
  std::string key;
  key.reserve(target.scheme.size() + 3 + target.host.size() + 8 + target.path.size());
  key += target.scheme;
  key += "://";
  target.appendAuthority(key);
  key += target.path.empty() ? std::string_view("/") : std::string_view(target.path);
  return key;
}

bool hostMatches(std::string_view host, std::string_view pattern) noexcept {
  if (pattern == "*")
    return true;
  // A fully qualified "example.com." names the same host as "example.com".
  if (!host.empty() && host.back() == '.')
    host.remove_suffix(1);
  if (!pattern.empty() && pattern.front() == '.') {
    const std::string_view domain = pattern.substr(1);
    if (equalsIgnoreCase(host, domain))
      return true;
    return host.size() > pattern.size() &&
           equalsIgnoreCase(host.substr(host.size() - pattern.size()), pattern);
  }
  return equalsIgnoreCase(host, pattern);
}

} // namespace ferry::http
