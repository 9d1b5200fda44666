// Settings of the proxy module (listeners, workers, timeouts, limits, access control,
// access log), filled by config.
#pragma once

#include "ferry/access/settings.h"
#include "ferry/http/settings.h"
#include "ferry/net/address.h"
#include "ferry/net/cidr.h"
#include "ferry/pac/settings.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ferry::proxy {

using Duration = std::chrono::milliseconds;

struct Timeouts {
  Duration client_header{std::chrono::seconds(30)};     // whole request head must arrive within
  Duration client_idle{std::chrono::seconds(60)};       // keep-alive wait between requests
  Duration client_rest{std::chrono::milliseconds(500)}; // idle this long (at most twice), a
                                                        // keep-alive client connection rests
  Duration origin_connect{std::chrono::seconds(10)};    // TCP connect (→ 504)
  Duration origin_response{
      std::chrono::seconds(60)};                   // wait for response head, and between body reads
  Duration origin_idle{std::chrono::seconds(60)};  // pooled idle origin connection lifetime
  Duration tunnel_idle{std::chrono::seconds(300)}; // CONNECT tunnel with no bytes either way
  Duration shutdown_grace{
      std::chrono::seconds(10)}; // SIGTERM: how long busy connections may finish
};

struct Limits {
  int listen_backlog = 4096; // accept queue of each listening socket, capped by net.core.somaxconn
  std::size_t client_connections = 10000;  // past it, stop accepting until one closes
  std::size_t origin_idle_per_origin = 64; // pooled idle connections to one origin
  std::size_t origin_idle_total = 1024;    // pooled idle connections per worker
};

enum class AccessLogFormat { Squid, Combined };

// What to do with `Expect: 100-continue` (RFC 9110 §10.1.1): pass it to the origin and
// relay its 100, or answer 417 so the client sends its body without waiting.
enum class ExpectContinue { Forward, Reject };

struct AccessLog {
  std::string path; // empty: off; "-": stderr
  AccessLogFormat format = AccessLogFormat::Squid;
};

// A parent proxy (Squid's cache_peer ... parent): requests are sent to it in absolute-form,
// CONNECT is chained with a CONNECT to it.
struct Parent {
  std::string host; // name or IP literal (IPv6 without brackets)
  uint16_t port = 0;
  std::string authorization;        // Proxy-Authorization value ("Basic ..."), or empty;
                                    // from a credentials file, never logged
  std::vector<std::string> domains; // hosts it serves (http::hostMatches); empty: every host
  std::string name() const;         // host:port, for logs and the access log
};

// Where requests go after ferry: through the first parent that serves the host and is up,
// then the next, then direct — unless the host is in always_direct (never a parent) or
// never_direct (never direct: with every parent down, the answer is 502/504).
struct Upstream {
  std::vector<Parent> parents;                    // tried in order
  std::vector<std::string> always_direct;         // host patterns (http::hostMatches)
  std::vector<std::string> never_direct;          // host patterns
  Duration parent_down{std::chrono::seconds(30)}; // a parent that failed is skipped this
                                                  // long
};

struct Settings {
  std::vector<net::Address> listen; // each worker accepts on every one (SO_REUSEPORT)
  unsigned workers = 0;             // resolved: never 0 after config load
  Timeouts timeouts;
  Limits limits;
  std::vector<net::Cidr> allowed_clients; // others get 403 before any request is read
  access::Settings access; // access rules with their tail (port lists), authentication
  // Origin addresses never connected to (403), every resolved one checked, unless also in
  // allow_destinations. ferry's own listeners are refused whatever these say.
  std::vector<net::Cidr> deny_destinations;
  std::vector<net::Cidr> allow_destinations;
  std::vector<net::Cidr> purge_allowed; // may send PURGE (the admin networks)
  ExpectContinue expect_continue = ExpectContinue::Forward;
  // Tunnels (CONNECT, Upgrade) and bodies not stored relayed in the kernel with splice(2)
  // where it can; false relays every byte through ferry's own buffers.
  bool splice = true;
  AccessLog access_log;
  http::Settings http; // parser limits and Via pseudonym
  Upstream upstream;
  pac::Settings pac; // the PAC file served for origin-form GET /proxy.pac, /wpad.dat
};

} // namespace ferry::proxy
