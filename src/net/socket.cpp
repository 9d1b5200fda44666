// Listening socket creation, per-socket options and interface addresses.
#include "ferry/net/socket.h"

#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ferry::net {
namespace {

SocketError fail(const char* what, const Address& address, int fd) {
  const int err = errno;
  if (fd >= 0)
    ::close(fd);
  return SocketError{err, std::string(what) + " " + address.toString() + ": " + std::strerror(err)};
}

} // namespace

std::variant<int, SocketError> openListenSocket(const Address& address, int backlog) {
  const int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return fail("socket", address, fd);
  const int on = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0)
    return fail("setsockopt", address, fd);
  if (address.family() == AF_INET6 &&
      ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0)
    return fail("setsockopt", address, fd);
  if (::bind(fd, address.sockaddrPtr(), address.length()) != 0)
    return fail("bind", address, fd);
  if (::listen(fd, backlog) != 0)
    return fail("listen", address, fd);
  return fd;
}

Address localAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return Address(reinterpret_cast<sockaddr*>(&ss), len);
}

// Linux: listen() on a socket that is listening already only changes its backlog.
void setBacklog(int fd, int backlog) {
  ::listen(fd, backlog);
}

void setNoDelay(int fd) {
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

std::vector<Address> interfaceAddresses() {
  std::vector<Address> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0)
    return out;
  for (const ifaddrs* ifa = list; ifa != nullptr; ifa = ifa->ifa_next) {
    if (ifa->ifa_addr == nullptr)
      continue;
    if (ifa->ifa_addr->sa_family == AF_INET)
      out.emplace_back(ifa->ifa_addr, sizeof(sockaddr_in));
    else if (ifa->ifa_addr->sa_family == AF_INET6)
      out.emplace_back(ifa->ifa_addr, sizeof(sockaddr_in6));
  }
  ::freeifaddrs(list);
  return out;
}

} // namespace ferry::net
