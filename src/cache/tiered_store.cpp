// TieredStore: write-behind from the memory tier to the disk tier, and loads from disk put
// back in memory.
#include "ferry/cache/tiered_store.h"

namespace ferry::cache {

namespace {

// The memory store's writer; once its Entry is Complete, it is queued for the disk.
class TieredWriter final : public EntryWriter {
public:
  TieredWriter(std::unique_ptr<EntryWriter> memory, std::shared_ptr<DiskStore> disk)
      : memory_(std::move(memory)), disk_(std::move(disk)) {}

  const std::shared_ptr<const Entry>& entry() const noexcept override { return memory_->entry(); }
  bool append(std::string_view bytes) override { return memory_->append(bytes); }
  bool complete() override {
    if (!memory_->complete())
      return false;
    disk_->persist(memory_->entry());
    return true;
  }
  void abandon() override { memory_->abandon(); }
  BodyRead read(std::size_t first_chunk, std::size_t max_chunks) override {
    return memory_->read(first_chunk, max_chunks);
  }

private:
  std::unique_ptr<EntryWriter> memory_;
  std::shared_ptr<DiskStore> disk_;
};

// Puts an Entry read from disk in the memory store, unless the memory store holds that
// variant already (a fill in progress is not replaced); the Entry to serve.
std::shared_ptr<const Entry> putBack(MemoryStore& memory, std::shared_ptr<const Entry> loaded) {
  auto writer = memory.insertUnlessHeld(EntryInit{loaded->key(), loaded->secondaryKey(),
                                                  loaded->head(), loaded->requestTime(),
                                                  loaded->responseTime(), loaded->contentLength()});
  if (!writer) {
    const std::string& secondary = loaded->secondaryKey();
    auto held = memory.lookup(loaded->key(), [&secondary](const Entry&) {
      return std::optional<std::string>(secondary);
    });
    return held && held->secondaryKey() == secondary ? held : loaded;
  }
  const BodyRead body = loaded->read(0);
  for (const Chunk& chunk : body.chunks)
    if (!writer->append(*chunk))
      return loaded; // no room: served from the loaded copy alone
  return writer->complete() ? writer->entry() : loaded;
}

} // namespace

TieredStore::TieredStore(std::shared_ptr<MemoryStore> memory, std::shared_ptr<DiskStore> disk)
    : memory_(std::move(memory)), disk_(std::move(disk)),
      removals_(std::make_shared<std::atomic<std::uint64_t>>(0)) {}

std::shared_ptr<const Entry> TieredStore::lookup(const Key& key, const SecondaryKeyFn& secondary) {
  return memory_->lookup(key, secondary);
}

std::unique_ptr<EntryWriter> TieredStore::insert(EntryInit init) {
  if (init.content_length && *init.content_length > memory_->maxObjectBytes())
    return disk_->spool(std::move(init)); // too large for memory: straight to disk
  auto writer = memory_->insert(std::move(init));
  if (!writer)
    return nullptr;
  return std::make_unique<TieredWriter>(std::move(writer), disk_);
}

std::shared_ptr<const Entry>
TieredStore::updateHead(const std::shared_ptr<const Entry>& entry, http::ResponseHead head,
                        std::chrono::system_clock::time_point request_time,
                        std::chrono::system_clock::time_point response_time) {
  disk_->updateHead(entry->key(), entry->secondaryKey(), head, request_time, response_time);
  return memory_->updateHead(entry, std::move(head), request_time, response_time);
}

bool TieredStore::erase(const Entry& entry) {
  removals_->fetch_add(1, std::memory_order_acq_rel);
  disk_->erase(entry.key(), entry.secondaryKey());
  return memory_->erase(entry);
}

std::size_t TieredStore::remove(const Key& key) {
  removals_->fetch_add(1, std::memory_order_acq_rel);
  disk_->remove(key);
  return memory_->remove(key);
}

FetchTicket TieredStore::joinFetch(const Key& key) {
  return memory_->joinFetch(key);
}

StoreStats TieredStore::stats() const {
  return memory_->stats();
}

std::shared_ptr<TierLoad> TieredStore::load(const Key& key, SecondaryKeyFn secondary) {
  auto load = std::make_shared<TierLoad>();
  const std::uint64_t removals = removals_->load(std::memory_order_acquire);
  disk_->load(key, std::move(secondary), memory_->maxObjectBytes(),
              [load, memory = memory_, removals_now = removals_,
               removals](std::shared_ptr<const Entry> found) {
                if (found && !found->bodyFile())
                  found = putBack(*memory, std::move(found));
                // Checked after the put back: a removal that ran before it counted first.
                if (found && removals_now->load(std::memory_order_acquire) != removals) {
                  memory->erase(*found); // a no-op for a body file, never in memory
                  found = nullptr;
                }
                load->finish(std::move(found));
              });
  return load;
}

} // namespace ferry::cache
