// Tunnel relay. Each side reads only while the other side's output is below the high
// water mark, so a fast sender cannot make ferry buffer more than a window per direction.
#include "tunnel.h"

#include "water_marks.h"

#include "ferry/core/assert.h"
#include "ferry/core/gauges.h"

#include <event2/buffer.h>
#include <sys/socket.h>

namespace ferry::proxy {

Tunnel::Tunnel(net::BuffereventPtr client, net::BuffereventPtr origin, Duration idle_timeout,
               std::function<void(bool)> done)
    : client_{this, std::move(client)}, origin_{this, std::move(origin)},
      idle_timeout_(idle_timeout), done_(std::move(done)) {
  core::addGauge(core::Gauge::Tunnels, 1);
}

Tunnel::~Tunnel() {
  core::addGauge(core::Gauge::Tunnels, -1);
}

void Tunnel::start() {
  const timeval idle = net::toTimeval(idle_timeout_.count());
  for (Side* side : {&client_, &origin_}) {
    bufferevent_setcb(side->bev.get(), &Tunnel::onRead, &Tunnel::onWrite, &Tunnel::onEvent, side);
    bufferevent_setwatermark(side->bev.get(), EV_WRITE, LowWater, 0);
    // A read timeout alone would end a one-way download whose other direction is quiet:
    // the idle clock restarts on every byte either way (see relay()).
    bufferevent_set_timeouts(side->bev.get(), &idle, nullptr);
    bufferevent_enable(side->bev.get(), EV_READ | EV_WRITE);
  }
  relay(client_);
  relay(origin_);
}

void Tunnel::relay(Side& from) {
  if (finished_)
    return;
  Side& to = other(from);
  evbuffer* in = bufferevent_get_input(from.bev.get());
  const std::size_t n = evbuffer_get_length(in);
  if (n > 0) {
    if (&to == &client_)
      to_client_ += n;
    bufferevent_write_buffer(to.bev.get(), in);
    // Traffic in one direction keeps the whole tunnel alive.
    const timeval idle = net::toTimeval(idle_timeout_.count());
    bufferevent_set_timeouts(to.bev.get(), &idle, nullptr);
  }
  if (evbuffer_get_length(bufferevent_get_output(to.bev.get())) >= HighWater)
    bufferevent_disable(from.bev.get(), EV_READ);
  maybeShutdown(to);
}

void Tunnel::maybeShutdown(Side& to) {
  Side& from = other(to);
  if (!from.eof || to.shut_down || evbuffer_get_length(bufferevent_get_output(to.bev.get())) > 0)
    return;
  to.shut_down = true;
  ::shutdown(bufferevent_getfd(to.bev.get()), SHUT_WR);
  if (client_.shut_down && origin_.shut_down)
    finish(false);
}

void Tunnel::onRead(bufferevent*, void* arg) noexcept {
  auto* side = static_cast<Side*>(arg);
  side->tunnel->relay(*side);
}

void Tunnel::onWrite(bufferevent*, void* arg) noexcept {
  auto* to = static_cast<Side*>(arg);
  Tunnel* self = to->tunnel;
  Side& from = self->other(*to);
  if (!from.eof && !self->finished_)
    bufferevent_enable(from.bev.get(), EV_READ);
  self->maybeShutdown(*to);
}

void Tunnel::onEvent(bufferevent*, short what, void* arg) noexcept {
  auto* side = static_cast<Side*>(arg);
  Tunnel* self = side->tunnel;
  if (what & BEV_EVENT_TIMEOUT) {
    self->finish(true);
    return;
  }
  if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
    side->eof = true;
    bufferevent_disable(side->bev.get(), EV_READ);
    self->relay(*side); // flush what arrived with the FIN, then pass the FIN on
    return;
  }
  self->finish(false);
}

void Tunnel::finish(bool idle_timeout) {
  if (finished_)
    return;
  finished_ = true;
  for (Side* side : {&client_, &origin_})
    bufferevent_disable(side->bev.get(), EV_READ | EV_WRITE);
  done_(idle_timeout);
}

} // namespace ferry::proxy
