// ClientSink: what a Transaction may do to its client connection — write bytes, hold back or
// resume reading the request body, and end the exchange — and nothing else (no socket, no
// session state). ClientSession implements it; tests drive a Transaction through their own.
#pragma once

#include "ferry/core/close_reason.h"
#include "ferry/net/address.h"

#include <memory>
#include <string_view>

struct evbuffer;

namespace ferry::proxy {

class OriginConnection;

class ClientSink {
public:
  virtual const net::Address& peer() const = 0;
  // The address the client reached ferry on.
  virtual net::Address localAddress() const = 0;
  // Whether the client wants the connection kept after this response (decided at the
  // request head; false once ferry decided to close it).
  virtual bool keepAlive() const = 0;

  virtual void write(std::string_view bytes) = 0;
  // The client's output buffer, for stored bodies sent by reference (no copy).
  virtual evbuffer* output() = 0;
  // At or above the high water mark: produce nothing more until onClientDrained().
  virtual bool isFull() const = 0;

  // For a body moved by splice(2): the client's socket, with the connection's own reading
  // and writing stopped (what output() holds is the borrower's to send first: it takes it);
  // -1 when there is no socket to lend. returnSocket() starts the connection again.
  virtual int lendSocket() = 0;
  virtual void returnSocket() = 0;

  // Back-pressure on the request body: stop/start reading it from the client.
  virtual void pauseReading() = 0;
  virtual void resumeReading() = 0;

  // The exchange is over. `reusable`: the response was complete and self-delimited and the
  // request was read whole, so the next request may follow. The Transaction is destroyed
  // later, from the loop.
  virtual void transactionDone(bool reusable, core::CloseReason reason) = 0;
  // CONNECT established or protocols switched: relay raw bytes with `origin` from now on.
  virtual void beginTunnel(std::unique_ptr<OriginConnection> origin) = 0;

protected:
  ~ClientSink() = default;
};

} // namespace ferry::proxy
