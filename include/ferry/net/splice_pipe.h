// SplicePipe: one direction of a relay that keeps the bytes in the kernel. splice(2) moves
// them from a socket into a pipe and from the pipe to another socket, so they never enter
// user space. It knows no events and no timeouts: its owner calls fill() when the source is
// readable and drain() when the destination is writable. The pipe's capacity bounds the
// bytes it holds. Linux only; Unsupported tells the owner to relay some other way.
// SpliceRelay: a whole direction built on one — what user space held first, then the pipe.
#pragma once

#include "ferry/net/event_ptr.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>

struct evbuffer;

namespace ferry::net {

class SplicePipe {
public:
  enum class Status {
    Moved,       // `bytes` moved (more may follow)
    Blocked,     // nothing now: the source has nothing ready, or the pipe or destination is full
    Eof,         // fill(): the peer sent its FIN
    Unsupported, // this kernel or these descriptors cannot splice; nothing was moved
    Failed,      // a connection error (reset, broken pipe): `error` is the errno
  };
  struct Result {
    Status status = Status::Blocked;
    std::size_t bytes = 0;
    int error = 0;
  };

  // A non-blocking pipe; nullopt (errno set) when none can be made (out of descriptors).
  static std::optional<SplicePipe> create();
  ~SplicePipe();
  SplicePipe(SplicePipe&& other) noexcept;
  SplicePipe& operator=(SplicePipe&&) = delete;
  SplicePipe(const SplicePipe&) = delete;

  // Moves what the socket `fd` has ready into the pipe, up to the pipe's free room and at
  // most `most` bytes.
  Result fill(int fd, std::size_t most = std::numeric_limits<std::size_t>::max());
  // Moves what the pipe holds to the socket `fd`, as much as it takes now.
  Result drain(int fd);
  // Bytes in the pipe, moved in by fill() and not yet out by drain().
  std::size_t buffered() const { return buffered_; }
  // Appends what the pipe holds to `out` and empties it (to go on with a user-space relay).
  void moveTo(evbuffer* out);

  // While `refuse`, every fill() says Unsupported, as on a kernel without splice for sockets.
  static void refuseForTest(bool refuse);

private:
  SplicePipe(int read_fd, int write_fd, std::size_t capacity);

  int read_fd_ = -1;
  int write_fd_ = -1;
  std::size_t capacity_ = 0; // bytes (F_GETPIPE_SZ)
  std::size_t buffered_ = 0;
};

// One direction of a relay from socket `in` to socket `out`: first the bytes user space held
// when it started (`pending()`, filled by its owner), then what the pipe moves, reading at
// most `limit` bytes from `in` (the rest of a body of known length). Edge-triggered events
// drive it: pump() moves until both ends block, so an event comes only with news.
class SpliceRelay {
public:
  enum class Status {
    Open,        // more to come
    Done,        // the source ended (EOF or `limit` read) and every byte went out
    Unsupported, // the kernel refused to splice these sockets (see moveTo)
    Failed,      // a connection error: `error` is the errno
  };
  struct Pass {
    Status status = Status::Open;
    bool moved = false; // a byte moved
    bool busy = false;  // stopped for other connections' sake, not blocked: pump again
    int error = 0;
    bool at_source = false; // Failed: reading `in` failed (else writing `out`)
  };

  explicit SpliceRelay(SplicePipe pipe,
                       std::uint64_t limit = std::numeric_limits<std::uint64_t>::max());

  evbuffer* pending() const { return pending_.get(); }
  Pass pump(int in, int out);
  // The source sent its FIN (before `limit`, if one was set).
  bool sawEof() const { return eof_; }
  // The source has no more to give, as when its FIN came before the relay started.
  void endSource() { eof_ = true; }
  bool flushed() const;
  // Bytes read from `in`, and written to `out`, so far.
  std::uint64_t bytesIn() const { return bytes_in_; }
  std::uint64_t bytesOut() const { return bytes_out_; }
  // Appends what it holds, in order, to `out`, to go on without the kernel.
  void moveTo(evbuffer* out);

private:
  SplicePipe pipe_;
  EvbufferPtr pending_;
  std::uint64_t left_;
  std::uint64_t bytes_in_ = 0;
  std::uint64_t bytes_out_ = 0;
  bool eof_ = false;
};

} // namespace ferry::net
