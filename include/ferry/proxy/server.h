// The proxy's threads: one Worker (thread + event loop) per configured worker, each
// accepting on its own SO_REUSEPORT socket for every listen address. The Server owns
// the listening sockets and is driven from the main thread only; it never blocks a
// worker loop: a reload hands each worker a Runtime built on the main thread, and what
// the workers drop is released on the main thread.
#pragma once

#include "ferry/cache/settings.h"
#include "ferry/cache/store.h"
#include "ferry/core/clock.h"
#include "ferry/net/address.h"
#include "ferry/net/event_ptr.h"
#include "ferry/net/socket.h"
#include "ferry/proxy/access_log.h"
#include "ferry/proxy/settings.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <variant>
#include <vector>

namespace ferry::proxy {

class Worker;

// What the workers serve with, replaced as a whole by a reload. Established connections
// keep the settings they were accepted with.
struct Runtime {
  std::shared_ptr<const Settings> settings;
  std::shared_ptr<const cache::Settings> cache_settings; // freshness rules
  std::shared_ptr<AccessLogWriter> access_log;
  std::shared_ptr<cache::Store> store;
  const core::Clock* clock = &core::systemClock(); // every "now" of the workers
  // ferry's listeners outside this Server (the admin one), as bound: like the Server's
  // own, never a destination.
  std::vector<net::Address> other_listeners;
};

class Server {
public:
  // Binds every listen address once per worker (port 0: the kernel picks one port,
  // then every worker binds that port) and starts the worker threads. The workers'
  // DestinationPolicy comes from the access settings and the bound addresses, here and
  // on every reload.
  // `main` is the main thread's loop, where replaced Runtimes are released; it must
  // outlive drain().
  static std::variant<std::unique_ptr<Server>, net::SocketError> start(Runtime runtime,
                                                                       event_base* main);

  ~Server(); // drains if still running

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound addresses, in the order of the configured ones (port 0 resolved).
  std::vector<net::Address> listening() const;

  // Applies new settings to connections accepted from now on; established ones keep
  // theirs. Listen addresses that appeared are bound, ones that went away stop
  // accepting, every listening socket takes the new listen backlog. On a bind failure
  // nothing changes and the error is returned. The worker count cannot change without a
  // restart (a warning is logged). Each worker swaps to the new Runtime in one step
  // between two events; the one it replaced is kept here until every worker has let go of
  // it, then released on the main thread (its access log writer joins a thread and
  // closes a file: never on a worker).
  std::optional<net::SocketError> reload(Runtime runtime);

  // Stops accepting, closes idle connections at once and busy ones after their
  // current response, forces the rest closed after shutdown_grace, and joins the
  // workers. Returns when every worker has exited.
  void drain();

private:
  struct ListenGroup {
    net::Address configured;
    net::Address bound;
    std::vector<int> fds; // one per worker; the worker owns it once handed over
  };

  // A Runtime replaced by reload number `generation`, until every worker has taken it.
  struct Retired {
    std::uint64_t generation;
    Runtime runtime;
  };

  Server(Runtime runtime, event_base* main);
  static std::variant<ListenGroup, net::SocketError> bindGroup(const net::Address& configured,
                                                               unsigned workers, int backlog);
  static void onRuntimeTaken(evutil_socket_t, short, void* arg) noexcept;
  void releaseRetired();

  Runtime runtime_; // the latest, as handed to the workers
  std::uint64_t generation_ = 0;
  std::vector<Retired> retired_;
  net::EventPtr taken_; // on the main loop; a worker activates it once it swapped
  std::vector<ListenGroup> groups_;
  std::vector<std::unique_ptr<Worker>> workers_;
  bool drained_ = false;
};

} // namespace ferry::proxy
