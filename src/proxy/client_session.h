// ClientSession: one accepted client connection, from accept to graceful close. It owns
// the request parser (one per connection, so pipelined bytes wait in its input buffer),
// runs one Transaction at a time — responses therefore go back strictly in request
// order — and turns into a Tunnel after CONNECT.
#pragma once

#include "client_sink.h"

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

class ClientSession final : private ClientSink {
public:
  ClientSession(Worker& worker, int fd, net::Address peer,
                std::shared_ptr<const Settings> settings);
  ~ClientSession();

  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  void start();
  // Shutdown: close now if idle, otherwise after the response in progress.
  void drain();

  // Closes at once, without flushing (shutdown grace over).
  void forceClose(core::CloseReason reason);

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

  //   Idle ──head──▶ Busy ──done, reusable──▶ Idle
  //    │              │ └──done, close──▶ Flushing ──output empty──▶ Lingering ──EOF/2 s──▶ Done
  //    │              └──CONNECT 200──▶ Tunnelling ──both sides closed──────────────────▶ Done
  //    └──timeout, EOF, bad request──────────▶ Flushing / Done
  enum class State { Idle, Busy, Tunnelling, Flushing, Lingering, Done };

  static void onRead(bufferevent*, void* arg) noexcept;
  static void onWrite(bufferevent*, void* arg) noexcept;
  static void onEvent(bufferevent*, short what, void* arg) noexcept;
  static void onTimer(evutil_socket_t, short, void* arg) noexcept;
  static void onResume(evutil_socket_t, short, void* arg) noexcept;

  void transition(State next);
  void parseRequests();
  bool mayParse() const;
  bool onRequestStep(const http::Step& step);
  void armHeadTimer();
  void startTransaction();
  void refuse(int status, std::string_view detail, core::CloseReason reason);
  void closeGracefully(core::CloseReason reason);
  void armIdleTimer();
  void setUploadTimeout(bool on);
  void abandonRequest(core::CloseReason reason);
  void onTunnelDone(bool idle_timeout);

  Worker& worker_;
  std::uint32_t slot_ = 0;
  net::Address peer_;
  std::shared_ptr<const Settings> settings_;
  net::BuffereventPtr bev_;
  net::EventPtr timer_;
  net::EventPtr resume_;
  http::RequestParser parser_;
  std::unique_ptr<Transaction> transaction_;
  std::unique_ptr<Transaction> finished_; // destroyed from onResume, not in its own callback
  std::unique_ptr<Tunnel> tunnel_;
  State state_ = State::Idle;
  bool keep_alive_ = true;
  bool request_done_ = false;   // the current request's body has been read whole
  bool upload_timeout_ = false; // the read timeout of setUploadTimeout is armed
  bool head_timer_armed_ = false;
  bool reading_paused_ = false;
  bool draining_ = false;
  bool tunnel_finished_ = false;
  bool client_eof_ = false; // the client half-closed: it sends nothing more
  core::CloseReason close_reason_ = core::CloseReason::ClientEof;
};

} // namespace ferry::proxy
