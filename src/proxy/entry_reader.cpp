// EntryReader: zero-copy streaming of cache chunks with back-pressure.
#include "entry_reader.h"

#include "water_marks.h"

#include "ferry/core/assert.h"
#include "ferry/core/counters.h"
#include "ferry/http/serializer.h"

#include <event2/buffer.h>

#include <algorithm>

namespace ferry::proxy {
namespace {

void releaseChunk(const void*, size_t, void* extra) {
  delete static_cast<cache::Chunk*>(extra);
}

} // namespace

EntryReader::EntryReader(event_base* base, evbuffer* client,
                         std::shared_ptr<const cache::Entry> entry, cache::EntryWriter* writer,
                         std::uint64_t offset, std::optional<std::uint64_t> length, bool chunked,
                         Done done)
    : client_(client), entry_(std::move(entry)), writer_(writer), skip_(offset), remaining_(length),
      chunked_(chunked), done_(std::move(done)),
      wake_(event_new(base, -1, 0, &EntryReader::onWake, this)) {
  FERRY_ASSERT(wake_);
}

EntryReader::~EntryReader() {
  // After reset() returns the callback is not running and never runs again, so the event
  // it activates can go.
  subscription_.reset();
}

void EntryReader::start() {
  if (entry_->state() == cache::EntryState::Filling) {
    event* wake = wake_.get();
    // Runs on the filling transaction's thread: only wake this loop.
    subscription_ = entry_->subscribe([wake] { event_active(wake, EV_TIMEOUT, 0); });
  }
  event_active(wake_.get(), EV_TIMEOUT, 0);
}

void EntryReader::onWake(evutil_socket_t, short, void* arg) noexcept {
  static_cast<EntryReader*>(arg)->pump();
}

void EntryReader::onClientDrained() {
  if (!finished_)
    pump();
}

void EntryReader::pump() {
  if (finished_)
    return;
  evbuffer* out = client_;
  while (evbuffer_get_length(out) < HighWater) {
    cache::BodyRead read = writer_ ? writer_->read(next_chunk_, 16) : entry_->read(next_chunk_, 16);
    for (const cache::Chunk& chunk : read.chunks) {
      ++next_chunk_;
      std::uint64_t begin = std::min<std::uint64_t>(skip_, chunk->size());
      skip_ -= begin;
      std::uint64_t size = chunk->size() - begin;
      if (remaining_)
        size = std::min(size, *remaining_);
      if (size == 0)
        continue;
      if (chunked_) {
        const auto prefix = http::chunkPrefix(size);
        evbuffer_add(out, prefix.bytes, prefix.size);
      }
      evbuffer_add_reference(out, chunk->data() + begin, size, &releaseChunk,
                             new cache::Chunk(chunk));
      if (chunked_)
        evbuffer_add(out, http::ChunkSuffix.data(), http::ChunkSuffix.size());
      sent_ += size;
      core::count(core::Counter::ClientBytesOut, size);
      if (remaining_)
        *remaining_ -= size;
    }
    const bool range_done = remaining_ && *remaining_ == 0;
    if (range_done || (read.chunks.empty() && read.state != cache::EntryState::Filling)) {
      finished_ = true;
      subscription_.reset();
      const bool complete = range_done || read.state == cache::EntryState::Complete;
      if (complete && chunked_)
        evbuffer_add(out, http::LastChunk.data(), http::LastChunk.size());
      done_(complete);
      return;
    }
    if (read.chunks.empty())
      return; // still filling: the subscription wakes us
  }
}

} // namespace ferry::proxy
