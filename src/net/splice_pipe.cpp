// splice(2) through a pipe. SPLICE_F_MOVE asks the kernel to move pages rather than copy
// them; SPLICE_F_NONBLOCK keeps the pipe side from blocking (the sockets are non-blocking).
#include "ferry/net/splice_pipe.h"

#include "ferry/core/assert.h"

#include <event2/buffer.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <utility>

namespace ferry::net {

namespace {

std::atomic<bool> refuse_for_test{false};

constexpr unsigned SpliceFlags = SPLICE_F_NONBLOCK | SPLICE_F_MOVE;

SplicePipe::Result failure(int error) {
  using Status = SplicePipe::Status;
  switch (error) {
  case EAGAIN:
    return {Status::Blocked, 0, 0};
  case EINVAL:
  case ENOSYS:
  case EOPNOTSUPP:
    return {Status::Unsupported, 0, error};
  default:
    return {Status::Failed, 0, error};
  }
}

} // namespace

std::optional<SplicePipe> SplicePipe::create() {
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
    return std::nullopt;
  const int capacity = ::fcntl(fds[1], F_GETPIPE_SZ);
  return SplicePipe(fds[0], fds[1], capacity > 0 ? static_cast<std::size_t>(capacity) : 4096);
}

SplicePipe::SplicePipe(int read_fd, int write_fd, std::size_t capacity)
    : read_fd_(read_fd), write_fd_(write_fd), capacity_(capacity) {}

SplicePipe::SplicePipe(SplicePipe&& other) noexcept
    : read_fd_(std::exchange(other.read_fd_, -1)), write_fd_(std::exchange(other.write_fd_, -1)),
      capacity_(other.capacity_), buffered_(std::exchange(other.buffered_, 0)) {}

SplicePipe::~SplicePipe() {
  if (read_fd_ >= 0)
    ::close(read_fd_);
  if (write_fd_ >= 0)
    ::close(write_fd_);
}

SplicePipe::Result SplicePipe::fill(int fd) {
  if (refuse_for_test.load(std::memory_order_relaxed))
    return {Status::Unsupported, 0, EINVAL};
  // A pipe holds whole pages per socket fragment, so it may refuse (EAGAIN) before
  // `capacity_` bytes: the owner drains it and fills again.
  if (buffered_ >= capacity_)
    return {Status::Blocked, 0, 0};
  for (;;) {
    const ssize_t n = ::splice(fd, nullptr, write_fd_, nullptr, capacity_ - buffered_, SpliceFlags);
    if (n > 0) {
      buffered_ += static_cast<std::size_t>(n);
      return {Status::Moved, static_cast<std::size_t>(n), 0};
    }
    if (n == 0)
      return {Status::Eof, 0, 0};
    if (errno != EINTR)
      return failure(errno);
  }
}

SplicePipe::Result SplicePipe::drain(int fd) {
  if (buffered_ == 0)
    return {Status::Blocked, 0, 0};
  for (;;) {
    const ssize_t n = ::splice(read_fd_, nullptr, fd, nullptr, buffered_, SpliceFlags);
    if (n > 0) {
      buffered_ -= static_cast<std::size_t>(n);
      return {Status::Moved, static_cast<std::size_t>(n), 0};
    }
    FERRY_ASSERT(n < 0); // the pipe holds bytes, so it is never at its end here
    if (errno != EINTR)
      return failure(errno);
  }
}

void SplicePipe::moveTo(evbuffer* out) {
  while (buffered_ > 0) {
    const int n = evbuffer_read(out, read_fd_, static_cast<int>(buffered_));
    FERRY_ASSERT(n > 0); // the bytes are in the pipe: reading them cannot block or fail
    buffered_ -= static_cast<std::size_t>(n);
  }
}

void SplicePipe::refuseForTest(bool refuse) {
  refuse_for_test.store(refuse, std::memory_order_relaxed);
}

} // namespace ferry::net
