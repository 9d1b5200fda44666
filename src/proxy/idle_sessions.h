// IdleSessions: the client sessions of one worker that are idle, awake or resting. An awake one
// rests (ClientSession's Resting state) once idle for a pause, timeouts.client_rest, or at once
// when too many are awake; a session that answers requests back to back only joins and leaves:
// a few pointer moves, no timer, no clock. A resting one holds no libevent event: its socket is
// in an epoll set of the worker's that the loop watches as one descriptor, and its idle timeout
// is a place in a queue under one timer. Whether a session may rest, and resting it, are
// ClientSession's.
#pragma once

#include "ferry/core/assert.h"
#include "ferry/net/event_ptr.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace ferry::proxy {

class ClientSession;

// Awake: three intrusive lists in the order the sessions went idle: those since the last tick
// (fresh), those since the last sweep (recent), and those already idle at it (settled). A
// sweep rests the settled, then the recent and the fresh become the settled, so a session
// rests after between one and two sweep intervals of idleness. A tick, `tick` after the
// first session joins the fresh, makes the fresh recent (no tick while none do). Past `most_awake`
// sessions in the lists, the one idle longest rests at once unless it is fresh: the memory of idle
// connections arriving faster than they rest stays bounded, and a connection whose requests come
// less than a tick apart never pays for waking, however many there are.
//
// Resting: one queue per timeouts.client_idle in use (a reload may change it; a session keeps
// the settings it was accepted with), in the order the sessions began to rest, so that the
// timer only ever looks at each queue's first. Worker thread only.
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
    std::uint32_t rested_at_ = 0; // resting: since when, in ms of the loop's clock (it wraps)
    bool resting_ = false;
  };

  IdleSessions(std::size_t most_awake, event_base* base, timeval tick);
  ~IdleSessions();

  IdleSessions(const IdleSessions&) = delete;
  IdleSessions& operator=(const IdleSessions&) = delete;

  // `session` has just gone idle: it leaves its place, if it had one, for the fresh end.
  // Then, past most_awake sessions, the ones idle longest, if not fresh, are offered rest.
  void add(ClientSession& session);
  // `session`, on socket `fd`, wakes or closes: it leaves the lists or stops resting.
  void remove(ClientSession& session, int fd);

  // `session` (offered rest, and idle, or new) rests on its socket `fd` until the client sends,
  // closes or resets (ClientSession::endRest(false)), or for `idle` (endRest(true)). False
  // when the kernel refuses the socket a place in the epoll set (logged once until a socket
  // is taken again): then it stays awake.
  bool rest(ClientSession& session, int fd, std::chrono::milliseconds idle);
  // most_awake sessions or more are idle and awake: a new connection rests from the start,
  // so that connections arriving faster than the lists rest (a burst, or a flood that never
  // sends) each hold no more than a resting one.
  bool isCrowded() const { return linked_ >= most_awake_; }

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
  struct RestQueue {
    explicit RestQueue(std::chrono::milliseconds timeout) : idle(timeout) {}
    const std::chrono::milliseconds idle;
    Head sessions;
  };

  static void onTick(evutil_socket_t, short, void* arg) noexcept;
  static void onReadable(evutil_socket_t fd, short, void* arg) noexcept;
  static void onRestTimeout(evutil_socket_t, short, void* arg) noexcept;
  // Takes `link` out of the lists and offers its session rest.
  void offerRest(Link& link);
  // The loop's monotonic clock in ms, modulo 2^32 (timeouts are at most 7 days).
  std::uint32_t nowMs() const;
  // Arms the rest timer for the soonest deadline of a queue's first session, if any.
  void armRestTimer();

  Head fresh_;
  Head recent_;
  Head settled_;
  std::size_t linked_ = 0; // sessions in any awake list
  const std::size_t most_awake_;
  event_base* base_;
  net::EventPtr tick_;
  const timeval tick_interval_;
  bool stopped_ = false;

  int epoll_fd_;         // the resting sockets
  bool refused_ = false; // the last epoll_ctl ADD failed (and was logged)
  net::EventPtr readable_;
  net::EventPtr rest_timer_;
  std::vector<std::unique_ptr<RestQueue>> rest_queues_;
};

} // namespace ferry::proxy
