// What a proxy changes in every forwarded head (RFC 9110 §7.6): removal of hop-by-hop fields,
// the Via list, Max-Forwards. The same functions serve requests and responses. They decide
// nothing about connection reuse themselves; they report what the peer asked for.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ferry/http/headers.h"

namespace ferry::http {

// What the peer asked of this hop, read before the fields were removed.
struct ConnectionOptions {
  bool close = false;            // Connection: close
  bool keep_alive = false;       // Connection: keep-alive (HTTP/1.0 persistence)
  bool upgrade = false;          // Connection: upgrade
  bool proxy_close = false;      // Proxy-Connection: close (pre-standard, sent by old clients)
  bool proxy_keep_alive = false; // Proxy-Connection: keep-alive
  std::vector<std::string> upgrade_protocols; // members of Upgrade, as received
};

// RFC 9110 §7.6.1: removes Connection and every field it names, plus Keep-Alive,
// Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade, Proxy-Authorization and
// Proxy-Authenticate, and returns what they said. Host and Content-Length are never removed
// because a Connection option names them: routing and framing must not depend on it.
// Read Proxy-Authorization before calling this if the proxy authenticates clients.
ConnectionOptions stripHopByHop(Headers& headers);

// Whether the peer that sent a message of this version with these options keeps the
// connection open afterwards (RFC 9112 §9.3): HTTP/1.1 unless "close"; HTTP/1.0 only with
// "keep-alive" (Proxy-Connection counts too, as old clients use it towards proxies).
bool wantsPersistent(const ConnectionOptions& options, int version_major,
                     int version_minor) noexcept;

// RFC 9110 §7.6.3: appends "<major>.<minor> <pseudonym>" (the version this proxy received) to
// the Via list, keeping the entries already there.
void appendVia(Headers& headers, int received_major, int received_minor,
               std::string_view pseudonym);
// The Via list appendVia() makes, up to the pseudonym: "<list so far>, <major>.<minor> ".
std::string viaBefore(const Headers& headers, int received_major, int received_minor);

enum class MaxForwards {
  Forward,   // forward the request (Max-Forwards, if present, was decremented)
  AnswerHere // OPTIONS/TRACE with Max-Forwards: 0 — the proxy answers it itself
};

// RFC 9110 §7.6.2: for OPTIONS and TRACE, decrements Max-Forwards or says to answer at 0.
// Other methods, an absent or an invalid value: Forward, headers unchanged.
MaxForwards applyMaxForwards(std::string_view method, Headers& headers);
// What applyMaxForwards would say, without changing anything.
MaxForwards checkMaxForwards(std::string_view method, const Headers& headers);

// RFC 9110 §7.8: Connection: upgrade and Upgrade with `protocols`, which stripHopByHop
// removed, for the next hop — a switch asked for (or granted) end to end is passed on.
void setUpgrade(Headers& headers, const std::vector<std::string>& protocols);

} // namespace ferry::http
