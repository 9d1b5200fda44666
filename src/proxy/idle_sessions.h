// IdleSessions: the client sessions of one worker that are idle and awake, so that they rest
// (ClientSession's Resting state) once idle for a pause, timeouts.client_rest, or at once when
// too many of them are awake. A session that answers requests back to back only joins and
// leaves: a few pointer moves, no timer, no clock. Whether a session may rest, and resting
// it, are ClientSession's.
#pragma once

#include "ferry/core/assert.h"
#include "ferry/net/event_ptr.h"

#include <cstddef>

namespace ferry::proxy {

class ClientSession;

// Three intrusive lists in the order the sessions went idle: those since the last tick
// (fresh), those since the last sweep (recent), and those already idle at it (settled). A
// sweep rests the settled, then the recent and the fresh become the settled, so a session
// rests after between one and two sweep intervals of idleness. A tick, `tick` after the
// first session joins the fresh, makes the fresh recent (no tick while none do). Past `most_awake`
// sessions in the lists, the one idle longest rests at once unless it is fresh: the memory of idle
// connections arriving faster than they rest stays bounded, and a connection whose requests come
// less than a tick apart never pays for waking, however many there are. Worker thread only.
class IdleSessions {
public:
  // What a ClientSession carries to be in the lists; it must have left them when destroyed.
  class Link {
  public:
    Link(const Link&) = delete;
    Link& operator=(const Link&) = delete;

  protected:
    Link() = default;
    ~Link() { FERRY_ASSERT(next_ == nullptr); }

  private:
    friend class IdleSessions;
    void unlink();
    Link* prev_ = nullptr;
    Link* next_ = nullptr;
  };

  IdleSessions(std::size_t most_awake, event_base* base, timeval tick);

  IdleSessions(const IdleSessions&) = delete;
  IdleSessions& operator=(const IdleSessions&) = delete;

  // `session` has just gone idle: it leaves its place, if it had one, for the fresh end.
  // Then, past most_awake sessions, the ones idle longest, if not fresh, are offered rest.
  void add(ClientSession& session);
  // `session` is closing: it never rests.
  void remove(ClientSession& session);

  // Offers every settled session rest (ClientSession::restIfIdle: it rests if it is still
  // idle), each out of the lists first; then the recent and the fresh become the settled.
  void sweep();
  // No more ticks (the worker drains).
  void stop();

private:
  // A list's head: the ring's one element that is not a session.
  struct Head : Link {
    Head() { prev_ = next_ = this; }
    ~Head() { prev_ = next_ = nullptr; }
    bool isEmpty() const { return next_ == this; }
    void append(Link& link);
    // Moves every link of `from`, in order, to the end of this list.
    void takeAll(Head& from);
  };

  static void onTick(evutil_socket_t, short, void* arg) noexcept;
  // Takes `link` out of the lists and offers its session rest.
  void offerRest(Link& link);

  Head fresh_;
  Head recent_;
  Head settled_;
  std::size_t linked_ = 0; // sessions in any list
  const std::size_t most_awake_;
  net::EventPtr tick_;
  const timeval tick_interval_;
  bool stopped_ = false;
};

} // namespace ferry::proxy
