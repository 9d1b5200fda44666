// Opens TCP connections to origins by name, for one worker's event loop: resolves through
// the worker's Resolver, drops every address its DestinationPolicy refuses, then races the
// rest Happy Eyeballs style (RFC 8305) within one overall timeout. It hands back a
// connected socket and nothing more: no pooling, no reuse, no bufferevents (the
// OriginPool's business). Loop thread only, never blocks.
#pragma once

#include "ferry/net/address.h"
#include "ferry/net/destination_policy.h"
#include "ferry/net/event_ptr.h"
#include "ferry/net/resolver.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ferry::net {

struct ConnectResult {
  int fd = -1;            // connected, non-blocking, TCP_NODELAY; the caller owns it. -1 on error
  Address peer;           // the address fd is connected to (with port)
  std::string error;      // empty on success, else a short reason for the response body
  bool timed_out = false; // the overall timeout expired (answer 504); otherwise errors are 502
  bool denied = false;    // the policy refused every address (answer 403), nothing was tried
};

class Connector {
public:
  using Done = std::function<void(ConnectResult result)>;

  // RFC 8305 §5: how long an attempt may stay unanswered before the next address starts.
  static constexpr std::chrono::milliseconds AttemptDelay{250};

  // `base` and `resolver` must outlive the Connector. `policy` must not be null.
  Connector(event_base* base, Resolver& resolver, std::shared_ptr<const DestinationPolicy> policy);
  // Cancels every pending connect (callbacks never run) and closes their sockets.
  ~Connector();
  Connector(const Connector&) = delete;
  Connector& operator=(const Connector&) = delete;

  // Resolves `host` ("example.com", "192.0.2.1", "::1") and connects to `port`. Addresses
  // the policy refuses are dropped, with the port, so a name that resolves to a denied
  // address is refused too; when none is left the result is `denied`. The others are tried
  // in the Resolver's order (families interleaved, IPv6 first): the next one starts when
  // the previous fails or after AttemptDelay, and the first to connect wins; the others
  // are closed. `timeout` bounds resolution and connecting together. `done`
  // runs exactly once on the loop thread, never inside this call, unless the Handle
  // cancels it first (which also closes any half-open sockets).
  //
  // `judge`: Destination for a place a client named (the policy applies); Trusted for one
  // the configuration named (a parent proxy), which the policy does not judge.
  // `refusal`, for a Destination: judges each address instead of the policy, returning
  // why it is refused (empty: allowed) — the access rules that depend on the address.
  enum class Judge { Destination, Trusted };
  using Refusal = std::function<std::string(const Address& destination)>;
  [[nodiscard]] Handle connect(std::string_view host, uint16_t port,
                               std::chrono::milliseconds timeout, Done done,
                               Judge judge = Judge::Destination, Refusal refusal = {});

  // Judges the addresses of every name resolved from now on (a reload). Not null.
  void setPolicy(std::shared_ptr<const DestinationPolicy> policy);
  const DestinationPolicy& policy() const { return *policy_; }

private:
  struct Attempt;
  struct Operation;

  void cancel(uint64_t id);
  void onResolved(Operation& op, std::vector<Address> addresses, std::string error);
  void startNextAttempt(Operation& op);
  void onAttemptWritable(Attempt& attempt);
  void finish(Operation& op, ConnectResult result, bool notify);

  static void onWritableEvent(evutil_socket_t, short, void* arg) noexcept;
  static void onStaggerEvent(evutil_socket_t, short, void* arg) noexcept;
  static void onDeadlineEvent(evutil_socket_t, short, void* arg) noexcept;
  static void onReapEvent(evutil_socket_t, short, void* arg) noexcept;

  event_base* base_;
  Resolver& resolver_;
  std::shared_ptr<const DestinationPolicy> policy_;
  std::unordered_map<uint64_t, std::unique_ptr<Operation>> operations_;
  // Finished operations wait here for the next loop pass: one may finish inside one of
  // its own event callbacks, and nothing frees itself there.
  std::vector<std::unique_ptr<Operation>> finished_;
  EventPtr reap_event_;
  uint64_t next_id_ = 1;
  std::shared_ptr<Handle::CancelFn> canceller_;
};

} // namespace ferry::net
