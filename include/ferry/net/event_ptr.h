// Owning handles for libevent objects, so every early return frees what it made, and the
// few helpers shared around them.
#pragma once

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <cstddef>
#include <memory>

namespace ferry::net {

struct EventBaseFree {
  void operator()(event_base* p) const { event_base_free(p); }
};
struct EventFree {
  void operator()(event* p) const { event_free(p); }
};
struct ListenerFree {
  void operator()(evconnlistener* p) const { evconnlistener_free(p); }
};
struct BuffereventFree {
  void operator()(bufferevent* p) const { bufferevent_free(p); }
};

struct EvbufferFree {
  void operator()(evbuffer* p) const { evbuffer_free(p); }
};

using EventBasePtr = std::unique_ptr<event_base, EventBaseFree>;
using EventPtr = std::unique_ptr<event, EventFree>;
using ListenerPtr = std::unique_ptr<evconnlistener, ListenerFree>;
using BuffereventPtr = std::unique_ptr<bufferevent, BuffereventFree>;
using EvbufferPtr = std::unique_ptr<evbuffer, EvbufferFree>;

// Makes libevent safe to use from several threads (event_active across threads).
// Call once from main before any event_base exists.
void enableThreads();

timeval toTimeval(long long milliseconds);

// Adds `ev` (with no timeout) or deletes it, unless it already is so. False when the add
// failed (the kernel refused to watch the descriptor: out of memory, or fs.epoll's
// max_user_watches reached); errno is set then.
bool setAdded(event* ev, bool added);

// Reads what a bufferevent's socket has, up to `most` bytes, into its input buffer in one
// call, for an owner that reads with an event of its own: the bufferevent itself reads at
// most 4 KiB a call in libevent 2.1, after asking the socket how much it holds. What
// read(2) returns: bytes read, 0 at EOF, -1 with errno set.
long readInput(bufferevent* bev, std::size_t most);
// The same from socket `fd` onto the end of `buffer` (whose end must not be frozen): the
// last chain's free room is filled first, so small reads share a chain.
long readAppend(evbuffer* buffer, int fd, std::size_t most);

// Writes what a bufferevent's output holds, up to `most` bytes, to its socket in one call
// (writev, or sendfile for a file segment), for an owner that writes before the bufferevent
// would (its EV_WRITE disabled). What write(2) returns: bytes written, -1 with errno set.
long writeOutput(bufferevent* bev, std::size_t most);

// Moves what a bufferevent's `output` holds to the end of `into`, for a relay that writes
// its socket itself from now on (the bufferevent must be disabled).
void takeOutput(evbuffer* output, evbuffer* into);

} // namespace ferry::net
