// splice(2) through a pipe. SPLICE_F_MOVE asks the kernel to move pages rather than copy
// them; SPLICE_F_NONBLOCK keeps the pipe side from blocking (the sockets are non-blocking).
#include "ferry/net/splice_pipe.h"

#include "ferry/core/assert.h"

#include <event2/buffer.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <utility>

namespace ferry::net {

namespace {

std::atomic<bool> refuse_for_test{false};

// Rounds of (write, read) one pump() does before it lets the loop serve other connections.
constexpr int PumpRounds = 16;

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

// Large pipes alive in the process (a large pipe moves a GiB in a sixteenth of the splice
// calls and wake-ups a 64 KiB one needs).
std::atomic<std::size_t> large_pipes{0};

// Counts one more large pipe if the budget allows it.
bool reserveLarge() {
  std::size_t now = large_pipes.load(std::memory_order_relaxed);
  do {
    if (now >= SplicePipe::largeBudget())
      return false;
  } while (!large_pipes.compare_exchange_weak(now, now + 1, std::memory_order_relaxed));
  return true;
}

// Idle pipes a pool keeps for the next relay (a few: with many workers, idle large pipes
// must not hold the whole large-pipe budget).
constexpr std::size_t IdlePipes = 4;
// How often a pool looks whether its idle pipes were used: they close after a whole
// interval without a take.
constexpr timeval TrimEvery{5, 0};

} // namespace

// A quarter of fs.pipe-user-pages-soft (0 there means no limit: 16 pipes then).
std::size_t SplicePipe::largeBudget() {
  static const std::size_t budget = [] {
    std::size_t pages = 0;
    if (std::FILE* f = std::fopen("/proc/sys/fs/pipe-user-pages-soft", "r")) {
      if (std::fscanf(f, "%zu", &pages) != 1)
        pages = 0;
      std::fclose(f);
    }
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return pages > 0 ? pages * page / 4 / LargeSize : 16;
  }();
  return budget;
}

std::optional<SplicePipe> SplicePipe::create() {
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
    return std::nullopt;
  bool large = reserveLarge();
  if (large && ::fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(LargeSize)) < 0) {
    large_pipes.fetch_sub(1, std::memory_order_relaxed); // refused: the default size
    large = false;
  }
  const int capacity = ::fcntl(fds[1], F_GETPIPE_SZ);
  SplicePipe pipe(fds[0], fds[1], capacity > 0 ? static_cast<std::size_t>(capacity) : 4096);
  pipe.large_ = large;
  return pipe;
}

SplicePipe::SplicePipe(int read_fd, int write_fd, std::size_t capacity)
    : read_fd_(read_fd), write_fd_(write_fd), capacity_(capacity) {}

SplicePipe::SplicePipe(SplicePipe&& other) noexcept
    : read_fd_(std::exchange(other.read_fd_, -1)), write_fd_(std::exchange(other.write_fd_, -1)),
      capacity_(other.capacity_), buffered_(std::exchange(other.buffered_, 0)),
      large_(std::exchange(other.large_, false)) {}

SplicePipe::~SplicePipe() {
  if (read_fd_ >= 0)
    ::close(read_fd_);
  if (write_fd_ >= 0)
    ::close(write_fd_);
  if (large_)
    large_pipes.fetch_sub(1, std::memory_order_relaxed);
}

SplicePipe::Result SplicePipe::fill(int fd, std::size_t most) {
  if (refuse_for_test.load(std::memory_order_relaxed))
    return {Status::Unsupported, 0, EINVAL};
  // A pipe holds whole pages per socket fragment, so it may refuse (EAGAIN) before
  // `capacity_` bytes: the owner drains it and fills again.
  if (buffered_ >= capacity_)
    return {Status::Blocked, 0, 0};
  for (;;) {
    const ssize_t n = ::splice(fd, nullptr, write_fd_, nullptr,
                               std::min(capacity_ - buffered_, most), SpliceFlags);
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

PipePool::PipePool(event_base* base) : trim_(evtimer_new(base, &PipePool::onTrim, this)) {
  FERRY_ASSERT(trim_);
}

std::optional<SplicePipe> PipePool::take() {
  taken_since_trim_ = true;
  if (idle_.empty()) {
    std::optional<SplicePipe> made = SplicePipe::create();
    lent_ += made ? 1 : 0;
    return made;
  }
  std::optional<SplicePipe> pipe(std::move(idle_.back()));
  idle_.pop_back();
  ++lent_;
  return pipe;
}

void PipePool::put(SplicePipe pipe) {
  FERRY_ASSERT(lent_ > 0);
  --lent_;
  if (pipe.buffered() == 0 && idle_.size() < IdlePipes)
    idle_.push_back(std::move(pipe));
  if (!idle_.empty() && !evtimer_pending(trim_.get(), nullptr))
    evtimer_add(trim_.get(), &TrimEvery);
}

void PipePool::onTrim(evutil_socket_t, short, void* arg) noexcept {
  auto* self = static_cast<PipePool*>(arg);
  if (std::exchange(self->taken_since_trim_, false))
    evtimer_add(self->trim_.get(), &TrimEvery);
  else
    self->idle_.clear();
}

SpliceRelay::SpliceRelay(PipePool& pipes, std::uint64_t limit)
    : pipes_(pipes), keep_pipe_(limit != std::numeric_limits<std::uint64_t>::max()),
      pending_(evbuffer_new()), left_(limit) {
  FERRY_ASSERT(pending_);
}

SpliceRelay::~SpliceRelay() {
  if (pipe_)
    pipes_.put(std::move(*pipe_));
}

bool SpliceRelay::flushed() const {
  return evbuffer_get_length(pending_.get()) == 0 && inPipe() == 0;
}

// What is pending, then the pipe, goes out; the source is read into the pipe's room; until
// nothing moves. An edge-triggered event comes only for news, so every pass ends with both
// ends blocked, or says it is busy.
SpliceRelay::Pass SpliceRelay::pump(int in, int out) {
  Pass pass;
  bool progress = true;
  for (int round = 0; progress && round < PumpRounds; ++round) {
    progress = false;
    if (evbuffer_get_length(pending_.get()) > 0) {
      const int n = evbuffer_write(pending_.get(), out);
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        return {Status::Failed, pass.moved, false, errno, false};
      progress = n > 0 || (n < 0 && errno == EINTR); // EINTR: try again, not blocked
      bytes_out_ += n > 0 ? static_cast<std::uint64_t>(n) : 0;
    }
    if (evbuffer_get_length(pending_.get()) == 0 && inPipe() > 0) {
      const SplicePipe::Result r = pipe_->drain(out);
      if (r.status == SplicePipe::Status::Failed || r.status == SplicePipe::Status::Unsupported)
        return {Status::Failed, pass.moved, false, r.error, false};
      progress = progress || r.bytes > 0;
      bytes_out_ += r.bytes;
    }
    if (!eof_ && left_ > 0) {
      if (!pipe_) {
        std::optional<SplicePipe> taken = pipes_.take();
        if (!taken)
          return {Status::Unsupported, pass.moved, false, errno, true};
        pipe_.emplace(std::move(*taken));
      }
      const SplicePipe::Result r =
          pipe_->fill(in, static_cast<std::size_t>(std::min<std::uint64_t>(
                              left_, std::numeric_limits<std::size_t>::max())));
      switch (r.status) {
      case SplicePipe::Status::Moved:
        left_ -= r.bytes;
        bytes_in_ += r.bytes;
        progress = true;
        break;
      case SplicePipe::Status::Eof:
        eof_ = true;
        progress = true;
        break;
      case SplicePipe::Status::Blocked:
        break;
      case SplicePipe::Status::Unsupported:
        return {Status::Unsupported, pass.moved, false, r.error, true};
      case SplicePipe::Status::Failed:
        return {Status::Failed, pass.moved, false, r.error, true};
      }
    }
    pass.moved = pass.moved || progress;
  }
  pass.busy = progress;
  if (pipe_ && pipe_->buffered() == 0 && !keep_pipe_) {
    pipes_.put(std::move(*pipe_));
    pipe_.reset();
  }
  const bool done = eof_ || left_ == 0;
  if (done && flushed())
    pass.status = Status::Done;
  pass.read_wanted = !done && flushed();
  return pass;
}

void SpliceRelay::moveTo(evbuffer* out) {
  FERRY_ASSERT(evbuffer_add_buffer(out, pending_.get()) == 0);
  if (pipe_)
    pipe_->moveTo(out);
}

} // namespace ferry::net
