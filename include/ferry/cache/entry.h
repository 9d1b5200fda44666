// Entry: one stored response — its head, its metadata and its body as immutable ref-counted
// chunks — and the Key it is found by. An Entry may still be filling while clients stream
// from it (collapsed forwarding). It decides nothing about HTTP caching: storability,
// freshness and secondary keys come from cache::policy; writes go through a Store's
// EntryWriter, never through the Entry itself.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/cache/policy.h"
#include "ferry/cache/settings.h"
#include "ferry/cache/subscription.h"
#include "ferry/http/framing.h"
#include "ferry/http/message.h"

namespace ferry::cache {

// The primary cache key (RFC 9111 §2), as computed by cache::policy; the store only hashes and
// compares it.
using Key = std::string;

// A piece of a stored body. Immutable once published and shared by every reader: hold it for
// as long as its bytes are in use (e.g. until evbuffer_add_reference's cleanup runs), even if
// its Entry was evicted meanwhile.
using Chunk = std::shared_ptr<const std::string>;

//  Filling ──complete──▶ Complete
//     │
//     └──abandon / too large / writer gone──▶ Abandoned
//
// Complete and Abandoned are final. An Abandoned Entry is no longer in any index and must not
// be served as a whole: its chunks are released when it is abandoned (read() returns none;
// readers keep the chunks they took, its writer keeps them all), bodySize() still counts what
// was appended.
enum class EntryState { Filling, Complete, Abandoned };

// What a Store needs to create an Entry when a response head arrives.
struct EntryInit {
  Key key;
  // The request's values of the fields the response's Vary names, as cache::policy renders
  // them (RFC 9111 §4.1); empty when the response has no Vary.
  std::string secondary_key;
  http::ResponseHead head; // as stored (hop-by-hop fields already removed)
  std::chrono::system_clock::time_point request_time;  // RFC 9111 §4.2.3
  std::chrono::system_clock::time_point response_time; // RFC 9111 §4.2.3
  // The announced body length (Content-Length), when known. A Store refuses an Entry whose
  // announced length exceeds its max_object_bytes.
  std::optional<std::uint64_t> content_length;
};

// A stored head as a hit sends it, less what each send adds (Age, Cache-Status, this hop's
// Via entry, the connection's fate): `lines` is the status line and the fields without Age,
// Cache-Status and Via, framed by the framing given; `via` the Via list so far with this
// hop's received-protocol, which the pseudonym completes (http::viaBefore).
struct HeadTemplate {
  std::string lines;
  std::string via;
};
HeadTemplate makeHeadTemplate(http::ResponseHead head, const http::Framing& framing);

// A body kept in a file (the disk tier's), for an Entry too large to be read into memory:
// the open descriptor, closed when the last holder lets go. Readers send it from the file
// (sendfile) and hold it until the bytes are sent.
class BodyFile {
public:
  explicit BodyFile(int fd) noexcept : fd_(fd) {}
  ~BodyFile();
  BodyFile(const BodyFile&) = delete;
  BodyFile& operator=(const BodyFile&) = delete;

  int fd() const noexcept { return fd_; }

private:
  const int fd_;
};

// Snapshot of an Entry's body from one chunk on, taken under one lock so a reader never
// misses the end: after reading every chunk of a snapshot whose state is Complete, the body is
// whole.
struct BodyRead {
  std::vector<Chunk> chunks;
  EntryState state = EntryState::Filling;
  // From an EntryWriter only: it keeps no more chunks for its client, whose reader goes on
  // from the Entry's file (readFile()) at the byte after the last chunk it read.
  bool rest_in_file = false;
};

// Snapshot of a body kept in a file, taken under the same lock as the state: after sending
// `size` bytes of a snapshot whose state is Complete, the body is whole.
struct FileRead {
  std::shared_ptr<const BodyFile> file; // null until the first bytes are written
  std::uint64_t size = 0;               // bytes of the file readers may send
  EntryState state = EntryState::Filling;
};

namespace detail {
struct EntryMutator;
} // namespace detail

// Shared through std::shared_ptr<const Entry>; every method is thread-safe. Head and metadata
// never change after creation (a revalidation makes a new Entry, see Store::updateHead).
class Entry {
public:
  Entry(const Entry&) = delete;
  Entry& operator=(const Entry&) = delete;

  const Key& key() const noexcept { return key_; }
  const std::string& secondaryKey() const noexcept { return secondary_key_; }
  const http::ResponseHead& head() const noexcept { return head_; }
  // The stored response's combined Vary field value; empty when it has none.
  const std::string& vary() const noexcept { return vary_; }
  std::chrono::system_clock::time_point requestTime() const noexcept { return request_time_; }
  std::chrono::system_clock::time_point responseTime() const noexcept { return response_time_; }
  std::optional<std::uint64_t> contentLength() const noexcept { return content_length_; }

  EntryState state() const noexcept { return state_.load(std::memory_order_acquire); }
  // Body bytes stored so far.
  std::uint64_t bodySize() const noexcept { return body_size_.load(std::memory_order_acquire); }
  // makeHeadTemplate of the head for the whole body, made by the first hit and kept:
  // Complete Entries only.
  const HeadTemplate& headTemplate() const;
  // policy::storedResponse of this Entry under `settings`, worked out by the first lookup
  // under them and kept until one comes under other settings (a reload): what every hit
  // would otherwise parse again from the head (its lifetime, directives and age on arrival).
  std::shared_ptr<const policy::Stored>
  stored(const std::shared_ptr<const Settings>& settings) const;
  // How many lookups returned this Entry.
  std::uint64_t hits() const noexcept { return hits_.load(std::memory_order_relaxed); }

  // Whether the body is kept in a file rather than in chunks: a disk hit too large for
  // memory, or a body streamed to disk while it arrives (then the file grows, and readers
  // follow it as they follow chunks).
  bool isInFile() const noexcept { return in_file_; }
  // For an Entry isInFile(): its file, how much of it is written, and the state.
  FileRead readFile() const;

  // The chunks from index first_chunk on (at most max_chunks of them) and the state they were
  // read in. A reader keeps its own next index: next += result.chunks.size(). An Entry
  // isInFile() has no chunks.
  BodyRead read(std::size_t first_chunk,
                std::size_t max_chunks = std::numeric_limits<std::size_t>::max()) const;
  std::size_t chunkCount() const;

  // Calls callback after every append and once when the Entry becomes Complete or Abandoned.
  // It runs on the writer's thread with no lock held; it must be cheap (post to the reader's
  // own loop and return). Subscribe first, then read(): a notification may find nothing new.
  // On a final Entry this returns an inactive Subscription (read() tells the rest).
  Subscription subscribe(std::function<void()> callback) const;
  // Whether any Subscription to this Entry is active: some client is still streaming it.
  bool hasSubscribers() const { return notifier_.hasSubscribers(); }

private:
  friend struct detail::EntryMutator;
  Entry(EntryInit init, std::vector<Chunk> chunks, std::uint64_t body_size, EntryState state);

  const Key key_;
  const std::string secondary_key_;
  const http::ResponseHead head_;
  const std::string vary_;
  const std::chrono::system_clock::time_point request_time_;
  const std::chrono::system_clock::time_point response_time_;
  const std::optional<std::uint64_t> content_length_;
  bool in_file_ = false; // set before the Entry is shared

  mutable std::mutex mutex_; // guards chunks_, body_file_ and file_size_
  std::vector<Chunk> chunks_;
  std::shared_ptr<const BodyFile> body_file_;
  std::uint64_t file_size_ = 0;
  std::atomic<EntryState> state_;
  std::atomic<std::uint64_t> body_size_;
  mutable std::atomic<std::uint64_t> hits_{0};
  mutable std::once_flag template_once_;
  struct StoredMemo {
    std::weak_ptr<const Settings> settings; // whose, by owner: never mistaken for a later one
    policy::Stored stored;
  };
  mutable std::atomic<std::shared_ptr<const StoredMemo>> stored_;
  mutable HeadTemplate template_;
  mutable Notifier notifier_;
};

// A Complete Entry with `head` and the times replaced and the body chunks of `complete`
// (shared, not copied), held by the caller alone: in no Store's index and charged to no budget.
// It answers one client, e.g. with a 304's per-client fields the stored response must not take.
// Null when `complete` is not Complete.
std::shared_ptr<const Entry> withHead(const Entry& complete, http::ResponseHead head,
                                      std::chrono::system_clock::time_point request_time,
                                      std::chrono::system_clock::time_point response_time);

} // namespace ferry::cache
