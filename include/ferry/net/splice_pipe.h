// SplicePipe: one direction of a relay that keeps the bytes in the kernel. splice(2) moves
// them from a socket into a pipe and from the pipe to another socket, so they never enter
// user space. It knows no events and no timeouts: its owner calls fill() when the source is
// readable and drain() when the destination is writable. The pipe's capacity bounds the
// bytes it holds. Linux only; Unsupported tells the owner to relay some other way.
#pragma once

#include <cstddef>
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

  // Moves what the socket `fd` has ready into the pipe, up to the pipe's free room.
  Result fill(int fd);
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

} // namespace ferry::net
