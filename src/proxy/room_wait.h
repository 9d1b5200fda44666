// RoomWait: brings a fill back to its own loop once the store may take more of a body it
// held back (cache::EntryWriter::isFull: a disk's write queue was full), so that the origin
// response is paused meanwhile rather than the Entry abandoned. It decides nothing: its
// owner pauses and resumes the origin, and asks the writer again when woken.
#pragma once

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

  // Calls on_room once, later, when `writer` may have room: at once if it is no longer full.
  void watch(cache::EntryWriter& writer);

private:
  static void onWake(evutil_socket_t, short, void* arg) noexcept;

  event_base* base_;
  net::EventPtr wake_; // activated from the store's thread
  cache::Subscription subscription_;
  std::function<void()> on_room_;
};

} // namespace ferry::proxy
