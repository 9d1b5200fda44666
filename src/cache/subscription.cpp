// Notifier and Subscription. A slot's recursive mutex is held while its callback runs, so
// unsubscribing waits for a callback in flight on another thread, yet a callback may drop its
// own Subscription.
#include "ferry/cache/subscription.h"

#include <algorithm>
#include <atomic>
#include <utility>

namespace ferry::cache {

namespace detail {
struct SubscriberSlot {
  std::recursive_mutex mutex;
  std::atomic<bool> active{true}; // written under mutex; read without it only to prune
  std::function<void()> callback;
};
} // namespace detail

Subscription::Subscription(std::shared_ptr<detail::SubscriberSlot> slot) noexcept
    : slot_(std::move(slot)) {}

Subscription& Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    reset();
    slot_ = std::move(other.slot_);
  }
  return *this;
}

Subscription::~Subscription() {
  reset();
}

void Subscription::reset() noexcept {
  if (!slot_) {
    return;
  }
  {
    std::lock_guard lock(slot_->mutex);
    slot_->active.store(false, std::memory_order_release);
  }
  // The callback itself is freed with the slot: it may be the one running right now.
  slot_.reset();
}

Subscription Notifier::subscribe(std::function<void()> callback) {
  std::lock_guard lock(mutex_);
  if (closed_) {
    return Subscription();
  }
  std::erase_if(slots_,
                [](const auto& slot) { return !slot->active.load(std::memory_order_acquire); });
  auto slot = std::make_shared<detail::SubscriberSlot>();
  slot->callback = std::move(callback);
  slots_.push_back(slot);
  return Subscription(std::move(slot));
}

void Notifier::notify() {
  std::vector<std::shared_ptr<detail::SubscriberSlot>> slots;
  {
    std::lock_guard lock(mutex_);
    if (slots_.empty()) {
      return;
    }
    std::erase_if(slots_,
                  [](const auto& slot) { return !slot->active.load(std::memory_order_acquire); });
    slots = slots_;
  }
  for (const auto& slot : slots) {
    std::lock_guard lock(slot->mutex);
    if (slot->active.load(std::memory_order_relaxed) && slot->callback) {
      slot->callback();
    }
  }
}

bool Notifier::hasSubscribers() {
  std::lock_guard lock(mutex_);
  return std::any_of(slots_.begin(), slots_.end(),
                     [](const auto& slot) { return slot->active.load(std::memory_order_acquire); });
}

void Notifier::close() {
  std::vector<std::shared_ptr<detail::SubscriberSlot>> slots;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    slots.swap(slots_);
  }
  // slots are released here, outside the lock: a callback's captures may be heavy.
}

} // namespace ferry::cache
