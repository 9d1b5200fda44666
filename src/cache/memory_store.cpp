// MemoryStore. Each shard has its own mutex, index (Key → variants by secondary key) and LRU
// list; the byte budget is one atomic counter over all shards. Room is reserved before bytes are
// recorded, evicting the globally least recently used Entry (the oldest shard tail) until it fits,
// so the accounted total never exceeds the budget. No code path holds two shard locks, an Entry
// lock together with a shard lock, or any lock while notifying.
#include "ferry/cache/memory_store.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <functional>
#include <limits>
#include <list>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "entry_mutator.h"
#include "ferry/core/assert.h"

namespace ferry::cache {

namespace detail {

struct MemoryStoreImpl;

namespace {

constexpr std::uint64_t NoTick = std::numeric_limits<std::uint64_t>::max();

// The body bytes of a Filling Entry that left the index while its writer still keeps its
// chunks (for the client whose request fills it): they stay charged to the budget until both
// the index record and the writer let go, so abandoning a fill never frees budget that its
// bytes still take.
struct FillHold {
  std::weak_ptr<MemoryStoreImpl> store;
  std::atomic<std::size_t> bytes{0};
  ~FillHold();
};

// One indexed variant.
struct Record {
  std::shared_ptr<Entry> entry;
  std::size_t charged = 0;        // bytes this Entry adds to MemoryStoreImpl::used
  std::size_t body = 0;           // the part of `charged` that is body chunks
  std::uint64_t tick = 0;         // last insert or hit; larger is more recent
  std::shared_ptr<FillHold> hold; // shared with the Entry's writer
};

using Lru = std::list<Record>; // most recently used first

// The variants of one Key that share one Vary field value.
struct VaryGroup {
  std::string vary;                   // Entry::vary()
  std::vector<Lru::iterator> members; // the first one's head computes the request's key
};

// Every stored variant of one Key (RFC 9111 §4.1). A lookup computes the request's secondary
// key once per distinct Vary value — usually one — and then finds the variant by hash, so it
// never walks every variant.
struct Variants {
  std::unordered_map<std::string, Lru::iterator> by_secondary;
  std::vector<VaryGroup> groups;
};

// Filling Entries taken out of the index under a shard lock, abandoned once it is released
// (abandoning notifies readers, which must not happen under the lock). Declare it before the
// lock_guard so that it is destroyed after it.
class Orphans {
public:
  Orphans() = default;
  Orphans(const Orphans&) = delete;
  Orphans& operator=(const Orphans&) = delete;
  ~Orphans() {
    for (const auto& entry : entries_) {
      EntryMutator::finish(*entry, EntryState::Abandoned);
    }
  }
  void add(const std::shared_ptr<Entry>& entry) {
    if (entry->state() == EntryState::Filling) {
      entries_.push_back(entry);
    }
  }

private:
  std::vector<std::shared_ptr<Entry>> entries_;
};

struct Shard {
  mutable std::mutex mutex;
  Lru lru;
  std::unordered_map<Key, Variants> index;
  std::unordered_map<Key, std::weak_ptr<PendingFetch>> fetches;
  // Tick of lru.back(), NoTick when empty: lets eviction pick a shard without locking all.
  std::atomic<std::uint64_t> tail_tick{NoTick};

  void updateTailLocked() noexcept {
    tail_tick.store(lru.empty() ? NoTick : lru.back().tick, std::memory_order_relaxed);
  }

  Lru::iterator findLocked(const Entry& entry) {
    const auto it = index.find(entry.key());
    if (it == index.end()) {
      return lru.end();
    }
    const auto variant = it->second.by_secondary.find(entry.secondaryKey());
    if (variant == it->second.by_secondary.end() || variant->second->entry.get() != &entry) {
      return lru.end();
    }
    return variant->second;
  }
};

} // namespace

struct MemoryStoreImpl : std::enable_shared_from_this<MemoryStoreImpl> {
  explicit MemoryStoreImpl(const Settings& settings)
      : budget(settings.memory_bytes), max_object(settings.max_object_bytes),
        max_variants(settings.max_variants) {}

  std::array<Shard, MemoryStore::ShardCount> shards;
  std::atomic<std::size_t> budget;
  std::atomic<std::size_t> max_object;
  std::atomic<std::size_t> max_variants;
  std::atomic<std::size_t> used{0};
  std::atomic<std::size_t> held{0}; // the part of `used` that FillHolds keep
  std::atomic<std::size_t> entries{0};
  std::atomic<std::uint64_t> evictions{0};
  std::atomic<std::uint64_t> variant_evictions{0};
  std::atomic<std::uint64_t> clock{0};

  std::size_t shardOf(const Key& key) const noexcept {
    return std::hash<Key>{}(key) % MemoryStore::ShardCount;
  }

  void touchLocked(Shard& shard, Lru::iterator record) {
    record->tick = clock.fetch_add(1, std::memory_order_relaxed);
    shard.lru.splice(shard.lru.begin(), shard.lru, record);
    shard.updateTailLocked();
  }

  // Takes a record out of the index and the accounting. Its Entry lives on with its holders;
  // a Filling one goes to `orphans`, to be abandoned.
  void unlinkLocked(Shard& shard, Lru::iterator record, Orphans& orphans) {
    std::size_t released = record->charged;
    if (record->entry->state() == EntryState::Filling) {
      // Its writer keeps the chunks: their charge moves to the hold.
      held.fetch_add(record->body, std::memory_order_relaxed);
      record->hold->bytes.fetch_add(record->body, std::memory_order_relaxed);
      released -= record->body;
    }
    orphans.add(record->entry);
    const Entry& entry = *record->entry;
    const auto it = shard.index.find(entry.key());
    FERRY_ASSERT(it != shard.index.end());
    Variants& variants = it->second;
    FERRY_ASSERT(variants.by_secondary.erase(entry.secondaryKey()) == 1);
    const auto group = std::find_if(variants.groups.begin(), variants.groups.end(),
                                    [&](const VaryGroup& g) { return g.vary == entry.vary(); });
    FERRY_ASSERT(group != variants.groups.end());
    std::erase(group->members, record);
    if (group->members.empty()) {
      variants.groups.erase(group);
    }
    if (variants.by_secondary.empty()) {
      shard.index.erase(it);
    }
    used.fetch_sub(released, std::memory_order_relaxed);
    entries.fetch_sub(1, std::memory_order_relaxed);
    shard.lru.erase(record);
    shard.updateTailLocked();
  }

  // Evicts the least recently used Entry other than `keep`. False when there is none.
  bool evictOldest(const Entry* keep) {
    std::array<bool, MemoryStore::ShardCount> skip{};
    for (;;) {
      std::size_t oldest = MemoryStore::ShardCount;
      std::uint64_t oldest_tick = NoTick;
      for (std::size_t i = 0; i < shards.size(); ++i) {
        const std::uint64_t tick = shards[i].tail_tick.load(std::memory_order_relaxed);
        if (!skip[i] && tick < oldest_tick) {
          oldest = i;
          oldest_tick = tick;
        }
      }
      if (oldest == MemoryStore::ShardCount) {
        return false;
      }
      Shard& shard = shards[oldest];
      Orphans orphans;
      std::lock_guard lock(shard.mutex);
      for (auto record = shard.lru.rbegin(); record != shard.lru.rend(); ++record) {
        if (record->entry.get() != keep) {
          unlinkLocked(shard, std::prev(record.base()), orphans);
          evictions.fetch_add(1, std::memory_order_relaxed);
          return true;
        }
      }
      skip[oldest] = true; // empty by now, or holds nothing but `keep`
    }
  }

  // Adds bytes to the accounted total, evicting until they fit. False when they cannot fit
  // even with everything but `keep` evicted.
  bool reserve(std::size_t bytes, const Entry* keep) {
    std::size_t current = used.load(std::memory_order_relaxed);
    for (;;) {
      const std::size_t limit = budget.load(std::memory_order_relaxed);
      if (bytes <= limit && current <= limit - bytes) {
        if (used.compare_exchange_weak(current, current + bytes, std::memory_order_relaxed)) {
          return true;
        }
        continue;
      }
      if (!evictOldest(keep)) {
        return false;
      }
      current = used.load(std::memory_order_relaxed);
    }
  }

  // Charges bytes appended to an indexed Entry. False when it cannot fit the budget, or has
  // left the index (it is being abandoned: it must not grow uncharged).
  bool charge(std::size_t shard_index, const Entry& entry, std::size_t bytes) {
    Shard& shard = shards[shard_index];
    {
      std::lock_guard lock(shard.mutex);
      const auto record = shard.findLocked(entry);
      if (record == shard.lru.end()) {
        return false;
      }
      if (record->charged + bytes > budget.load(std::memory_order_relaxed)) {
        return false; // would not fit even alone: do not evict everything first
      }
    }
    if (!reserve(bytes, &entry)) {
      return false;
    }
    std::lock_guard lock(shard.mutex);
    const auto record = shard.findLocked(entry);
    if (record == shard.lru.end()) {
      used.fetch_sub(bytes, std::memory_order_relaxed); // left the index meanwhile
      return false;
    }
    record->charged += bytes;
    record->body += bytes;
    return true;
  }

  bool removeEntry(std::size_t shard_index, const Entry& entry) {
    Shard& shard = shards[shard_index];
    Orphans orphans;
    std::lock_guard lock(shard.mutex);
    const auto record = shard.findLocked(entry);
    if (record == shard.lru.end()) {
      return false;
    }
    unlinkLocked(shard, record, orphans);
    return true;
  }

  void releaseFetch(std::size_t shard_index, const PendingFetch& fetch) {
    Shard& shard = shards[shard_index];
    std::lock_guard lock(shard.mutex);
    const auto it = shard.fetches.find(fetch.key());
    if (it == shard.fetches.end()) {
      return;
    }
    const auto current = it->second.lock();
    if (current == nullptr || current.get() == &fetch) {
      shard.fetches.erase(it);
    }
  }
};

FillHold::~FillHold() {
  const std::size_t kept = bytes.load(std::memory_order_relaxed);
  if (const auto impl = store.lock(); impl && kept > 0) {
    impl->held.fetch_sub(kept, std::memory_order_relaxed);
    impl->used.fetch_sub(kept, std::memory_order_relaxed);
  }
}

namespace {

class MemoryEntryWriter final : public EntryWriter {
public:
  MemoryEntryWriter(std::shared_ptr<MemoryStoreImpl> store, std::shared_ptr<Entry> entry,
                    std::size_t shard, std::shared_ptr<FillHold> hold)
      : store_(std::move(store)), entry_(std::move(entry)), view_(entry_), shard_(shard),
        hold_(std::move(hold)) {}

  ~MemoryEntryWriter() override { abandon(); }

  const std::shared_ptr<const Entry>& entry() const noexcept override { return view_; }

  bool append(std::string_view bytes) override {
    if (entry_->state() != EntryState::Filling) {
      keepPending();
      return false;
    }
    if (bytes.empty()) {
      return true;
    }
    const std::uint64_t max_object = store_->max_object.load(std::memory_order_relaxed);
    if (entry_->bodySize() + pending_.size() + bytes.size() > max_object) {
      abandon();
      return false;
    }
    if (pending_.empty() && bytes.size() >= MemoryStore::MinChunkBytes) {
      return publish(std::string(bytes), 0); // big enough on its own: one copy, no staging
    }
    if (pending_.capacity() < MemoryStore::MinChunkBytes) {
      pending_.reserve(MemoryStore::MinChunkBytes);
    }
    const std::size_t earlier = pending_.size();
    pending_.append(bytes);
    if (pending_.size() < MemoryStore::MinChunkBytes) {
      return true;
    }
    return publish(std::exchange(pending_, std::string()), earlier);
  }

  bool complete() override {
    if (entry_->state() != EntryState::Filling) {
      keepPending();
      return entry_->state() == EntryState::Complete;
    }
    if (!pending_.empty()) {
      std::string last = std::exchange(pending_, std::string());
      last.shrink_to_fit(); // the last chunk is often small: keep only what it holds
      const std::size_t size = last.size();
      if (!publish(std::move(last), size)) {
        return false;
      }
    }
    const auto length = entry_->contentLength();
    if (length && *length != entry_->bodySize()) {
      abandon(); // RFC 9112 §8: an incomplete message is not stored
      return false;
    }
    return EntryMutator::finish(*entry_, EntryState::Complete);
  }

  void abandon() override {
    keepPending();
    if (entry_->state() != EntryState::Filling) {
      return;
    }
    // Out of the index first, so that no lookup finds it once readers are told.
    store_->removeEntry(shard_, *entry_);
    EntryMutator::finish(*entry_, EntryState::Abandoned);
  }

  BodyRead read(std::size_t first_chunk, std::size_t max_chunks) override {
    BodyRead result;
    result.state = entry_->state(); // first: every chunk published before it is kept below
    if (result.state == EntryState::Abandoned) {
      keepPending();
    }
    if (first_chunk < kept_.size()) {
      const std::size_t count = std::min(max_chunks, kept_.size() - first_chunk);
      const auto first = kept_.begin() + static_cast<std::ptrdiff_t>(first_chunk);
      result.chunks.assign(first, first + static_cast<std::ptrdiff_t>(count));
    }
    return result;
  }

private:
  // Charges one chunk and makes it visible to readers; abandons the Entry when it does not fit.
  // `earlier`: how many of its first bytes came from appends that succeeded, kept on failure.
  bool publish(std::string bytes, std::size_t earlier) {
    // Count what the allocation holds, not just what is used.
    const std::size_t cost = bytes.capacity() + MemoryStore::ChunkOverheadBytes;
    if (!store_->charge(shard_, *entry_, cost)) {
      bytes.resize(earlier);
      pending_ = std::move(bytes);
      abandon();
      return false;
    }
    auto chunk = std::make_shared<const std::string>(std::move(bytes));
    // False when the store abandoned the Entry (it left the index) since it was charged.
    if (!EntryMutator::append(*entry_, chunk)) {
      pending_ = chunk->substr(0, earlier);
      abandon();
      return false;
    }
    kept_.push_back(std::move(chunk));
    return true;
  }

  // The Entry is no longer filling: bytes appended but never published join the kept chunks
  // (uncharged: less than one chunk), so read() still has the whole body appended.
  void keepPending() {
    if (!pending_.empty()) {
      kept_.push_back(std::make_shared<const std::string>(std::exchange(pending_, {})));
    }
  }

  std::shared_ptr<MemoryStoreImpl> store_;
  std::shared_ptr<Entry> entry_;
  std::shared_ptr<const Entry> view_;
  std::size_t shard_;
  std::shared_ptr<FillHold> hold_;
  std::string pending_;     // appended, not yet published: less than MinChunkBytes
  std::vector<Chunk> kept_; // every chunk published, and the pending bytes once abandoned
};

std::size_t statusLineSize(const http::ResponseHead& head) noexcept {
  return sizeof("HTTP/1.1 200 \r\n") - 1 + head.reason.size();
}

} // namespace

} // namespace detail

using detail::EntryMutator;
using detail::MemoryStoreImpl;
using detail::Record;

MemoryStore::MemoryStore(const Settings& settings)
    : impl_(std::make_shared<MemoryStoreImpl>(settings)) {}

MemoryStore::~MemoryStore() = default;

std::size_t MemoryStore::headCharge(const Key& key, const std::string& secondary_key,
                                    const http::ResponseHead& head) noexcept {
  std::size_t vary = 0;
  for (const http::Field field : head.headers) {
    if (http::equalsIgnoreCase(field.name, "Vary")) {
      vary += field.value.size() + 2;
    }
  }
  // The key and the secondary key are held twice: by the Entry and by the shard's index.
  return EntryOverheadBytes + 2 * key.size() + 2 * secondary_key.size() +
         detail::statusLineSize(head) + head.headers.wireSize() +
         head.headers.size() * 4 * sizeof(std::uint32_t) + vary;
}

std::shared_ptr<const Entry> MemoryStore::lookup(const Key& key, const SecondaryKeyFn& secondary) {
  auto& shard = impl_->shards[impl_->shardOf(key)];
  // One sample variant per distinct Vary value: the request's secondary key depends on nothing
  // else.
  std::vector<std::shared_ptr<Entry>> samples;
  if (secondary) {
    std::lock_guard lock(shard.mutex);
    const auto it = shard.index.find(key);
    if (it == shard.index.end()) {
      return nullptr;
    }
    samples.reserve(it->second.groups.size());
    for (const detail::VaryGroup& group : it->second.groups) {
      samples.push_back(group.members.front()->entry);
    }
  }
  // The caller's function runs with no lock held: it may be as slow as it likes.
  std::vector<std::string> wanted;
  if (!secondary) {
    wanted.emplace_back(); // the variant stored without Vary
  }
  for (const auto& sample : samples) {
    if (auto value = secondary(*sample)) {
      wanted.push_back(std::move(*value));
    }
  }
  std::shared_ptr<Entry> found;
  {
    std::lock_guard lock(shard.mutex);
    const auto it = shard.index.find(key);
    if (it == shard.index.end()) {
      return nullptr;
    }
    for (const std::string& value : wanted) {
      const auto variant = it->second.by_secondary.find(value);
      if (variant != it->second.by_secondary.end()) {
        found = variant->second->entry;
        impl_->touchLocked(shard, variant->second);
        break;
      }
    }
  }
  if (found == nullptr) {
    return nullptr;
  }
  EntryMutator::countHit(*found);
  return found;
}

std::unique_ptr<EntryWriter> MemoryStore::insert(EntryInit init) {
  return insert(std::move(init), true);
}

std::unique_ptr<EntryWriter> MemoryStore::insertUnlessHeld(EntryInit init) {
  return insert(std::move(init), false);
}

std::unique_ptr<EntryWriter> MemoryStore::insert(EntryInit init, bool replace) {
  if (init.content_length &&
      *init.content_length > impl_->max_object.load(std::memory_order_relaxed)) {
    return nullptr;
  }
  const std::size_t charge = headCharge(init.key, init.secondary_key, init.head);
  if (charge > impl_->budget.load(std::memory_order_relaxed)) {
    return nullptr;
  }
  const std::size_t shard_index = impl_->shardOf(init.key);
  auto entry = EntryMutator::create(std::move(init));
  if (!impl_->reserve(charge, nullptr)) {
    return nullptr;
  }
  auto hold = std::make_shared<detail::FillHold>();
  hold->store = impl_;
  auto& shard = impl_->shards[shard_index];
  {
    detail::Orphans orphans;
    std::lock_guard lock(shard.mutex);
    if (const auto it = shard.index.find(entry->key()); it != shard.index.end()) {
      auto& by_secondary = it->second.by_secondary;
      if (const auto same = by_secondary.find(entry->secondaryKey()); same != by_secondary.end()) {
        if (!replace) {
          impl_->used.fetch_sub(charge, std::memory_order_relaxed); // reserved above
          return nullptr;
        }
        impl_->unlinkLocked(shard, same->second, orphans); // the same variant, newer response
      } else if (by_secondary.size() >= impl_->max_variants.load(std::memory_order_relaxed)) {
        // Too many variants for one URI: the least recently used one makes room.
        const auto oldest = std::min_element(
            by_secondary.begin(), by_secondary.end(),
            [](const auto& a, const auto& b) { return a.second->tick < b.second->tick; });
        impl_->unlinkLocked(shard, oldest->second, orphans);
        impl_->variant_evictions.fetch_add(1, std::memory_order_relaxed);
      }
    }
    shard.lru.push_front(Record{entry, charge, 0, impl_->clock.fetch_add(1), hold});
    // unlinkLocked may have dropped the Key's variants: look them up again.
    detail::Variants& variants = shard.index[entry->key()];
    variants.by_secondary.emplace(entry->secondaryKey(), shard.lru.begin());
    const auto group =
        std::find_if(variants.groups.begin(), variants.groups.end(),
                     [&](const detail::VaryGroup& g) { return g.vary == entry->vary(); });
    if (group == variants.groups.end()) {
      variants.groups.push_back(detail::VaryGroup{entry->vary(), {shard.lru.begin()}});
    } else {
      group->members.push_back(shard.lru.begin());
    }
    impl_->entries.fetch_add(1, std::memory_order_relaxed);
    shard.updateTailLocked();
  }
  return std::make_unique<detail::MemoryEntryWriter>(impl_, std::move(entry), shard_index,
                                                     std::move(hold));
}

std::shared_ptr<const Entry>
MemoryStore::updateHead(const std::shared_ptr<const Entry>& entry, http::ResponseHead head,
                        std::chrono::system_clock::time_point request_time,
                        std::chrono::system_clock::time_point response_time) {
  if (entry == nullptr || entry->state() != EntryState::Complete) {
    return nullptr;
  }
  const std::size_t old_head_charge =
      headCharge(entry->key(), entry->secondaryKey(), entry->head());
  const std::size_t new_head_charge = headCharge(entry->key(), entry->secondaryKey(), head);
  std::shared_ptr<Entry> fresh = EntryMutator::withBodyOf(
      *entry, EntryInit{entry->key(), entry->secondaryKey(), std::move(head), request_time,
                        response_time, entry->contentLength()});

  auto& shard = impl_->shards[impl_->shardOf(entry->key())];
  // A grown head needs room first; a Complete Entry's charge no longer changes.
  std::size_t reserved = 0;
  if (new_head_charge > old_head_charge) {
    {
      std::lock_guard lock(shard.mutex);
      if (shard.findLocked(*entry) == shard.lru.end()) {
        return fresh;
      }
    }
    reserved = new_head_charge - old_head_charge;
    if (!impl_->reserve(reserved, entry.get())) {
      return fresh; // the old Entry stays; it will be revalidated again
    }
  }
  std::lock_guard lock(shard.mutex);
  const auto record = shard.findLocked(*entry);
  if (record == shard.lru.end()) {
    impl_->used.fetch_sub(reserved, std::memory_order_relaxed);
    return fresh;
  }
  FERRY_ASSERT(record->charged >= old_head_charge);
  const std::size_t new_charge = record->charged - old_head_charge + new_head_charge;
  if (reserved == 0) {
    impl_->used.fetch_sub(record->charged - new_charge, std::memory_order_relaxed);
  }
  record->entry = fresh;
  record->charged = new_charge;
  impl_->touchLocked(shard, record);
  return fresh;
}

bool MemoryStore::erase(const Entry& entry) {
  return impl_->removeEntry(impl_->shardOf(entry.key()), entry);
}

std::size_t MemoryStore::remove(const Key& key) {
  auto& shard = impl_->shards[impl_->shardOf(key)];
  detail::Orphans orphans;
  std::lock_guard lock(shard.mutex);
  const auto it = shard.index.find(key);
  if (it == shard.index.end()) {
    return 0;
  }
  std::vector<detail::Lru::iterator> records;
  for (const auto& [secondary, record] : it->second.by_secondary) {
    records.push_back(record);
  }
  for (const auto record : records) {
    impl_->unlinkLocked(shard, record, orphans);
  }
  return records.size();
}

FetchTicket MemoryStore::joinFetch(const Key& key) {
  const std::size_t shard_index = impl_->shardOf(key);
  auto& shard = impl_->shards[shard_index];
  std::lock_guard lock(shard.mutex);
  auto& slot = shard.fetches[key];
  if (auto fetch = slot.lock(); fetch && fetch->outcome() == FetchOutcome::Waiting) {
    return FetchTicket(std::move(fetch), false);
  }
  std::weak_ptr<MemoryStoreImpl> store = impl_;
  auto fetch = std::make_shared<PendingFetch>(key, [store, shard_index](const PendingFetch& done) {
    if (const auto impl = store.lock()) {
      impl->releaseFetch(shard_index, done);
    }
  });
  slot = fetch;
  return FetchTicket(std::move(fetch), true);
}

std::size_t MemoryStore::maxObjectBytes() const noexcept {
  return impl_->max_object.load(std::memory_order_relaxed);
}

StoreStats MemoryStore::stats() const {
  StoreStats stats;
  stats.entries = impl_->entries.load(std::memory_order_relaxed);
  stats.used_bytes = impl_->used.load(std::memory_order_relaxed);
  stats.budget_bytes = impl_->budget.load(std::memory_order_relaxed);
  stats.evictions = impl_->evictions.load(std::memory_order_relaxed);
  stats.variant_evictions = impl_->variant_evictions.load(std::memory_order_relaxed);
  return stats;
}

void MemoryStore::reconfigure(const Settings& settings) {
  impl_->max_object.store(settings.max_object_bytes, std::memory_order_relaxed);
  impl_->max_variants.store(settings.max_variants, std::memory_order_relaxed);
  impl_->budget.store(settings.memory_bytes, std::memory_order_relaxed);
  while (impl_->used.load(std::memory_order_relaxed) >
             impl_->budget.load(std::memory_order_relaxed) &&
         impl_->evictOldest(nullptr)) {
  }
}

void MemoryStore::checkInvariantsForTest() const {
  std::size_t used = 0;
  std::size_t entries = 0;
  for (auto& shard : impl_->shards) {
    std::lock_guard lock(shard.mutex);
    std::size_t indexed = 0;
    for (const auto& [key, variants] : shard.index) {
      FERRY_ASSERT(!variants.by_secondary.empty());
      std::size_t grouped = 0;
      for (const auto& group : variants.groups) {
        FERRY_ASSERT(!group.members.empty());
        for (const auto record : group.members) {
          FERRY_ASSERT(record->entry->vary() == group.vary);
        }
        grouped += group.members.size();
      }
      FERRY_ASSERT(grouped == variants.by_secondary.size());
      for (const auto& [secondary, record] : variants.by_secondary) {
        FERRY_ASSERT(record->entry->key() == key);
        FERRY_ASSERT(record->entry->secondaryKey() == secondary);
        FERRY_ASSERT(record->entry->state() != EntryState::Abandoned);
        FERRY_ASSERT(record->charged >= headCharge(record->entry->key(),
                                                   record->entry->secondaryKey(),
                                                   record->entry->head()));
      }
      indexed += variants.by_secondary.size();
    }
    FERRY_ASSERT(indexed == shard.lru.size());
    std::uint64_t previous = detail::NoTick;
    for (const auto& record : shard.lru) {
      FERRY_ASSERT(record.tick < previous); // most recent first
      previous = record.tick;
      used += record.charged;
    }
    FERRY_ASSERT(shard.tail_tick.load() ==
                 (shard.lru.empty() ? detail::NoTick : shard.lru.back().tick));
    entries += shard.lru.size();
  }
  FERRY_ASSERT(used + impl_->held.load() == impl_->used.load());
  FERRY_ASSERT(entries == impl_->entries.load());
  // What writers keep of abandoned fills may exceed a budget made smaller since.
  FERRY_ASSERT(used <= impl_->budget.load());
}

} // namespace ferry::cache
