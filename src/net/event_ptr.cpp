// libevent process-wide set-up.
#include "ferry/net/event_ptr.h"

#include "ferry/core/assert.h"

#include <event2/buffer.h>
#include <event2/thread.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>

namespace ferry::net {

void enableThreads() {
  FERRY_ASSERT(evthread_use_pthreads() == 0);
}

timeval toTimeval(long long milliseconds) {
  return timeval{static_cast<time_t>(milliseconds / 1000),
                 static_cast<suseconds_t>((milliseconds % 1000) * 1000)};
}

bool setAdded(event* ev, bool added) {
  if ((event_pending(ev, EV_READ | EV_WRITE, nullptr) != 0) == added)
    return true;
  if (added)
    return event_add(ev, nullptr) == 0;
  event_del(ev);
  return true;
}

long readInput(bufferevent* bev, std::size_t most) {
  evbuffer* input = bufferevent_get_input(bev);
  // A bufferevent keeps its input's end frozen to all but its own reads.
  evbuffer_unfreeze(input, 0);
  const long got = readAppend(input, bufferevent_getfd(bev), most);
  const int saved = errno;
  evbuffer_freeze(input, 0);
  errno = saved;
  return got;
}

long readAppend(evbuffer* buffer, int fd, std::size_t most) {
  evbuffer_iovec space[2];
  const int extents = evbuffer_reserve_space(buffer, static_cast<ev_ssize_t>(most), space, 2);
  if (extents <= 0) {
    errno = ENOMEM;
    return -1;
  }
  iovec vectors[2];
  for (int i = 0; i < extents; ++i)
    vectors[i] = {space[i].iov_base, space[i].iov_len};
  ssize_t got;
  do {
    got = ::readv(fd, vectors, extents);
  } while (got < 0 && errno == EINTR);
  // Commit what was read: the first extent fills before the second.
  std::size_t left = got > 0 ? static_cast<std::size_t>(got) : 0;
  int used = 0;
  for (; used < extents && left > 0; ++used) {
    space[used].iov_len = std::min(space[used].iov_len, left);
    left -= space[used].iov_len;
  }
  const int saved = errno;
  FERRY_ASSERT(evbuffer_commit_space(buffer, space, used) == 0);
  errno = saved;
  return got;
}

long writeOutput(bufferevent* bev, std::size_t most) {
  evbuffer* output = bufferevent_get_output(bev);
  // A bufferevent keeps its output's start frozen to all but its own writes.
  evbuffer_unfreeze(output, 1);
  const int written =
      evbuffer_write_atmost(output, bufferevent_getfd(bev), static_cast<ev_ssize_t>(most));
  const int saved = errno;
  evbuffer_freeze(output, 1);
  errno = saved;
  return written;
}

void takeOutput(evbuffer* output, evbuffer* into) {
  // A bufferevent keeps its output's start frozen to all but its own writes.
  evbuffer_unfreeze(output, 1);
  FERRY_ASSERT(evbuffer_add_buffer(into, output) == 0);
  evbuffer_freeze(output, 1);
}

} // namespace ferry::net
