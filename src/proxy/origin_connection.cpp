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
    : bev_(bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE)), key_(std::move(key)),
      peer_(std::move(peer)) {
  FERRY_ASSERT(bev_);
  core::addGauge(core::Gauge::OriginConnections, 1);
  core::traffic::originOpened(key_);
}

OriginConnection::~OriginConnection() {
  core::addGauge(core::Gauge::OriginConnections, -1);
  core::traffic::originClosed(key_);
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
