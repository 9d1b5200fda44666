// Happy Eyeballs connect (RFC 8305): resolve, then staggered non-blocking connects.
#include "ferry/net/connector.h"

#include "ferry/core/assert.h"
#include "ferry/core/histograms.h"
#include "ferry/net/socket.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

namespace ferry::net {
namespace {

std::string hostPort(const std::string& host, uint16_t port) {
  const bool bare_ipv6 = host.find(':') != std::string::npos && host.front() != '[';
  return (bare_ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

ConnectResult connected(int fd, const Address& peer) {
  ConnectResult result;
  result.fd = fd;
  result.peer = peer;
  return result;
}

ConnectResult failed(std::string error, bool timed_out = false) {
  ConnectResult result;
  result.error = std::move(error);
  result.timed_out = timed_out;
  return result;
}

ConnectResult denied(std::string refusal) {
  ConnectResult result = failed(std::move(refusal));
  result.denied = true;
  return result;
}

} // namespace

// One socket connecting to one address. A failed attempt is closed at once but its
// object stays with its Operation until the Operation is reaped.
struct Connector::Attempt {
  Operation* op = nullptr;
  int fd = -1; // -1 once closed or handed to the caller
  Address peer;
  EventPtr writable;
};

// One connect() call.
//
//   connect() ─▶ Resolving ──addresses──▶ Connecting ──a socket connects──▶ Done (fd)
//                   │   │                  │   ▲    │
//                   │   │ DNS error        │   └────┘ attempt failed or AttemptDelay
//                   │   ▼                  ▼          passed: start the next address
//                   │ Done (502)        Done (502: every address failed)
//                   └──the policy refuses every address──▶ Done (403: denied)
//   from Resolving or Connecting: timeout ─▶ Done (504);  Handle cancelled ─▶ Done (silent)
struct Connector::Operation {
  enum class State { Resolving, Connecting, Done };

  Connector* owner = nullptr;
  uint64_t id = 0;
  State state = State::Resolving;
  std::string host;
  uint16_t port = 0;
  std::chrono::milliseconds timeout{0};
  std::chrono::steady_clock::time_point started; // for the origin_connect_seconds histogram
  Done done;
  bool judged = true;         // the policy decides which addresses may be tried
  Connector::Refusal refusal; // decides instead of the policy when set
  Handle lookup;
  std::vector<Address> addresses;
  std::size_t next = 0; // index of the next address to try
  std::vector<std::unique_ptr<Attempt>> attempts;
  std::string last_error;
  EventPtr deadline;
  EventPtr stagger;

  bool hasLiveAttempt() const {
    for (const auto& attempt : attempts)
      if (attempt->fd >= 0)
        return true;
    return false;
  }
};

Connector::Connector(event_base* base, Resolver& resolver,
                     std::shared_ptr<const DestinationPolicy> policy)
    : base_(base), resolver_(resolver), policy_(std::move(policy)),
      canceller_(std::make_shared<Handle::CancelFn>([this](uint64_t id) { cancel(id); })) {
  reap_event_.reset(event_new(base_, -1, 0, &Connector::onReapEvent, this));
  FERRY_ASSERT(reap_event_ && policy_);
}

void Connector::setPolicy(std::shared_ptr<const DestinationPolicy> policy) {
  FERRY_ASSERT(policy);
  policy_ = std::move(policy);
}

Connector::~Connector() {
  canceller_.reset();
  while (!operations_.empty())
    finish(*operations_.begin()->second, {}, false);
  finished_.clear();
}

Handle Connector::connect(std::string_view host, uint16_t port, std::chrono::milliseconds timeout,
                          Done done, Judge judge, Refusal refusal) {
  auto owned = std::make_unique<Operation>();
  Operation& op = *owned;
  op.owner = this;
  op.id = next_id_++;
  op.host = std::string(host);
  op.port = port;
  op.timeout = timeout;
  op.started = std::chrono::steady_clock::now();
  op.done = std::move(done);
  op.judged = judge == Judge::Destination;
  op.refusal = std::move(refusal);
  op.deadline.reset(evtimer_new(base_, &Connector::onDeadlineEvent, &op));
  op.stagger.reset(evtimer_new(base_, &Connector::onStaggerEvent, &op));
  FERRY_ASSERT(op.deadline && op.stagger);
  const timeval tv = toTimeval(timeout.count());
  evtimer_add(op.deadline.get(), &tv);
  operations_.emplace(op.id, std::move(owned));
  // The Resolver never calls back inside resolve(), and op.lookup cancels the callback
  // when op finishes first, so `op` is alive whenever it runs.
  op.lookup =
      resolver_.resolve(host, [this, &op](std::vector<Address> addresses, std::string error) {
        onResolved(op, std::move(addresses), std::move(error));
      });
  return Handle(canceller_, op.id);
}

void Connector::cancel(uint64_t id) {
  if (auto it = operations_.find(id); it != operations_.end())
    finish(*it->second, {}, false);
}

void Connector::onResolved(Operation& op, std::vector<Address> addresses, std::string error) {
  if (!error.empty()) {
    finish(op, failed(std::move(error)), true);
    return;
  }
  FERRY_ASSERT(!addresses.empty());
  std::string refused; // why the first refused one was, named in the answer if none is left
  for (auto& address : addresses) {
    address.setPort(op.port);
    std::string why;
    if (op.judged)
      why = op.refusal ? op.refusal(address) : policy_->refusal(address);
    if (why.empty())
      op.addresses.push_back(address);
    else if (refused.empty())
      refused = std::move(why);
  }
  if (op.addresses.empty()) {
    finish(op, denied(std::move(refused)), true);
    return;
  }
  op.state = Operation::State::Connecting;
  startNextAttempt(op);
}

// Starts the next address that gets as far as an in-progress connect; addresses failing
// at once (no route for that family, say) are skipped. Arms the stagger timer if more
// addresses remain; finishes the operation if nothing is left in flight.
void Connector::startNextAttempt(Operation& op) {
  evtimer_del(op.stagger.get());
  while (op.next < op.addresses.size()) {
    const Address peer = op.addresses[op.next++];
    const int fd = ::socket(peer.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      op.last_error = peer.toString() + ": " + std::strerror(errno);
      continue;
    }
    if (::connect(fd, peer.sockaddrPtr(), peer.length()) == 0) {
      setNoDelay(fd);
      finish(op, connected(fd, peer), true);
      return;
    }
    if (errno != EINPROGRESS) {
      op.last_error = peer.toString() + ": " + std::strerror(errno);
      ::close(fd);
      continue;
    }
    auto attempt = std::make_unique<Attempt>();
    attempt->op = &op;
    attempt->fd = fd;
    attempt->peer = peer;
    attempt->writable.reset(
        event_new(base_, fd, EV_WRITE, &Connector::onWritableEvent, attempt.get()));
    FERRY_ASSERT(attempt->writable);
    event_add(attempt->writable.get(), nullptr);
    op.attempts.push_back(std::move(attempt));
    if (op.next < op.addresses.size()) {
      const timeval tv = toTimeval(AttemptDelay.count());
      evtimer_add(op.stagger.get(), &tv);
    }
    return;
  }
  if (!op.hasLiveAttempt())
    finish(op,
           failed("cannot connect to " + hostPort(op.host, op.port) + " (" + op.last_error + ")"),
           true);
}

void Connector::onAttemptWritable(Attempt& attempt) {
  Operation& op = *attempt.op;
  int error = 0;
  socklen_t len = sizeof(error);
  if (::getsockopt(attempt.fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0)
    error = errno;
  if (error == 0) {
    const int fd = attempt.fd;
    attempt.fd = -1;
    setNoDelay(fd);
    finish(op, connected(fd, attempt.peer), true);
    return;
  }
  op.last_error = attempt.peer.toString() + ": " + std::strerror(error);
  ::close(attempt.fd);
  attempt.fd = -1;
  // RFC 8305 §5: a failed attempt starts the next one without waiting for the delay.
  startNextAttempt(op);
}

void Connector::finish(Operation& op, ConnectResult result, bool notify) {
  FERRY_ASSERT(op.state != Operation::State::Done);
  const auto was = op.state;
  op.state = Operation::State::Done;
  op.lookup.cancel();
  evtimer_del(op.deadline.get());
  evtimer_del(op.stagger.get());
  for (auto& attempt : op.attempts) {
    event_del(attempt->writable.get());
    if (attempt->fd >= 0)
      ::close(attempt->fd);
    attempt->fd = -1;
  }
  if (result.timed_out && result.error.empty())
    result.error =
        (was == Operation::State::Resolving ? "resolving " + op.host
                                            : "connecting to " + hostPort(op.host, op.port)) +
        " timed out after " + std::to_string(op.timeout.count()) + " ms";
  Done done = std::move(op.done);
  auto node = operations_.extract(op.id);
  FERRY_ASSERT(!node.empty());
  finished_.push_back(std::move(node.mapped()));
  event_active(reap_event_.get(), EV_TIMEOUT, 0);
  if (result.fd >= 0)
    core::observe(core::Histogram::OriginConnect,
                  std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - op.started));
  if (notify)
    done(std::move(result));
}

void Connector::onWritableEvent(evutil_socket_t, short, void* arg) noexcept {
  auto& attempt = *static_cast<Attempt*>(arg);
  attempt.op->owner->onAttemptWritable(attempt);
}

void Connector::onStaggerEvent(evutil_socket_t, short, void* arg) noexcept {
  auto& op = *static_cast<Operation*>(arg);
  op.owner->startNextAttempt(op);
}

void Connector::onDeadlineEvent(evutil_socket_t, short, void* arg) noexcept {
  auto& op = *static_cast<Operation*>(arg);
  op.owner->finish(op, failed({}, true), true);
}

void Connector::onReapEvent(evutil_socket_t, short, void* arg) noexcept {
  static_cast<Connector*>(arg)->finished_.clear();
}

} // namespace ferry::net
