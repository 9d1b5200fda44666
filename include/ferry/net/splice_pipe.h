// SplicePipe: one direction of a relay that keeps the bytes in the kernel. splice(2) moves
// them from a socket into a pipe and from the pipe to another socket, so they never enter
// user space. It knows no events and no timeouts: its owner calls fill() when the source is
// readable and drain() when the destination is writable. The pipe's capacity bounds the
// bytes it holds. Linux only; Unsupported tells the owner to relay some other way.
// PipePool: a thread's empty pipes, lent to relays while bytes are in them.
// SpliceRelay: a whole direction built on one — what user space held first, then the pipe.
#pragma once

#include "ferry/net/event_ptr.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

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

  // A non-blocking pipe of 1 MiB while the process's large pipes stay within a quarter of
  // fs.pipe-user-pages-soft (the budget a non-root user's pipes share; past it, that user's
  // new pipes shrink to a page or two), else of the system's default size (64 KiB); nullopt
  // (errno set) when none can be made (out of descriptors).
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
  std::size_t capacity() const { return capacity_; }
  // The 1 MiB pipes create() makes, and the most of them alive at once.
  static constexpr std::size_t LargeSize = 1 << 20;
  static std::size_t largeBudget();
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
  bool large_ = false; // counted in the process's large-pipe budget
};

// One per thread that relays (a worker). A relay takes a pipe when it has bytes to move and
// gives it back once the pipe is empty, so the pipes in use are the directions moving bytes
// now, not every open tunnel: each is two descriptors and a share of the user's pipe budget.
// Idle pipes are closed once none was taken for a while (5 to 10 s).
class PipePool {
public:
  explicit PipePool(event_base* base);
  PipePool(const PipePool&) = delete;
  PipePool& operator=(const PipePool&) = delete;

  // A pipe kept idle, or a new one; nullopt (errno set) when none can be made.
  std::optional<SplicePipe> take();
  // Kept for the next take() if empty and fewer than a few are idle; closed otherwise.
  void put(SplicePipe pipe);
  std::size_t idleCount() const { return idle_.size(); }
  // Taken and not put back yet.
  std::size_t lentCount() const { return lent_; }

private:
  static void onTrim(evutil_socket_t, short, void* arg) noexcept;

  std::vector<SplicePipe> idle_;
  std::size_t lent_ = 0;
  EventPtr trim_;
  bool taken_since_trim_ = false;
};

// One direction of a relay from socket `in` to socket `out`: first the bytes user space held
// when it started (`pending()`, filled by its owner), then what the pipe moves, reading at
// most `limit` bytes from `in` (the rest of a body of known length). Edge-triggered events
// drive it: pump() moves until both ends block, so an event comes only with news. While
// bytes wait for `out`, news from `in` is none: `out`'s next writable edge drains them and
// reads `in` again, so the owner stops watching `in` then (`Pass::read_wanted`), or each
// packet `in` receives would wake it to find the pipe full.
class SpliceRelay {
public:
  enum class Status {
    Open,        // more to come
    Done,        // the source ended (EOF or `limit` read) and every byte went out
    Unsupported, // the kernel refused to splice these sockets, or no pipe could be made
                 // (see moveTo)
    Failed,      // a connection error: `error` is the errno
  };
  struct Pass {
    Status status = Status::Open;
    bool moved = false; // a byte moved
    bool busy = false;  // stopped for other connections' sake, not blocked: pump again
    int error = 0;
    bool at_source = false;   // Failed: reading `in` failed (else writing `out`)
    bool read_wanted = false; // `in` has more to give and nothing waits for `out`
  };

  // Pipes come from `pipes`, which must outlive the relay. Without a `limit` (a tunnel's
  // direction, long-lived and often idle) a pipe goes back whenever a pass leaves it empty;
  // with one (the rest of a body) the pipe taken first is kept to the end, so no later take
  // can fail midway.
  explicit SpliceRelay(PipePool& pipes,
                       std::uint64_t limit = std::numeric_limits<std::uint64_t>::max());
  ~SpliceRelay();
  SpliceRelay(const SpliceRelay&) = delete;
  SpliceRelay& operator=(const SpliceRelay&) = delete;

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
  std::size_t inPipe() const { return pipe_ ? pipe_->buffered() : 0; }

  PipePool& pipes_;
  std::optional<SplicePipe> pipe_; // while it holds bytes (or during a pass), or to the end
  const bool keep_pipe_;           // a `limit` was set
  EvbufferPtr pending_;
  std::uint64_t left_;
  std::uint64_t bytes_in_ = 0;
  std::uint64_t bytes_out_ = 0;
  bool eof_ = false;
};

} // namespace ferry::net
