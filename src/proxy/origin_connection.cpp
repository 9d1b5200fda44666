// OriginConnection set-up.
#include "origin_connection.h"

#include "ferry/core/assert.h"

namespace ferry::proxy {

OriginConnection::OriginConnection(event_base* base, int fd, std::string key, net::Address peer)
    : bev_(bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE)), key_(std::move(key)),
      peer_(std::move(peer)) {
  FERRY_ASSERT(bev_);
}

} // namespace ferry::proxy
