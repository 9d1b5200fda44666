// TieredStore: write-behind from the memory tier to the disk tier, loads from disk put back
// in memory, responses too large for memory streamed to disk (and found there while they
// are), and removals that reach both. One lock orders a completed Entry's write against
// removals of its Key, so the disk tier's queue sees them in the order memory did.
#include "ferry/cache/tiered_store.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <limits>
#include <mutex>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "entry_mutator.h"

namespace ferry::cache {

namespace detail {

struct TierOrder {
  std::mutex mutex; // held while a completion or a removal goes to both tiers
  // Counts removals: a load that began before one may have read what it removed.
  std::atomic<std::uint64_t> removals{0};
};

// The responses being streamed to disk, found by lookup() while they are Filling.
class Spooling {
public:
  // Starts a spool (`spool` runs under this table's lock, so that a removal of its Key
  // either comes before the spool begins, which then stands, or finds it here) and adds its
  // Entry. Spools that ended go, and so does an older one of the same variant: the newest
  // response is the one to follow.
  std::unique_ptr<EntryWriter> start(const std::function<std::unique_ptr<EntryWriter>()>& spool) {
    std::lock_guard lock(mutex_);
    auto writer = spool();
    if (!writer)
      return nullptr;
    const std::shared_ptr<const Entry>& entry = writer->entry();
    std::erase_if(entries_, [&entry](const auto& spooled) {
      const auto other = spooled.second.lock();
      return !other || other->state() != EntryState::Filling ||
             (other->key() == entry->key() && other->secondaryKey() == entry->secondaryKey());
    });
    entries_.emplace(entry->key(), entry);
    return writer;
  }

  // The Filling spool of key's matching variant, or null. The secondary key is computed with
  // no lock held, as for the memory store.
  std::shared_ptr<const Entry> find(const Key& key, const SecondaryKeyFn& secondary) {
    std::vector<std::shared_ptr<const Entry>> filling;
    {
      std::lock_guard lock(mutex_);
      const auto [first, last] = entries_.equal_range(key);
      for (auto it = first; it != last; ++it)
        if (auto entry = it->second.lock(); entry && entry->state() == EntryState::Filling)
          filling.push_back(std::move(entry));
    }
    for (auto& entry : filling) {
      const auto wanted = secondary ? secondary(*entry) : std::optional<std::string>("");
      if (wanted && *wanted == entry->secondaryKey()) {
        EntryMutator::countHit(*entry);
        return std::move(entry);
      }
    }
    return nullptr;
  }

  // Every variant of key, or the one with *secondary_key.
  void forget(const Key& key, const std::string* secondary_key = nullptr) {
    std::lock_guard lock(mutex_);
    const auto [first, last] = entries_.equal_range(key);
    for (auto it = first; it != last;) {
      const auto entry = it->second.lock();
      it = !secondary_key || !entry || entry->secondaryKey() == *secondary_key ? entries_.erase(it)
                                                                               : std::next(it);
    }
  }

private:
  std::mutex mutex_;
  std::unordered_multimap<Key, std::weak_ptr<const Entry>> entries_;
};

} // namespace detail

namespace {

// The memory store's writer; once its Entry is Complete, it is queued for the disk. A body
// of unannounced length (chunked) that grows past what memory takes moves to disk: the
// memory Entry is abandoned (its readers are cut, as when memory stops storing), and what came
// so far and the rest are spooled. This writer's client reads the bytes memory kept, then
// the rest from the spool's file.
class TieredWriter final : public EntryWriter {
public:
  TieredWriter(std::unique_ptr<EntryWriter> memory, std::uint64_t memory_max,
               std::shared_ptr<DiskStore> disk, std::shared_ptr<detail::TierOrder> order,
               std::shared_ptr<detail::Spooling> spooling)
      : memory_(std::move(memory)), memory_max_(memory_max), disk_(std::move(disk)),
        order_(std::move(order)), spooling_(std::move(spooling)) {}

  const std::shared_ptr<const Entry>& entry() const noexcept override {
    return spool_ ? spool_->entry() : memory_->entry();
  }

  bool append(std::string_view bytes) override {
    if (spool_)
      return spool_->append(bytes);
    if (!memory_->entry()->contentLength() && appended_ + bytes.size() > memory_max_ &&
        memory_->entry()->state() == EntryState::Filling)
      return moveToDisk(bytes);
    if (!memory_->append(bytes))
      return false;
    appended_ += bytes.size();
    return true;
  }

  bool complete() override {
    if (spool_)
      return spool_->complete();
    // A purge that took the Entry out of memory first has abandoned it: nothing is written.
    std::lock_guard lock(order_->mutex);
    if (!memory_->complete())
      return false;
    disk_->persist(memory_->entry());
    return true;
  }

  void abandon() override { spool_ ? spool_->abandon() : memory_->abandon(); }
  bool isFull() override { return spool_ && spool_->isFull(); }
  Subscription whenRoom(std::function<void()> room) override {
    return spool_ ? spool_->whenRoom(std::move(room)) : Subscription();
  }

  BodyRead read(std::size_t first_chunk, std::size_t max_chunks) override {
    if (!spool_)
      return memory_->read(first_chunk, max_chunks);
    if (first_chunk >= moved_chunks_) {
      BodyRead rest;
      rest.rest_in_file = true;
      return rest;
    }
    BodyRead kept = memory_->read(first_chunk, std::min(max_chunks, moved_chunks_ - first_chunk));
    kept.state = EntryState::Filling; // the memory Entry's end is not the body's
    return kept;
  }

private:
  // The body outgrew memory: spools what memory kept, then `bytes`. False, storing nothing,
  // when the disk takes none of it.
  bool moveToDisk(std::string_view bytes) {
    const std::shared_ptr<const Entry>& filling = memory_->entry();
    auto spool = spooling_->start([&] {
      return disk_->spool(EntryInit{filling->key(), filling->secondaryKey(), filling->head(),
                                    filling->requestTime(), filling->responseTime(), std::nullopt});
    });
    memory_->abandon(); // its chunks stay readable here: every byte appended
    if (!spool)
      return false;
    const BodyRead kept = memory_->read(0, std::numeric_limits<std::size_t>::max());
    for (const Chunk& chunk : kept.chunks)
      if (!spool->append(*chunk))
        return false;
    if (!spool->append(bytes))
      return false;
    moved_chunks_ = kept.chunks.size();
    spool_ = std::move(spool);
    return true;
  }

  std::unique_ptr<EntryWriter> memory_;
  const std::uint64_t memory_max_;
  std::shared_ptr<DiskStore> disk_;
  std::shared_ptr<detail::TierOrder> order_;
  std::shared_ptr<detail::Spooling> spooling_;
  std::uint64_t appended_ = 0;         // bytes the memory writer took
  std::unique_ptr<EntryWriter> spool_; // once the body moved to disk
  std::size_t moved_chunks_ = 0;       // the memory writer's chunks, all spooled too
};

// The variant of key with this secondary key the memory store holds, or null.
std::shared_ptr<const Entry> heldVariant(MemoryStore& memory, const Key& key,
                                         const std::string& secondary) {
  auto held = memory.lookup(
      key, [&secondary](const Entry&) { return std::optional<std::string>(secondary); });
  return held && held->secondaryKey() == secondary ? held : nullptr;
}

// Puts an Entry read from disk in the memory store, unless the memory store holds that
// variant already (a fill in progress is not replaced). The Entry to serve, and whether it
// is the one put in memory here.
std::pair<std::shared_ptr<const Entry>, bool> putBack(MemoryStore& memory,
                                                      std::shared_ptr<const Entry> loaded) {
  auto writer = memory.insertUnlessHeld(EntryInit{loaded->key(), loaded->secondaryKey(),
                                                  loaded->head(), loaded->requestTime(),
                                                  loaded->responseTime(), loaded->contentLength()});
  if (!writer) {
    auto held = heldVariant(memory, loaded->key(), loaded->secondaryKey());
    return {held ? held : loaded, false};
  }
  const BodyRead body = loaded->read(0);
  for (const Chunk& chunk : body.chunks)
    if (!writer->append(*chunk))
      return {loaded, false}; // no room: served from the loaded copy alone
  if (!writer->complete())
    return {loaded, false};
  return {writer->entry(), true};
}

} // namespace

TieredStore::TieredStore(std::shared_ptr<MemoryStore> memory, std::shared_ptr<DiskStore> disk)
    : memory_(std::move(memory)), disk_(std::move(disk)),
      order_(std::make_shared<detail::TierOrder>()),
      spooling_(std::make_shared<detail::Spooling>()) {}

std::shared_ptr<const Entry> TieredStore::lookup(const Key& key, const SecondaryKeyFn& secondary) {
  if (auto found = memory_->lookup(key, secondary))
    return found;
  return spooling_->find(key, secondary);
}

std::unique_ptr<EntryWriter> TieredStore::insert(EntryInit init) {
  if (init.content_length && *init.content_length > memory_->maxObjectBytes()) {
    // Too large for memory: straight to disk. An older response of the variant in memory
    // would hide it.
    if (auto held = heldVariant(*memory_, init.key, init.secondary_key))
      memory_->erase(*held);
    return spooling_->start([&] { return disk_->spool(std::move(init)); });
  }
  auto writer = memory_->insert(std::move(init));
  if (!writer)
    return nullptr;
  return std::make_unique<TieredWriter>(std::move(writer), memory_->maxObjectBytes(), disk_, order_,
                                        spooling_);
}

std::shared_ptr<const Entry>
TieredStore::updateHead(const std::shared_ptr<const Entry>& entry, http::ResponseHead head,
                        std::chrono::system_clock::time_point request_time,
                        std::chrono::system_clock::time_point response_time) {
  disk_->updateHead(*entry, head, request_time, response_time);
  return memory_->updateHead(entry, std::move(head), request_time, response_time);
}

bool TieredStore::erase(const Entry& entry) {
  spooling_->forget(entry.key(), &entry.secondaryKey());
  std::lock_guard lock(order_->mutex);
  order_->removals.fetch_add(1, std::memory_order_acq_rel);
  disk_->erase(entry.key(), entry.secondaryKey());
  return memory_->erase(entry);
}

std::size_t TieredStore::remove(const Key& key) {
  spooling_->forget(key);
  std::lock_guard lock(order_->mutex);
  order_->removals.fetch_add(1, std::memory_order_acq_rel);
  disk_->remove(key);
  return memory_->remove(key);
}

std::shared_ptr<TierTask> TieredStore::purge(const Key& key) {
  auto task = std::make_shared<TierTask>();
  spooling_->forget(key);
  std::lock_guard lock(order_->mutex);
  order_->removals.fetch_add(1, std::memory_order_acq_rel);
  const std::size_t from_memory = memory_->remove(key);
  // The disk holds what memory held, and more: its count is the one that says what was
  // stored, unless writing to it failed.
  disk_->remove(key, [task, from_memory](std::optional<std::size_t> from_disk) {
    task->finish(nullptr,
                 from_disk ? std::optional(std::max(from_memory, *from_disk)) : std::nullopt);
  });
  return task;
}

FetchTicket TieredStore::joinFetch(const Key& key) {
  return memory_->joinFetch(key);
}

StoreStats TieredStore::stats() const {
  return memory_->stats();
}

std::shared_ptr<TierTask> TieredStore::load(const Key& key, SecondaryKeyFn secondary) {
  auto task = std::make_shared<TierTask>();
  const std::uint64_t removals = order_->removals.load(std::memory_order_acquire);
  disk_->load(
      key, std::move(secondary), memory_->maxObjectBytes(),
      [task, memory = memory_, order = order_, removals](std::shared_ptr<const Entry> found) {
        bool put_back = false;
        if (found && !found->isInFile())
          std::tie(found, put_back) = putBack(*memory, std::move(found));
        // Checked after the put back: a removal that ran before it counted first.
        if (found && order->removals.load(std::memory_order_acquire) != removals) {
          if (put_back)
            memory->erase(*found);
          found = nullptr;
        }
        task->finish(std::move(found));
      });
  return task;
}

} // namespace ferry::cache
