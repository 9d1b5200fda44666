// Registry of per-thread counter blocks. count() never locks; the mutex here is taken only
// when a thread counts for the first time, when it exits and by snapshots.
#include "ferry/core/counters.h"

#include <algorithm>
#include <mutex>

namespace ferry::core {
namespace {

struct Registry {
  std::mutex mutex;
  std::vector<detail::CounterBlock*> live;
  std::array<std::uint64_t, kCounterCount> retired{}; // sums of blocks of exited threads
};

// Leaked on purpose: threads may exit (and retire their block) after static destruction.
Registry& registry() {
  static Registry* const instance = new Registry;
  return *instance;
}

// Owns the thread's block; its destructor runs at thread exit and folds the block into
// the retired sums so that no count is lost.
struct BlockOwner {
  detail::CounterBlock* block = nullptr;

  BlockOwner() : block(new detail::CounterBlock) {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    r.live.push_back(block);
  }

  ~BlockOwner() {
    detail::tls_counter_block = nullptr;
    retired = true;
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    for (std::size_t i = 0; i < kCounterCount; ++i)
      r.retired[i] += block->slots[i].load(std::memory_order_relaxed);
    r.live.erase(std::find(r.live.begin(), r.live.end(), block));
    delete block;
  }

  BlockOwner(const BlockOwner&) = delete;
  BlockOwner& operator=(const BlockOwner&) = delete;

  // Trivially destructible, so still readable while other thread_locals are destroyed.
  static thread_local bool retired;
};

thread_local bool BlockOwner::retired = false;

} // namespace

namespace detail {

void countSlow(std::size_t slot, std::uint64_t n) noexcept {
  if (BlockOwner::retired) {
    // A count from a thread_local destructor after this thread's block was retired.
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    r.retired[slot] += n;
    return;
  }
  static thread_local BlockOwner owner;
  tls_counter_block = owner.block;
  auto& value = tls_counter_block->slots[slot];
  value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

} // namespace detail

std::vector<CounterValue> snapshotCounters() {
  std::array<std::uint64_t, kCounterCount> sums{};
  {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    sums = r.retired;
    for (const detail::CounterBlock* block : r.live)
      for (std::size_t i = 0; i < kCounterCount; ++i)
        sums[i] += block->slots[i].load(std::memory_order_relaxed);
  }
  std::vector<CounterValue> values;
  values.reserve(kCounterCount);
  for (std::size_t i = 0; i < kCounterCount; ++i)
    values.push_back({detail::kCounterNames[i], detail::kCounterHelps[i], sums[i]});
  return values;
}

std::string renderPrometheus(const std::vector<CounterValue>& values) {
  std::string out;
  out.reserve(values.size() * 160);
  for (const CounterValue& v : values) {
    out += "# HELP ferry_";
    out += v.name;
    out += ' ';
    // Exposition format: in HELP, backslash and line feed are the only escapes.
    for (char c : v.help) {
      if (c == '\\')
        out += "\\\\";
      else if (c == '\n')
        out += "\\n";
      else
        out += c;
    }
    out += "\n# TYPE ferry_";
    out += v.name;
    out += " counter\nferry_";
    out += v.name;
    out += ' ';
    out += std::to_string(v.value);
    out += '\n';
  }
  return out;
}

} // namespace ferry::core
