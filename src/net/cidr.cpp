// CIDR parsing and matching for allow-lists.
#include "ferry/net/cidr.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace ferry::net {

std::optional<Cidr> Cidr::parse(std::string_view text) {
  auto slash = text.find('/');
  std::string host(text.substr(0, slash));
  Cidr out;
  if (inet_pton(AF_INET, host.c_str(), out.bytes_.data()) == 1) {
    out.family_ = AF_INET;
    out.prefix_ = 32;
  } else if (inet_pton(AF_INET6, host.c_str(), out.bytes_.data()) == 1) {
    out.family_ = AF_INET6;
    out.prefix_ = 128;
  } else {
    return std::nullopt;
  }
  if (slash != std::string_view::npos) {
    auto bits = text.substr(slash + 1);
    int value = -1;
    auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), value);
    if (bits.empty() || ec != std::errc() || end != bits.data() + bits.size() || value < 0 ||
        value > out.prefix_)
      return std::nullopt;
    out.prefix_ = value;
  }
  const int size = out.family_ == AF_INET ? 4 : 16;
  for (int i = 0; i < size; ++i) {
    const int keep = std::clamp(out.prefix_ - i * 8, 0, 8);
    const uint8_t mask = keep == 0 ? 0 : static_cast<uint8_t>(0xff << (8 - keep));
    if ((out.bytes_[i] & ~mask) != 0)
      return std::nullopt;
  }
  return out;
}

bool Cidr::contains(const Address& peer) const {
  const uint8_t* addr = nullptr;
  if (peer.family() == AF_INET && family_ == AF_INET) {
    addr = reinterpret_cast<const uint8_t*>(
        &reinterpret_cast<const sockaddr_in*>(peer.sockaddrPtr())->sin_addr);
  } else if (peer.family() == AF_INET6) {
    const auto* a6 = &reinterpret_cast<const sockaddr_in6*>(peer.sockaddrPtr())->sin6_addr;
    if (family_ == AF_INET6)
      addr = a6->s6_addr;
    else if (IN6_IS_ADDR_V4MAPPED(a6))
      addr = a6->s6_addr + 12;
  }
  if (addr == nullptr)
    return false;
  const int full = prefix_ / 8;
  if (std::memcmp(addr, bytes_.data(), full) != 0)
    return false;
  const int rest = prefix_ % 8;
  if (rest == 0)
    return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (addr[full] & mask) == (bytes_[full] & mask);
}

std::string Cidr::toString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family_, bytes_.data(), buf, sizeof(buf));
  return std::string(buf) + "/" + std::to_string(prefix_);
}

bool anyContains(const std::vector<Cidr>& networks, const Address& peer) {
  for (const auto& n : networks)
    if (n.contains(peer))
      return true;
  return false;
}

} // namespace ferry::net
