// Socket addresses: parse and format "host:port" with IPv4 and bracketed IPv6 literals.
// Numeric only: names are resolved elsewhere (evdns), never here. IPv4 and IPv6 only: an
// Address is 32 bytes, not a sockaddr_storage, since every client connection holds one.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::net {

class Address {
public:
  Address() = default;
  Address(const sockaddr* sa, socklen_t len);

  // "127.0.0.1:3128", "[::1]:3128", "0.0.0.0:3128", "[::]:3128". Port 0 is allowed
  // (the kernel picks one). Returns nullopt on anything else.
  static std::optional<Address> parse(std::string_view text);
  // The address a target host denotes without a lookup, as the C library's resolvers read
  // it (and so any parent proxy that resolves it): an IPv6 literal without brackets, or
  // IPv4 in every inet_aton(3) form ("127.0.0.1", "127.1", "0x7f.1", "2130706433").
  // nullopt for a name.
  static std::optional<Address> ofHost(std::string_view host, uint16_t port);

  const sockaddr* sockaddrPtr() const { return &storage_.any; }
  socklen_t length() const { return length_; }
  int family() const { return storage_.any.sa_family; }
  uint16_t port() const;
  void setPort(uint16_t port);
  std::string host() const;     // "127.0.0.1", "::1" (no brackets)
  std::string toString() const; // "127.0.0.1:3128", "[::1]:3128"

  friend bool operator==(const Address& a, const Address& b);

private:
  union Storage {
    sockaddr_in6 v6; // first, the largest: `{}` zeroes all of it
    sockaddr_in v4;
    sockaddr any;
  };
  Storage storage_{};
  socklen_t length_ = 0;
};

} // namespace ferry::net
