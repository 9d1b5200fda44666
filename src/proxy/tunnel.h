// Tunnel: a byte relay between a client and an origin, for CONNECT and for protocol
// upgrades (WebSocket after a 101). Where the kernel can, the bytes move with splice(2)
// through a pipe per direction (held only while bytes are in it) and never enter user space;
// otherwise they go through ferry's buffers, read 64 KiB a call. Either way: back-pressure (a
// bounded window per direction), a half-close is passed on (EOF from one side → shutdown(SHUT_WR)
// to the other once what it sent is flushed), and an idle timeout ends a tunnel where neither side
// sends anything.
#pragma once

#include "ferry/net/event_ptr.h"
#include "ferry/net/splice_pipe.h"
#include "ferry/proxy/settings.h"

#include <functional>
#include <optional>

namespace ferry::proxy {

class Tunnel {
public:
  // Takes both connections. Bytes already in their buffers (a TLS ClientHello sent right
  // behind the CONNECT, an answer not yet flushed) are relayed first. `pipes`: relay in
  // the kernel where it can, with pipes from there (null: through the buffers; else it
  // must outlive the Tunnel). `done` runs once, on the loop, when both directions are
  // finished, a side failed, or the idle timeout passed; its argument says whether it ended
  // by the idle timeout. The owner destroys the Tunnel afterwards, never inside `done`.
  Tunnel(net::BuffereventPtr client, net::BuffereventPtr origin, Duration idle_timeout,
         net::PipePool* pipes, std::function<void(bool idle_timeout)> done);
  ~Tunnel();

  Tunnel(const Tunnel&) = delete;
  Tunnel& operator=(const Tunnel&) = delete;

  void start();
  std::uint64_t bytesToClient() const { return to_client_; }

private:
  //   Open ──EOF one side──▶ HalfClosed ──EOF other side, flushed──▶ Closed
  //     └──────────error / idle timeout───────────────────────────────▶ Closed
  // The relay is Spliced from the start when the loop has edge-triggered events, else
  // Buffered; a Spliced relay the kernel refuses, or that finds no pipe, turns Buffered with
  // the bytes its pipes hold.
  struct Side {
    Tunnel* tunnel;
    net::BuffereventPtr bev;
    bool eof = false;       // the peer sent FIN
    bool shut_down = false; // we sent FIN to this side
    // Spliced only, for the bytes this side sends: first what was queued in user space
    // when the relay started, then the pipe.
    std::optional<net::SpliceRelay> relay{};
    net::EventPtr readable{}; // edge-triggered, on this side's socket
    net::EventPtr writable{}; // edge-triggered, on this side's socket, for the other's bytes
    // Buffered only: this side's socket readable (level-triggered), while the other side's
    // output has room; its bufferevent writes, and reads nothing itself.
    net::EventPtr pull{};
  };

  static void onPull(evutil_socket_t fd, short what, void* arg) noexcept;
  static void onWrite(bufferevent* bev, void* arg) noexcept;
  static void onEvent(bufferevent* bev, short what, void* arg) noexcept;
  static void onReadable(evutil_socket_t fd, short what, void* arg) noexcept;
  static void onWritable(evutil_socket_t fd, short what, void* arg) noexcept;
  static void onIdle(evutil_socket_t fd, short what, void* arg) noexcept;

  Side& other(Side& side) { return &side == &client_ ? origin_ : client_; }
  bool startSpliced();
  void startBuffered();
  void relay(Side& from);
  void pump(Side& from);
  void maybeShutdown(Side& to);
  // `n` bytes read towards `to` (counted if `to` is the client), so the idle timeout starts again.
  void moved(Side& to, std::size_t n);
  // Bytes moved either way: the idle timeout starts again.
  void restartIdle();
  void finish(bool idle_timeout);

  Side client_;
  Side origin_;
  Duration idle_timeout_;
  net::PipePool* pipes_;
  net::EventPtr idle_; // restarted whenever a byte moves
  std::function<void(bool)> done_;
  bool finished_ = false;
  std::uint64_t to_client_ = 0;
};

} // namespace ferry::proxy
