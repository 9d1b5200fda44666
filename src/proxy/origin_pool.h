// OriginPool: a worker's idle origin connections, keyed by destination. Bounded per origin
// and in total (the oldest idle connection goes first), closed after the origin idle
// timeout, and dropped at once when the origin closes one (idle connections keep reading,
// so EOF and stray bytes are noticed). Used on the worker thread only.
#pragma once

#include "origin_connection.h"

#include "ferry/net/destination_policy.h"
#include "ferry/proxy/settings.h"

#include <list>
#include <memory>
#include <string>
#include <unordered_map>

namespace ferry::proxy {

class OriginPool {
public:
  OriginPool() = default;
  ~OriginPool();

  OriginPool(const OriginPool&) = delete;
  OriginPool& operator=(const OriginPool&) = delete;

  // The most recently used idle connection to `key` that is still quiet (see
  // OriginConnection::isQuiet), or null. Those found with data or EOF are closed.
  std::unique_ptr<OriginConnection> take(const std::string& key);

  // Keeps `connection` idle for reuse, within the limits of `settings`. The caller
  // guarantees the last response on it was complete and self-delimited and nobody said
  // close; one holding bytes read after that response is closed instead.
  void put(std::unique_ptr<OriginConnection> connection, const Settings& settings);

  std::size_t idleCount() const { return lru_.size(); }
  void clear();
  // Closes the idle connections whose peer `policy` refuses.
  void closeRefused(const net::DestinationPolicy& policy);

private:
  // An idle connection must not send anything: bytes, EOF, an error or timeouts.origin_idle
  // running out all drop it.
  struct Idle final : OriginConnection::Reader {
    Idle(OriginPool* p, std::unique_ptr<OriginConnection> c) : pool(p), connection(std::move(c)) {}
    void onReadable(short what) override;

    OriginPool* pool;
    std::unique_ptr<OriginConnection> connection;
  };
  using IdleList = std::list<Idle>;

  void drop(Idle* idle);
  // Removes `it`, an idle connection to `key`, to be closed or, `reused`, to carry a request;
  // returns the next (newer) one.
  IdleList::iterator erase(IdleList::iterator it, const std::string& key, bool reused = false);

  IdleList lru_; // oldest first
  std::unordered_map<std::string, std::size_t> per_key_;
};

} // namespace ferry::proxy
