// Transaction: one request/response exchange between a ClientSession and an origin or the
// cache. It routes the request, answers from the cache when RFC 9111 allows (streaming a
// stored body without copies), collapses concurrent misses onto one origin fetch, takes a
// pooled OriginConnection or opens one, streams the request body up and the response body
// down with back-pressure, re-frames the response for the client, stores what may be
// stored while relaying it, retries an idempotent request once when a reused connection
// turns out dead, and never stores or passes off a truncated body as whole.
#pragma once

#include "entry_reader.h"
#include "origin_connection.h"

#include "ferry/cache/cache_status.h"
#include "ferry/cache/store.h"
#include "ferry/core/close_reason.h"
#include "ferry/http/hop_by_hop.h"
#include "ferry/http/parser.h"
#include "ferry/net/connector.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ferry::proxy {

class ClientSession;

class Transaction {
public:
  // `request_complete`: the request has no body, so it has been read whole already.
  // `upgrade`: the protocols the client asked to switch to (Upgrade with Connection:
  // upgrade), forwarded to the origin; empty when none.
  Transaction(ClientSession& session, http::RequestHead head, http::Target target,
              http::Framing request_framing, bool request_complete,
              std::vector<std::string> upgrade);
  ~Transaction();

  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void start();
  // Request body bytes as the client parser delivers them (already de-chunked).
  void onRequestBody(std::string_view data);
  void onRequestEnd();
  // The client's output buffer drained below the low water mark.
  void onClientDrained();

  // A CONNECT tunnel that came out of this transaction ended: one access-log line for it.
  void logTunnel(std::uint64_t bytes_to_client, core::CloseReason reason);

private:
  //   Routing ──hit──▶ Serving ─────────────────────────────────────────────▶ Finished
  //      │  └──miss, another client fetching──▶ Collapsed ──entry──▶ Serving
  //      │                                          └──no entry──▶ Connecting
  //      └──miss / revalidate──▶ Connecting ──connected──▶ Waiting ──head──▶ Relaying ──end──▶
  //                                  ▲                        │  └──304 or stale-if-error──▶
  //                                  Serving └──dead reused connection, idempotent (once)
  //   any failure: 502/504 before a head, truncated after ──▶ Finished
  enum class State { Routing, Collapsed, Connecting, Waiting, Relaying, Serving, Finished };

  static void onOriginRead(bufferevent*, void* arg) noexcept;
  static void onOriginWrite(bufferevent*, void* arg) noexcept;
  static void onOriginEvent(bufferevent*, short what, void* arg) noexcept;
  static void onFetchDecided(evutil_socket_t, short, void* arg) noexcept;

  void route();
  void forward();
  void connectOrigin();
  void onConnected(net::ConnectResult result);
  void attach(std::unique_ptr<OriginConnection> origin);
  void armOriginTimeouts();
  void sendToOrigin(std::string_view bytes);
  void parseResponse();
  void handleStep(const http::Step& step);
  void relayInterim();
  void holdOriginWhileClientFull();
  void startResponse();
  void relayBody(std::string_view data);
  void endResponse();
  void originFailed(bool timed_out, const std::string& why);
  bool retryable() const;
  void answer(int status, std::string_view detail);
  void answerHere();
  void finish(bool origin_reusable, core::CloseReason reason);
  void releaseOrigin(bool reusable);
  void sendToClient(std::string_view bytes);
  void logAccess(std::optional<core::CloseReason> cut_short);

  // Cache (transaction_cache.cpp).
  void lookupCache();
  void waitForFetch();
  bool revalidated(http::ResponseHead& response);
  void startStoring(const http::ResponseHead& response);
  void serveEntry(std::shared_ptr<const cache::Entry> entry, cache::Outcome outcome);
  void purge();
  std::optional<std::string> secondaryKey(const cache::Entry& entry) const;
  const http::RequestHead& clientHead() const { return client_head_ ? *client_head_ : head_; }

  ClientSession& session_;
  http::RequestHead head_;
  http::Target target_;
  http::Framing request_framing_;
  std::vector<std::string> upgrade_; // protocols the client asked for
  bool switching_ = false;           // the origin answered 101: a Tunnel follows
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
  http::Framing response_framing_;

  // Cache.
  std::string key_;                              // the cache Key of the target
  std::shared_ptr<const cache::Entry> stale_;    // the stored response being revalidated
  std::optional<http::RequestHead> client_head_; // the request as the client sent it, when
                                                 // revalidation rewrote its conditionals
  std::shared_ptr<const cache::Entry> refresh_;  // freshened by a 304: served at its end
  std::unique_ptr<cache::EntryWriter> writer_;   // storing the response being relayed
  cache::FetchTicket ticket_;                    // collapsed forwarding
  net::EventPtr fetch_wake_;                     // declared before the subscription using it
  cache::Subscription fetch_subscription_;
  std::unique_ptr<EntryReader> reader_;
  cache::CacheStatus cache_status_;
  std::chrono::system_clock::time_point request_time_; // sent to the origin (RFC 9111 §4.2.3)

  // For the access log.
  std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();
  int status_ = 0;
  std::uint64_t bytes_sent_ = 0;
  std::uint64_t body_bytes_sent_ = 0;
  std::string content_type_;
  std::string origin_ip_;
};

} // namespace ferry::proxy
