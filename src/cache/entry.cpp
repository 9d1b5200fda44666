// Entry's read side and its mutator. Chunks and state change together under the Entry's
// mutex so a BodyRead is a consistent snapshot; subscribers are notified after it is
// released.
#include "ferry/cache/entry.h"

#include <algorithm>
#include <unistd.h>
#include <utility>

#include "entry_mutator.h"
#include "ferry/core/assert.h"
#include "ferry/http/hop_by_hop.h"
#include "ferry/http/serializer.h"

namespace ferry::cache {

Entry::Entry(EntryInit init, std::vector<Chunk> chunks, std::uint64_t body_size, EntryState state)
    : key_(std::move(init.key)), secondary_key_(std::move(init.secondary_key)),
      head_(std::move(init.head)), vary_(head_.headers.combined("Vary")),
      request_time_(init.request_time), response_time_(init.response_time),
      content_length_(init.content_length), chunks_(std::move(chunks)), state_(state),
      body_size_(body_size) {}

HeadTemplate makeHeadTemplate(http::ResponseHead head, const http::Framing& framing) {
  HeadTemplate made;
  made.via = http::viaBefore(head.headers, head.version_major, head.version_minor);
  for (const std::string_view name : {"Age", "Cache-Status", "Via"})
    head.headers.remove(name);
  http::setFraming(head.headers, framing);
  made.lines = http::serializeResponseLines(head);
  return made;
}

const HeadTemplate& Entry::headTemplate() const {
  FERRY_ASSERT(state() == EntryState::Complete);
  std::call_once(template_once_, [this] {
    template_ = makeHeadTemplate(head_, {http::Framing::Length, bodySize()});
  });
  return template_;
}

std::shared_ptr<const policy::Stored>
Entry::stored(const std::shared_ptr<const Settings>& settings) const {
  std::shared_ptr<const StoredMemo> memo = stored_.load(std::memory_order_acquire);
  if (!memo || memo->settings.owner_before(settings) || settings.owner_before(memo->settings)) {
    memo = std::make_shared<const StoredMemo>(StoredMemo{
        settings, policy::storedResponse(head_, request_time_, response_time_, key_, *settings)});
    stored_.store(memo, std::memory_order_release);
  }
  return {memo, &memo->stored};
}

BodyFile::~BodyFile() {
  ::close(fd_);
}

BodyRead Entry::read(std::size_t first_chunk, std::size_t max_chunks) const {
  BodyRead result;
  std::lock_guard lock(mutex_);
  result.state = state_.load(std::memory_order_relaxed);
  if (first_chunk < chunks_.size()) {
    const std::size_t count = std::min(max_chunks, chunks_.size() - first_chunk);
    const auto first = chunks_.begin() + static_cast<std::ptrdiff_t>(first_chunk);
    result.chunks.assign(first, first + static_cast<std::ptrdiff_t>(count));
  }
  return result;
}

FileRead Entry::readFile() const {
  std::lock_guard lock(mutex_);
  return FileRead{body_file_, file_size_, state_.load(std::memory_order_relaxed)};
}

std::size_t Entry::chunkCount() const {
  std::lock_guard lock(mutex_);
  return chunks_.size();
}

Subscription Entry::subscribe(std::function<void()> callback) const {
  if (state() != EntryState::Filling) {
    return Subscription();
  }
  return notifier_.subscribe(std::move(callback));
}

std::shared_ptr<const Entry> withHead(const Entry& complete, http::ResponseHead head,
                                      std::chrono::system_clock::time_point request_time,
                                      std::chrono::system_clock::time_point response_time) {
  if (complete.state() != EntryState::Complete)
    return nullptr;
  return detail::EntryMutator::withBodyOf(
      complete, EntryInit{complete.key(), complete.secondaryKey(), std::move(head), request_time,
                          response_time, complete.contentLength()});
}

namespace detail {

std::shared_ptr<Entry> EntryMutator::create(EntryInit init) {
  return std::shared_ptr<Entry>(new Entry(std::move(init), {}, 0, EntryState::Filling));
}

std::shared_ptr<Entry> EntryMutator::withBodyOf(const Entry& body, EntryInit init) {
  std::vector<Chunk> chunks;
  std::uint64_t body_size = 0;
  std::shared_ptr<const BodyFile> file;
  std::uint64_t file_size = 0;
  {
    std::lock_guard lock(body.mutex_);
    FERRY_ASSERT(body.state_.load(std::memory_order_relaxed) == EntryState::Complete);
    chunks = body.chunks_;
    body_size = body.body_size_.load(std::memory_order_relaxed);
    file = body.body_file_;
    file_size = body.file_size_;
  }
  auto entry = std::shared_ptr<Entry>(
      new Entry(std::move(init), std::move(chunks), body_size, EntryState::Complete));
  entry->in_file_ = body.in_file_;
  entry->body_file_ = std::move(file);
  entry->file_size_ = file_size;
  entry->hits_.store(body.hits(), std::memory_order_relaxed);
  entry->notifier_.close();
  return entry;
}

bool EntryMutator::append(Entry& entry, Chunk chunk) {
  FERRY_ASSERT(chunk != nullptr);
  {
    std::lock_guard lock(entry.mutex_);
    if (entry.state_.load(std::memory_order_relaxed) != EntryState::Filling) {
      return false;
    }
    entry.body_size_.store(entry.body_size_.load(std::memory_order_relaxed) + chunk->size(),
                           std::memory_order_release);
    entry.chunks_.push_back(std::move(chunk));
  }
  entry.notifier_.notify();
  return true;
}

std::shared_ptr<Entry> EntryMutator::withFile(EntryInit init, std::shared_ptr<const BodyFile> file,
                                              std::uint64_t size) {
  auto entry = std::shared_ptr<Entry>(new Entry(std::move(init), {}, size, EntryState::Complete));
  entry->in_file_ = true;
  entry->body_file_ = std::move(file);
  entry->file_size_ = size;
  entry->notifier_.close();
  return entry;
}

std::shared_ptr<Entry> EntryMutator::createInFile(EntryInit init) {
  auto entry = create(std::move(init));
  entry->in_file_ = true;
  return entry;
}

bool EntryMutator::fileWritten(Entry& entry, std::shared_ptr<const BodyFile> file,
                               std::uint64_t size) {
  {
    std::lock_guard lock(entry.mutex_);
    if (entry.state_.load(std::memory_order_relaxed) != EntryState::Filling)
      return false;
    if (!entry.body_file_)
      entry.body_file_ = std::move(file);
    entry.file_size_ = size;
  }
  entry.notifier_.notify();
  return true;
}

bool EntryMutator::grow(Entry& entry, std::uint64_t bytes) {
  {
    std::lock_guard lock(entry.mutex_);
    if (entry.state_.load(std::memory_order_relaxed) != EntryState::Filling) {
      return false;
    }
    entry.body_size_.store(entry.body_size_.load(std::memory_order_relaxed) + bytes,
                           std::memory_order_release);
  }
  entry.notifier_.notify();
  return true;
}

bool EntryMutator::finish(Entry& entry, EntryState state) {
  FERRY_ASSERT(state != EntryState::Filling);
  std::vector<Chunk> released; // freed after the lock
  {
    std::lock_guard lock(entry.mutex_);
    if (entry.state_.load(std::memory_order_relaxed) != EntryState::Filling) {
      return false;
    }
    entry.state_.store(state, std::memory_order_release);
    if (state == EntryState::Abandoned) {
      // Never served whole: the memory goes now, not when the last holder lets go. Readers
      // keep the chunks they took.
      released.swap(entry.chunks_);
    }
  }
  entry.notifier_.notify();
  entry.notifier_.close();
  return true;
}

void EntryMutator::countHit(const Entry& entry) noexcept {
  entry.hits_.fetch_add(1, std::memory_order_relaxed);
}

} // namespace detail

} // namespace ferry::cache
