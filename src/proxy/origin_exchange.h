// OriginExchange: one HTTP/1 request/response with an origin, directly or through a parent
// proxy — the one origin client of the proxy module (client transactions and background
// revalidations both use it; neither touches an origin socket). It takes a quiet pooled
// OriginConnection or connects (Happy Eyeballs, destination policy; the next hop when a
// parent is down), writes the head and streams the body with back-pressure,
// keeps a replay copy of a small request so an idempotent one is sent again, once, on a
// fresh connection when a reused connection dies before any response byte, parses the
// response (interim ones too), decides whether the connection may carry another exchange
// and hands it back to the pool only then. It reports to its Owner through callbacks and
// never sees a client, a cache or a log. Worker thread only.
#pragma once

#include "origin_connection.h"
#include "upstream.h"

#include "ferry/core/close_reason.h"
#include "ferry/http/framing.h"
#include "ferry/http/hop_by_hop.h"
#include "ferry/http/parser.h"
#include "ferry/http/target.h"
#include "ferry/net/connector.h"
#include "ferry/proxy/settings.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace ferry::proxy {

class Worker;

// The pool key of a connection: scheme://host:port from the request target, never from a
// header, so a connection only ever carries requests for the origin it was opened to; or
// the parent's, whose connections carry requests for any origin.
std::string poolKey(const http::Target& target, const Hop& hop);

class OriginExchange final : OriginConnection::Reader {
public:
  // Why an exchange ended without a whole response.
  struct Failure {
    int status = 502;         // the answer when no head reached the owner: 403, 502 or 504
    core::CloseReason reason; // OriginError, OriginTimeout or DestinationDenied
    std::string why;          // short, for the response body and the log
  };

  // What the exchange tells its user. Every callback runs on the loop thread, from the
  // exchange's own event callbacks: the owner must not destroy the exchange inside one
  // except in onEnd, onFailed and onTunnel, after which the exchange touches nothing.
  class Owner {
  public:
    // A 1xx other than 101, hop-by-hop fields removed.
    virtual void onInterim(http::ResponseHead& head) = 0;
    // The final head, hop-by-hop fields removed; `options` are what its Connection said.
    virtual void onHead(http::ResponseHead& head, http::Framing framing,
                        const http::ConnectionOptions& options) = 0;
    virtual void onBody(std::string_view data) = 0; // valid during the call only
    virtual void onEnd() = 0;                       // the response is whole
    // No whole response: before onHead the owner answers `failure.status`; after it, the
    // body was cut short.
    virtual void onFailed(const Failure& failure) = 0;
    // The connection carries raw bytes from now on (CONNECT established, or after a 101
    // head): take it with takeConnection().
    virtual void onTunnel() = 0;
    // The origin took the request bytes queued for it: more of the body is welcome.
    virtual void onRequestDrained() = 0;

  protected:
    ~Owner() = default;
  };

  struct Request {
    http::Target target;                       // where to (CONNECT: its authority)
    http::RequestHead head;                    // as the next hop gets it (originRequest)
    std::vector<Hop> hops;                     // tried in order while they fail to connect
    http::Framing body_framing;                // Chunked: sendBody() data is chunk-encoded
    bool body_done = true;                     // no body, or sent whole by endBody()
    bool upgrade = false;                      // a 101 may answer it
    std::chrono::milliseconds connect_timeout; // timeouts.origin_connect
    net::Connector::Refusal refusal;           // judges the origin's addresses instead of the
                                               // destination policy (access rules), when set
  };

  OriginExchange(Worker& worker, const Settings& settings, Owner& owner, Request request);
  ~OriginExchange();

  OriginExchange(const OriginExchange&) = delete;
  OriginExchange& operator=(const OriginExchange&) = delete;

  // Takes a pooled connection (idempotent requests only: the others must not meet a
  // connection the origin may be closing right now) or connects.
  void start();
  // Request body bytes as the client sent them, de-chunked. Returns false once the bytes
  // queued for the origin reach the high water mark: wait for onRequestDrained().
  bool sendBody(std::string_view data);
  void endBody();
  // The owner's client is full: stop reading the response until resumeResponse().
  void pauseResponse();
  void resumeResponse();
  // Another owner takes the exchange (its callbacks from now on) and `settings` replace the
  // ones it was made with; both must outlive it. Outside the exchange's callbacks only.
  void handOver(Owner& owner, const Settings& settings);
  // Ends the exchange early (the owner answers from elsewhere): the connection is closed,
  // never pooled, and no callback follows. Nothing once the response ended or a tunnel
  // took the connection.
  void abandon();

  // The rest of a Content-Length body moved by the owner from the socket itself (splice):
  // once every byte read so far has gone to onBody, and if the body is not whole yet nor
  // the request still being sent, the exchange stops reading and offers `take` its socket
  // and the body's remaining length. `take` returns false to leave it to the exchange;
  // after true, endLoan() says how it went and how many bytes were read from the socket,
  // and nothing else is reported.
  enum class LoanEnd {
    Whole,  // every remaining byte was moved: the connection may go back to the pool
    Cut,    // the body or the owner's client failed: the connection closes
    Unused, // nothing was moved: the exchange reads the body on as before
  };
  void lendBody(std::function<bool(int fd, std::uint64_t left)> take);
  void endLoan(LoanEnd end, std::uint64_t bytes_read);

  // After onTunnel: the connection, for a Tunnel to relay.
  std::unique_ptr<OriginConnection> takeConnection();

  // The address of the connection in use (empty before one connected), and the parent it
  // leads to (null: direct).
  std::string peerHost() const { return peer_.host(); }
  const Parent* parent() const { return request_.hops[hop_].parent; }
  // When the request was sent on the connection that answered (RFC 9111 §4.2.3).
  std::chrono::system_clock::time_point requestTime() const { return request_time_; }

private:
  //   Idle ──start──▶ Connecting ──connected──▶ Waiting ──final head──▶ Receiving ──end──▶ Done
  //          │          │ ▲ parent down:      ▲  │  ▲ 1xx                │
  //          │          └─┘ next hop          │  │  └──┘                 └─101, CONNECT 2xx
  //          └──pooled, quiet─────────────────┘  │                          from a parent ──▶
  //          Tunnel
  //                     ▲ dead reused connection, idempotent, once: Connecting
  //                                              └──CONNECT direct, connected─────────▶ Tunnel
  //   any failure ──▶ Done (onFailed)
  //   Receiving ──body lent (lendBody)──▶ Lent ──endLoan──▶ Done (or back to Receiving)
  enum class State { Idle, Connecting, Waiting, Receiving, Lent, Tunnel, Done };

  void onReadable(short what) override;
  static void onWrite(bufferevent*, void* arg) noexcept;
  static void onEvent(bufferevent*, short what, void* arg) noexcept;

  void transition(State next);
  void connect();
  void onConnected(net::ConnectResult result);
  void attach(std::unique_ptr<OriginConnection> origin);
  void write(std::string_view bytes);
  void flush();
  std::string headFor(const Hop& hop) const;
  void armTimeouts();
  void watchReads(bool on);
  void closed(bool eof);
  // Parses what was read; false once the exchange is over (and the owner may have destroyed
  // it).
  bool parse();
  void lend();
  bool handle(const http::Step& step);
  void onHeadParsed();
  // A 101, or a parent's 2xx to CONNECT: HTTP ends on the connection after this head.
  bool isTunnelAnswer(const http::ResponseHead& head) const;
  void fail(int status, core::CloseReason reason, std::string why);
  bool retryable() const;
  bool skipParent(const std::string& why, bool resend);
  void release(bool reusable);

  Worker& worker_;
  const Settings* settings_;
  Owner* owner_;
  Request request_;
  std::size_t hop_ = 0; // into request_.hops
  std::string pool_key_;
  State state_ = State::Idle;

  net::Handle connect_;
  std::unique_ptr<OriginConnection> origin_;
  std::unique_ptr<http::ResponseParser> parser_;

  std::string pending_; // body bytes while no connection is attached
  std::string replay_;  // the body so far, while small enough to send again
  bool replayable_ = true;
  bool retried_ = false;
  bool response_bytes_ = false; // any response byte arrived on this connection
  bool keep_ = false;           // the connection may carry another exchange after this one
  std::uint64_t body_left_ = 0; // of a Content-Length body, not yet passed to onBody
  std::function<bool(int, std::uint64_t)> lend_;
  // The response is read 64 KiB a call (net::readInput) when the connection says it is
  // readable (onReadable); the bufferevent writes the request.
  bool reading_ = false;             // reads are watched (not paused by the owner)
  bool reading_before_loan_ = false; // reading_ when the socket was lent
  net::Address peer_;                // formatted only when asked for (the access log)
  std::chrono::system_clock::time_point request_time_;
};

} // namespace ferry::proxy
