// DiskStore: the disk tier, behind the memory store (tiered_store.h). Bodies are files named by
// a number never used twice; an LMDB index (a copy-on-write B-tree: a crash leaves the last
// committed state, with no recovery step and no scan at start) maps each variant to its
// record (disk_record.h). All disk work runs on its own threads — one writer, which alone
// changes files and the index, and readers for lookups — never on the caller's.
//
// Crash contract: a body goes to a new file — written behind an Entry Complete in memory, or
// streamed while it arrives (spool) — and only once it is whole (and fsynced under
// Sync::Commit) is its record committed to the index, so the index never names a body that
// was not written whole. A removal commits the index first and unlinks the file after. A
// restart after kill -9 therefore finds only complete bodies, loses at most the writes still
// queued, and leaves files no record names (orphans), which a background sweep at start
// removes. A body is checked against its record's length and CRC-32 when read (a body sent
// from its file: once per run); one that does not match is dropped, never served.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "ferry/cache/entry.h"
#include "ferry/cache/settings.h"
#include "ferry/cache/store.h"

namespace ferry::cache {

namespace detail {
struct DiskStoreImpl;
} // namespace detail

struct DiskStats {
  std::uint64_t entries = 0;
  std::uint64_t used_bytes = 0;   // bodies rounded up to 4 KiB blocks, plus index records
  std::uint64_t budget_bytes = 0; // cache.disk.size
};

class DiskStore {
public:
  // Bodies waiting to be written may hold at most this many bytes; a complete Entry that
  // would exceed it is not written (cache_disk_writes_skipped), unless the queue is empty.
  static constexpr std::uint64_t MaxQueuedBytes = 64ull * 1024 * 1024;
  // A spooled body is queued and written in pieces of this size (the last may be smaller).
  static constexpr std::size_t SpoolPieceBytes = 64 * 1024;

  // Opens the tier under settings.path, creating the directory, the index and the body
  // directories as needed, and starts its threads and the orphan sweep. An error message
  // when the directory cannot be used. `max_variants` as in Settings.
  static std::variant<std::unique_ptr<DiskStore>, std::string> open(const DiskSettings& settings,
                                                                    std::size_t max_variants);

  // Finishes the queued writes, then stops the threads.
  ~DiskStore();
  DiskStore(const DiskStore&) = delete;
  DiskStore& operator=(const DiskStore&) = delete;

  // Finds the variant of key whose secondary key equals secondary(variant) and reads its
  // body, checked against its length and CRC-32: into memory up to in_memory_up_to bytes;
  // a larger one stays in its file (Entry::readFile) once checked. `found` runs once on a
  // reader thread: with a Complete Entry in no store's index, or null (not stored, or
  // damaged: then dropped from the index and counted).
  using Found = std::function<void(std::shared_ptr<const Entry>)>;
  void load(Key key, SecondaryKeyFn secondary, std::uint64_t in_memory_up_to, Found found);

  // Queues a Complete Entry (whose body is in chunks) to be written, replacing the variant
  // with its Key and secondary key.
  void persist(std::shared_ptr<const Entry> complete);
  // A writer that streams a response to disk while it arrives, for bodies too large for
  // the memory tier; null when its announced length exceeds max_object_bytes. Its Entry's
  // body is a file that readers may follow while it is written; it is in no index until
  // complete() and the write that follows; see SpoolWriter.
  std::unique_ptr<EntryWriter> spool(EntryInit init);
  // Queues a new head and times for the stored variant of `stored` (RFC 9111 §3.2, §4.3.4),
  // applied only while the variant on disk is still that response (same response time and
  // body size), never to a newer one that replaced it. Dropped when thousands of writes are
  // queued already: the older head stays, still that response's.
  void updateHead(const Entry& stored, http::ResponseHead head,
                  std::chrono::system_clock::time_point request_time,
                  std::chrono::system_clock::time_point response_time);
  // Queues the removal of one variant, or of every variant of key. From the call on, load()
  // finds nothing for key until the removal is done (for the rest of the run if the index
  // could not be written). `done`, when set, runs on the writer thread once the removal is
  // committed, with how many variants it removed, or nullopt when it could not be written.
  using Removed = std::function<void(std::optional<std::size_t> removed)>;
  void erase(const Key& key, const std::string& secondary_key);
  void remove(const Key& key, Removed done = {});

  DiskStats stats() const;

  // Waits until every write queued before the call is committed and the orphan sweep is done.
  void settleForTest();

private:
  explicit DiskStore(std::shared_ptr<detail::DiskStoreImpl> impl);
  // Shared with the writers handed out by spool(), which may outlive the DiskStore.
  std::shared_ptr<detail::DiskStoreImpl> impl_;
};

} // namespace ferry::cache
