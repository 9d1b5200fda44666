// MemoryStore: the in-memory Store. Sharded by Key hash (one mutex, index and LRU list per
// shard) so worker threads rarely meet; one byte budget over all shards, enforced by evicting
// the least recently used Entry. Bodies are shared chunks, so a hit copies no body bytes.
// It does not persist anything; a restart starts empty.
#pragma once

#include <cstddef>
#include <memory>

#include "ferry/cache/settings.h"
#include "ferry/cache/store.h"

namespace ferry::cache {

namespace detail {
struct MemoryStoreImpl;
} // namespace detail

class MemoryStore final : public Store {
public:
  static constexpr std::size_t ShardCount = 16;
  // Fixed costs counted on top of the bytes themselves, so that the budget bounds the memory
  // really used: the Entry object, its index and LRU nodes, its head's field table (bytes).
  static constexpr std::size_t EntryOverheadBytes = 512;
  // The chunk's string, its shared control block and its slot in the chunk list (bytes).
  static constexpr std::size_t ChunkOverheadBytes = 96;
  // Body bytes are published in chunks of at least this many bytes (EntryWriter::append):
  // each chunk costs ChunkOverheadBytes here and a libevent chain on every hit.
  static constexpr std::size_t MinChunkBytes = 16 * 1024;

  // settings.memory_bytes is the budget; settings.max_object_bytes bounds one body.
  explicit MemoryStore(const Settings& settings);
  ~MemoryStore() override;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  std::shared_ptr<const Entry> lookup(const Key& key, const SecondaryKeyFn& secondary) override;
  std::unique_ptr<EntryWriter> insert(EntryInit init) override;
  // Like insert(), but null when the index holds that Key and secondary key already (e.g. a
  // fill in progress, which must not be abandoned for a copy of an older response).
  std::unique_ptr<EntryWriter> insertUnlessHeld(EntryInit init);
  std::shared_ptr<const Entry>
  updateHead(const std::shared_ptr<const Entry>& entry, http::ResponseHead head,
             std::chrono::system_clock::time_point request_time,
             std::chrono::system_clock::time_point response_time) override;
  bool erase(const Entry& entry) override;
  std::size_t remove(const Key& key) override;
  FetchTicket joinFetch(const Key& key) override;
  StoreStats stats() const override;

  // Bodies larger than this are not stored (Settings::max_object_bytes, as reconfigured).
  std::size_t maxObjectBytes() const noexcept;

  // Applies a reloaded configuration: a smaller budget evicts down to it at once; a smaller
  // max_object_bytes applies to bodies appended from now on, a smaller max_variants to
  // variants stored from now on.
  void reconfigure(const Settings& settings);

  // The bytes an Entry with this key, secondary key and head is charged before any body.
  static std::size_t headCharge(const Key& key, const std::string& secondary_key,
                                const http::ResponseHead& head) noexcept;

  // Sums every indexed Entry's charge and checks it against the accounted total, the LRU
  // lists against the indexes, and the budget. Aborts on a mismatch. Call it while no other
  // thread uses the store.
  void checkInvariantsForTest() const;

private:
  std::unique_ptr<EntryWriter> insert(EntryInit init, bool replace);

  // Shared with the writers and tickets handed out, which may outlive the MemoryStore.
  std::shared_ptr<detail::MemoryStoreImpl> impl_;
};

} // namespace ferry::cache
