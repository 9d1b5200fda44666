// Socket set-up that libevent does not do for us: listening sockets shared by workers
// through SO_REUSEPORT, per-connection options, and the host's own interface addresses.
#pragma once

#include "ferry/net/address.h"

#include <string>
#include <variant>
#include <vector>

namespace ferry::net {

struct SocketError {
  int error = 0;       // errno
  std::string message; // "bind 127.0.0.1:3128: Address already in use"
};

// A non-blocking listening socket on `address` with SO_REUSEADDR and SO_REUSEPORT
// (IPv6 sockets are IPV6_V6ONLY, so "[::]" and "0.0.0.0" can both be listed), whose
// accept queue holds `backlog` connections (the kernel caps it at net.core.somaxconn).
// Returns the fd, which the caller owns.
std::variant<int, SocketError> openListenSocket(const Address& address, int backlog);

// Gives a listening socket a new accept queue length; nothing else about it changes.
void setBacklog(int fd, int backlog);

// The address a socket is bound to (to learn the port the kernel chose for port 0).
Address localAddress(int fd);

// TCP_NODELAY: every message is written header+body at once, so Nagle only adds delay.
void setNoDelay(int fd);

// The IPv4 and IPv6 addresses of this host's interfaces (getifaddrs), port 0; empty when
// they cannot be read. A system call: for start-up and reloads, not the data path.
std::vector<Address> interfaceAddresses();

} // namespace ferry::net
