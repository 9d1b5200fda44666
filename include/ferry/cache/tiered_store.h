// TieredStore: the memory store in front of the disk tier, as one Store. Lookups, fills and
// collapsed forwarding are the memory store's; what it stores whole is then written to disk
// behind it, and revalidations, removals and purges reach both tiers. A response announced
// larger than the memory store takes, or one of unannounced length that grows past it, is
// streamed to disk alone (DiskStore::spool), and while it arrives lookups find it there:
// other clients stream it from the file being written. A Key the
// memory store does not hold is looked for on disk by load(), off the caller's thread; what
// is found there is put back in memory when it fits (hot objects stay in memory, everything
// stored stays on disk), and a larger body is sent from its file.
#pragma once

#include <memory>

#include "ferry/cache/disk_store.h"
#include "ferry/cache/memory_store.h"
#include "ferry/cache/store.h"

namespace ferry::cache {

namespace detail {
struct TierOrder;
class Spooling;
} // namespace detail

class TieredStore final : public Store {
public:
  TieredStore(std::shared_ptr<MemoryStore> memory, std::shared_ptr<DiskStore> disk);

  std::shared_ptr<const Entry> lookup(const Key& key, const SecondaryKeyFn& secondary) override;
  std::unique_ptr<EntryWriter> insert(EntryInit init) override;
  std::shared_ptr<const Entry>
  updateHead(const std::shared_ptr<const Entry>& entry, http::ResponseHead head,
             std::chrono::system_clock::time_point request_time,
             std::chrono::system_clock::time_point response_time) override;
  bool erase(const Entry& entry) override;
  std::size_t remove(const Key& key) override;
  FetchTicket joinFetch(const Key& key) override;
  StoreStats stats() const override; // the memory tier's
  bool hasSlowerTier() const noexcept override { return true; }
  std::shared_ptr<TierTask> load(const Key& key, SecondaryKeyFn secondary) override;
  std::shared_ptr<TierTask> purge(const Key& key) override;

private:
  std::shared_ptr<MemoryStore> memory_;
  std::shared_ptr<DiskStore> disk_;
  // Orders completions against removals, and counts removals: a load that began before one
  // may have read what it removed, so its result is neither served nor put back in memory.
  // Shared with the writers handed out.
  std::shared_ptr<detail::TierOrder> order_;
  // Responses being streamed to disk, found by lookup() while they are Filling. Shared with
  // the writers handed out.
  std::shared_ptr<detail::Spooling> spooling_;
};

} // namespace ferry::cache
