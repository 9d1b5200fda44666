// Worker thread: accept loop, cross-thread task inbox, deferred session destruction
// and draining on shutdown.
#include "worker.h"

#include "client_session.h"

#include "ferry/core/assert.h"
#include "ferry/core/counters.h"
#include "ferry/core/gauges.h"
#include "ferry/net/socket.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <utility>

namespace ferry::proxy {
namespace {

// Idle client sessions a worker keeps awake without waiting for the sweep: past it, the one
// idle longest rests at once if it was idle at the last tick. What they hold (about 2.4 KiB
// each: bufferevent, buffers, parser, timers) stays bounded when idle connections arrive
// faster than they rest, and is reused by the next ones rather than piling up in the
// allocator.
constexpr std::size_t MostAwakeIdle = 64;
// How often the idle sessions of the last tick become eligible for that early rest: a
// connection whose requests come faster never pays for waking, and one that waits longer
// wakes at most fifty times a second. Longer ticks keep more idle connections awake
// (bench row 5 with a 100 ms tick: 600-780 bytes per idle connection; 20 ms: 480-530).
constexpr timeval IdleTick{0, 20'000};

} // namespace

Worker::Worker(unsigned index, Runtime runtime,
               std::shared_ptr<const net::DestinationPolicy> destinations,
               std::shared_ptr<ParentHealth> parents)
    : index_(index), runtime_(std::move(runtime)), base_(event_base_new()), pipes_(base_.get()),
      parent_health_(std::move(parents)), idle_sessions_(MostAwakeIdle, base_.get(), IdleTick) {
  FERRY_ASSERT(base_ && parent_health_);
  wake_.reset(event_new(base_.get(), -1, EV_PERSIST, &Worker::onWake, this));
  reap_.reset(event_new(base_.get(), -1, 0, &Worker::onReap, this));
  grace_.reset(evtimer_new(base_.get(), &Worker::onGraceExpired, this));
  sweep_.reset(event_new(base_.get(), -1, EV_PERSIST, &Worker::onSweep, this));
  FERRY_ASSERT(wake_ && reap_ && grace_ && sweep_);
  resolver_ = std::make_unique<net::Resolver>(base_.get(), net::ResolverSettings{});
  connector_ = std::make_unique<net::Connector>(base_.get(), *resolver_, std::move(destinations));
  pool_ = std::make_unique<OriginPool>();
  // A persistent event with no fd and no timeout only fires through event_active; it
  // must be added so the loop does not exit for lack of events.
  event_add(wake_.get(), nullptr);
  armSweep();
}

Worker::~Worker() {
  FERRY_ASSERT(!thread_.joinable());
  // Sessions hold connect handles and pooled connections: they go before the pool,
  // the connector and the resolver.
  sessions_.clear();
  finished_.clear();
  reportSessions();
  refreshes_.clear();
  fills_.clear();
  listeners_.clear();
  pool_.reset();
  connector_.reset();
  resolver_.reset();
}

void Worker::start() {
  thread_ = std::thread([this] {
    event_base_loop(base_.get(), EVLOOP_NO_EXIT_ON_EMPTY);
    spdlog::debug("worker {} exited", index_);
  });
}

void Worker::join() {
  if (thread_.joinable())
    thread_.join();
}

void Worker::post(std::function<void()> task) {
  {
    std::lock_guard lock(inbox_mutex_);
    inbox_.push_back(std::move(task));
  }
  event_active(wake_.get(), EV_READ, 0);
}

void Worker::onWake(evutil_socket_t, short, void* arg) noexcept {
  auto* self = static_cast<Worker*>(arg);
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(self->inbox_mutex_);
    tasks.swap(self->inbox_);
  }
  for (auto& task : tasks)
    task();
}

void Worker::addListener(int fd) {
  if (draining_) {
    ::close(fd);
    return;
  }
  auto listener = std::make_unique<net::Listener>(
      base_.get(), fd, [this](int client, const net::Address& peer) { accept(client, peer); });
  listener->setAccepting(accepting_);
  listeners_[fd] = std::move(listener);
}

void Worker::removeListener(int fd) {
  listeners_.erase(fd);
}

void Worker::setRuntime(Runtime runtime, std::shared_ptr<const net::DestinationPolicy> destinations,
                        std::uint64_t generation) {
  runtime_ = std::move(runtime);
  runtime_generation_.store(generation, std::memory_order_release);
  // A pooled connection was judged when it was opened; a narrower policy judges it again.
  pool_->closeRefused(*destinations);
  connector_->setPolicy(std::move(destinations));
  updateAccepting();
  armSweep(); // timeouts.client_rest may have changed
}

// One timer for all idle sessions, so that a busy one sets none (IdleSessions).
void Worker::armSweep() {
  if (draining_)
    return;
  const timeval every = net::toTimeval(runtime_.settings->timeouts.client_rest.count());
  evtimer_add(sweep_.get(), &every);
}

void Worker::onSweep(evutil_socket_t, short, void* arg) noexcept {
  static_cast<Worker*>(arg)->idle_sessions_.sweep();
}

void Worker::accept(int fd, const net::Address& peer) {
  net::setNoDelay(fd);
  auto session = std::make_unique<ClientSession>(*this, fd, peer, runtime_.settings);
  ClientSession* raw = session.get();
  raw->setSlot(sessions_.size());
  sessions_.push_back(std::move(session));
  reportSessions();
  raw->start();
  updateAccepting();
}

// The client connection limit is split evenly between workers, so each can enforce
// its share without talking to the others.
void Worker::updateAccepting() {
  const std::size_t workers = std::max(1u, runtime_.settings->workers);
  const std::size_t share = (runtime_.settings->limits.client_connections + workers - 1) / workers;
  const bool want = sessions_.size() < share;
  if (want == accepting_)
    return;
  accepting_ = want;
  for (auto& [fd, listener] : listeners_)
    listener->setAccepting(want);
  if (!want)
    spdlog::warn("worker {}: {} client connections, not accepting until one closes", index_,
                 sessions_.size());
}

void Worker::release(ClientSession* session) {
  finished_.push_back(session);
  event_active(reap_.get(), EV_TIMEOUT, 0);
}

// Its place goes to the last session: no search, no node per session to allocate.
void Worker::erase(ClientSession& session) {
  const std::size_t slot = session.slot();
  FERRY_ASSERT(sessions_[slot].get() == &session);
  if (slot + 1 != sessions_.size()) {
    std::swap(sessions_[slot], sessions_.back());
    sessions_[slot]->setSlot(slot);
  }
  sessions_.pop_back();
}

void Worker::refreshInBackground(const http::RequestHead& request, http::Target target,
                                 std::string key, std::shared_ptr<const cache::Entry> stale) {
  if (draining_)
    return;
  const std::uint64_t id = next_background_++;
  auto refresh =
      std::make_unique<BackgroundRefresh>(*this, runtime_.settings, request, std::move(target),
                                          std::move(key), std::move(stale), backgroundDone(id));
  BackgroundRefresh* raw = refresh.get();
  refreshes_.emplace(id, std::move(refresh));
  raw->start();
}

void Worker::continueFill(std::unique_ptr<OriginExchange> exchange,
                          std::unique_ptr<cache::EntryWriter> writer) {
  const std::uint64_t id = next_background_++;
  auto fill = std::make_unique<DetachedFill>(base(), runtime_.settings, std::move(exchange),
                                             std::move(writer), backgroundDone(id));
  DetachedFill* raw = fill.get();
  fills_.emplace(id, std::move(fill));
  raw->start();
}

std::function<void()> Worker::backgroundDone(std::uint64_t id) {
  return [this, id] {
    background_done_.push_back(id);
    event_active(reap_.get(), EV_TIMEOUT, 0);
  };
}

void Worker::onReap(evutil_socket_t, short, void* arg) noexcept {
  auto* self = static_cast<Worker*>(arg);
  for (std::uint64_t id : std::exchange(self->background_done_, {})) {
    self->refreshes_.erase(id);
    self->fills_.erase(id);
  }
  std::vector<ClientSession*> finished;
  finished.swap(self->finished_);
  for (ClientSession* s : finished)
    self->erase(*s);
  self->reportSessions();
  self->updateAccepting();
  self->maybeExit();
}

void Worker::beginDrain() {
  draining_ = true;
  listeners_.clear();
  refreshes_.clear(); // nobody waits for them
  pool_->clear();
  evtimer_del(sweep_.get()); // an idle session closes now; none rests
  idle_sessions_.stop();
  const timeval grace = net::toTimeval(runtime_.settings->timeouts.shutdown_grace.count());
  evtimer_add(grace_.get(), &grace);
  // drain() may release sessions; iterate over a snapshot.
  std::vector<ClientSession*> live;
  for (auto& session : sessions_)
    live.push_back(session.get());
  for (ClientSession* s : live)
    s->drain();
  maybeExit();
}

void Worker::onGraceExpired(evutil_socket_t, short, void* arg) noexcept {
  auto* self = static_cast<Worker*>(arg);
  if (!self->sessions_.empty())
    spdlog::warn("worker {}: shutdown grace over, closing {} busy connections", self->index_,
                 self->sessions_.size());
  for (auto& session : self->sessions_)
    session->forceClose(core::CloseReason::ShutdownForced);
  self->sessions_.clear();
  self->finished_.clear();
  self->reportSessions();
  event_base_loopexit(self->base_.get(), nullptr);
}

// The client_connections_open gauge follows sessions_ (each worker adds its own share).
void Worker::reportSessions() {
  const auto now = static_cast<std::int64_t>(sessions_.size());
  core::addGauge(core::Gauge::ClientConnections, now - reported_sessions_);
  reported_sessions_ = now;
}

void Worker::maybeExit() {
  if (draining_ && sessions_.empty())
    event_base_loopexit(base_.get(), nullptr);
}

} // namespace ferry::proxy
