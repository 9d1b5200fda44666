// RoomWait: pauses a fill's origin response while the store holds back its body
// (cache::EntryWriter::isFull: a disk's write queue is full), rather than the Entry being
// abandoned, and brings the fill back to its own loop once the store may have room.
#pragma once

#include "origin_exchange.h"

#include "ferry/cache/store.h"
#include "ferry/net/event_ptr.h"

#include <functional>

namespace ferry::proxy {

class RoomWait {
public:
  // `on_room` runs from the loop of `base`, never inside watch().
  RoomWait(event_base* base, std::function<void()> on_room);
  ~RoomWait();

  RoomWait(const RoomWait&) = delete;
  RoomWait& operator=(const RoomWait&) = delete;

  // After an append: when `writer` is full, pauses `exchange` and calls on_room once, later,
  // when the writer may have room.
  void holdIfFull(cache::EntryWriter& writer, OriginExchange& exchange);
  // From on_room: resumes `exchange` once `writer` is no longer full, else waits again.
  void resumeOrWait(cache::EntryWriter& writer, OriginExchange& exchange);

private:
  void watch(cache::EntryWriter& writer);

  static void onWake(evutil_socket_t, short, void* arg) noexcept;

  event_base* base_;
  net::EventPtr wake_; // activated from the store's thread
  cache::Subscription subscription_;
  std::function<void()> on_room_;
};

} // namespace ferry::proxy
