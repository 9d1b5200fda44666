// The disk tier's threads, files and index. The writer thread takes queued operations in
// batches: it writes the new bodies first, then applies the whole batch to the index in one
// LMDB transaction, and unlinks the bodies the batch replaced or removed only once that
// transaction is committed. Reader threads look up and read bodies under read-only
// transactions, which never wait for the writer.
#include "ferry/cache/disk_store.h"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <limits>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <lmdb.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <spdlog/spdlog.h>

#include "disk_record.h"
#include "entry_mutator.h"
#include "ferry/core/assert.h"
#include "ferry/core/counters.h"

namespace ferry::cache {

using disk::Record;

namespace {

constexpr std::uint64_t BlockBytes = 4096;
constexpr std::size_t ReadChunkBytes = 256 * 1024;
constexpr std::size_t ReaderThreads = 2;
constexpr std::size_t MaxBatch = 256;
// Body files remembered as checked (DiskStoreImpl::verified); past this many the set starts
// over, and files are checked again when next read.
constexpr std::size_t MaxVerified = 1 << 16;
constexpr auto ComplaintInterval = std::chrono::seconds(10);
// Eviction starts above the high mark and stops at the low one, so that the budget is kept
// before a write needs the room.
constexpr std::uint64_t EvictHighPercent = 95;
constexpr std::uint64_t EvictLowPercent = 90;

std::uint64_t charge(std::uint64_t body_bytes, std::size_t record_bytes, std::size_t key_bytes) {
  return (body_bytes + BlockBytes - 1) / BlockBytes * BlockBytes + record_bytes + key_bytes;
}

MDB_val value(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}

std::string_view view(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

std::string u64Bytes(std::uint64_t v) {
  std::string out(8, '\0');
  std::memcpy(out.data(), &v, 8);
  return out;
}

std::uint64_t u64Of(std::string_view bytes) {
  std::uint64_t v = 0;
  if (bytes.size() == 8)
    std::memcpy(&v, bytes.data(), 8);
  return v;
}

// Writes at `offset`, leaving the file position alone: readers of a body being written may
// use the same descriptor.
bool writeAll(int fd, std::uint64_t offset, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    data += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return true;
}

bool syncDirectory(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return false;
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  return synced;
}

struct PersistOp {
  std::shared_ptr<const Entry> entry;
};
struct UpdateOp {
  std::string index_key;
  // The response the head belongs to: applied only while the record is still that one.
  std::chrono::system_clock::time_point old_response_time;
  std::uint64_t old_body_size = 0;
  http::ResponseHead head;
  std::chrono::system_clock::time_point request_time;
  std::chrono::system_clock::time_point response_time;
};
struct EraseOp {
  std::string index_key;
  std::optional<std::uint64_t> file_id; // only while the record still names this body
};
struct RemoveOp {
  std::string key;
  DiskStore::Removed done; // may be empty
};
struct TouchOp {
  std::string index_key;
  std::uint64_t file_id;
};
// A body streamed to disk while it arrives (SpoolWriter): appended piece by piece to the
// file its Entry's readers follow, then ended — whole (the Entry becomes Complete, and is
// indexed unless its Key was removed meanwhile) or not (Abandoned, and dropped).
struct SpoolAppendOp {
  std::uint64_t file_id;
  Chunk chunk;
  std::shared_ptr<Entry> entry;
};
struct SpoolEndOp {
  std::uint64_t file_id;
  std::shared_ptr<Entry> entry;
  bool whole = false;
  bool index = false;
};
using Op = std::variant<PersistOp, UpdateOp, EraseOp, RemoveOp, TouchOp, SpoolAppendOp, SpoolEndOp>;

// Hits (eviction order) and new heads beyond this many queued writes are not recorded: an
// older head on disk is still the same response's, revalidated again when it is loaded.
constexpr std::size_t MaxQueuedOptional = 4096;
// Keys whose last removal is remembered for the responses still being spooled.
constexpr std::size_t MaxRemovalHistory = 1 << 16;
// The number of a removal that failed: pending for the rest of the run.
constexpr std::uint64_t NeverDone = std::numeric_limits<std::uint64_t>::max();

// A spooled body being written, on the writer thread.
struct Spool {
  std::shared_ptr<const BodyFile> file; // shared with the Entry's readers
  std::uint32_t crc = static_cast<std::uint32_t>(crc32_z(0, nullptr, 0));
  std::uint64_t size = 0;
  bool failed = false;
};

// A body written by the current batch, waiting for its record to be committed.
struct WrittenBody {
  std::uint64_t file_id = 0;
  std::uint32_t crc = 0;
};

} // namespace

namespace detail {

struct DiskStoreImpl {
  DiskSettings settings;
  std::size_t max_variants = 32;
  int lock_fd = -1;
  MDB_env* env = nullptr;
  MDB_dbi entries_db = 0; // index key → Record
  MDB_dbi ticks_db = 0;   // tick key → index key: the eviction order
  MDB_dbi meta_db = 0;    // "next_file_id", "next_tick", "used_bytes"

  // Body file numbers. Committed with each batch (at least every number an indexed record
  // holds), so a number is never reused for an indexed body; a file with a number from the
  // last commit on was never indexed, and is overwritten if met again.
  std::atomic<std::uint64_t> next_file_id{1};
  std::uint64_t first_file_id = 1; // of this run: bodies below it may be orphans
  // Writer-thread state, mirrored to meta_db in each batch's transaction.
  std::uint64_t next_tick = 1;
  std::unordered_map<std::uint64_t, Spool> spools;
  // Body files read whole and found matching their CRC since the start: later hits of
  // them are sent from the file unread. Reader threads; guarded by verified_mutex.
  std::mutex verified_mutex;
  std::unordered_set<std::uint64_t> verified;
  std::atomic<std::uint64_t> entries{0};
  std::atomic<std::uint64_t> used_bytes{0};

  std::mutex mutex; // guards everything below
  std::condition_variable writer_wake;
  std::condition_variable readers_wake;
  std::condition_variable settled;
  std::deque<Op> writes;
  std::deque<std::function<void()>> reads;
  // Variant prefix → the number (in ops_queued) of the last removal queued for that Key: a
  // lookup finds nothing there until the writer has done it, so what was purged is not
  // read back from the index meanwhile.
  std::unordered_map<std::string, std::uint64_t> pending_removals;
  // Variant prefix → the number of the last removal queued for that Key, for responses still
  // arriving: one that began before a removal of its Key is not indexed. At most
  // MaxRemovalHistory of them; past that the history starts over from removal_floor, and
  // every response that began before it counts as removed.
  std::unordered_map<std::string, std::uint64_t> removal_history;
  std::uint64_t removal_floor = 0;
  std::uint64_t spooling_bytes = 0; // announced lengths of the responses being spooled
  std::uint64_t queued_bytes = 0;
  std::uint64_t ops_queued = 0;
  std::uint64_t ops_done = 0;
  bool sweep_done = false;
  bool stopping = false;

  std::atomic<std::int64_t> last_complaint{0};
  // Told when the write queue has room again (SpoolWriter::whenRoom).
  Notifier room;
  std::thread writer;
  std::vector<std::thread> readers;
  std::thread sweeper;

  ~DiskStoreImpl() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    writer_wake.notify_all();
    readers_wake.notify_all();
    for (auto& reader : readers)
      reader.join();
    if (writer.joinable())
      writer.join();
    if (sweeper.joinable())
      sweeper.join();
    if (env)
      mdb_env_close(env);
    if (lock_fd >= 0)
      ::close(lock_fd);
  }

  std::string bodyPath(std::uint64_t file_id) const {
    char name[48];
    std::snprintf(name, sizeof name, "/bodies/%02x/%016llx", static_cast<unsigned>(file_id & 0xff),
                  static_cast<unsigned long long>(file_id));
    return settings.path + name;
  }

  // One warning per interval, whatever the rate of failures; each one is counted.
  template <class... Args> void complain(fmt::format_string<Args...> format, Args&&... args) {
    core::count(core::Counter::CacheDiskErrors);
    const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count();
    std::int64_t last = last_complaint.load(std::memory_order_relaxed);
    if (now - last < ComplaintInterval.count() && last != 0)
      return;
    if (!last_complaint.compare_exchange_strong(last, now))
      return;
    spdlog::warn("cache.disk {}: {} (served from the origin; cache_disk_errors counts these)",
                 settings.path, fmt::format(format, std::forward<Args>(args)...));
  }

  // Counts bytes into the write queue; false (counting nothing) when they do not fit, unless
  // forced. One piece larger than the bound still fits an empty queue.
  bool reserveQueue(std::uint64_t bytes, bool force = false) {
    std::lock_guard lock(mutex);
    if (!force && queued_bytes > 0 && queued_bytes + bytes > DiskStore::MaxQueuedBytes)
      return false;
    queued_bytes += bytes;
    return true;
  }

  void enqueue(Op op) {
    {
      std::lock_guard lock(mutex);
      writes.push_back(std::move(op));
      ++ops_queued;
    }
    writer_wake.notify_one();
  }

  // A removal of some or all variants of the Key whose variant prefix is `prefix`.
  void enqueueRemoval(const std::string& prefix, Op op) {
    {
      std::lock_guard lock(mutex);
      writes.push_back(std::move(op));
      pending_removals[prefix] = ++ops_queued;
      if (removal_history.size() >= MaxRemovalHistory) {
        removal_history.clear();
        removal_floor = ops_queued;
      }
      removal_history[prefix] = ops_queued;
    }
    writer_wake.notify_one();
  }

  // The number the next queued operation gets; a spool's start.
  std::uint64_t position() {
    std::lock_guard lock(mutex);
    return ops_queued;
  }

  // Queues the end of a spool whose response is whole: indexed, unless a removal of its Key
  // was queued since it began (then dropped). Whether it will be indexed.
  bool endSpool(std::uint64_t file_id, const std::shared_ptr<Entry>& entry,
                std::uint64_t started_at) {
    bool removed = false;
    {
      std::lock_guard lock(mutex);
      const auto it = removal_history.find(disk::variantPrefix(entry->key()));
      removed =
          started_at < removal_floor || (it != removal_history.end() && it->second > started_at);
      writes.push_back(SpoolEndOp{file_id, entry, true, !removed});
      ++ops_queued;
    }
    writer_wake.notify_one();
    return !removed;
  }

  // Responses being spooled may announce at most a quarter of the budget together, so that
  // writes in flight cannot fill the filesystem past cache.disk.size.
  bool reserveSpooling(std::uint64_t bytes) {
    std::lock_guard lock(mutex);
    if (spooling_bytes + bytes > settings.size_bytes / 4)
      return false;
    spooling_bytes += bytes;
    return true;
  }

  void releaseSpooling(std::uint64_t bytes) {
    std::lock_guard lock(mutex);
    spooling_bytes -= std::min(spooling_bytes, bytes);
  }

  void enqueueOptional(Op op) {
    {
      std::lock_guard lock(mutex);
      if (writes.size() >= MaxQueuedOptional)
        return;
      writes.push_back(std::move(op));
      ++ops_queued;
    }
    writer_wake.notify_one();
  }

  bool isRemovalPending(const std::string& prefix) {
    std::lock_guard lock(mutex);
    const auto it = pending_removals.find(prefix);
    return it != pending_removals.end() && it->second > ops_done;
  }

  // Writer thread.
  void writerLoop() {
    for (;;) {
      std::vector<Op> batch;
      {
        std::unique_lock lock(mutex);
        writer_wake.wait(lock, [this] { return stopping || !writes.empty(); });
        if (writes.empty())
          return; // stopping, and every queued write is done
        while (!writes.empty() && batch.size() < MaxBatch) {
          batch.push_back(std::move(writes.front()));
          writes.pop_front();
        }
      }
      applyBatch(batch);
      {
        std::lock_guard lock(mutex);
        ops_done += batch.size();
        std::erase_if(pending_removals, [this](const auto& p) { return p.second <= ops_done; });
      }
      settled.notify_all();
    }
  }

  std::optional<WrittenBody> writeBody(const Entry& entry) {
    WrittenBody written{next_file_id.fetch_add(1),
                        static_cast<std::uint32_t>(crc32_z(0, nullptr, 0))};
    const std::string path = bodyPath(written.file_id);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
      complain("cannot create {}: {}", path, std::strerror(errno));
      return std::nullopt;
    }
    std::uint64_t size = 0;
    bool good = true;
    for (std::size_t next = 0; good;) {
      BodyRead read = entry.read(next, 64);
      if (read.chunks.empty())
        break;
      next += read.chunks.size();
      for (const Chunk& chunk : read.chunks) {
        good = good && writeAll(fd, size, chunk->data(), chunk->size());
        written.crc = static_cast<std::uint32_t>(
            crc32_z(written.crc, reinterpret_cast<const Bytef*>(chunk->data()), chunk->size()));
        size += chunk->size();
      }
    }
    const int write_errno = good ? 0 : errno;
    FERRY_ASSERT(!good || size == entry.bodySize()); // a Complete Entry never changes
    if (good)
      good = syncBody(fd, path);
    if (::close(fd) != 0)
      good = false;
    if (!good) {
      complain("cannot write {}: {}", path, std::strerror(write_errno ? write_errno : errno));
      ::unlink(path.c_str());
      return std::nullopt;
    }
    return written;
  }

  bool syncBody(int fd, const std::string& path) const {
    return settings.sync != DiskSettings::Sync::Commit ||
           (::fdatasync(fd) == 0 &&
            syncDirectory(std::filesystem::path(path).parent_path().string()));
  }

  // Creates a spool's file, readable too: its Entry's readers send from it while it grows.
  std::shared_ptr<const BodyFile> createSpoolFile(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
      complain("cannot create {}: {}", path, std::strerror(errno));
      return nullptr;
    }
    return std::make_shared<BodyFile>(fd);
  }

  void spoolAppend(SpoolAppendOp& op) {
    Spool& spool = spools[op.file_id];
    const std::string path = bodyPath(op.file_id);
    if (!spool.file && !spool.failed) {
      spool.file = createSpoolFile(path);
      spool.failed = !spool.file;
    }
    if (!spool.failed &&
        !writeAll(spool.file->fd(), spool.size, op.chunk->data(), op.chunk->size())) {
      complain("cannot write {}: {}", path, std::strerror(errno));
      spool.failed = true;
    }
    if (spool.failed) {
      // Readers following the file stop now; its writer's next append fails, and its own
      // client gets the rest from the origin.
      detail::EntryMutator::finish(*op.entry, EntryState::Abandoned);
      return;
    }
    spool.crc = static_cast<std::uint32_t>(
        crc32_z(spool.crc, reinterpret_cast<const Bytef*>(op.chunk->data()), op.chunk->size()));
    spool.size += op.chunk->size();
    detail::EntryMutator::fileWritten(*op.entry, spool.file, spool.size);
  }

  // Ends a spool: a body written whole makes its Entry Complete, so the readers following
  // the file finish, and is indexed when asked (unless it cannot be synced); any other is
  // Abandoned and unlinked (readers still holding the file keep what they have).
  std::optional<WrittenBody> spoolEnd(SpoolEndOp& op) {
    auto it = spools.find(op.file_id);
    Spool spool = it == spools.end() ? Spool{} : std::move(it->second);
    if (it != spools.end())
      spools.erase(it);
    const std::string path = bodyPath(op.file_id);
    bool whole = op.whole && !spool.failed && spool.size == op.entry->bodySize();
    if (whole && !spool.file) { // an empty body: nothing was appended
      spool.file = createSpoolFile(path);
      whole = spool.file && detail::EntryMutator::fileWritten(*op.entry, spool.file, 0);
    }
    bool indexed = whole && op.index;
    if (indexed && !syncBody(spool.file->fd(), path)) {
      complain("cannot sync {}: {}", path, std::strerror(errno));
      indexed = false;
    }
    detail::EntryMutator::finish(*op.entry, whole ? EntryState::Complete : EntryState::Abandoned);
    if (!indexed) {
      if (spool.file)
        ::unlink(path.c_str());
      return std::nullopt;
    }
    return WrittenBody{op.file_id, spool.crc};
  }

  struct Batch {
    MDB_txn* txn = nullptr;
    std::vector<std::uint64_t> unlink_after; // bodies no record names once committed
    // Removals to tell, once committed, how many records they dropped.
    std::vector<std::pair<DiskStore::Removed*, std::size_t>> removed;
    std::uint64_t used = 0;
    std::uint64_t entries = 0;
    std::uint64_t evicted = 0;
    std::uint64_t written = 0;
    int error = 0;
  };

  bool put(Batch& b, MDB_dbi db, std::string_view key, std::string_view data) {
    MDB_val k = value(key);
    MDB_val v = value(data);
    const int rc = mdb_put(b.txn, db, &k, &v, 0);
    if (rc != 0 && b.error == 0)
      b.error = rc;
    return rc == 0;
  }

  // A delete; a failure other than "not there" fails the batch, as a put's does.
  void del(Batch& b, MDB_dbi db, std::string_view key) {
    const std::string owned(key); // key may point into the page being changed
    MDB_val k = value(owned);
    const int rc = mdb_del(b.txn, db, &k, nullptr);
    if (rc != 0 && rc != MDB_NOTFOUND && b.error == 0)
      b.error = rc;
  }

  std::optional<Record> get(Batch& b, std::string_view index_key) {
    MDB_val k = value(index_key);
    MDB_val v;
    if (mdb_get(b.txn, entries_db, &k, &v) != 0)
      return std::nullopt;
    return disk::decode(view(v));
  }

  // Removes one record and its eviction-order row; its body is unlinked after the commit.
  // Whether there was a record.
  bool drop(Batch& b, std::string_view index_key) {
    MDB_val k = value(index_key);
    MDB_val v;
    if (mdb_get(b.txn, entries_db, &k, &v) != 0)
      return false;
    const std::size_t record_bytes = v.mv_size;
    if (auto record = disk::decode(view(v))) {
      del(b, ticks_db, disk::tickKey(record->tick));
      b.unlink_after.push_back(record->file_id);
      b.used -= std::min(b.used, charge(record->body_size, record_bytes, index_key.size()));
    }
    const int error = b.error;
    del(b, entries_db, index_key);
    if (b.error != error)
      return false;
    if (b.entries > 0)
      --b.entries;
    return true;
  }

  void store(Batch& b, std::string_view index_key, Record& record, bool is_new) {
    record.tick = next_tick++;
    const std::string bytes = disk::encode(record);
    if (put(b, entries_db, index_key, bytes) &&
        put(b, ticks_db, disk::tickKey(record.tick), index_key)) {
      if (is_new)
        ++b.entries;
      b.used += charge(record.body_size, bytes.size(), index_key.size());
    }
  }

  // The index keys of key's variants (records of another Key whose hash prefix is the same
  // are not among them).
  std::vector<std::string> variantsOf(Batch& b, std::string_view key) {
    std::vector<std::string> out;
    const std::string prefix = disk::variantPrefix(key);
    MDB_cursor* cursor = nullptr;
    if (mdb_cursor_open(b.txn, entries_db, &cursor) != 0)
      return out;
    MDB_val k = value(prefix);
    MDB_val v;
    for (int rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
         rc == 0 && view(k).substr(0, prefix.size()) == prefix;
         rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
      const auto record = disk::decode(view(v));
      if (!record || record->key == key) // an unreadable one goes with them
        out.emplace_back(view(k));
    }
    mdb_cursor_close(cursor);
    return out;
  }

  void apply(Batch& b, PersistOp& op, const std::optional<WrittenBody>& body) {
    if (body)
      index(b, *op.entry, *body);
    else // the older response of this variant must not stand in for the one not written
      drop(b, disk::indexKey(op.entry->key(), op.entry->secondaryKey()));
  }

  void apply(Batch& b, SpoolEndOp& op, const std::optional<WrittenBody>& body) {
    if (body)
      index(b, *op.entry, *body);
    else if (op.index) // the older response of this variant must not stand in for this one
      drop(b, disk::indexKey(op.entry->key(), op.entry->secondaryKey()));
  }

  void apply(Batch&, SpoolAppendOp&) {} // written before the transaction

  // The record of a Complete Entry whose body is written, in place of the variant it replaces.
  void index(Batch& b, const Entry& entry, const WrittenBody& body) {
    const std::string index_key = disk::indexKey(entry.key(), entry.secondaryKey());
    drop(b, index_key);
    Record record;
    record.key = entry.key();
    record.secondary_key = entry.secondaryKey();
    record.file_id = body.file_id;
    record.body_size = entry.bodySize();
    record.body_crc = body.crc;
    record.request_time = entry.requestTime();
    record.response_time = entry.responseTime();
    record.content_length = entry.contentLength();
    record.head = entry.head();
    store(b, index_key, record, true);
    ++b.written;
    // The least recently used variants beyond max_variants go (RFC 9111 §4.1 variants).
    auto variants = variantsOf(b, entry.key());
    while (variants.size() > max_variants) {
      auto oldest = variants.end();
      std::uint64_t oldest_tick = 0;
      for (auto it = variants.begin(); it != variants.end(); ++it) {
        auto other = get(b, *it);
        if (*it != index_key && other && (oldest == variants.end() || other->tick < oldest_tick)) {
          oldest = it;
          oldest_tick = other->tick;
        }
      }
      if (oldest == variants.end())
        break;
      drop(b, *oldest);
      variants.erase(oldest);
    }
  }

  void apply(Batch& b, UpdateOp& op) {
    auto record = get(b, op.index_key);
    if (!record || record->response_time != op.old_response_time ||
        record->body_size != op.old_body_size)
      return; // replaced or removed meanwhile: the head is another response's
    drop(b, op.index_key);
    b.unlink_after.pop_back(); // the body stays: only the head changes
    record->head = std::move(op.head);
    record->request_time = op.request_time;
    record->response_time = op.response_time;
    store(b, op.index_key, *record, true);
  }

  void apply(Batch& b, EraseOp& op) {
    auto record = get(b, op.index_key);
    if (!op.file_id || (record && record->file_id == *op.file_id) || !record)
      drop(b, op.index_key);
  }

  void apply(Batch& b, RemoveOp& op) {
    std::size_t dropped = 0;
    for (const std::string& index_key : variantsOf(b, op.key))
      dropped += drop(b, index_key) ? 1 : 0;
    if (op.done)
      b.removed.emplace_back(&op.done, dropped);
  }

  void apply(Batch& b, TouchOp& op) {
    auto record = get(b, op.index_key);
    if (!record || record->file_id != op.file_id)
      return;
    del(b, ticks_db, disk::tickKey(record->tick));
    const std::uint64_t used = b.used;
    store(b, op.index_key, *record, false);
    b.used = used; // same record size, same charge
  }

  // Drops the least recently used record; false when there is none.
  bool evictOldest(Batch& b) {
    MDB_cursor* cursor = nullptr;
    if (mdb_cursor_open(b.txn, ticks_db, &cursor) != 0)
      return false;
    MDB_val k;
    MDB_val v;
    const int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST);
    const std::string tick = rc == 0 ? std::string(view(k)) : std::string();
    const std::string index_key = rc == 0 ? std::string(view(v)) : std::string();
    mdb_cursor_close(cursor);
    if (rc != 0)
      return false;
    drop(b, index_key);
    del(b, ticks_db, tick); // gone with its record, unless it had none: then alone
    ++b.evicted;
    return true;
  }

  // Least recently used first, from above the high mark down to the low one.
  void evict(Batch& b) {
    const std::uint64_t budget = settings.size_bytes;
    if (b.used * 100 <= budget * EvictHighPercent)
      return;
    while (b.used * 100 > budget * EvictLowPercent && evictOldest(b)) {
    }
  }

  // Applies the batch in one transaction; its LMDB result.
  int commit(Batch& b, std::vector<Op>& ops, std::vector<std::optional<WrittenBody>>& bodies) {
    if (const int rc = mdb_txn_begin(env, nullptr, 0, &b.txn); rc != 0)
      return rc;
    for (std::size_t i = 0; i < ops.size(); ++i)
      std::visit(
          [&](auto& op) {
            using T = std::decay_t<decltype(op)>;
            if constexpr (std::is_same_v<T, PersistOp> || std::is_same_v<T, SpoolEndOp>)
              apply(b, op, bodies[i]);
            else
              apply(b, op);
          },
          ops[i]);
    evict(b);
    put(b, meta_db, "next_file_id", u64Bytes(next_file_id.load()));
    put(b, meta_db, "next_tick", u64Bytes(next_tick));
    put(b, meta_db, "used_bytes", u64Bytes(b.used));
    if (b.error) {
      mdb_txn_abort(b.txn);
      return b.error;
    }
    return mdb_txn_commit(b.txn);
  }

  void applyBatch(std::vector<Op>& ops) {
    std::vector<std::optional<WrittenBody>> bodies(ops.size());
    std::uint64_t dequeued_bytes = 0;
    for (std::size_t i = 0; i < ops.size(); ++i) {
      if (auto* persist = std::get_if<PersistOp>(&ops[i])) {
        bodies[i] = writeBody(*persist->entry);
        dequeued_bytes += persist->entry->bodySize();
      } else if (auto* append = std::get_if<SpoolAppendOp>(&ops[i])) {
        spoolAppend(*append);
        dequeued_bytes += append->chunk->size();
        append->chunk.reset();
      } else if (auto* end = std::get_if<SpoolEndOp>(&ops[i])) {
        bodies[i] = spoolEnd(*end);
      }
    }
    {
      std::lock_guard lock(mutex);
      queued_bytes -= std::min(queued_bytes, dequeued_bytes);
    }
    if (dequeued_bytes > 0)
      room.notify();
    const std::uint64_t first_tick = next_tick;
    Batch b;
    int rc = MDB_MAP_FULL;
    // The index file at its map size: make room on its own, then try the batch once more.
    for (int attempt = 0; attempt < 2 && rc == MDB_MAP_FULL; ++attempt) {
      if (attempt > 0)
        makeRoom();
      next_tick = first_tick;
      b = Batch{};
      b.used = used_bytes.load();
      b.entries = entries.load();
      rc = commit(b, ops, bodies);
    }
    if (rc != 0) {
      // Nothing of the batch is in the index: its new bodies are not referenced.
      complain("cannot update the index: {}", mdb_strerror(rc));
      next_tick = first_tick;
      for (const auto& body : bodies)
        if (body)
          ::unlink(bodyPath(body->file_id).c_str());
      // Removals not made stay in force for this run: their Keys are never read back.
      {
        std::lock_guard lock(mutex);
        for (const auto& op : ops) {
          if (const auto* remove = std::get_if<RemoveOp>(&op))
            pending_removals[disk::variantPrefix(remove->key)] = NeverDone;
          else if (const auto* erase = std::get_if<EraseOp>(&op))
            pending_removals[erase->index_key.substr(0, disk::PrefixBytes)] = NeverDone;
        }
      }
      for (auto& op : ops)
        if (auto* remove = std::get_if<RemoveOp>(&op); remove && remove->done)
          remove->done(std::nullopt);
      return;
    }
    used_bytes = b.used;
    entries = b.entries;
    core::count(core::Counter::CacheDiskWrites, b.written);
    core::count(core::Counter::CacheDiskEvictions, b.evicted);
    for (std::uint64_t file_id : b.unlink_after)
      ::unlink(bodyPath(file_id).c_str());
    for (auto& [done, count] : b.removed)
      (*done)(count);
  }

  // The index file reached its map size: evict a tenth of the entries (at least one) on
  // their own.
  void makeRoom() {
    Batch b;
    b.used = used_bytes.load();
    b.entries = entries.load();
    if (b.entries == 0 || mdb_txn_begin(env, nullptr, 0, &b.txn) != 0)
      return;
    const std::uint64_t target = b.entries - std::max<std::uint64_t>(1, b.entries / 10);
    while (b.entries > target && evictOldest(b)) {
    }
    put(b, meta_db, "used_bytes", u64Bytes(b.used));
    if (b.error) {
      mdb_txn_abort(b.txn);
      return;
    }
    if (mdb_txn_commit(b.txn) != 0)
      return;
    used_bytes = b.used;
    entries = b.entries;
    core::count(core::Counter::CacheDiskEvictions, b.evicted);
    for (std::uint64_t file_id : b.unlink_after)
      ::unlink(bodyPath(file_id).c_str());
  }

  // Reader threads.
  void readerLoop() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex);
        readers_wake.wait(lock, [this] { return stopping || !reads.empty(); });
        if (reads.empty())
          return;
        task = std::move(reads.front());
        reads.pop_front();
      }
      task();
    }
  }

  std::optional<std::pair<std::string, Record>> find(const Key& key,
                                                     const SecondaryKeyFn& secondary) {
    const std::string prefix = disk::variantPrefix(key);
    if (isRemovalPending(prefix))
      return std::nullopt;
    MDB_txn* txn = nullptr;
    if (const int rc = mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn); rc != 0) {
      complain("cannot read the index: {}", mdb_strerror(rc));
      return std::nullopt;
    }
    MDB_cursor* cursor = nullptr;
    std::optional<std::pair<std::string, Record>> found;
    std::vector<std::string> undecodable;
    if (mdb_cursor_open(txn, entries_db, &cursor) == 0) {
      MDB_val k = value(prefix);
      MDB_val v;
      for (int rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
           rc == 0 && view(k).substr(0, prefix.size()) == prefix;
           rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
        auto record = disk::decode(view(v));
        if (!record) {
          undecodable.emplace_back(view(k));
          continue;
        }
        if (record->key != key)
          continue; // another Key with the same hash prefix
        const std::string& stored_secondary = record->secondary_key;
        std::optional<std::string> wanted;
        if (secondary) {
          // A head-only Entry, for the caller's secondary key computation.
          auto probe = detail::EntryMutator::create(
              EntryInit{key, stored_secondary, record->head, record->request_time,
                        record->response_time, record->content_length});
          wanted = secondary(*probe);
        } else {
          wanted = std::string();
        }
        if (wanted && *wanted == stored_secondary) {
          found.emplace(std::string(view(k)), std::move(*record));
          break;
        }
      }
      mdb_cursor_close(cursor);
    }
    mdb_txn_abort(txn);
    for (auto& index_key : undecodable) {
      complain("dropping an index record it cannot read");
      enqueueRemoval(prefix, EraseOp{std::move(index_key), std::nullopt});
    }
    return found;
  }

  // The body, checked against the record's length and CRC-32; null when it does not match
  // or cannot be read. Up to in_memory_up_to bytes it is read into the Entry's chunks; a
  // larger one stays in its file (checked by reading it once per run) and is sent from it.
  // `busy` is set when the file could not be opened for want of descriptors or memory: the
  // record is not to blame.
  std::shared_ptr<const Entry> readBody(const Key& key, const Record& record,
                                        std::uint64_t in_memory_up_to, bool& busy) {
    const std::string path = bodyPath(record.file_id);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      busy = errno == EMFILE || errno == ENFILE || errno == ENOMEM;
      complain("cannot open {}: {}", path, std::strerror(errno));
      return nullptr;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || static_cast<std::uint64_t>(st.st_size) != record.body_size) {
      complain("{} is not the length its record says: dropped", path);
      ::close(fd);
      return nullptr;
    }
    EntryInit init{key,
                   record.secondary_key,
                   record.head,
                   record.request_time,
                   record.response_time,
                   record.content_length};
    const bool in_file = record.body_size > in_memory_up_to;
    if (in_file) {
      std::lock_guard lock(verified_mutex);
      if (verified.count(record.file_id))
        return detail::EntryMutator::withFile(std::move(init), std::make_shared<BodyFile>(fd),
                                              record.body_size);
    }
    auto entry = detail::EntryMutator::create(std::move(init));
    auto crc = static_cast<std::uint32_t>(crc32_z(0, nullptr, 0));
    std::string scratch; // in_file: read to be checked, not kept
    for (std::uint64_t left = record.body_size; left > 0;) {
      const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(left, ReadChunkBytes));
      auto chunk = in_file ? nullptr : std::make_shared<std::string>(want, '\0');
      std::string& into = in_file ? scratch : *chunk;
      into.resize(want);
      const ssize_t n = ::read(fd, into.data(), want);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        complain("cannot read {}: {}", path, n < 0 ? std::strerror(errno) : "short file");
        ::close(fd);
        return nullptr;
      }
      into.resize(static_cast<std::size_t>(n));
      crc = static_cast<std::uint32_t>(
          crc32_z(crc, reinterpret_cast<const Bytef*>(into.data()), into.size()));
      left -= static_cast<std::uint64_t>(n);
      if (chunk)
        detail::EntryMutator::append(*entry, std::move(chunk));
    }
    if (crc != record.body_crc) {
      complain("{} does not match its checksum: dropped", path);
      ::close(fd);
      return nullptr;
    }
    if (in_file) {
      {
        std::lock_guard lock(verified_mutex);
        if (verified.size() >= MaxVerified)
          verified.clear();
        verified.insert(record.file_id);
      }
      return detail::EntryMutator::withFile(EntryInit{key, entry->secondaryKey(), entry->head(),
                                                      entry->requestTime(), entry->responseTime(),
                                                      entry->contentLength()},
                                            std::make_shared<BodyFile>(fd), record.body_size);
    }
    ::close(fd);
    detail::EntryMutator::finish(*entry, EntryState::Complete);
    return entry;
  }

  void load(const Key& key, const SecondaryKeyFn& secondary, std::uint64_t in_memory_up_to,
            const DiskStore::Found& found) {
    auto match = find(key, secondary);
    if (!match) {
      found(nullptr);
      return;
    }
    bool busy = false;
    auto entry = readBody(key, match->second, in_memory_up_to, busy);
    if (!entry) {
      if (!busy)
        enqueueRemoval(disk::variantPrefix(key), EraseOp{match->first, match->second.file_id});
      found(nullptr);
      return;
    }
    core::count(core::Counter::CacheDiskHits);
    enqueueOptional(TouchOp{std::move(match->first), match->second.file_id});
    found(std::move(entry));
  }

  // What an earlier start moved aside as damaged (see DiskStore::open).
  void removeDamaged() {
    std::error_code ec;
    for (const auto& item : std::filesystem::directory_iterator(settings.path, ec)) {
      if (item.path().filename().string().rfind("damaged.", 0) != 0)
        continue;
      std::error_code removed;
      std::filesystem::remove_all(item.path(), removed);
      if (removed)
        complain("cannot remove {}: {}", item.path().string(), removed.message());
    }
  }

  // Bodies no record names and that this run did not write: left by a crash between a
  // body's write and its record's commit, or between a removal's commit and its unlink.
  void sweepOrphans() {
    std::vector<std::uint64_t> live;
    MDB_txn* txn = nullptr;
    if (mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn) == 0) {
      MDB_cursor* cursor = nullptr;
      if (mdb_cursor_open(txn, entries_db, &cursor) == 0) {
        MDB_val k;
        MDB_val v;
        for (int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT))
          if (auto file_id = disk::fileIdOf(view(v)))
            live.push_back(*file_id);
        mdb_cursor_close(cursor);
      }
      mdb_txn_abort(txn);
    } else {
      return; // leave every body: without the index nothing can be called an orphan
    }
    std::sort(live.begin(), live.end());
    std::uint64_t removed = 0;
    for (unsigned dir = 0; dir < 256; ++dir) {
      {
        std::lock_guard lock(mutex);
        if (stopping)
          return;
      }
      char sub[16];
      std::snprintf(sub, sizeof sub, "/bodies/%02x", dir);
      const std::string path = settings.path + sub;
      DIR* d = ::opendir(path.c_str());
      if (!d)
        continue;
      while (dirent* e = ::readdir(d)) {
        char* end = nullptr;
        const std::uint64_t file_id = std::strtoull(e->d_name, &end, 16);
        if (std::strlen(e->d_name) != 16 || *end != '\0' || file_id >= first_file_id ||
            std::binary_search(live.begin(), live.end(), file_id))
          continue;
        if (::unlinkat(::dirfd(d), e->d_name, 0) == 0)
          ++removed;
      }
      ::closedir(d);
    }
    if (removed > 0)
      spdlog::info("cache.disk {}: removed {} bodies no index record names", settings.path,
                   removed);
  }
};

} // namespace detail

namespace {

// The writer of a body too large for the memory tier: each piece goes to the disk tier's
// write queue, whose thread appends it to the Entry's file; readers of the Entry (collapsed
// forwarding) follow that file as it grows. The Entry is in no index until it is whole and
// holds no chunks. This writer's own client reads the pieces from here, so that a disk that
// fails cannot cut it: each is kept until that client has read it — or, once the client
// falls MaxUnreadBytes behind, no longer, and the client reads the rest from the file too.
// While the write queue is full it holds the bytes (up to MaxHeldBytes) and says so (isFull).
class SpoolWriter final : public EntryWriter {
public:
  static constexpr std::uint64_t MaxUnreadBytes = 1024 * 1024;
  // Bytes held while the write queue is full; its caller pauses the origin meanwhile
  // (isFull), and one that does not makes the response stop being stored.
  static constexpr std::uint64_t MaxHeldBytes = 4 * 1024 * 1024;

  // `reserved`: bytes counted in the impl's spooling total (the announced length), released
  // at the end.
  SpoolWriter(std::shared_ptr<detail::DiskStoreImpl> disk, EntryInit init, std::uint64_t started_at,
              std::uint64_t reserved)
      : disk_(std::move(disk)), file_id_(disk_->next_file_id.fetch_add(1)), started_at_(started_at),
        reserved_(reserved), entry_(detail::EntryMutator::createInFile(std::move(init))) {}
  ~SpoolWriter() override {
    abandon();
    disk_->releaseSpooling(reserved_);
  }

  const std::shared_ptr<const Entry>& entry() const noexcept override { return shared_; }

  bool append(std::string_view bytes) override {
    if (ended_)
      return false;
    if (entry_->state() != EntryState::Filling) { // the disk failed: see spoolAppend
      abandon();
      return false;
    }
    const std::uint64_t total = entry_->bodySize() + pending_.size() + bytes.size();
    if (total > disk_->settings.max_object_bytes ||
        (entry_->contentLength() && total > *entry_->contentLength()) ||
        pending_.size() + bytes.size() > MaxHeldBytes) { // the caller did not wait for room
      abandon();
      return false;
    }
    // Taken from here on: if storing stops below, this client still gets them (abandon()).
    pending_.append(bytes);
    if (pending_.size() >= DiskStore::SpoolPieceBytes)
      flush(false);
    return true;
  }

  bool isFull() override {
    if (!ended_ && pending_.size() >= DiskStore::SpoolPieceBytes)
      flush(false);
    return !ended_ && pending_.size() >= DiskStore::SpoolPieceBytes;
  }

  Subscription whenRoom(std::function<void()> room) override {
    return disk_->room.subscribe(std::move(room));
  }

  bool complete() override {
    if (ended_)
      return false;
    if (!pending_.empty())
      flush(true);
    if (ended_)
      return false;
    if (entry_->contentLength() && *entry_->contentLength() != entry_->bodySize()) {
      abandon();
      return false;
    }
    ended_ = whole_ = true;
    // The writer thread makes the Entry Complete once the file holds it all; it is not
    // indexed when its Key was purged or invalidated since the response began.
    return disk_->endSpool(file_id_, entry_, started_at_);
  }

  void abandon() override {
    if (ended_)
      return;
    ended_ = true;
    if (!pending_.empty() && !detached_) { // appended, so this client gets them; never written
      unread_.push_back(std::make_shared<const std::string>(std::move(pending_)));
      pending_.clear();
    }
    detail::EntryMutator::finish(*entry_, EntryState::Abandoned);
    disk_->enqueue(SpoolEndOp{file_id_, entry_, false, false});
  }

  BodyRead read(std::size_t first_chunk, std::size_t max_chunks) override {
    if (!ended_ && entry_->state() == EntryState::Abandoned)
      abandon();                                      // the disk failed: pending_ is this client's
    while (base_ < first_chunk && !unread_.empty()) { // read by now: let go
      unread_bytes_ -= unread_.front()->size();
      unread_.pop_front();
      ++base_;
    }
    BodyRead out;
    out.state = whole_   ? EntryState::Complete
                : ended_ ? EntryState::Abandoned
                         : EntryState::Filling;
    out.rest_in_file = detached_;
    for (std::size_t i = first_chunk - base_;
         !detached_ && i < unread_.size() && out.chunks.size() < max_chunks; ++i)
      out.chunks.push_back(unread_[i]);
    return out;
  }

private:
  // Queues pending_ as one piece for the disk, and keeps it for this writer's client unless
  // that client is too far behind. While the write queue is full the bytes stay in pending_
  // (isFull(); `force`, at the end of the body, queues them anyway: at most MaxHeldBytes).
  // A body of unannounced length that would take more than the room left for responses
  // being spooled stops being stored.
  void flush(bool force) {
    const std::uint64_t size = pending_.size();
    if (!entry_->contentLength() && !disk_->reserveSpooling(size)) {
      abandon();
      return;
    }
    if (!disk_->reserveQueue(size, force)) {
      if (!entry_->contentLength())
        disk_->releaseSpooling(size);
      return;
    }
    if (!entry_->contentLength())
      reserved_ += size;
    auto piece = std::make_shared<const std::string>(std::exchange(pending_, std::string()));
    if (!detached_ && unread_bytes_ + size > MaxUnreadBytes) {
      detached_ = true; // every piece kept so far is in the write queue or the file
      unread_.clear();
      unread_bytes_ = 0;
    }
    if (!detached_) {
      unread_.push_back(piece);
      unread_bytes_ += size;
    }
    disk_->enqueue(SpoolAppendOp{file_id_, std::move(piece), entry_});
    detail::EntryMutator::grow(*entry_, size);
  }

  std::shared_ptr<detail::DiskStoreImpl> disk_;
  const std::uint64_t file_id_;
  const std::uint64_t started_at_; // ops_queued when the response began
  std::uint64_t reserved_;
  std::shared_ptr<Entry> entry_;
  const std::shared_ptr<const Entry> shared_ = entry_;
  std::string pending_;
  std::deque<Chunk> unread_; // pieces from index base_ on, not yet read by the client
  std::size_t base_ = 0;
  std::uint64_t unread_bytes_ = 0;
  bool ended_ = false;    // complete() or abandon() ran
  bool whole_ = false;    // complete() succeeded: every byte is queued
  bool detached_ = false; // the client reads the rest from the file
};

std::optional<std::uint64_t> metaValue(MDB_txn* txn, MDB_dbi meta, std::string_view name) {
  MDB_val k = value(name);
  MDB_val v;
  if (mdb_get(txn, meta, &k, &v) != 0)
    return std::nullopt;
  return u64Of(view(v));
}

// The index directory and the 256 body directories; an error message when they cannot be made.
std::string makeDirectories(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path + "/index", ec);
  for (unsigned dir = 0; dir < 256 && !ec; ++dir) {
    char sub[16];
    std::snprintf(sub, sizeof sub, "/bodies/%02x", dir);
    std::filesystem::create_directories(path + sub, ec);
  }
  return ec ? path + ": " + ec.message() : std::string();
}

// An LMDB result that says the index file itself is unusable, not its directory or the
// machine: the index is then set aside rather than refusing to start.
bool isDamaged(int rc) {
  return rc == MDB_INVALID || rc == MDB_CORRUPTED || rc == MDB_VERSION_MISMATCH ||
         rc == MDB_PAGE_NOTFOUND || rc == MDB_PANIC || rc == MDB_INCOMPATIBLE;
}

// Opens (or creates) the index; the LMDB result and a message naming the file.
std::pair<int, std::string> openIndex(detail::DiskStoreImpl& impl) {
  const std::string dir = impl.settings.path + "/index";
  if (int rc = mdb_env_create(&impl.env); rc != 0)
    return {rc, mdb_strerror(rc)};
  mdb_env_set_maxdbs(impl.env, 3);
  // Address space, not disk: the index file grows as records are added.
  const std::uint64_t map =
      std::clamp<std::uint64_t>(impl.settings.size_bytes, 1ull << 30, 1ull << 40);
  mdb_env_set_mapsize(impl.env, map);
  // Sync::None still syncs the index once per commit (without its metadata page), which
  // keeps it whole through a power loss that may undo the last commit; it is the bodies
  // that are left to writeback, and a body lost that way fails its check when read.
  unsigned flags = MDB_NOTLS;
  if (impl.settings.sync == DiskSettings::Sync::None)
    flags |= MDB_NOMETASYNC;
  if (int rc = mdb_env_open(impl.env, dir.c_str(), flags, 0640); rc != 0)
    return {rc, dir + ": " + mdb_strerror(rc)};
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(impl.env, nullptr, 0, &txn); rc != 0)
    return {rc, dir + ": " + mdb_strerror(rc)};
  int rc = mdb_dbi_open(txn, "entries", MDB_CREATE, &impl.entries_db);
  if (rc == 0)
    rc = mdb_dbi_open(txn, "ticks", MDB_CREATE, &impl.ticks_db);
  if (rc == 0)
    rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &impl.meta_db);
  if (rc != 0) {
    mdb_txn_abort(txn);
    return {rc, dir + ": " + mdb_strerror(rc)};
  }
  MDB_stat stat{};
  mdb_stat(txn, impl.entries_db, &stat);
  impl.entries = stat.ms_entries;
  impl.next_file_id = metaValue(txn, impl.meta_db, "next_file_id").value_or(1);
  impl.next_tick = metaValue(txn, impl.meta_db, "next_tick").value_or(1);
  impl.used_bytes = metaValue(txn, impl.meta_db, "used_bytes").value_or(0);
  impl.first_file_id = impl.next_file_id.load();
  if (rc = mdb_txn_commit(txn); rc != 0)
    return {rc, dir + ": " + mdb_strerror(rc)};
  return {0, {}};
}

} // namespace

std::variant<std::unique_ptr<DiskStore>, std::string> DiskStore::open(const DiskSettings& settings,
                                                                      std::size_t max_variants) {
  auto impl = std::make_shared<detail::DiskStoreImpl>();
  impl->settings = settings;
  impl->max_variants = max_variants;
  if (std::string made = makeDirectories(settings.path); !made.empty())
    return made;
  std::error_code ec;
  const std::string lock_path = settings.path + "/lock";
  impl->lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (impl->lock_fd < 0)
    return lock_path + ": " + std::strerror(errno);
  if (::flock(impl->lock_fd, LOCK_EX | LOCK_NB) != 0)
    return settings.path + ": in use by another process (" + std::strerror(errno) + ")";
  auto [rc, error] = openIndex(*impl);
  if (isDamaged(rc)) {
    // Like a crash's leftovers, a damaged index costs the cache, never the start: the old
    // index and bodies are moved aside (removed in the background), and ferry starts empty.
    mdb_env_close(impl->env);
    impl->env = nullptr;
    const std::string aside = settings.path + "/damaged." + std::to_string(::time(nullptr));
    std::filesystem::create_directories(aside, ec);
    for (const char* part : {"/index", "/bodies"})
      if (!ec)
        std::filesystem::rename(settings.path + part, aside + part, ec);
    if (ec)
      return error + "; cannot move it aside: " + ec.message();
    spdlog::warn("cache.disk {}: {}: starting with an empty disk cache; the old one is removed "
                 "in the background",
                 settings.path, error);
    core::count(core::Counter::CacheDiskErrors);
    if (std::string made = makeDirectories(settings.path); !made.empty())
      return made;
    std::tie(rc, error) = openIndex(*impl);
  }
  if (rc != 0)
    return error;
  detail::DiskStoreImpl* raw = impl.get();
  raw->writer = std::thread([raw] { raw->writerLoop(); });
  for (std::size_t i = 0; i < ReaderThreads; ++i)
    raw->readers.emplace_back([raw] { raw->readerLoop(); });
  raw->sweeper = std::thread([raw] {
    raw->removeDamaged();
    raw->sweepOrphans();
    {
      std::lock_guard lock(raw->mutex);
      raw->sweep_done = true;
    }
    raw->settled.notify_all();
  });
  return std::unique_ptr<DiskStore>(new DiskStore(std::move(impl)));
}

DiskStore::DiskStore(std::shared_ptr<detail::DiskStoreImpl> impl) : impl_(std::move(impl)) {}

DiskStore::~DiskStore() = default;

void DiskStore::load(Key key, SecondaryKeyFn secondary, std::uint64_t in_memory_up_to,
                     Found found) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->reads.push_back(
        [impl = impl_.get(), key = std::move(key), secondary = std::move(secondary),
         in_memory_up_to,
         found = std::move(found)] { impl->load(key, secondary, in_memory_up_to, found); });
  }
  impl_->readers_wake.notify_one();
}

void DiskStore::persist(std::shared_ptr<const Entry> complete) {
  FERRY_ASSERT(complete->state() == EntryState::Complete && !complete->isInFile());
  const std::uint64_t size = complete->bodySize();
  if (size > impl_->settings.max_object_bytes || !impl_->reserveQueue(size)) {
    core::count(core::Counter::CacheDiskWritesSkipped);
    // An older response of the variant must not come back in this one's place.
    impl_->enqueueRemoval(
        disk::variantPrefix(complete->key()),
        EraseOp{disk::indexKey(complete->key(), complete->secondaryKey()), std::nullopt});
    return;
  }
  impl_->enqueue(PersistOp{std::move(complete)});
}

std::unique_ptr<EntryWriter> DiskStore::spool(EntryInit init) {
  const std::uint64_t length = init.content_length.value_or(0);
  if (length > impl_->settings.max_object_bytes || !impl_->reserveSpooling(length))
    return nullptr;
  return std::make_unique<SpoolWriter>(impl_, std::move(init), impl_->position(), length);
}

void DiskStore::updateHead(const Entry& stored, http::ResponseHead head,
                           std::chrono::system_clock::time_point request_time,
                           std::chrono::system_clock::time_point response_time) {
  impl_->enqueueOptional(UpdateOp{disk::indexKey(stored.key(), stored.secondaryKey()),
                                  stored.responseTime(), stored.bodySize(), std::move(head),
                                  request_time, response_time});
}

void DiskStore::erase(const Key& key, const std::string& secondary_key) {
  impl_->enqueueRemoval(disk::variantPrefix(key),
                        EraseOp{disk::indexKey(key, secondary_key), std::nullopt});
}

void DiskStore::remove(const Key& key, Removed done) {
  impl_->enqueueRemoval(disk::variantPrefix(key), RemoveOp{key, std::move(done)});
}

DiskStats DiskStore::stats() const {
  return DiskStats{impl_->entries.load(), impl_->used_bytes.load(), impl_->settings.size_bytes};
}

void DiskStore::settleForTest() {
  std::unique_lock lock(impl_->mutex);
  const std::uint64_t target = impl_->ops_queued;
  impl_->settled.wait(lock, [&] { return impl_->ops_done >= target && impl_->sweep_done; });
}

} // namespace ferry::cache
