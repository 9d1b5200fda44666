// Tunnel relay. Buffered: each side is read (ReadSize a call, net::readAppend) only while the
// other side's output is below the high water mark. Spliced: each side is read only into the room
// its pipe has left, and the pipe (at most its capacity, 64 KiB or 1 MiB: net::SplicePipe::create)
// is what one direction holds. Either way a fast sender cannot make ferry hold more than a window
// per direction.
#include "tunnel.h"

#include "water_marks.h"

#include "ferry/core/assert.h"
#include "ferry/core/counters.h"
#include "ferry/core/gauges.h"

#include <event2/buffer.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace ferry::proxy {

Tunnel::Tunnel(net::BuffereventPtr client, net::BuffereventPtr origin, Duration idle_timeout,
               net::PipePool* pipes, std::function<void(bool)> done)
    : client_{this, std::move(client)}, origin_{this, std::move(origin)},
      idle_timeout_(idle_timeout), pipes_(pipes), done_(std::move(done)) {
  core::addGauge(core::Gauge::Tunnels, 1);
}

Tunnel::~Tunnel() {
  core::addGauge(core::Gauge::Tunnels, -1);
}

void Tunnel::start() {
  idle_.reset(evtimer_new(bufferevent_get_base(client_.bev.get()), &Tunnel::onIdle, this));
  FERRY_ASSERT(idle_);
  restartIdle();
  if (pipes_ && startSpliced())
    return;
  startBuffered();
}

// Each side's bufferevent only writes (up to HighWater a call), with no timeout of its own
// (the tunnel's is idle_); its socket is read by `pull`.
void Tunnel::startBuffered() {
  event_base* base = bufferevent_get_base(client_.bev.get());
  for (Side* side : {&client_, &origin_}) {
    bufferevent_setcb(side->bev.get(), nullptr, &Tunnel::onWrite, &Tunnel::onEvent, side);
    bufferevent_setwatermark(side->bev.get(), EV_WRITE, LowWater, 0);
    bufferevent_set_max_single_write(side->bev.get(), HighWater);
    bufferevent_set_timeouts(side->bev.get(), nullptr, nullptr);
    bufferevent_disable(side->bev.get(), EV_READ);
    bufferevent_enable(side->bev.get(), EV_WRITE);
    side->pull.reset(event_new(base, bufferevent_getfd(side->bev.get()), EV_READ | EV_PERSIST,
                               &Tunnel::onPull, side));
    FERRY_ASSERT(side->pull);
    if (!side->eof)
      event_add(side->pull.get(), nullptr);
  }
  relay(client_);
  relay(origin_);
}

// Both sockets leave their bufferevents (disabled, kept only to close the sockets) for
// edge-triggered events of their own: with level-triggered ones a readable source whose
// pipe is full would wake the loop again and again.
bool Tunnel::startSpliced() {
  event_base* base = bufferevent_get_base(client_.bev.get());
  if (!(event_base_get_features(base) & EV_FEATURE_ET))
    return false;
  client_.relay.emplace(*pipes_);
  origin_.relay.emplace(*pipes_);
  for (Side* side : {&client_, &origin_}) {
    Side& to = other(*side);
    bufferevent_setcb(side->bev.get(), nullptr, nullptr, nullptr, nullptr);
    bufferevent_disable(side->bev.get(), EV_READ | EV_WRITE);
    if (side->eof)
      side->relay->endSource();
    // What was queued for the other side goes first, then what this side sent already.
    evbuffer* in = bufferevent_get_input(side->bev.get());
    if (&to == &client_)
      to_client_ += evbuffer_get_length(in);
    net::takeOutput(bufferevent_get_output(to.bev.get()), side->relay->pending());
    FERRY_ASSERT(evbuffer_add_buffer(side->relay->pending(), in) == 0);
    const evutil_socket_t fd = bufferevent_getfd(side->bev.get());
    side->readable.reset(
        event_new(base, fd, EV_READ | EV_PERSIST | EV_ET, &Tunnel::onReadable, side));
    side->writable.reset(
        event_new(base, fd, EV_WRITE | EV_PERSIST | EV_ET, &Tunnel::onWritable, &to));
    FERRY_ASSERT(side->readable && side->writable);
  }
  for (Side* side : {&client_, &origin_}) {
    event_add(side->readable.get(), nullptr);
    event_add(side->writable.get(), nullptr);
  }
  core::count(core::Counter::TunnelsSpliced);
  pump(client_);
  pump(origin_);
  return true;
}

void Tunnel::relay(Side& from) {
  if (finished_)
    return;
  Side& to = other(from);
  evbuffer* in = bufferevent_get_input(from.bev.get());
  const std::size_t n = evbuffer_get_length(in);
  if (n > 0) {
    bufferevent_write_buffer(to.bev.get(), in);
    moved(to, n);
  }
  if (evbuffer_get_length(bufferevent_get_output(to.bev.get())) >= HighWater)
    event_del(from.pull.get());
  maybeShutdown(to);
}

// One direction, spliced (net::SpliceRelay::pump).
void Tunnel::pump(Side& from) {
  if (finished_ || !from.relay)
    return;
  Side& to = other(from);
  const std::uint64_t before = from.relay->bytesIn();
  const net::SpliceRelay::Pass pass =
      from.relay->pump(bufferevent_getfd(from.bev.get()), bufferevent_getfd(to.bev.get()));
  if (&to == &client_)
    to_client_ += from.relay->bytesIn() - before;
  from.eof = from.relay->sawEof();
  switch (pass.status) {
  case net::SpliceRelay::Status::Open:
  case net::SpliceRelay::Status::Done:
    break;
  case net::SpliceRelay::Status::Unsupported:
    // Nothing moved through the kernel yet in this direction, or bytes sit in a pipe:
    // either way they go on through the bufferevents, in order.
    for (Side* side : {&client_, &origin_}) {
      side->relay->moveTo(bufferevent_get_output(other(*side).bev.get()));
      side->relay.reset();
      // Deleted, not freed: this runs inside one of them.
      event_del(side->readable.get());
      event_del(side->writable.get());
    }
    startBuffered();
    return;
  case net::SpliceRelay::Status::Failed:
    finish(false);
    return;
  }
  if (!net::setAdded(from.readable.get(), pass.read_wanted)) {
    spdlog::error("tunnel: a socket cannot be watched: {}", std::strerror(errno));
    finish(false);
    return;
  }
  if (pass.busy) // both ends may still be ready, and no edge will say so
    event_active(from.readable.get(), EV_READ, 0);
  if (pass.moved)
    restartIdle();
  maybeShutdown(to);
}

void Tunnel::moved(Side& to, std::size_t n) {
  if (&to == &client_)
    to_client_ += n;
  restartIdle(); // traffic in one direction keeps the whole tunnel alive
}

void Tunnel::restartIdle() {
  const timeval idle = net::toTimeval(idle_timeout_.count());
  evtimer_add(idle_.get(), &idle);
}

void Tunnel::maybeShutdown(Side& to) {
  Side& from = other(to);
  if (!from.eof || to.shut_down)
    return;
  const bool flushed = from.relay ? from.relay->flushed()
                                  : evbuffer_get_length(bufferevent_get_output(to.bev.get())) == 0;
  if (!flushed)
    return;
  to.shut_down = true;
  ::shutdown(bufferevent_getfd(to.bev.get()), SHUT_WR);
  if (client_.shut_down && origin_.shut_down)
    finish(false);
}

// Buffered: what the socket has goes straight onto the other side's output, filling its last
// chain's free room first (a chain per read would let a peer that sends a byte at a time pin
// a 64 KiB chain per byte under HighWater); EOF is passed on once what came before is flushed.
void Tunnel::onPull(evutil_socket_t fd, short, void* arg) noexcept {
  auto* side = static_cast<Side*>(arg);
  Tunnel* self = side->tunnel;
  Side& to = self->other(*side);
  const long got = net::readAppend(bufferevent_get_output(to.bev.get()), fd, ReadSize);
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return;
  if (got < 0) {
    self->finish(false);
    return;
  }
  if (got > 0)
    self->moved(to, static_cast<std::size_t>(got));
  else {
    side->eof = true;
    event_del(side->pull.get());
  }
  self->relay(*side);
}

void Tunnel::onWrite(bufferevent*, void* arg) noexcept {
  auto* to = static_cast<Side*>(arg);
  Tunnel* self = to->tunnel;
  Side& from = self->other(*to);
  if (!from.eof && !self->finished_)
    event_add(from.pull.get(), nullptr);
  self->maybeShutdown(*to);
}

// Buffered, a side's bufferevent writes only: what it reports is a failed write.
void Tunnel::onEvent(bufferevent*, short, void* arg) noexcept {
  static_cast<Side*>(arg)->tunnel->finish(false);
}

void Tunnel::onReadable(evutil_socket_t, short, void* arg) noexcept {
  auto* from = static_cast<Side*>(arg);
  from->tunnel->pump(*from);
}

void Tunnel::onWritable(evutil_socket_t, short, void* arg) noexcept {
  auto* from = static_cast<Side*>(arg);
  from->tunnel->pump(*from);
}

void Tunnel::onIdle(evutil_socket_t, short, void* arg) noexcept {
  static_cast<Tunnel*>(arg)->finish(true);
}

void Tunnel::finish(bool idle_timeout) {
  if (finished_)
    return;
  finished_ = true;
  for (Side* side : {&client_, &origin_}) {
    bufferevent_disable(side->bev.get(), EV_READ | EV_WRITE);
    for (event* ev : {side->readable.get(), side->writable.get(), side->pull.get()})
      if (ev)
        event_del(ev);
  }
  event_del(idle_.get());
  done_(idle_timeout);
}

} // namespace ferry::proxy
