// One worker: a thread running its own libevent loop, its listeners and the client
// connections they accepted. Other threads talk to it only through post().
#pragma once

#include "background_refresh.h"
#include "detached_fill.h"
#include "idle_sessions.h"
#include "origin_pool.h"
#include "upstream.h"

#include "ferry/net/connector.h"
#include "ferry/net/destination_policy.h"
#include "ferry/net/event_ptr.h"
#include "ferry/net/listener.h"
#include "ferry/net/resolver.h"
#include "ferry/net/splice_pipe.h"
#include "ferry/proxy/access_log.h"
#include "ferry/proxy/server.h"
#include "ferry/proxy/settings.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ferry/access/authenticator.h"

namespace ferry::proxy {

class ClientSession;

class Worker {
public:
  // `destinations`: where its Connector may connect (never null); `parents`: the health
  // table all workers share (never null).
  Worker(unsigned index, Runtime runtime,
         std::shared_ptr<const net::DestinationPolicy> destinations,
         std::shared_ptr<ParentHealth> parents);
  ~Worker();

  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  void join();

  // Runs `task` on the worker's loop thread. Thread-safe.
  void post(std::function<void()> task);

  // The following run on the worker thread only (call them through post()).
  void addListener(int fd); // takes ownership of fd
  void removeListener(int fd);
  // Swaps to `runtime` (reload number `generation`) for connections accepted from now on;
  // also closes pooled connections to addresses `destinations` refuses. Then
  // runtimeGeneration() returns `generation`.
  void setRuntime(Runtime runtime, std::shared_ptr<const net::DestinationPolicy> destinations,
                  std::uint64_t generation);
  void beginDrain();
  // Since beginDrain(): connections close once their response is sent.
  bool isDraining() const { return draining_; }

  // Called by a session (on this thread) once it has finished closing; the session
  // is destroyed later from the loop, never inside its own callback.
  void release(ClientSession* session);

  // Starts a BackgroundRefresh of `stale` (stale-while-revalidate); the worker owns it.
  void refreshInBackground(const http::RequestHead& request, http::Target target, std::string key,
                           std::shared_ptr<const cache::Entry> stale);

  // The generation of the Runtime in use: it no longer holds any earlier one. Any thread.
  std::uint64_t runtimeGeneration() const {
    return runtime_generation_.load(std::memory_order_acquire);
  }

  // Carries on storing a response whose client left (DetachedFill); the worker owns it.
  void continueFill(std::unique_ptr<OriginExchange> exchange,
                    std::unique_ptr<cache::EntryWriter> writer);

  event_base* base() const { return base_.get(); }
  // Idle client sessions, swept every timeouts.client_rest (not while draining); past
  // MostAwakeIdle of them awake, those idle since a tick (IdleTick) rest at once.
  IdleSessions& idleSessions() { return idle_sessions_; }
  const core::Clock& clock() const { return *runtime_.clock; }
  OriginPool& pool() { return *pool_; }
  net::PipePool& pipes() { return pipes_; }
  ParentHealth& parentHealth() { return *parent_health_; }
  access::Authenticator& authenticator() { return authenticator_; }
  net::Connector& connector() { return *connector_; }
  net::Resolver& resolver() { return *resolver_; }
  AccessLogWriter& accessLog() { return *runtime_.access_log; }
  cache::Store& store() { return *runtime_.store; }
  const cache::Settings& cacheSettings() const { return *runtime_.cache_settings; }
  const std::shared_ptr<const cache::Settings>& sharedCacheSettings() const {
    return runtime_.cache_settings;
  }
  const Settings& settings() const { return *runtime_.settings; }

private:
  static void onWake(evutil_socket_t, short, void* arg) noexcept;
  static void onReap(evutil_socket_t, short, void* arg) noexcept;
  static void onGraceExpired(evutil_socket_t, short, void* arg) noexcept;
  static void onSweep(evutil_socket_t, short, void* arg) noexcept;

  // Marks background work `id` for destruction from the loop.
  std::function<void()> backgroundDone(std::uint64_t id);
  void accept(int fd, const net::Address& peer);
  void updateAccepting();
  void erase(ClientSession& session);
  void armSweep();
  void reportSessions();
  void maybeExit();

  unsigned index_;
  Runtime runtime_;
  std::atomic<std::uint64_t> runtime_generation_{0};
  net::EventBasePtr base_;
  net::PipePool pipes_; // before the sessions: their relays give pipes back when destroyed
  net::EventPtr wake_;
  net::EventPtr reap_;
  net::EventPtr grace_;
  net::EventPtr sweep_; // IdleSessions, every timeouts.client_rest
  std::unique_ptr<net::Resolver> resolver_;
  std::unique_ptr<net::Connector> connector_;
  std::unique_ptr<OriginPool> pool_;
  std::shared_ptr<ParentHealth> parent_health_;
  access::Authenticator authenticator_;
  std::thread thread_;

  std::mutex inbox_mutex_;
  std::vector<std::function<void()>> inbox_;

  std::map<int, std::unique_ptr<net::Listener>> listeners_;
  IdleSessions idle_sessions_; // before sessions_, which leave it as they go
  std::vector<std::unique_ptr<ClientSession>> sessions_; // each at its slot()
  std::vector<ClientSession*> finished_;
  std::int64_t reported_sessions_ = 0; // sessions_.size() as last added to the gauge
  std::unordered_map<std::uint64_t, std::unique_ptr<BackgroundRefresh>> refreshes_;
  std::unordered_map<std::uint64_t, std::unique_ptr<DetachedFill>> fills_;
  std::vector<std::uint64_t> background_done_; // refreshes and fills to destroy from the loop
  std::uint64_t next_background_ = 0;
  bool accepting_ = true;
  bool draining_ = false;
};

} // namespace ferry::proxy
