// OriginConnection set-up.
#include "origin_connection.h"

#include "ferry/core/assert.h"
#include "ferry/core/gauges.h"
#include "ferry/core/traffic_stats.h"

#include <event2/buffer.h>
#include <sys/socket.h>

#include <cerrno>

namespace ferry::proxy {

OriginConnection::OriginConnection(event_base* base, int fd, std::string key, net::Address peer)
    : bev_(bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE)),
      readable_(event_new(base, fd, EV_READ | EV_PERSIST, &OriginConnection::onEvent, this)),
      key_(std::move(key)), peer_(std::move(peer)) {
  FERRY_ASSERT(bev_ && readable_);
  core::addGauge(core::Gauge::OriginConnections, 1);
  core::traffic::originOpened(key_);
}

OriginConnection::~OriginConnection() {
  core::addGauge(core::Gauge::OriginConnections, -1);
  core::traffic::originClosed(key_);
}

void OriginConnection::watchReads(const timeval* timeout) {
  event* ev = readable_.get();
  // Only a watch on the socket may just change its timeout. One whose wait ran out in this
  // turn of the loop is off the socket until its callback runs, and event_add would re-arm
  // the timer alone; that callback belongs to the last reader. Without a timeout,
  // event_add would keep a timer armed before, and a persistent event re-arms its last
  // interval on every read: such a watch starts from a fresh event.
  if (!timeout || !(event_pending(ev, EV_READ, nullptr) & EV_READ))
    event_del(ev);
  if (!timeout)
    event_assign(ev, event_get_base(ev), event_get_fd(ev), EV_READ | EV_PERSIST,
                 &OriginConnection::onEvent, this);
  event_add(ev, timeout);
}

void OriginConnection::stopReads() {
  event_del(readable_.get());
}

void OriginConnection::setWriteTimeout(std::chrono::milliseconds timeout) {
  if (timeout == write_timeout_)
    return;
  write_timeout_ = timeout;
  const timeval wait = net::toTimeval(timeout.count());
  bufferevent_set_timeouts(bev_.get(), nullptr, &wait);
}

net::BuffereventPtr OriginConnection::release() {
  readable_.reset();
  reader_ = nullptr;
  return std::move(bev_);
}

void OriginConnection::onEvent(evutil_socket_t, short what, void* arg) noexcept {
  auto* self = static_cast<OriginConnection*>(arg);
  if (self->reader_)
    self->reader_->onReadable(what);
  else
    self->stopReads(); // between two readers, the watch would fire on and on
}

bool OriginConnection::hasBufferedInput() const {
  return evbuffer_get_length(bufferevent_get_input(bev_.get())) > 0;
}

bool OriginConnection::isQuiet() const {
  if (hasBufferedInput())
    return false;
  // The loop may not have read what the kernel holds yet: ask the socket itself.
  char byte;
  const ssize_t n = ::recv(bufferevent_getfd(bev_.get()), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

} // namespace ferry::proxy
