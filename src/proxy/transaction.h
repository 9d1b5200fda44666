// Transaction: one request/response exchange between a ClientSession and an origin. It
// routes the request, takes a pooled OriginConnection or opens one, streams the request
// body up and the response body down with back-pressure, re-frames the response for the
// client, retries an idempotent request once when a reused connection turns out dead,
// and reports whether the exchange ended complete (the cache relies on that).
#pragma once

#include "origin_connection.h"

#include "ferry/core/close_reason.h"
#include "ferry/http/hop_by_hop.h"
#include "ferry/http/parser.h"
#include "ferry/net/connector.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace ferry::proxy {

class ClientSession;

class Transaction {
public:
  Transaction(ClientSession& session, http::RequestHead head, http::Target target,
              http::Framing request_framing);
  ~Transaction();

  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void start();
  // Request body bytes as the client parser delivers them (already de-chunked).
  void onRequestBody(std::string_view data);
  void onRequestEnd();
  // The client's output buffer drained below the low water mark.
  void onClientDrained();

  // The response reached the client whole (false: truncated or never sent).
  bool isComplete() const { return complete_; }
  // A CONNECT tunnel that came out of this transaction ended: one access-log line for it.
  void logTunnel(std::uint64_t bytes_to_client, core::CloseReason reason);

private:
  //   Connecting ──connected──▶ Waiting ──head──▶ Relaying ──end──▶ Finished
  //       │                        │ └──dead reused connection, idempotent──▶ Connecting (once)
  //       └──fail: 502/504─────────┴──fail before head: 502/504, after: truncated──▶ Finished
  enum class State { Routing, Connecting, Waiting, Relaying, Finished };

  static void onOriginRead(bufferevent*, void* arg) noexcept;
  static void onOriginWrite(bufferevent*, void* arg) noexcept;
  static void onOriginEvent(bufferevent*, short what, void* arg) noexcept;

  void route();
  void startConnect();
  void connectOrigin();
  void onConnected(net::ConnectResult result);
  void attach(std::unique_ptr<OriginConnection> origin);
  void sendToOrigin(std::string_view bytes);
  void parseResponse();
  void handleStep(const http::Step& step);
  void startResponse();
  void relayBody(std::string_view data);
  void endResponse();
  void originFailed(bool timed_out, const std::string& why);
  bool retryable() const;
  void answer(int status, std::string_view detail);
  void answerHere();
  void finish(bool origin_reusable, core::CloseReason reason);
  void sendToClient(std::string_view bytes);
  void logAccess(std::optional<core::CloseReason> cut_short);

  ClientSession& session_;
  http::RequestHead head_;
  http::Target target_;
  http::Framing request_framing_;
  std::string pool_key_;
  State state_ = State::Routing;

  net::Handle connect_;
  std::unique_ptr<OriginConnection> origin_;
  std::unique_ptr<http::ResponseParser> response_;

  std::string pending_; // bytes for the origin while no connection is attached
  std::string replay_;  // head + body so far, while small enough to send again
  bool replayable_ = true;
  bool retried_ = false;
  bool request_done_ = false;
  bool response_started_ = false; // a final head went to the client
  bool origin_bytes_ = false;     // any response byte arrived on this connection
  bool client_chunked_ = false;   // re-framing the body as chunked for the client
  bool client_close_ = false;     // the client connection ends with this response
  bool origin_keep_ = false;      // the origin allows reuse after this response
  bool complete_ = false;
  http::Framing response_framing_;

  // For the access log.
  std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();
  int status_ = 0;
  std::uint64_t bytes_sent_ = 0;
  std::uint64_t body_bytes_sent_ = 0;
  std::string content_type_;
  std::string origin_ip_;
  std::string_view cache_result_ = "TCP_MISS";
};

} // namespace ferry::proxy
