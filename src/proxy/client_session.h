// ClientSession: one accepted client connection, from accept to graceful close. It owns
// the request parser (one per connection, so pipelined bytes wait in its input buffer),
// runs one Transaction at a time — responses therefore go back strictly in request
// order — and turns into a Tunnel after CONNECT. Once it has been idle for a pause
// (timeouts.client_rest), with nothing buffered either way, it rests: it keeps its socket,
// watched by the worker's IdleSessions, and gives back its bufferevent, parser and timers until
// the client sends again. It owns its socket (its bufferevents, and a Tunnel's, do not close it).
#pragma once

#include "client_sink.h"
#include "idle_sessions.h"

#include "ferry/core/close_reason.h"
#include "ferry/http/parser.h"
#include "ferry/net/address.h"
#include "ferry/net/event_ptr.h"
#include "ferry/proxy/settings.h"

#include <cstdint>
#include <memory>
#include <string_view>

namespace ferry::proxy {

class OriginConnection;
class Transaction;
class Tunnel;
class Worker;

class ClientSession final : private ClientSink, public IdleSessions::Link {
public:
  ClientSession(Worker& worker, int fd, net::Address peer,
                std::shared_ptr<const Settings> settings);
  ~ClientSession();

  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  // Waits for the client's first bytes, or answers 403 at once to a client not allowed.
  void start();
  // Shutdown: close now if idle, otherwise after the response in progress.
  void drain();

  // Closes at once, without flushing (shutdown grace over).
  void forceClose(core::CloseReason reason);

  // From the worker's IdleSessions: rests if still idle (mayRest).
  void restIfIdle();
  // From the worker's IdleSessions, which no longer watches it: the client sent something,
  // closed or reset, or (`timed_out`) timeouts.client_idle passed.
  void endRest(bool timed_out);

  // Where the worker keeps it (Worker's sessions_).
  std::uint32_t slot() const { return slot_; }
  void setSlot(std::size_t slot) { slot_ = static_cast<std::uint32_t>(slot); }

private:
  // ClientSink, for the Transaction in progress (same thread).
  const net::Address& peer() const override { return peer_; }
  net::Address localAddress() const override;
  bool keepAlive() const override { return keep_alive_; }
  void write(std::string_view bytes) override;
  evbuffer* output() override;
  bool isFull() const override;
  int lendSocket() override;
  void returnSocket() override;
  void pauseReading() override;
  void resumeReading() override;
  void transactionDone(bool client_reusable, core::CloseReason reason) override;
  void beginTunnel(std::unique_ptr<OriginConnection> origin) override;

  //   Resting ──readable─────────────────────────────────────────────▶ Idle
  //    │ ▲                                                              │
  //    │ └──── all answered, nothing buffered either way, for a pause ──┘
  //    └──idle timeout or drain──▶ Done
  //   Idle ──head──▶ Busy ──done, reusable──▶ Idle
  //    │              │ └──done, close──▶ Flushing ──output empty──▶ Lingering ──EOF/2 s──▶ Done
  //    │              └──CONNECT 200──▶ Tunnelling ──both sides closed──────────────────▶ Done
  //    └──timeout, EOF, bad request──────────▶ Flushing / Done
  // Resting holds no bufferevent, parser, timer or libevent event, only the socket in the
  // worker's IdleSessions: what an idle keep-alive connection costs. A session starts Resting;
  // start() wakes it (Idle) unless its worker has too many idle sessions awake. It rests from
  // the worker's IdleSessions, which it joins each time it becomes idle (from start() on):
  // after a pause (or sooner, when the worker has too many idle sessions awake), never while
  // requests keep coming. A resting session that times out or drains closes without waking.
  enum class State : std::uint8_t { Resting, Idle, Busy, Tunnelling, Flushing, Lingering, Done };

  static void onRead(bufferevent*, void* arg) noexcept;
  static void onWrite(bufferevent*, void* arg) noexcept;
  static void onEvent(bufferevent*, short what, void* arg) noexcept;
  static void onTimer(evutil_socket_t, short, void* arg) noexcept;
  static void onResume(evutil_socket_t, short, void* arg) noexcept;
  static void onOutput(evbuffer*, const evbuffer_cb_info* info, void* arg) noexcept;
  static void onFlush(evutil_socket_t, short, void* arg) noexcept;

  bufferevent* bev() const { return awake_->bev.get(); }
  // The bufferevent writes what onFlush left; until then its EV_WRITE is disabled.
  bool writeWatched() const { return (bufferevent_get_enabled(bev()) & EV_WRITE) != 0; }
  void transition(State next);
  void rest();
  void wake();
  void parseRequests();
  bool mayParse() const;
  bool mayRest() const;
  bool onRequestStep(const http::Step& step);
  void armHeadTimer();
  void startTransaction();
  void refuse(int status, std::string_view detail, core::CloseReason reason);
  void closeGracefully(core::CloseReason reason);
  void armIdleTimer();
  void setUploadTimeout(bool on);
  void abandonRequest(core::CloseReason reason);
  void onTunnelDone(bool idle_timeout);
  void closeSocket();

  // What serving needs and a resting session gives back. Destroyed bottom up: the
  // transactions and the tunnel before the rest, since they hold callbacks into the session.
  struct Awake {
    explicit Awake(ClientSession& session);

    net::BuffereventPtr bev; // on fd_, which it does not close
    net::EventPtr timer;
    net::EventPtr resume;
    // The output is written straight from the loop once something is added to it (flush),
    // and the bufferevent's write event is enabled only while the socket has not taken it
    // all (writeWatched()): no epoll_ctl pair turning EPOLLOUT on and off for every response.
    net::EventPtr flush;
    evbuffer_cb_entry* output_watch = nullptr;
    bool flush_after_resume = false; // onFlush waited for onResume
    bool lent = false;               // the socket is lent (lendSocket): its writer is the borrower
    http::RequestParser parser;
    std::unique_ptr<Tunnel> tunnel;
    std::unique_ptr<Transaction> transaction;
    std::unique_ptr<Transaction> finished; // destroyed from onResume, not in its own callback
    bool tunnel_finished = false;
  };

  Worker& worker_;
  int fd_; // owned; -1 once closed
  std::uint32_t slot_ = 0;
  net::Address peer_;
  std::shared_ptr<const Settings> settings_;
  std::unique_ptr<Awake> awake_; // null while Resting
  State state_ = State::Resting;
  core::CloseReason close_reason_ = core::CloseReason::ClientEof;
  bool keep_alive_ = true;
  bool request_done_ = false;   // the current request's body has been read whole
  bool upload_timeout_ = false; // the read timeout of setUploadTimeout is armed
  bool head_timer_armed_ = false;
  bool reading_paused_ = false;
  bool client_eof_ = false; // the client half-closed: it sends nothing more
};

} // namespace ferry::proxy
