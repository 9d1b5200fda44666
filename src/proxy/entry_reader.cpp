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
    : client_(client), entry_(std::move(entry)), writer_(writer), next_byte_(offset),
      remaining_(length), chunked_(chunked), done_(std::move(done)),
      wake_(event_new(base, -1, 0, &EntryReader::onWake, this)) {
  FERRY_ASSERT(wake_);
}

EntryReader::~EntryReader() {
  // After reset() returns the callback is not running and never runs again, so the event
  // it activates can go.
  subscription_.reset();
}

void EntryReader::start() {
  follow();
  event_active(wake_.get(), EV_TIMEOUT, 0);
}

void EntryReader::follow() {
  if (entry_->state() == cache::EntryState::Filling) {
    event* wake = wake_.get();
    // Runs on the filling transaction's thread: only wake this loop.
    subscription_ = entry_->subscribe([wake] { event_active(wake, EV_TIMEOUT, 0); });
  }
}

void EntryReader::onWake(evutil_socket_t, short, void* arg) noexcept {
  static_cast<EntryReader*>(arg)->pump();
}

void EntryReader::onClientDrained() {
  if (!finished_)
    pump();
}

void EntryReader::finish(End end) {
  finished_ = true;
  subscription_.reset();
  if (end == End::Whole && chunked_)
    evbuffer_add(client_, http::LastChunk.data(), http::LastChunk.size());
  done_(end);
}

void EntryReader::send(const cache::Chunk& chunk, std::uint64_t begin, std::uint64_t size) {
  if (chunked_) {
    const auto prefix = http::chunkPrefix(size);
    evbuffer_add(client_, prefix.bytes, prefix.size);
  }
  evbuffer_add_reference(client_, chunk->data() + begin, size, &releaseChunk,
                         new cache::Chunk(chunk));
  if (chunked_)
    evbuffer_add(client_, http::ChunkSuffix.data(), http::ChunkSuffix.size());
}

void EntryReader::pump() {
  if (finished_)
    return;
  if (!writer_ && entry_->isInFile()) {
    pumpFile();
    return;
  }
  while (evbuffer_get_length(client_) < StoredHighWater) {
    cache::BodyRead read = writer_ ? writer_->read(next_chunk_, 16) : entry_->read(next_chunk_, 16);
    for (const cache::Chunk& chunk : read.chunks) {
      ++next_chunk_;
      const std::uint64_t chunk_end = chunk_start_ + chunk->size();
      std::uint64_t size = chunk_end > next_byte_ ? chunk_end - next_byte_ : 0;
      if (remaining_)
        size = std::min(size, *remaining_);
      if (size > 0) {
        send(chunk, next_byte_ - chunk_start_, size);
        next_byte_ += size;
        sent_ += size;
        core::count(core::Counter::ClientBytesOut, size);
        if (remaining_)
          *remaining_ -= size;
      }
      chunk_start_ = chunk_end;
    }
    if (remaining_ && *remaining_ == 0) {
      finish(End::Whole);
      return;
    }
    if (read.rest_in_file) {
      // The writer's Entry now: the one whose file holds the rest (a body that moved to disk).
      entry_ = writer_->entry();
      writer_ = nullptr;
      left_writer_ = true;
      follow();
      pumpFile();
      return;
    }
    if (read.chunks.empty() && read.state != cache::EntryState::Filling) {
      finish(read.state == cache::EntryState::Complete ? End::Whole : End::Partial);
      return;
    }
    if (read.chunks.empty())
      return; // still filling: the subscription wakes us
  }
}

// A body in a file — a disk hit too large for memory, or a body being written to disk — goes
// out as segments of the file, which the socket's writes send with sendfile(2). A file still
// being written is sent as far as it is written; the subscription wakes us when it grows.
void EntryReader::pumpFile() {
  const cache::FileRead read = entry_->readFile();
  const std::uint64_t end = remaining_ ? std::min(read.size, next_byte_ + *remaining_) : read.size;
  while (evbuffer_get_length(client_) < StoredHighWater && next_byte_ < end) {
    const std::uint64_t size = std::min(end - next_byte_, FileStepBytes);
    evbuffer_file_segment* segment = evbuffer_file_segment_new(
        read.file->fd(), static_cast<ev_off_t>(next_byte_), static_cast<ev_off_t>(size), 0);
    if (!segment) {
      finish(End::Cut);
      return;
    }
    evbuffer_file_segment_add_cleanup_cb(segment, &releaseFile,
                                         new std::shared_ptr<const cache::BodyFile>(read.file));
    if (chunked_) {
      const auto prefix = http::chunkPrefix(size);
      evbuffer_add(client_, prefix.bytes, prefix.size);
    }
    const int added = evbuffer_add_file_segment(client_, segment, 0, static_cast<ev_off_t>(size));
    evbuffer_file_segment_free(segment); // the buffer holds its own reference
    if (added != 0) {
      finish(End::Cut);
      return;
    }
    if (chunked_)
      evbuffer_add(client_, http::ChunkSuffix.data(), http::ChunkSuffix.size());
    next_byte_ += size;
    if (remaining_)
      *remaining_ -= size;
    sent_ += size;
    core::count(core::Counter::ClientBytesOut, size);
  }
  if (remaining_ && *remaining_ == 0)
    finish(End::Whole);
  else if (next_byte_ >= read.size && read.state == cache::EntryState::Complete)
    finish(End::Whole);
  else if (read.state == cache::EntryState::Abandoned)
    // Its writer's own client has what it read from the file, but not the pieces that never
    // reached it.
    finish(left_writer_ ? End::Cut : End::Partial);
}

} // namespace ferry::proxy
