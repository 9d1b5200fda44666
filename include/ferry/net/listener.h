// A listening socket on an event loop: hands each accepted connection to its owner, and when
// accept() fails (out of file descriptors or memory) stops accepting for a moment instead of
// retrying at once in a busy loop. Whether to accept at all (connection limits, draining) is
// the owner's decision, not the Listener's.
#pragma once

#include "ferry/net/address.h"
#include "ferry/net/event_ptr.h"

#include <chrono>
#include <functional>

namespace ferry::net {

class Listener {
public:
  // Receives each accepted connection's fd (non-blocking, close-on-exec), which it then owns.
  using Accept = std::function<void(int fd, const Address& peer)>;

  // How long accepting stops after a failed accept(); one warning is logged per pause.
  static constexpr std::chrono::milliseconds PauseAfterError{500};

  // Accepts on `fd`, a listening socket (openListenSocket) that the Listener takes and
  // closes; `accept` runs on the thread of `base`. Accepting starts at once.
  Listener(event_base* base, int fd, Accept accept);

  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Whether the owner wants connections accepted; a pause after an error still applies.
  // On the thread of `base` only.
  void setAccepting(bool accepting);

  const Address& address() const { return address_; }

private:
  static void onAccept(evconnlistener*, evutil_socket_t fd, sockaddr* sa, int len,
                       void* arg) noexcept;
  static void onError(evconnlistener*, void* arg) noexcept;
  static void onResume(evutil_socket_t, short, void* arg) noexcept;

  void pause(int error);
  void apply();

  Address address_;
  Accept accept_;
  ListenerPtr listener_;
  EventPtr resume_;
  bool wanted_ = true;
  bool paused_ = false;
};

} // namespace ferry::net
