// Tunnel: a byte relay between a client and an origin, for CONNECT and for protocol
// upgrades (WebSocket after a 101). Back-pressure through bufferevent water marks; a
// half-close is passed on (EOF from one side → shutdown(SHUT_WR) to the other once what it
// sent is flushed); an idle timeout ends a tunnel where neither side sends anything.
#pragma once

#include "ferry/net/event_ptr.h"
#include "ferry/proxy/settings.h"

#include <functional>

namespace ferry::proxy {

class Tunnel {
public:
  // Takes both connections. Bytes already in a side's input buffer are relayed first.
  // `done` runs once, on the loop, when both directions are finished, a side failed, or
  // the idle timeout passed; its argument says whether it ended by the idle timeout. The
  // owner destroys the Tunnel afterwards, never inside `done`.
  Tunnel(net::BuffereventPtr client, net::BuffereventPtr origin, Duration idle_timeout,
         std::function<void(bool idle_timeout)> done);
  ~Tunnel();

  Tunnel(const Tunnel&) = delete;
  Tunnel& operator=(const Tunnel&) = delete;

  void start();
  std::uint64_t bytesToClient() const { return to_client_; }

private:
  //   Open ──EOF one side──▶ HalfClosed ──EOF other side, flushed──▶ Closed
  //     └──────────error / idle timeout───────────────────────────────▶ Closed
  struct Side {
    Tunnel* tunnel;
    net::BuffereventPtr bev;
    bool eof = false;       // the peer sent FIN
    bool shut_down = false; // we sent FIN to this side
  };

  static void onRead(bufferevent* bev, void* arg) noexcept;
  static void onWrite(bufferevent* bev, void* arg) noexcept;
  static void onEvent(bufferevent* bev, short what, void* arg) noexcept;

  Side& other(Side& side) { return &side == &client_ ? origin_ : client_; }
  void relay(Side& from);
  void maybeShutdown(Side& to);
  void finish(bool idle_timeout);

  Side client_;
  Side origin_;
  Duration idle_timeout_;
  std::function<void(bool)> done_;
  bool finished_ = false;
  std::uint64_t to_client_ = 0;
};

} // namespace ferry::proxy
