// DetachedFill: a response being stored whose client went away while other clients still
// stream its Entry. It carries the origin exchange on to the end of the body at the origin's
// pace, so that they get all of it and the Entry is stored (Squid's quick_abort, with the
// rule "finish while anybody waits"). Once no client streams the Entry any more, it stops:
// the origin connection is closed and the Entry abandoned. Owned by its Worker.
#pragma once

#include "origin_exchange.h"
#include "room_wait.h"

#include "ferry/cache/store.h"
#include "ferry/proxy/settings.h"

#include <functional>
#include <memory>

namespace ferry::proxy {

class DetachedFill final : private OriginExchange::Owner {
public:
  // `exchange` is past its response head and `writer` fills the Entry from its body.
  // `done` runs once, from an exchange callback or start(), when the fill is over: destroy
  // the DetachedFill later, from the loop.
  DetachedFill(event_base* base, std::shared_ptr<const Settings> settings,
               std::unique_ptr<OriginExchange> exchange, std::unique_ptr<cache::EntryWriter> writer,
               std::function<void()> done);
  ~DetachedFill();

  DetachedFill(const DetachedFill&) = delete;
  DetachedFill& operator=(const DetachedFill&) = delete;

  // Takes over the exchange's callbacks.
  void start();

private:
  // A response head came already: nothing but body, end and failure follows.
  void onInterim(http::ResponseHead&) override {}
  void onHead(http::ResponseHead&, http::Framing, const http::ConnectionOptions&) override {}
  void onBody(std::string_view data) override;
  void onEnd() override;
  void onFailed(const OriginExchange::Failure& failure) override;
  void onTunnel() override {}
  void onRequestDrained() override {}

  void onStoreRoom();
  void end();

  std::shared_ptr<const Settings> settings_; // what the exchange reads from now on
  std::unique_ptr<OriginExchange> exchange_;
  std::unique_ptr<cache::EntryWriter> writer_;
  std::function<void()> done_;
  RoomWait room_; // the origin is paused while the store holds back the body (isFull)
  bool ended_ = false;
};

} // namespace ferry::proxy
