// EntryReader: zero-copy streaming of cache chunks, or of a body file with sendfile, with
// back-pressure.
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

void releaseFile(const evbuffer_file_segment*, int, void* extra) {
  delete static_cast<std::shared_ptr<const cache::BodyFile>*>(extra);
}

// A body file goes out in segments of this size, each added once the client's output has
// room, so back-pressure works as for chunks.
constexpr std::uint64_t FileStepBytes = 1024 * 1024;

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
  if (!writer_ && entry_->bodyFile()) {
    pumpFile();
    return;
  }
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

// A Complete Entry whose body is a file (a disk hit too large for memory): segments of it
// are added to the client's output, which the socket's writes send with sendfile(2).
void EntryReader::pumpFile() {
  const std::shared_ptr<const cache::BodyFile>& file = entry_->bodyFile();
  FERRY_ASSERT(!chunked_); // a Complete body is framed by its length
  const std::uint64_t end = remaining_ ? skip_ + *remaining_ : file->size();
  FERRY_ASSERT(end <= file->size());
  while (evbuffer_get_length(client_) < HighWater && skip_ < end) {
    const std::uint64_t size = std::min(end - skip_, FileStepBytes);
    evbuffer_file_segment* segment = evbuffer_file_segment_new(
        file->fd(), static_cast<ev_off_t>(skip_), static_cast<ev_off_t>(size), 0);
    if (!segment) {
      finished_ = true;
      done_(false); // cut short: the client connection closes
      return;
    }
    evbuffer_file_segment_add_cleanup_cb(segment, &releaseFile,
                                         new std::shared_ptr<const cache::BodyFile>(file));
    const int added = evbuffer_add_file_segment(client_, segment, 0, static_cast<ev_off_t>(size));
    evbuffer_file_segment_free(segment); // the buffer holds its own reference
    if (added != 0) {
      finished_ = true;
      done_(false);
      return;
    }
    skip_ += size;
    if (remaining_)
      *remaining_ -= size; // end stays where it was
    sent_ += size;
    core::count(core::Counter::ClientBytesOut, size);
  }
  if (skip_ == end) {
    finished_ = true;
    done_(true);
  }
}

} // namespace ferry::proxy
