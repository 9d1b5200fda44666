// TierTask, and the default Store::load and Store::purge of a store with one tier.
#include "ferry/cache/store.h"

#include "ferry/core/assert.h"

namespace ferry::cache {

std::shared_ptr<const Entry> TierTask::entry() const {
  std::lock_guard lock(mutex_);
  return entry_;
}

std::optional<std::size_t> TierTask::removed() const {
  std::lock_guard lock(mutex_);
  return removed_;
}

Subscription TierTask::subscribe(std::function<void()> callback) {
  return notifier_.subscribe(std::move(callback));
}

void TierTask::finish(std::shared_ptr<const Entry> entry, std::optional<std::size_t> removed) {
  {
    std::lock_guard lock(mutex_);
    entry_ = std::move(entry);
    removed_ = removed;
  }
  const bool was_done = done_.exchange(true, std::memory_order_acq_rel);
  FERRY_ASSERT(!was_done);
  notifier_.notify();
  notifier_.close();
}

std::shared_ptr<TierTask> Store::load(const Key&, SecondaryKeyFn) {
  auto nothing = std::make_shared<TierTask>();
  nothing->finish(nullptr);
  return nothing;
}

std::shared_ptr<TierTask> Store::purge(const Key& key) {
  auto done = std::make_shared<TierTask>();
  done->finish(nullptr, remove(key));
  return done;
}

} // namespace ferry::cache
