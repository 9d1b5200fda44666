// IdleSessions: joining, leaving and resting from the awake lists; the resting sockets' epoll
// set and idle timeouts.
#include "idle_sessions.h"

#include "client_session.h"

#include "ferry/core/gauges.h"

#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

namespace ferry::proxy {
namespace {

// Resting sockets taken from the epoll set per turn of the loop; more wait for the next.
constexpr int ReadyPerTurn = 64;

} // namespace

void IdleSessions::Link::unlink() {
  prev_->next_ = next_;
  next_->prev_ = prev_;
  prev_ = next_ = nullptr;
}

void IdleSessions::Head::append(Link& link) {
  link.prev_ = prev_;
  link.next_ = this;
  prev_->next_ = &link;
  prev_ = &link;
}

void IdleSessions::Head::takeAll(Head& from) {
  if (from.isEmpty())
    return;
  from.next_->prev_ = prev_;
  prev_->next_ = from.next_;
  from.prev_->next_ = this;
  prev_ = from.prev_;
  from.prev_ = from.next_ = &from;
}

IdleSessions::IdleSessions(std::size_t most_awake, event_base* base, timeval tick)
    : most_awake_(most_awake), base_(base), tick_(evtimer_new(base, &IdleSessions::onTick, this)),
      tick_interval_(tick), epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)) {
  FERRY_ASSERT(tick_ && epoll_fd_ >= 0);
  readable_.reset(
      event_new(base, epoll_fd_, EV_READ | EV_PERSIST, &IdleSessions::onReadable, this));
  rest_timer_.reset(evtimer_new(base, &IdleSessions::onRestTimeout, this));
  FERRY_ASSERT(readable_ && rest_timer_);
  event_add(readable_.get(), nullptr);
}

IdleSessions::~IdleSessions() {
  readable_.reset();
  ::close(epoll_fd_);
}

void IdleSessions::add(ClientSession& session) {
  Link& link = session;
  FERRY_ASSERT(!link.resting_);
  if (link.next_ != nullptr) {
    link.unlink();
    --linked_;
  }
  if (fresh_.isEmpty() && !stopped_)
    evtimer_add(tick_.get(), &tick_interval_);
  fresh_.append(session);
  ++linked_;
  while (linked_ > most_awake_ && !(settled_.isEmpty() && recent_.isEmpty()))
    offerRest(settled_.isEmpty() ? *recent_.next_ : *settled_.next_);
}

void IdleSessions::remove(ClientSession& session, int fd) {
  Link& link = session;
  if (link.next_ == nullptr)
    return;
  link.unlink();
  if (!link.resting_) {
    --linked_;
    return;
  }
  link.resting_ = false;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  core::addGauge(core::Gauge::ClientConnectionsResting, -1);
}

bool IdleSessions::rest(ClientSession& session, int fd, std::chrono::milliseconds idle) {
  Link& link = session;
  FERRY_ASSERT(link.next_ == nullptr);
  epoll_event watch{};
  watch.events = EPOLLIN; // level-triggered; a reset or hang-up is reported as well
  watch.data.ptr = &link;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &watch) != 0) {
    if (!std::exchange(refused_, true))
      spdlog::warn("idle client connections cannot rest: epoll_ctl: {}; they stay awake until "
                   "their next request or timeouts.client_idle",
                   std::strerror(errno));
    return false;
  }
  refused_ = false;
  auto queue = std::find_if(rest_queues_.begin(), rest_queues_.end(),
                            [idle](const auto& q) { return q->idle == idle; });
  if (queue == rest_queues_.end())
    queue = rest_queues_.insert(queue, std::make_unique<RestQueue>(idle));
  const bool first = (*queue)->sessions.isEmpty();
  link.rested_at_ = nowMs();
  link.resting_ = true;
  (*queue)->sessions.append(link);
  core::addGauge(core::Gauge::ClientConnectionsResting, 1);
  if (first)
    armRestTimer();
  return true;
}

void IdleSessions::offerRest(Link& link) {
  link.unlink();
  --linked_;
  static_cast<ClientSession&>(link).restIfIdle();
}

void IdleSessions::sweep() {
  while (!settled_.isEmpty())
    offerRest(*settled_.next_);
  settled_.takeAll(recent_);
  settled_.takeAll(fresh_);
}

void IdleSessions::stop() {
  stopped_ = true;
  evtimer_del(tick_.get());
}

void IdleSessions::onTick(evutil_socket_t, short, void* arg) noexcept {
  auto* self = static_cast<IdleSessions*>(arg);
  self->recent_.takeAll(self->fresh_);
}

// Each session leaves the set as it wakes (remove). One that an earlier one's wake closed
// meanwhile has already left it; its memory is freed only from the worker's loop, later.
void IdleSessions::onReadable(evutil_socket_t fd, short, void*) noexcept {
  epoll_event ready[ReadyPerTurn];
  const int n = ::epoll_wait(fd, ready, ReadyPerTurn, 0);
  for (int i = 0; i < n; ++i) {
    auto* link = static_cast<Link*>(ready[i].data.ptr);
    if (link->resting_)
      static_cast<ClientSession*>(link)->endRest(false);
  }
}

void IdleSessions::onRestTimeout(evutil_socket_t, short, void* arg) noexcept {
  auto* self = static_cast<IdleSessions*>(arg);
  const std::uint32_t now = self->nowMs();
  for (std::size_t i = 0; i < self->rest_queues_.size(); ++i) {
    RestQueue& queue = *self->rest_queues_[i];
    while (!queue.sessions.isEmpty()) {
      Link& first = *queue.sessions.next_;
      if (static_cast<std::int32_t>(now - first.rested_at_) < queue.idle.count())
        break;
      static_cast<ClientSession&>(first).endRest(true); // leaves the queue
    }
  }
  std::erase_if(self->rest_queues_, [](const auto& q) { return q->sessions.isEmpty(); });
  self->armRestTimer();
}

std::uint32_t IdleSessions::nowMs() const {
  timeval now{};
  event_gettime_monotonic(base_, &now);
  return static_cast<std::uint32_t>(static_cast<std::uint64_t>(now.tv_sec) * 1000 +
                                    static_cast<std::uint64_t>(now.tv_usec) / 1000);
}

void IdleSessions::armRestTimer() {
  const std::uint32_t now = nowMs();
  std::int64_t soonest = std::numeric_limits<std::int64_t>::max();
  for (const auto& queue : rest_queues_) {
    if (queue->sessions.isEmpty())
      continue;
    const auto waited = static_cast<std::int32_t>(now - queue->sessions.next_->rested_at_);
    soonest =
        std::min<std::int64_t>(soonest, std::max<std::int64_t>(0, queue->idle.count() - waited));
  }
  if (soonest == std::numeric_limits<std::int64_t>::max())
    return;
  const timeval after = net::toTimeval(soonest);
  evtimer_add(rest_timer_.get(), &after);
}

} // namespace ferry::proxy
