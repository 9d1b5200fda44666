// Transaction: one request/response exchange of a client, as named steps. It routes the
// request, answers from the cache when RFC 9111 allows (streaming a stored body without
// copies), collapses concurrent misses onto one origin fetch, fetches through an
// OriginExchange, re-frames the response for the client, stores what may be stored while
// relaying it, and never stores or passes off a truncated body as whole. It reaches its
// client only through a ClientSink and never edits the client's request: what goes
// upstream is built from it (origin_request.h).
#pragma once

#include "body_splice.h"
#include "client_sink.h"
#include "entry_reader.h"
#include "origin_exchange.h"
#include "room_wait.h"

#include "ferry/access/rules.h"
#include "ferry/cache/cache_status.h"
#include "ferry/cache/policy.h"
#include "ferry/cache/store.h"
#include "ferry/core/close_reason.h"
#include "ferry/http/message.h"
#include "ferry/http/target.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ferry::proxy {

class Worker;

class Transaction final : private OriginExchange::Owner {
public:
  // `request`: the client's head, hop-by-hop fields removed. `request_complete`: it has no
  // body, so it has been read whole already. `upgrade`: the protocols the client asked to
  // switch to (Upgrade with Connection: upgrade), forwarded to the origin; empty when none.
  // `credentials`: the client's Proxy-Authorization (removed from `request` as hop-by-hop).
  Transaction(ClientSink& client, Worker& worker, const Settings& settings,
              http::RequestHead request, http::Target target, http::Framing request_framing,
              bool request_complete, std::vector<std::string> upgrade,
              std::optional<std::string> credentials = std::nullopt);
  ~Transaction();

  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void start();
  // Request body bytes as the client parser delivers them (already de-chunked).
  void onRequestBody(std::string_view data);
  void onRequestEnd();
  // The client's output buffer drained below the low water mark.
  void onClientDrained();
  // Bytes for the client are on their way later in this loop turn (a stored body's reader
  // has been woken).
  bool isProducing() const { return reader_ && reader_->isWoken(); }

  // The Tunnel that came out of this transaction ended: one access-log line for it.
  void logTunnel(std::uint64_t bytes_to_client, core::CloseReason reason);

private:
  //   Route (waits for the resolver when access rules judge addresses)
  //   Route ──not in memory, with a disk tier──▶ Load ──what disk held──▶ on as from Route
  //   Route ──PURGE──▶ Purge (until the disk's removal is committed) ──200/404──▶ Finish
  //   Route ──hit──────────────────────────────────────────────────▶ Serve ──end──▶ Finish
  //     │ │ └──miss, another client fetching──▶ Collapse ──stored──▶ Serve
  //     │ │                                         └──nothing──▶ Fetch
  //     │ ├──miss, bypass────────────────────▶ Fetch ──head──▶ Relay ──end──────────▶ Finish
  //     │ │                                     └──101──▶ Switch ──────────────────▶ Tunnel
  //     │ ├──stale──▶ Revalidate ──200──▶ Relay
  //     │ │              ├──304──▶ Refreshed ──end──▶ Serve
  //     │ │              ├──304 selecting no stored response, end──▶ Fetch
  //     │ │              └──5xx or failure, stale-if-error──▶ Serve
  //     │ └──CONNECT──▶ Connect ──established──────────────────────────────────▶ Tunnel
  //     └──refused, answered here (403, 407, 4xx, TRACE, only-if-cached)───────▶ Finish
  //   Connect, Fetch, Revalidate: failure before a head ──▶ 403/502/504 ──▶ Finish
  //   Relay, Serve: cut short ──▶ Finish (truncated: the client connection closes)
  //   Relay storing, client gone: others stream the Entry ──▶ DetachedFill, else dropped
  enum class Step {
    Route,
    Load,
    Purge,
    Collapse,
    Connect,
    Fetch,
    Revalidate,
    Refreshed,
    Relay,
    Serve,
    Switch,
    Tunnel,
    Finish
  };
  static const char* name(Step step);

  void transition(Step next);

  // Routing (transaction.cpp).
  void route();
  bool admit();
  void judgeAddresses();
  void routeAdmitted();
  const access::Settings& accessSettings() const;
  access::Request accessRequest() const;
  std::string refusalFor(const net::Address& destination);
  void fetch(Step step);
  void answer(int status, std::string_view detail, std::string_view proxy_authenticate = {});
  void refuse(std::string_view why);
  void challenge(std::string_view why);
  void servePac();
  void answerHere();
  void finish(core::CloseReason reason);

  // The origin's answer (OriginExchange::Owner).
  void onInterim(http::ResponseHead& head) override;
  void onHead(http::ResponseHead& head, http::Framing framing,
              const http::ConnectionOptions& options) override;
  void onBody(std::string_view data) override;
  void onEnd() override;
  void onFailed(const OriginExchange::Failure& failure) override;
  void onTunnel() override;
  void onRequestDrained() override;

  void relayHead(http::ResponseHead& head, http::Framing framing);
  void relayBody(std::string_view data);
  bool spliceBody(int origin_fd, std::uint64_t left);
  void onSpliceEnd(BodySplice::End end);
  void onFillSent(EntryReader::End end);
  void onStoreRoom();
  void switchProtocols(http::ResponseHead& head, const http::ConnectionOptions& options);
  void sendToClient(std::string_view bytes);
  void holdOriginWhileClientFull();
  void logAccess(std::optional<core::CloseReason> cut_short);

  // Cache (transaction_cache.cpp).
  static void onWake(evutil_socket_t, short, void* arg) noexcept;
  event* armWake();
  static cache::Outcome hitOutcome(const cache::Entry* entry);
  void lookupCache();
  void loadFromSlowerTier();
  void waitFor(std::shared_ptr<cache::TierTask> task);
  void onLookedUp(std::shared_ptr<const cache::Entry> entry, cache::Outcome hit);
  void waitForFetch();
  void onFetchDecided();
  bool answeredByRevalidation(http::ResponseHead& response);
  bool serveStaleOnError();
  void startStoring(const http::ResponseHead& response, http::Framing framing);
  void serveEntry(std::shared_ptr<const cache::Entry> entry, cache::Outcome outcome);
  std::string hitHead(const cache::HeadTemplate& lines, std::chrono::seconds age) const;
  void purge();
  void answerPurge(std::size_t removed);
  std::optional<std::string> secondaryKey(const cache::Entry& entry) const;

  ClientSink& client_;
  Worker& worker_;
  const Settings& settings_;
  const http::RequestHead request_; // as the client sent it, hop-by-hop fields removed
  const http::Target target_;
  const http::Framing request_framing_;
  const std::vector<std::string> upgrade_;       // protocols the client asked for
  const std::optional<std::string> credentials_; // Proxy-Authorization, never forwarded
  std::string user_;                             // verified proxy user; empty when none
  bool by_address_ = false; // the access rules judge each resolved address (refusalFor)
  bool challenged_ = false; // refusalFor refused an address for want of credentials
  net::Handle resolving_;   // judgeAddresses()' lookup, cancelled with the Transaction
  Step step_ = Step::Route;
  bool request_done_;            // the request body has been read whole
  bool client_close_ = false;    // the client connection ends with this response
  bool client_chunked_ = false;  // the body is re-framed as chunked for the client
  bool close_delimited_ = false; // the client's body ends with the connection
  std::unique_ptr<OriginExchange> exchange_;
  std::unique_ptr<BodySplice> splice_; // the body's rest, from the exchange's socket (Relay)

  // Cache.
  std::string key_;                             // the cache Key of the target
  std::shared_ptr<const cache::Entry> stale_;   // the stored response being revalidated
  std::shared_ptr<const cache::Entry> refresh_; // freshened by a 304: served at its end
  // Storing the response being relayed: the origin is read at its own pace into the Entry,
  // and this client reads it from there (reader_) like any other. Once the Entry is abandoned
  // the client gets what was stored, then the rest relayed with back-pressure.
  std::unique_ptr<cache::EntryWriter> writer_;
  std::string backlog_; // origin bytes that came after the Entry was abandoned, not sent yet
  enum class OriginEnd { Receiving, Ended, Truncated };
  OriginEnd origin_end_ = OriginEnd::Receiving;
  cache::FetchTicket ticket_;                  // collapsed forwarding
  std::shared_ptr<cache::TierTask> tier_task_; // the disk's lookup (Load) or removal (Purge)
  // Load, Purge and Collapse wait for another thread, which activates wake_ through the
  // subscription.
  net::EventPtr wake_; // declared before the subscription using it
  cache::Subscription wake_subscription_;
  std::unique_ptr<EntryReader> reader_;
  cache::CacheStatus cache_status_;

  // For the access log.
  std::chrono::system_clock::time_point started_;
  int status_ = 0;
  std::uint64_t bytes_sent_ = 0;
  std::uint64_t body_bytes_sent_ = 0;
  std::string content_type_;

  // Storing: the origin is paused while the store holds back the body (isFull).
  RoomWait room_;
};

} // namespace ferry::proxy
