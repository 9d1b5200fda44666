// Change notifications for cache objects that other threads wait on: a filling Entry and a
// PendingFetch. A Notifier keeps a list of callbacks; a Subscription is the RAII handle of one.
// It does not post anything to an event loop: callbacks run on the thread that made the
// change, and the caller decides where to forward them.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace ferry::cache {

namespace detail {
struct SubscriberSlot;
} // namespace detail

// One registered callback. Destroying (or reset()) the Subscription unregisters it; once that
// returns, the callback is not running on another thread and will not run again. A callback
// may destroy its own Subscription. Move-only; default-constructed means "not subscribed".
class Subscription {
public:
  Subscription() = default;
  explicit Subscription(std::shared_ptr<detail::SubscriberSlot> slot) noexcept;
  Subscription(Subscription&& other) noexcept = default;
  Subscription& operator=(Subscription&& other) noexcept;
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  ~Subscription();

  void reset() noexcept;
  bool isActive() const noexcept { return slot_ != nullptr; }

private:
  std::shared_ptr<detail::SubscriberSlot> slot_;
};

// The list of callbacks of one object. Thread-safe. notify() calls every live callback on the
// calling thread with no lock of the notified object held (callers must not hold theirs
// either), so a callback may call back into the object; it must be cheap (post and return).
class Notifier {
public:
  Subscription subscribe(std::function<void()> callback);
  void notify();
  // Whether any Subscription made here is still active.
  bool hasSubscribers();
  // Drops every callback; later subscribe() calls return inactive Subscriptions. Used once
  // the object reaches a final state, after the last notify().
  void close();

private:
  std::mutex mutex_;
  bool closed_ = false;
  std::vector<std::shared_ptr<detail::SubscriberSlot>> slots_;
};

} // namespace ferry::cache
