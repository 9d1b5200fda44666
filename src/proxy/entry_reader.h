// EntryReader: streams a stored body (or a byte range of it) from a cache Entry to a client
// bufferevent without copying: each chunk goes out by evbuffer_add_reference and stays
// alive until libevent has sent it; a body kept in a file goes out as file segments, which
// the socket sends with sendfile(2). It follows an Entry that is still filling (collapsed
// forwarding, or the client whose own request fills it), in chunks or in a file still being
// written, by subscribing to it, and stops reading while the client's output is full; the
// fill does not wait for it.
#pragma once

#include "ferry/cache/entry.h"
#include "ferry/cache/store.h"
#include "ferry/net/event_ptr.h"

#include <cstdint>
#include <functional>
#include <memory>

namespace ferry::proxy {

class EntryReader {
public:
  // How a streamed body ended. Partial: the Entry was abandoned, and the client has every
  // byte it got before (the client whose request fills it gets the rest from the origin).
  // Cut: the client cannot be given the rest at all (its connection must close).
  enum class End { Whole, Partial, Cut };
  using Done = std::function<void(End end)>;

  // Sends bytes [offset, offset + length) of the body (length: all that comes when null),
  // chunk-encoded when `chunked`. `done` runs once, from the loop, never inside start().
  // `writer`: the Entry's writer when this client's request fills it — the body is read
  // through it, so that once the Entry is abandoned this client still gets every byte stored
  // so far (then done(Partial) tells the caller to relay the rest); null for any other reader.
  EntryReader(event_base* base, evbuffer* client, std::shared_ptr<const cache::Entry> entry,
              cache::EntryWriter* writer, std::uint64_t offset, std::optional<std::uint64_t> length,
              bool chunked, Done done);
  ~EntryReader();

  EntryReader(const EntryReader&) = delete;
  EntryReader& operator=(const EntryReader&) = delete;

  // Only wakes the reader from the loop, adding nothing yet: started before the response
  // head is written, it adds its first bytes before the client's output is flushed (which
  // is activated by the head, and so comes after), and the head and body leave in one write.
  void start();
  // The client's output drained below the low water mark: send more.
  void onClientDrained();

  std::uint64_t bytesSent() const { return sent_; }
  // done() has run.
  bool isFinished() const { return finished_; }
  // Woken and not yet run: it adds to the client's output later in this loop turn.
  bool isWoken() const { return event_pending(wake_.get(), EV_TIMEOUT, nullptr) != 0; }

private:
  static void onWake(evutil_socket_t, short, void* arg) noexcept;
  void pump();
  void pumpFile();

  void follow();
  void send(const cache::Chunk& chunk, std::uint64_t begin, std::uint64_t size);
  void finish(End end);

  evbuffer* client_; // the client's output buffer
  std::shared_ptr<const cache::Entry> entry_;
  cache::EntryWriter* writer_; // read through it while set
  bool left_writer_ = false;   // the writer kept no more chunks: read from its Entry's file since
  std::uint64_t next_byte_;    // body offset of the next byte to send
  std::optional<std::uint64_t> remaining_; // range bytes still to send
  bool chunked_;
  Done done_;
  net::EventPtr wake_; // activated from the writer's thread when the Entry grows
  cache::Subscription subscription_;
  std::size_t next_chunk_ = 0;
  std::uint64_t chunk_start_ = 0; // body offset of chunk next_chunk_
  std::uint64_t sent_ = 0;
  bool finished_ = false;
};

} // namespace ferry::proxy
