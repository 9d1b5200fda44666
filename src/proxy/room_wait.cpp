// RoomWait: a store thread's "room again" forwarded to the fill's loop.
#include "room_wait.h"

#include "ferry/core/assert.h"

namespace ferry::proxy {

RoomWait::RoomWait(event_base* base, std::function<void()> on_room)
    : base_(base), on_room_(std::move(on_room)) {}

RoomWait::~RoomWait() {
  // Once reset() returns the callback is not running and never runs again: the event can go.
  subscription_.reset();
}

void RoomWait::holdIfFull(cache::EntryWriter& writer, OriginExchange& exchange) {
  if (!writer.isFull())
    return;
  exchange.pauseResponse();
  watch(writer);
}

void RoomWait::resumeOrWait(cache::EntryWriter& writer, OriginExchange& exchange) {
  if (writer.isFull())
    watch(writer);
  else
    exchange.resumeResponse();
}

// Calls on_room once, later, when `writer` may have room: at once if it is no longer full.
void RoomWait::watch(cache::EntryWriter& writer) {
  if (!wake_) { // made on first use: most fills never wait
    wake_.reset(event_new(base_, -1, 0, &RoomWait::onWake, this));
    FERRY_ASSERT(wake_);
  }
  event* wake = wake_.get();
  subscription_ = writer.whenRoom([wake] { event_active(wake, EV_TIMEOUT, 0); });
  // Room may have come before the subscription: asking again passes the held bytes on.
  if (!writer.isFull())
    event_active(wake, EV_TIMEOUT, 0);
}

void RoomWait::onWake(evutil_socket_t, short, void* arg) noexcept {
  auto* self = static_cast<RoomWait*>(arg);
  self->subscription_.reset();
  self->on_room_();
}

} // namespace ferry::proxy
