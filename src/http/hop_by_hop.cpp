// Hop-by-hop field removal, Via and Max-Forwards (RFC 9110 §7.6). One implementation for
// both directions, so a request and a response can never be cleaned differently.
#include "ferry/http/hop_by_hop.h"

#include <charconv>
#include <cstdint>
#include <optional>

#include "chars.h"

namespace ferry::http {
namespace {

// RFC 9110 §7.6.1 and RFC 9112 §7/§9.6: fields that only ever describe one connection.
// Proxy-Connection is pre-standard but still sent by clients (RFC 9110 §7.6.1 lists it too).
bool isHopByHopField(std::string_view name) noexcept {
  switch (name.size()) {
  case 2:
    return equalsIgnoreCase(name, "te");
  case 7:
    return equalsIgnoreCase(name, "trailer") || equalsIgnoreCase(name, "upgrade");
  case 10:
    return equalsIgnoreCase(name, "connection") || equalsIgnoreCase(name, "keep-alive");
  case 16:
    return equalsIgnoreCase(name, "proxy-connection");
  case 17:
    return equalsIgnoreCase(name, "transfer-encoding");
  case 18:
    return equalsIgnoreCase(name, "proxy-authenticate");
  case 19:
    return equalsIgnoreCase(name, "proxy-authorization");
  default:
    return false;
  }
}

// A Connection option may not take away what routes or frames the message.
bool isProtectedField(std::string_view name) noexcept {
  return equalsIgnoreCase(name, "host") || equalsIgnoreCase(name, "content-length");
}

// The Max-Forwards that applies to `method`, if any (RFC 9110 §7.6.2: only OPTIONS and
// TRACE; a recipient MAY ignore it for other methods).
std::optional<std::uint64_t> maxForwards(std::string_view method, const Headers& headers) {
  if (method != "OPTIONS" && method != "TRACE") {
    return std::nullopt;
  }
  const std::optional<std::string_view> value = headers.get("Max-Forwards");
  std::uint64_t hops = 0;
  if (!value || !chars::parseDecimal(*value, UINT64_MAX, hops)) {
    return std::nullopt;
  }
  return hops;
}

} // namespace

ConnectionOptions stripHopByHop(Headers& headers) {
  ConnectionOptions options;
  // Options naming other fields; the views stay valid because removal keeps the bytes.
  std::vector<std::string_view> named;
  for (const Field f : headers) {
    if (equalsIgnoreCase(f.name, "connection")) {
      forEachListMember(f.value, [&](std::string_view option) {
        if (equalsIgnoreCase(option, "close")) {
          options.close = true;
        } else if (equalsIgnoreCase(option, "keep-alive")) {
          options.keep_alive = true;
        } else if (equalsIgnoreCase(option, "upgrade")) {
          options.upgrade = true;
        } else {
          named.push_back(option);
        }
      });
    } else if (equalsIgnoreCase(f.name, "proxy-connection")) {
      forEachListMember(f.value, [&](std::string_view option) {
        if (equalsIgnoreCase(option, "close")) {
          options.proxy_close = true;
        } else if (equalsIgnoreCase(option, "keep-alive")) {
          options.proxy_keep_alive = true;
        }
      });
    } else if (equalsIgnoreCase(f.name, "upgrade")) {
      forEachListMember(f.value, [&](std::string_view protocol) {
        options.upgrade_protocols.emplace_back(protocol);
      });
    }
  }
  headers.removeIf([&](const Field& f) {
    if (isHopByHopField(f.name)) {
      return true;
    }
    if (named.empty() || isProtectedField(f.name)) {
      return false;
    }
    for (std::string_view option : named) {
      if (equalsIgnoreCase(option, f.name)) {
        return true;
      }
    }
    return false;
  });
  return options;
}

bool wantsPersistent(const ConnectionOptions& options, int version_major,
                     int version_minor) noexcept {
  // RFC 9112 §9.3: "close" always wins; HTTP/1.1 persists by default; HTTP/1.0 only when
  // keep-alive was asked for (RFC 9112 Appendix C.2.2).
  if (options.close || options.proxy_close) {
    return false;
  }
  if (version_major == 1 && version_minor >= 1) {
    return true;
  }
  return options.keep_alive || options.proxy_keep_alive;
}

void appendVia(Headers& headers, int received_major, int received_minor,
               std::string_view pseudonym) {
  std::string list = viaBefore(headers, received_major, received_minor);
  list += pseudonym;
  headers.set("Via", list);
}

std::string viaBefore(const Headers& headers, int received_major, int received_minor) {
  // RFC 9110 §7.6.3: received-protocol is the version of the message as received, with the
  // "HTTP/" name omitted; several Via lines are one list, combined here in order.
  std::string list = headers.combined("Via");
  if (headers.has("Via"))
    list += ", ";
  list += std::to_string(received_major);
  list += '.';
  list += std::to_string(received_minor);
  list += ' ';
  return list;
}

MaxForwards checkMaxForwards(std::string_view method, const Headers& headers) {
  return maxForwards(method, headers) == 0u ? MaxForwards::AnswerHere : MaxForwards::Forward;
}

void setUpgrade(Headers& headers, const std::vector<std::string>& protocols) {
  std::string list;
  for (const std::string& p : protocols) {
    list += (list.empty() ? "" : ", ") + p;
  }
  headers.set("Connection", "upgrade");
  headers.set("Upgrade", list);
}

MaxForwards applyMaxForwards(std::string_view method, Headers& headers) {
  const std::optional<std::uint64_t> hops = maxForwards(method, headers);
  if (!hops) {
    return MaxForwards::Forward;
  }
  if (*hops == 0) {
    return MaxForwards::AnswerHere;
  }
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, *hops - 1).ptr;
  headers.set("Max-Forwards", std::string_view(digits, static_cast<std::size_t>(end - digits)));
  return MaxForwards::Forward;
}

} // namespace ferry::http
