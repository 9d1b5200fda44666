// An IPv4 or IPv6 network in CIDR notation, for client and admin allow-lists.
// IPv4-mapped IPv6 peers (::ffff:a.b.c.d) match IPv4 networks.
#pragma once

#include "ferry/net/address.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::net {

class Cidr {
public:
  // "10.0.0.0/8", "::1/128", or a bare address (a /32 or /128). Rejects host bits set
  // beyond the prefix ("10.0.0.1/8") so a typo cannot silently widen a rule.
  static std::optional<Cidr> parse(std::string_view text);

  bool contains(const Address& peer) const;
  std::string toString() const;

private:
  int family_ = 0;                  // AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes_{}; // network address, 4 or 16 bytes used
  int prefix_ = 0;                  // bits
};

bool anyContains(const std::vector<Cidr>& networks, const Address& peer);

} // namespace ferry::net
