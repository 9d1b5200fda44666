// BackgroundRefresh: the revalidation that stale-while-revalidate (RFC 5861 §3) runs after
// a stale response was served: a conditional GET with no client waiting, whose 304 freshens
// the stored response and whose new 200 replaces it. One at a time per Key (it leads the
// Key's collapsed fetch, or does not start). Owned by its Worker, on the worker thread.
#pragma once

#include "origin_connection.h"

#include "ferry/cache/store.h"
#include "ferry/http/parser.h"
#include "ferry/net/connector.h"
#include "ferry/proxy/settings.h"

#include <functional>
#include <memory>
#include <string>

namespace ferry::proxy {

class Worker;

class BackgroundRefresh {
public:
  // `request` is the client's request (hop-by-hop fields removed), `stale` what it was
  // served. `done` runs once, from the loop, when the refresh is over.
  BackgroundRefresh(Worker& worker, std::shared_ptr<const Settings> settings,
                    http::RequestHead request, http::Target target, std::string key,
                    std::shared_ptr<const cache::Entry> stale, std::function<void()> done);

  BackgroundRefresh(const BackgroundRefresh&) = delete;
  BackgroundRefresh& operator=(const BackgroundRefresh&) = delete;

  void start();

private:
  static void onRead(bufferevent*, void* arg) noexcept;
  static void onEvent(bufferevent*, short what, void* arg) noexcept;

  void send(std::unique_ptr<OriginConnection> origin);
  void parse();
  void end(bool origin_reusable);

  Worker& worker_;
  std::shared_ptr<const Settings> settings_;
  http::RequestHead request_;
  http::Target target_;
  std::string key_;
  std::shared_ptr<const cache::Entry> stale_;
  std::function<void()> done_;
  cache::FetchTicket ticket_;
  net::Handle connect_;
  std::unique_ptr<OriginConnection> origin_;
  http::ResponseParser parser_;
  std::unique_ptr<cache::EntryWriter> writer_;
  std::chrono::system_clock::time_point request_time_;
  bool head_seen_ = false;
  bool origin_keep_ = false;
  bool ended_ = false;
};

} // namespace ferry::proxy
