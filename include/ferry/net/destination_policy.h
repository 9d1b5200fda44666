// Which resolved addresses ferry may connect to for a client (SSRF): never one of its own
// listeners, and nothing in the deny networks (loopback, link-local, the unspecified
// address by default) unless the allow networks carve it out. Pure and immutable: it judges
// one address; resolving and connecting are the Connector's, URL ports the proxy's.
#pragma once

#include "ferry/net/address.h"
#include "ferry/net/cidr.h"

#include <string>
#include <vector>

namespace ferry::net {

class DestinationPolicy {
public:
  // Allows every address.
  DestinationPolicy() = default;

  // `own`: ferry's listening addresses with their bound ports. One with an unspecified
  // address (0.0.0.0, ::) stands for every local address of its family on its port:
  // loopback, the unspecified address and `local` (this host's interface addresses, any
  // port). `allow` never reopens an own address.
  DestinationPolicy(std::vector<Cidr> deny, std::vector<Cidr> allow, std::vector<Address> own,
                    std::vector<Address> local);

  // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged as the IPv4 address it maps.
  bool allows(const Address& destination) const;

  // Why `destination` is refused, for a 403 body, naming the setting behind it, e.g.
  // "destination 127.0.0.1 is not allowed (access.deny_destinations)". Empty if allowed.
  std::string refusal(const Address& destination) const;
  // The same for ferry's own addresses only, which nothing reopens (an access rule that
  // allows destinations by name lifts the networks, not this).
  std::string ownRefusal(const Address& destination) const;

private:
  enum class Verdict { Allowed, Denied, Own };

  Verdict judge(const Address& destination) const;
  bool isOwn(const Address& destination) const;
  bool isLocal(const Address& destination) const;

  std::vector<Cidr> deny_;
  std::vector<Cidr> allow_;
  std::vector<Address> own_;   // IPv4-mapped ones stored as IPv4
  std::vector<Address> local_; // likewise
};

} // namespace ferry::net
