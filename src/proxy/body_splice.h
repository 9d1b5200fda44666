// BodySplice: the rest of a response body of known length, moved from the origin's socket
// to the client's with splice(2), so its bytes never enter ferry's memory: for bodies that
// are relayed as they come, neither stored nor re-framed. What the client's connection had
// queued (the head, the body's first bytes) goes first. The pipe is the window: a client
// that reads slowly holds the origin back. A wait longer than timeouts.origin_response for
// the origin, or timeouts.client_idle for the client, ends it.
#pragma once

#include "ferry/net/event_ptr.h"
#include "ferry/net/splice_pipe.h"
#include "ferry/proxy/settings.h"

#include <cstdint>
#include <functional>
#include <memory>

namespace ferry::proxy {

class BodySplice {
public:
  enum class End {
    Whole,         // every byte reached the client's socket
    OriginCut,     // the origin closed or failed before the end (or its socket could no
                   // longer be watched)
    OriginTimeout, // no byte from the origin within timeouts.origin_response
    ClientGone,    // the client's socket failed
    ClientTimeout, // the client took nothing within timeouts.client_idle
    Unsupported,   // the kernel refused to splice, or no pipe could be made, before any
                   // byte moved (the pipe is then kept to the end): the queued bytes are
                   // back in `client_queue`
  };

  // Null when this loop cannot splice (no edge-triggered events); then nothing was touched.
  // Otherwise the bytes of `client_queue` (the client bufferevent's output) are taken, and
  // `done` runs once, from the loop, never inside start(); the owner destroys the
  // BodySplice after it. Pipes come from `pipes`, which must outlive it.
  static std::unique_ptr<BodySplice> start(event_base* base, net::PipePool& pipes, int origin_fd,
                                           int client_fd, evbuffer* client_queue,
                                           std::uint64_t left, const Timeouts& timeouts,
                                           std::function<void(End)> done);
  ~BodySplice();

  BodySplice(const BodySplice&) = delete;
  BodySplice& operator=(const BodySplice&) = delete;

  // Body bytes read from the origin.
  std::uint64_t bytesIn() const { return relay_.bytesIn(); }
  // Of those, the ones that reached the client's socket.
  std::uint64_t bodyBytesOut() const;

private:
  BodySplice(net::PipePool& pipes, int origin_fd, int client_fd, evbuffer* client_queue,
             std::uint64_t left, const Timeouts& timeouts, std::function<void(End)> done);

  static void onReady(evutil_socket_t, short, void* arg) noexcept;
  static void onTimeout(evutil_socket_t, short, void* arg) noexcept;
  void pump();
  void armTimer();
  void finish(End end);

  net::SpliceRelay relay_;
  int origin_fd_;
  int client_fd_;
  evbuffer* client_queue_;
  std::size_t queued_; // bytes of client_queue_ taken first (counted by their writer)
  Timeouts timeouts_;
  std::function<void(End)> done_;
  net::EventPtr readable_; // the origin's socket, edge-triggered
  net::EventPtr writable_; // the client's socket, edge-triggered
  net::EventPtr timer_;
  bool finished_ = false;
};

} // namespace ferry::proxy
