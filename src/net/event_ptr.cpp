// libevent process-wide set-up.
#include "ferry/net/event_ptr.h"

#include "ferry/core/assert.h"

#include <event2/buffer.h>
#include <event2/thread.h>

namespace ferry::net {

void enableThreads() {
  FERRY_ASSERT(evthread_use_pthreads() == 0);
}

timeval toTimeval(long long milliseconds) {
  return timeval{static_cast<time_t>(milliseconds / 1000),
                 static_cast<suseconds_t>((milliseconds % 1000) * 1000)};
}

void takeOutput(evbuffer* output, evbuffer* into) {
  // A bufferevent keeps its output's start frozen to all but its own writes.
  evbuffer_unfreeze(output, 1);
  FERRY_ASSERT(evbuffer_add_buffer(into, output) == 0);
  evbuffer_freeze(output, 1);
}

} // namespace ferry::net
