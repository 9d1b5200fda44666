// ClientSession: one accepted client connection, from accept to graceful close.
// It enforces the allow-list and the request-head deadline. Proxying is not here yet:
// every request is answered 501.
#pragma once

#include "ferry/net/address.h"
#include "ferry/net/event_ptr.h"
#include "ferry/proxy/settings.h"

#include <memory>

namespace ferry::proxy {

class Worker;

class ClientSession {
public:
  ClientSession(Worker& worker, int fd, net::Address peer, std::shared_ptr<const Settings> settings);

  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  void start();
  // Shutdown: close now if idle, otherwise after the response in progress.
  void drain();

private:
  //   Reading ──(response queued, close)──▶ Flushing ──(output empty)──▶ Lingering ──▶ Done
  //      └──────────────(reset, timeout)───────────────────────────────────────────────▶ Done
  enum class State { Reading, Flushing, Lingering, Done };

  static void onRead(bufferevent*, void* arg) noexcept;
  static void onWrite(bufferevent*, void* arg) noexcept;
  static void onEvent(bufferevent*, short what, void* arg) noexcept;
  static void onTimer(evutil_socket_t, short, void* arg) noexcept;

  void transition(State next);
  void respondAndClose(int status, const char* reason, const char* body);

  Worker& worker_;
  net::Address peer_;
  std::shared_ptr<const Settings> settings_;
  net::BuffereventPtr bev_;
  net::EventPtr timer_;
  State state_ = State::Reading;
  bool received_ = false; // any request byte yet (an idle connection has none)
};

} // namespace ferry::proxy
