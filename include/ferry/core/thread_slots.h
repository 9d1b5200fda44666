// Per-thread blocks of 64-bit slots that only their own thread writes and any thread may
// sum: the storage behind counters, gauges and histograms. A thread's block is registered
// at its first add() and folded into the retired sums when the thread exits, so nothing
// added is lost. add() takes no lock and no locked instruction; sum() takes a mutex shared
// only with thread start and exit. Values wrap modulo 2^64, so a gauge may add -1.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace ferry::core::detail {

// One instantiation per metric kind; `Tag` keeps kinds of equal size apart.
template <class Tag, std::size_t N> class ThreadSlots {
public:
  static constexpr std::size_t kSize = N;

  // Adds n to `slot` of the calling thread's block. Any thread; wait-free once registered.
  static void add(std::size_t slot, std::uint64_t n) noexcept {
    if (Block* block = tls_block) {
      auto& value = block->slots[slot];
      value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
      return;
    }
    addSlow(slot, n);
  }

  // Sums of every slot over all threads, live or exited. Any thread.
  static std::array<std::uint64_t, N> sum() {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    std::array<std::uint64_t, N> sums = r.retired;
    for (const Block* block : r.live)
      for (std::size_t i = 0; i < N; ++i)
        sums[i] += block->slots[i].load(std::memory_order_relaxed);
    return sums;
  }

private:
  // On cache lines of its own. Only the owning thread stores; any thread may load.
  struct alignas(64) Block {
    std::array<std::atomic<std::uint64_t>, N> slots{};
  };

  struct Registry {
    std::mutex mutex;
    std::vector<Block*> live;
    std::array<std::uint64_t, N> retired{}; // sums of blocks of exited threads
  };

  // Leaked on purpose: threads may exit (and retire their block) after static destruction.
  static Registry& registry() {
    static Registry* const instance = new Registry;
    return *instance;
  }

  // Owns the thread's block; its destructor runs at thread exit and folds the block into
  // the retired sums.
  struct Owner {
    Block* block = new Block;

    Owner() {
      Registry& r = registry();
      std::lock_guard lock(r.mutex);
      r.live.push_back(block);
    }
    ~Owner() {
      tls_block = nullptr;
      retired = true;
      Registry& r = registry();
      std::lock_guard lock(r.mutex);
      for (std::size_t i = 0; i < N; ++i)
        r.retired[i] += block->slots[i].load(std::memory_order_relaxed);
      r.live.erase(std::find(r.live.begin(), r.live.end(), block));
      delete block;
    }
    Owner(const Owner&) = delete;
    Owner& operator=(const Owner&) = delete;
  };

  static void addSlow(std::size_t slot, std::uint64_t n) noexcept {
    if (retired) {
      // An add from a thread_local destructor after this thread's block was retired.
      Registry& r = registry();
      std::lock_guard lock(r.mutex);
      r.retired[slot] += n;
      return;
    }
    static thread_local Owner owner;
    tls_block = owner.block;
    auto& value = tls_block->slots[slot];
    value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  // The calling thread's block, or null before its first add and after it has exited.
  static inline thread_local Block* tls_block = nullptr;
  // Trivially destructible, so still readable while other thread_locals are destroyed.
  static inline thread_local bool retired = false;
};

} // namespace ferry::core::detail
