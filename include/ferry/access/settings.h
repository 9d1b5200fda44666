// Settings of the access module: the ordered access rules with the checks that end them
// (the port lists), and Basic proxy authentication with its accounts. Plain data, filled
// by config; the client networks and destination networks stay in proxy and net.
#pragma once

#include "ferry/net/cidr.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ferry::access {

// The ports from `first` to `last`, both included.
struct PortRange {
  uint16_t first = 0;
  uint16_t last = 0;
  bool contains(uint16_t port) const { return port >= first && port <= last; }
};

// One access rule (Squid's http_access line): it matches a request when every condition
// it sets holds; an empty list sets no condition.
struct Rule {
  enum class Action { Allow, Deny };
  Action action = Action::Deny;
  std::vector<net::Cidr> clients;      // the client's address
  std::vector<std::string> users;      // the authenticated user; implies authenticated
  bool authenticated = false;          // any authenticated user
  std::vector<std::string> methods;    // request methods, case-sensitive (RFC 9110 §9.1)
  std::vector<std::string> domains;    // the target's host: "example.com" or ".example.com"
  std::vector<PortRange> ports;        // the target's port
  std::vector<net::Cidr> destinations; // the addresses the target's host resolves to
  std::string name;                    // "access.rules[2] (line 14)", for 403 bodies
};

// auth.basic: user name → crypt(3) hash (bcrypt, sha512-crypt or sha256-crypt), read from
// an htpasswd file.
struct BasicAuth {
  std::string file; // empty: authentication off
  std::string realm{"ferry"};
  std::map<std::string, std::string, std::less<>> accounts;
  std::chrono::milliseconds credentials_ttl{std::chrono::minutes(1)}; // a verified password is
                                                                      // trusted this long
  std::size_t max_failures = 5; // wrong passwords from one client address before a lockout
  std::chrono::milliseconds lockout{std::chrono::seconds(30)}; // answered 407 unchecked
  bool enabled() const { return !file.empty(); }
};

struct Settings {
  std::vector<Rule> rules; // in order, the first that matches decides
  // The tail, for requests no rule decided (Squid's SSL_ports and Safe_ports).
  std::vector<uint16_t> connect_ports{443};
  std::vector<PortRange> http_ports{{80, 80}, {443, 443}, {1025, 65535}};
  BasicAuth basic;
};

} // namespace ferry::access
