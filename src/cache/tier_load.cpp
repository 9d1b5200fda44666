// TierLoad, and the default Store::load of a store with one tier.
#include "ferry/cache/store.h"

#include "ferry/core/assert.h"

namespace ferry::cache {

std::shared_ptr<const Entry> TierLoad::entry() const {
  std::lock_guard lock(mutex_);
  return entry_;
}

Subscription TierLoad::subscribe(std::function<void()> callback) {
  return notifier_.subscribe(std::move(callback));
}

void TierLoad::finish(std::shared_ptr<const Entry> entry) {
  {
    std::lock_guard lock(mutex_);
    entry_ = std::move(entry);
  }
  const bool was_done = done_.exchange(true, std::memory_order_acq_rel);
  FERRY_ASSERT(!was_done);
  notifier_.notify();
  notifier_.close();
}

std::shared_ptr<TierLoad> Store::load(const Key&, SecondaryKeyFn) {
  auto nothing = std::make_shared<TierLoad>();
  nothing->finish(nullptr);
  return nothing;
}

} // namespace ferry::cache
