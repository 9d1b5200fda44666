// Numeric socket address parsing and formatting.
#include "ferry/net/address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace ferry::net {

static_assert(sizeof(Address) == 32, "the header says so");

Address::Address(const sockaddr* sa, socklen_t len) {
  length_ = std::min<socklen_t>(len, sizeof(storage_));
  std::memcpy(&storage_, sa, length_);
}

std::optional<Address> Address::parse(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon)
      return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535)
    return std::nullopt;

  Address out;
  std::string hostz(host);
  sockaddr_in* v4 = &out.storage_.v4;
  sockaddr_in6* v6 = &out.storage_.v6;
  if (text.front() != '[' && inet_pton(AF_INET, hostz.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(value));
    out.length_ = sizeof(sockaddr_in);
    return out;
  }
  if (text.front() == '[' && inet_pton(AF_INET6, hostz.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(value));
    out.length_ = sizeof(sockaddr_in6);
    return out;
  }
  return std::nullopt;
}

std::optional<Address> Address::ofHost(std::string_view host, uint16_t port) {
  const std::string hostz(host);
  Address out;
  sockaddr_in* v4 = &out.storage_.v4;
  sockaddr_in6* v6 = &out.storage_.v6;
  // inet_aton also takes what follows a space as a comment; a host never holds one.
  const bool spaced = hostz.find_first_of(" \t\n\v\f\r") != std::string::npos;
  if (!hostz.empty() && !spaced && inet_aton(hostz.c_str(), &v4->sin_addr) != 0) {
    v4->sin_family = AF_INET;
    out.length_ = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, hostz.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    out.length_ = sizeof(sockaddr_in6);
  } else {
    return std::nullopt;
  }
  out.setPort(port);
  return out;
}

uint16_t Address::port() const {
  if (family() == AF_INET)
    return ntohs(storage_.v4.sin_port);
  if (family() == AF_INET6)
    return ntohs(storage_.v6.sin6_port);
  return 0;
}

void Address::setPort(uint16_t port) {
  if (family() == AF_INET)
    storage_.v4.sin_port = htons(port);
  else if (family() == AF_INET6)
    storage_.v6.sin6_port = htons(port);
}

std::string Address::host() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET)
    inet_ntop(AF_INET, &storage_.v4.sin_addr, buf, sizeof(buf));
  else if (family() == AF_INET6)
    inet_ntop(AF_INET6, &storage_.v6.sin6_addr, buf, sizeof(buf));
  return buf;
}

std::string Address::toString() const {
  if (family() == AF_INET6)
    return "[" + host() + "]:" + std::to_string(port());
  return host() + ":" + std::to_string(port());
}

bool operator==(const Address& a, const Address& b) {
  return a.length_ == b.length_ && std::memcmp(&a.storage_, &b.storage_, a.length_) == 0;
}

} // namespace ferry::net
