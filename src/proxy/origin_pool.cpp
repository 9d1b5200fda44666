// Idle origin connection pool.
#include "origin_pool.h"

#include "ferry/core/assert.h"
#include "ferry/core/counters.h"
#include "ferry/core/gauges.h"
#include "ferry/core/traffic_stats.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace ferry::proxy {

OriginPool::~OriginPool() {
  clear();
}

void OriginPool::clear() {
  while (!lru_.empty())
    erase(lru_.begin(), lru_.front().connection->key());
}

void OriginPool::closeRefused(const net::DestinationPolicy& policy) {
  for (auto it = lru_.begin(); it != lru_.end();)
    it = policy.allows(it->connection->peer()) ? std::next(it) : erase(it, it->connection->key());
}

std::unique_ptr<OriginConnection> OriginPool::take(const std::string& key) {
  // Most recently used first: it is the likeliest still open at the origin.
  auto newer = lru_.end(); // the search goes on below this
  while (per_key_.count(key) > 0) {
    const auto found = std::find_if(std::make_reverse_iterator(newer), lru_.rend(),
                                    [&](const Idle& i) { return i.connection->key() == key; });
    FERRY_ASSERT(found != lru_.rend() && "per_key_ count without a connection");
    const auto at = std::next(found).base();
    auto connection = std::move(at->connection);
    connection->setReader(nullptr); // its next user's watchReads replaces the idle wait
    const bool quiet = connection->isQuiet();
    newer = erase(at, key, quiet);
    if (quiet)
      return connection;
    spdlog::debug("origin {}: pooled connection had data or EOF; closing", key);
    core::count(core::Counter::OriginConnectionsUnclean);
  }
  return nullptr;
}

void OriginPool::put(std::unique_ptr<OriginConnection> connection, const Settings& settings) {
  const auto& limits = settings.limits;
  if (limits.origin_idle_per_origin == 0 || limits.origin_idle_total == 0)
    return;
  const std::string& key = connection->key();
  if (connection->hasBufferedInput()) {
    // Bytes past the end of the response (a second response in the same read, a body
    // after a 204): the next request on this connection would be answered with them.
    // Bytes still in the kernel are caught by the idle read callback, or by take().
    spdlog::debug("origin {}: bytes after a complete response; closing", key);
    core::count(core::Counter::OriginConnectionsUnclean);
    return;
  }
  auto count = per_key_.find(key);
  if (count != per_key_.end() && count->second >= limits.origin_idle_per_origin)
    erase(std::find_if(lru_.begin(), lru_.end(),
                       [&](const Idle& i) { return i.connection->key() == key; }),
          key);
  if (lru_.size() >= limits.origin_idle_total)
    erase(lru_.begin(), lru_.front().connection->key());
  ++per_key_[key];
  core::addGauge(core::Gauge::OriginConnectionsIdle, 1);
  core::traffic::originIdle(key, 1);

  Idle& idle = lru_.emplace_back(this, std::move(connection));
  // The idle timeout is the read wait's: an idle connection reads nothing, or it is dropped,
  // so the timeout runs from here.
  const timeval timeout = net::toTimeval(settings.timeouts.origin_idle.count());
  idle.connection->setReader(&idle);
  idle.connection->watchReads(&timeout);
}

OriginPool::IdleList::iterator OriginPool::erase(IdleList::iterator it, const std::string& key,
                                                 bool reused) {
  auto count = per_key_.find(key);
  FERRY_ASSERT(count != per_key_.end() && count->second > 0);
  if (--count->second == 0)
    per_key_.erase(count);
  core::addGauge(core::Gauge::OriginConnectionsIdle, -1);
  if (reused)
    core::traffic::originReused(key);
  else
    core::traffic::originIdle(key, -1);
  return lru_.erase(it);
}

void OriginPool::drop(Idle* idle) {
  auto it = std::find_if(lru_.begin(), lru_.end(), [&](const Idle& i) { return &i == idle; });
  FERRY_ASSERT(it != lru_.end());
  erase(it, it->connection->key());
}

// Bytes now are either a late part of a previous response or garbage; EOF or an error
// ends the connection; or timeouts.origin_idle ran out (the wait set in put()). None of
// them leaves a connection that can carry another exchange.
void OriginPool::Idle::onReadable(short what) {
  if (what & EV_READ)
    spdlog::debug("origin {} became readable while idle; closing", connection->key());
  pool->drop(this);
}

} // namespace ferry::proxy
