// PendingFetch and FetchTicket: the outcome of a collapsed origin fetch, decided once by its
// leader (or by the leader's ticket going away), then announced to followers.
#include <utility>

#include "ferry/cache/store.h"
#include "ferry/core/assert.h"

namespace ferry::cache {

PendingFetch::PendingFetch(Key key, std::function<void(const PendingFetch&)> release)
    : key_(std::move(key)), release_(std::move(release)) {}

Subscription PendingFetch::subscribe(std::function<void()> callback) {
  if (outcome() != FetchOutcome::Waiting) {
    return Subscription();
  }
  return notifier_.subscribe(std::move(callback));
}

void PendingFetch::finish(FetchOutcome outcome) {
  FERRY_ASSERT(outcome != FetchOutcome::Waiting);
  FetchOutcome expected = FetchOutcome::Waiting;
  if (!outcome_.compare_exchange_strong(expected, outcome, std::memory_order_acq_rel)) {
    return;
  }
  // Leave the table before waking followers, so a follower that goes to the origin on its own
  // and joins again becomes the leader of a new fetch rather than a follower of this one.
  if (release_) {
    auto release = std::move(release_);
    release(*this);
  }
  notifier_.notify();
  notifier_.close();
}

FetchTicket::FetchTicket(std::shared_ptr<PendingFetch> fetch, bool leader) noexcept
    : fetch_(std::move(fetch)), leader_(leader) {}

FetchTicket::FetchTicket(FetchTicket&& other) noexcept
    : fetch_(std::move(other.fetch_)), leader_(std::exchange(other.leader_, false)) {}

FetchTicket& FetchTicket::operator=(FetchTicket&& other) noexcept {
  if (this != &other) {
    if (leader_ && fetch_) {
      fetch_->finish(FetchOutcome::GaveUp);
    }
    fetch_ = std::move(other.fetch_);
    leader_ = std::exchange(other.leader_, false);
  }
  return *this;
}

FetchTicket::~FetchTicket() {
  if (leader_ && fetch_) {
    fetch_->finish(FetchOutcome::GaveUp);
  }
}

void FetchTicket::publish() {
  FERRY_ASSERT(leader_ && fetch_);
  fetch_->finish(FetchOutcome::Published);
}

void FetchTicket::giveUp() {
  FERRY_ASSERT(leader_ && fetch_);
  fetch_->finish(FetchOutcome::GaveUp);
}

} // namespace ferry::cache
