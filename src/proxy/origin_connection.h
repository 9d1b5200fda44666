// OriginConnection: one upstream TCP connection, reused across transactions and clients of
// one worker. It only carries bytes; the OriginExchange using it does the HTTP. Its
// bufferevent writes; reads are watched by one event of its own, kept from one user to the
// next (the exchange, then the pool while idle, then the next exchange), so a reused
// connection is not taken off and put back on the loop's watch list for every request.
#pragma once

#include "ferry/net/address.h"
#include "ferry/net/event_ptr.h"

#include <chrono>
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

  // Told when the socket is readable (EV_READ) or its wait ran out (EV_TIMEOUT).
  class Reader {
  public:
    virtual void onReadable(short what) = 0;

  protected:
    ~Reader() = default;
  };
  // Who is told from now on. Null, between two readers: should the socket turn readable
  // meanwhile, the watch stops.
  void setReader(Reader* reader) { reader_ = reader; }
  // Watches for reads, within `timeout` when given (again: only the timeout changes).
  void watchReads(const timeval* timeout);
  void stopReads();
  // The bufferevent's write timeout, set only when it changes.
  void setWriteTimeout(std::chrono::milliseconds timeout);

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
  net::BuffereventPtr release();

private:
  static void onEvent(evutil_socket_t, short what, void* arg) noexcept;

  net::BuffereventPtr bev_;
  net::EventPtr readable_;
  Reader* reader_ = nullptr;
  std::chrono::milliseconds write_timeout_{-1}; // none set yet
  std::string key_;
  net::Address peer_;
  std::size_t uses_ = 0;
};

} // namespace ferry::proxy
