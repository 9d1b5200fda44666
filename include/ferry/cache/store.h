// The cache storage interface: find Entries by Key and secondary key, store responses while
// they stream in, revalidate, purge, and collapse concurrent misses for one Key onto one
// origin fetch. It stores and finds; whether a response may be stored or served is
// cache::policy's decision. It never sees a socket or an event loop: notifications are plain
// callbacks that the caller forwards to its own loop.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/cache/entry.h"
#include "ferry/cache/subscription.h"
#include "ferry/http/message.h"

namespace ferry::cache {

// Fills one Entry while its response streams in. Owned by the one Transaction that fetches
// the response; use it from one thread at a time. Destroying it before complete() abandons
// the Entry, so readers never wait on a writer that is gone.
class EntryWriter {
public:
  virtual ~EntryWriter() = default;

  // The Entry being filled; it is already in the store's index (until evicted or replaced).
  virtual const std::shared_ptr<const Entry>& entry() const noexcept = 0;
  // Copies body bytes into the Entry. They are published to readers (and charged to the
  // budget) in chunks of at least the store's minimum chunk size, whatever sizes they arrive
  // in — only the last chunk, published by complete(), may be smaller — so a hit costs in
  // proportion to its bytes, never to how the origin framed them. Returns false, and stores
  // nothing, once the Entry is Abandoned — by abandon(), or by the store when the body grows
  // past max_object_bytes or cannot fit the budget.
  virtual bool append(std::string_view bytes) = 0;
  // The body is whole: the bytes not yet published go out as the last chunk and the Entry
  // becomes Complete. If its content_length was announced and
  // differs from the bytes appended, the body is truncated and the Entry is abandoned
  // instead. Returns whether the Entry is Complete.
  virtual bool complete() = 0;
  // Truncated body, origin error, response found uncacheable mid-way: the Entry leaves the
  // index and becomes Abandoned; readers streaming from it are told. Idempotent.
  virtual void abandon() = 0;
  // The body as this writer appended it, from chunk first_chunk on (at most max_chunks), and
  // the Entry's state — for the client whose request fills the Entry, which reads at its own
  // pace. Unlike Entry::read(), the chunks stay here once the Entry is Abandoned (evicted,
  // too large, no room): every byte of every append() that returned true, and only those.
  // While the writer keeps them their bytes stay charged to the budget. Writer's thread only.
  virtual BodyRead read(std::size_t first_chunk, std::size_t max_chunks) = 0;
  // Whether the writer holds appended bytes the store cannot take yet (a disk's write queue
  // is full): the caller should stop reading the response until whenRoom() calls back, then
  // ask again (which also passes held bytes on). Appending on regardless makes the writer
  // abandon the Entry once it holds a few MiB.
  virtual bool isFull() { return false; }
  // Calls `room` — on a store thread, with no lock held; it must be cheap — each time the
  // store may have room again, until the Subscription goes. Inactive for a writer that is
  // never full.
  virtual Subscription whenRoom(std::function<void()> room) {
    (void)room;
    return {};
  }
};

//  Waiting ──leader publish()──▶ Published
//     │
//     └──leader giveUp() / leader's FetchTicket destroyed──▶ GaveUp
enum class FetchOutcome { Waiting, Published, GaveUp };

// One origin fetch in progress for a Key, before its response head arrived. Shared by the
// leader and its followers; thread-safe.
class PendingFetch {
public:
  // release runs once, on the leader's thread, when the fetch stops Waiting; a Store uses it
  // to drop the fetch from its table.
  PendingFetch(Key key, std::function<void(const PendingFetch&)> release);
  PendingFetch(const PendingFetch&) = delete;
  PendingFetch& operator=(const PendingFetch&) = delete;

  const Key& key() const noexcept { return key_; }
  FetchOutcome outcome() const noexcept { return outcome_.load(std::memory_order_acquire); }
  // Calls callback once, on the leader's thread with no lock held, when the outcome is
  // decided. Subscribe first, then check outcome(): if it is already decided, the returned
  // Subscription is inactive and nothing will be called.
  Subscription subscribe(std::function<void()> callback);

private:
  friend class FetchTicket;
  void finish(FetchOutcome outcome);

  const Key key_;
  std::function<void(const PendingFetch&)> release_;
  std::atomic<FetchOutcome> outcome_{FetchOutcome::Waiting};
  Notifier notifier_;
};

// A Transaction's place in a PendingFetch, from Store::joinFetch. Move-only.
// The leader fetches from the origin, and either inserts an Entry then calls publish()
// (followers then look the Key up again and stream from that Entry when their request
// matches its Vary), or calls giveUp() (uncacheable response, origin error: followers go to
// the origin on their own). A leader ticket destroyed while still Waiting gives up.
// A follower subscribes to fetch() and drops its ticket when it is done waiting.
class FetchTicket {
public:
  FetchTicket() = default;
  FetchTicket(std::shared_ptr<PendingFetch> fetch, bool leader) noexcept;
  FetchTicket(FetchTicket&& other) noexcept;
  FetchTicket& operator=(FetchTicket&& other) noexcept;
  FetchTicket(const FetchTicket&) = delete;
  FetchTicket& operator=(const FetchTicket&) = delete;
  ~FetchTicket();

  bool isLeader() const noexcept { return leader_; }
  // Null for a default-constructed or moved-from ticket.
  const std::shared_ptr<PendingFetch>& fetch() const noexcept { return fetch_; }
  // Leader only (asserted). No-ops once the outcome is decided.
  void publish();
  void giveUp();

private:
  std::shared_ptr<PendingFetch> fetch_;
  bool leader_ = false;
};

// The request's secondary key for the stored variant `entry` (computed by cache::policy from
// the request and entry.vary()), or nullopt when the variant can never match (Vary: *). Called
// with no store lock held, once per distinct Vary value among a Key's variants, with one of
// the variants that have it. An empty function matches the variant stored without Vary
// (secondary key "").
using SecondaryKeyFn = std::function<std::optional<std::string>(const Entry& entry)>;

// Work in a Store's slower tier (a disk) under way off the caller's thread: a lookup, or a
// purge. Shared by the Store and the caller; thread-safe.
class TierTask {
public:
  bool isDone() const noexcept { return done_.load(std::memory_order_acquire); }
  // Once done: a lookup's Entry (Complete), or null when the slower tier has nothing usable.
  std::shared_ptr<const Entry> entry() const;
  // Once done: how many stored responses a purge removed, over all tiers; nullopt when the
  // slower tier could not record the removal.
  std::optional<std::size_t> removed() const;
  // Calls callback once, on the Store's I/O thread with no lock held, when the work is done.
  // Subscribe first, then check isDone(): if it is done already, the returned Subscription is
  // inactive and nothing will be called.
  Subscription subscribe(std::function<void()> callback);
  // The Store's side: the work is done. Once only.
  void finish(std::shared_ptr<const Entry> entry, std::optional<std::size_t> removed = 0);

private:
  mutable std::mutex mutex_; // guards entry_ and removed_
  std::shared_ptr<const Entry> entry_;
  std::optional<std::size_t> removed_ = 0;
  std::atomic<bool> done_{false};
  Notifier notifier_;
};

struct StoreStats {
  std::size_t entries = 0;      // Entries in the index, Filling ones included
  std::size_t used_bytes = 0;   // accounted bytes: bodies, heads, keys, fixed overheads, and the
                                // chunks writers keep of Entries that left the index
  std::size_t budget_bytes = 0; // used_bytes never exceeds this
  std::uint64_t evictions = 0;  // Entries evicted to stay within the budget
  std::uint64_t variant_evictions = 0; // variants evicted to stay within max_variants
};

// Every method is thread-safe and may be called from any worker thread; none blocks on I/O.
// Entries, writers and tickets handed out stay valid after the Store is destroyed.
class Store {
public:
  virtual ~Store() = default;

  // The stored variant of key whose secondary key equals secondary(variant), Filling ones
  // included (the caller streams from them), or null. Counts a hit and marks it recently used.
  virtual std::shared_ptr<const Entry> lookup(const Key& key, const SecondaryKeyFn& secondary) = 0;

  // Adds a Filling Entry as soon as a response head arrives, replacing the variant of the same
  // Key and secondary key (a reader of the old one keeps its Entry). Null when it cannot be
  // stored: announced content_length over max_object_bytes, or head larger than the budget.
  //
  // Whatever takes a Filling Entry out of the index — eviction, remove(), erase(), replacement,
  // max_variants — abandons it at once: its writer's next append() fails and its readers are
  // told. The chunks its writer keeps (EntryWriter::read) stay charged until the writer is
  // destroyed, so the bytes the store holds never exceed the budget by more than what each
  // writer is still coalescing (less than one chunk per fill).
  virtual std::unique_ptr<EntryWriter> insert(EntryInit init) = 0;

  // RFC 9111 §3.2 / §4.3.4: a new Complete Entry with head, request_time and response_time
  // replaced and the same body chunks as `entry` (which must be Complete, else null is
  // returned), swapped into the index in its place. When `entry` has left the index meanwhile
  // (evicted, purged, replaced), the new Entry is returned without being stored.
  virtual std::shared_ptr<const Entry>
  updateHead(const std::shared_ptr<const Entry>& entry, http::ResponseHead head,
             std::chrono::system_clock::time_point request_time,
             std::chrono::system_clock::time_point response_time) = 0;

  // Removes `entry` from the index if it is still there (e.g. a 304 that forbids keeping it);
  // its readers carry on. Returns whether it was indexed.
  virtual bool erase(const Entry& entry) = 0;

  // Removes every variant of key (PURGE, RFC 9111 §4.4 invalidation); returns how many.
  // Readers of removed Complete Entries carry on.
  virtual std::size_t remove(const Key& key) = 0;

  // Collapsed forwarding for misses before any response head: the first caller for a Key
  // becomes the leader; callers while it is Waiting become followers of the same fetch.
  virtual FetchTicket joinFetch(const Key& key) = 0;

  virtual StoreStats stats() const = 0;

  // Whether a Key that lookup() did not find may still be in a slower tier, worth a load().
  virtual bool hasSlowerTier() const noexcept { return false; }
  // Looks key up in the slower tier, like lookup(); `secondary` runs on another thread, so it
  // must own everything it reads. What is found is also placed where lookup() finds it next.
  // Without a slower tier the TierTask is done at once, with nothing.
  virtual std::shared_ptr<TierTask> load(const Key& key, SecondaryKeyFn secondary);
  // PURGE: remove() from every tier, done once the slower tier has committed the removal
  // (at once without one); TierTask::removed() says how many stored responses went.
  virtual std::shared_ptr<TierTask> purge(const Key& key);
};

} // namespace ferry::cache
