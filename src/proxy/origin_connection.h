// OriginConnection: one upstream TCP connection, reused across transactions and clients of
// one worker. It only carries bytes; the Transaction using it does the HTTP.
#pragma once

#include "ferry/net/address.h"
#include "ferry/net/event_ptr.h"

#include <cstddef>
#include <string>

namespace ferry::proxy {

class OriginConnection {
public:
  // Takes ownership of the connected, non-blocking `fd`. `key` is the pool key of the
  // destination (scheme://host:port from the request target, never from a header).
  OriginConnection(event_base* base, int fd, std::string key, net::Address peer);
  ~OriginConnection();

  OriginConnection(const OriginConnection&) = delete;
  OriginConnection& operator=(const OriginConnection&) = delete;

  bufferevent* bev() const { return bev_.get(); }
  const std::string& key() const { return key_; }
  const net::Address& peer() const { return peer_; }
  bool isReused() const { return uses_ > 1; }
  void beginUse() { ++uses_; }

  // True when nothing has arrived since the last response ended: no byte in the input
  // buffer or queued in the socket, no EOF, no error. Only such a connection may carry
  // another request, or any byte it holds would be taken for that request's response.
  bool isQuiet() const;
  // Bytes already read past the last response (isQuiet without asking the socket).
  bool hasBufferedInput() const;

  // Hands the bufferevent over (to a Tunnel); the connection is empty afterwards.
  net::BuffereventPtr release() { return std::move(bev_); }

private:
  net::BuffereventPtr bev_;
  std::string key_;
  net::Address peer_;
  std::size_t uses_ = 0;
};

} // namespace ferry::proxy
