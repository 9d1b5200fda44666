// BackgroundRefresh: the revalidation that stale-while-revalidate (RFC 5861 §3) runs after
// a stale response was served: a conditional GET with no client waiting, whose 304 freshens
// the stored response and whose new 200 replaces it. One at a time per Key (it leads the
// Key's collapsed fetch, or does not start). Its origin I/O is an OriginExchange. Owned by
// its Worker, on the worker thread.
#pragma once

#include "origin_exchange.h"
#include "room_wait.h"

#include "ferry/cache/store.h"
#include "ferry/http/message.h"
#include "ferry/http/target.h"
#include "ferry/proxy/settings.h"

#include <functional>
#include <memory>
#include <string>

namespace ferry::proxy {

class Worker;

class BackgroundRefresh final : private OriginExchange::Owner {
public:
  // `request` is the client's request (hop-by-hop fields removed), `stale` what it was
  // served. `done` runs once, from the loop, when the refresh is over.
  BackgroundRefresh(Worker& worker, std::shared_ptr<const Settings> settings,
                    const http::RequestHead& request, http::Target target, std::string key,
                    std::shared_ptr<const cache::Entry> stale, std::function<void()> done);
  ~BackgroundRefresh();

  BackgroundRefresh(const BackgroundRefresh&) = delete;
  BackgroundRefresh& operator=(const BackgroundRefresh&) = delete;

  void start();

private:
  void onInterim(http::ResponseHead&) override {}
  void onHead(http::ResponseHead& head, http::Framing framing,
              const http::ConnectionOptions& options) override;
  void onBody(std::string_view data) override;
  void onEnd() override;
  void onFailed(const OriginExchange::Failure& failure) override;
  void onTunnel() override {} // a GET is never answered with a tunnel
  void onRequestDrained() override {}

  void onStoreRoom();
  void end();

  Worker& worker_;
  std::shared_ptr<const Settings> settings_;
  const http::RequestHead request_; // the conditional GET sent
  http::Target target_;
  std::string key_;
  std::shared_ptr<const cache::Entry> stale_;
  std::function<void()> done_;
  cache::FetchTicket ticket_;
  std::unique_ptr<OriginExchange> exchange_;
  std::unique_ptr<cache::EntryWriter> writer_;
  std::size_t read_chunks_ = 0; // of writer_'s body, let go already
  RoomWait room_;               // the origin is paused while the store holds back the body (isFull)
  bool ended_ = false;
};

} // namespace ferry::proxy
