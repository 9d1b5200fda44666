// The destination policy: own addresses first (nothing reopens them), then the deny
// networks with the allow networks as exceptions.
#include "ferry/net/destination_policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace ferry::net {
namespace {

// A connection to ::ffff:a.b.c.d reaches the IPv4 host a.b.c.d, so that is what is judged.
Address unmapped(const Address& address) {
  if (address.family() != AF_INET6)
    return address;
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address.sockaddrPtr());
  if (!IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr))
    return address;
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_port = v6->sin6_port;
  std::memcpy(&v4.sin_addr, v6->sin6_addr.s6_addr + 12, sizeof(v4.sin_addr));
  return Address(reinterpret_cast<const sockaddr*>(&v4), sizeof(v4));
}

std::vector<Address> unmappedAll(std::vector<Address> addresses) {
  for (Address& address : addresses)
    address = unmapped(address);
  return addresses;
}

bool isUnspecified(const Address& address) {
  if (address.family() == AF_INET)
    return reinterpret_cast<const sockaddr_in*>(address.sockaddrPtr())->sin_addr.s_addr ==
           htonl(INADDR_ANY);
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address.sockaddrPtr());
  return address.family() == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr);
}

// 127.0.0.0/8 or ::1: every one of them reaches this host.
bool isLoopback(const Address& address) {
  if (address.family() == AF_INET)
    return (ntohl(reinterpret_cast<const sockaddr_in*>(address.sockaddrPtr())->sin_addr.s_addr) >>
            24) == 127;
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address.sockaddrPtr());
  return address.family() == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
}

bool sameHost(const Address& a, const Address& b) {
  return a.family() == b.family() && a.host() == b.host();
}

} // namespace

DestinationPolicy::DestinationPolicy(std::vector<Cidr> deny, std::vector<Cidr> allow,
                                     std::vector<Address> own, std::vector<Address> local)
    : deny_(std::move(deny)), allow_(std::move(allow)), own_(unmappedAll(std::move(own))),
      local_(unmappedAll(std::move(local))) {}

bool DestinationPolicy::allows(const Address& destination) const {
  return judge(destination) == Verdict::Allowed;
}

std::string DestinationPolicy::refusal(const Address& destination) const {
  const Address judged = unmapped(destination);
  switch (judge(destination)) {
  case Verdict::Allowed:
    return {};
  case Verdict::Denied:
    return "destination " + judged.host() + " is not allowed (access.deny_destinations)";
  case Verdict::Own:
    return "destination " + judged.toString() + " is ferry itself (a listen or admin address)";
  }
  return {};
}

std::string DestinationPolicy::ownRefusal(const Address& destination) const {
  return isOwn(unmapped(destination)) ? refusal(destination) : std::string();
}

DestinationPolicy::Verdict DestinationPolicy::judge(const Address& destination) const {
  const Address judged = unmapped(destination);
  if (isOwn(judged))
    return Verdict::Own;
  if (anyContains(deny_, judged) && !anyContains(allow_, judged))
    return Verdict::Denied;
  return Verdict::Allowed;
}

// Connecting to the unspecified address reaches this host too (Linux treats it as
// loopback), so it counts as every own address of its family.
bool DestinationPolicy::isOwn(const Address& destination) const {
  return std::any_of(own_.begin(), own_.end(), [&](const Address& own) {
    if (own.family() != destination.family() || own.port() != destination.port())
      return false;
    return sameHost(own, destination) || isUnspecified(destination) ||
           (isUnspecified(own) && isLocal(destination));
  });
}

bool DestinationPolicy::isLocal(const Address& destination) const {
  return isLoopback(destination) ||
         std::any_of(local_.begin(), local_.end(),
                     [&](const Address& local) { return sameHost(local, destination); });
}

} // namespace ferry::net
