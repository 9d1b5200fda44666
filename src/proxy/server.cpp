// Server: listening sockets per worker and the main-thread side of reload and drain.
#include "ferry/proxy/server.h"

#include "worker.h"

#include "ferry/core/assert.h"
#include "ferry/net/destination_policy.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

namespace ferry::proxy {
namespace {

void closeAll(const std::vector<int>& fds) {
  for (int fd : fds)
    ::close(fd);
}

// Where the workers may connect: the access settings, never ferry itself (`listening` and
// the other listeners), and for a wildcard listener none of this host's addresses on its
// port. The interfaces are read here, once per start or reload, not on the data path.
std::shared_ptr<const net::DestinationPolicy>
destinationPolicy(const Runtime& runtime, std::vector<net::Address> listening) {
  const Settings& settings = *runtime.settings;
  listening.insert(listening.end(), runtime.other_listeners.begin(), runtime.other_listeners.end());
  return std::make_shared<const net::DestinationPolicy>(
      settings.deny_destinations, settings.allow_destinations, std::move(listening),
      net::interfaceAddresses());
}

} // namespace

Server::Server(Runtime runtime, event_base* main)
    : runtime_(std::move(runtime)), taken_(event_new(main, -1, 0, &Server::onRuntimeTaken, this)) {
  FERRY_ASSERT(taken_);
}

Server::~Server() {
  drain();
}

std::variant<Server::ListenGroup, net::SocketError>
Server::bindGroup(const net::Address& configured, unsigned workers, int backlog) {
  ListenGroup group{configured, configured, {}};
  for (unsigned i = 0; i < workers; ++i) {
    auto fd = net::openListenSocket(group.bound, backlog);
    if (auto* err = std::get_if<net::SocketError>(&fd)) {
      closeAll(group.fds);
      return *err;
    }
    group.fds.push_back(std::get<int>(fd));
    if (i == 0)
      group.bound = net::localAddress(group.fds.front());
  }
  return group;
}

std::variant<std::unique_ptr<Server>, net::SocketError> Server::start(Runtime runtime,
                                                                      event_base* main) {
  const std::shared_ptr<const Settings> settings = runtime.settings;
  std::unique_ptr<Server> server(new Server(runtime, main));
  for (const auto& address : settings->listen) {
    auto group = bindGroup(address, settings->workers, settings->limits.listen_backlog);
    if (auto* err = std::get_if<net::SocketError>(&group)) {
      for (auto& g : server->groups_)
        closeAll(g.fds);
      server->groups_.clear();
      server->drained_ = true;
      return *err;
    }
    server->groups_.push_back(std::move(std::get<ListenGroup>(group)));
  }
  const auto destinations = destinationPolicy(runtime, server->listening());
  const auto parents = std::make_shared<ParentHealth>();
  for (unsigned i = 0; i < settings->workers; ++i) {
    auto worker = std::make_unique<Worker>(i, runtime, destinations, parents);
    for (auto& g : server->groups_)
      worker->addListener(g.fds[i]);
    worker->start();
    server->workers_.push_back(std::move(worker));
  }
  return server;
}

std::vector<net::Address> Server::listening() const {
  std::vector<net::Address> out;
  for (const auto& g : groups_)
    out.push_back(g.bound);
  return out;
}

std::optional<net::SocketError> Server::reload(Runtime runtime) {
  std::shared_ptr<const Settings> settings = runtime.settings;
  const unsigned workers = runtime_.settings->workers;
  if (settings->workers != workers)
    spdlog::warn("workers changed from {} to {}: takes effect after a restart", workers,
                 settings->workers);

  std::vector<ListenGroup> added;
  for (const auto& address : settings->listen) {
    const bool known = std::any_of(groups_.begin(), groups_.end(),
                                   [&](const ListenGroup& g) { return g.configured == address; });
    if (known)
      continue;
    auto group = bindGroup(address, workers, settings->limits.listen_backlog);
    if (auto* err = std::get_if<net::SocketError>(&group)) {
      for (auto& g : added)
        closeAll(g.fds);
      return *err;
    }
    added.push_back(std::move(std::get<ListenGroup>(group)));
  }

  std::vector<ListenGroup> kept;
  std::vector<ListenGroup> removed;
  for (auto& g : groups_) {
    const bool stays = std::find(settings->listen.begin(), settings->listen.end(), g.configured) !=
                       settings->listen.end();
    (stays ? kept : removed).push_back(std::move(g));
  }
  for (const auto& g : kept)
    for (int fd : g.fds)
      net::setBacklog(fd, settings->limits.listen_backlog);

  std::vector<net::Address> listening;
  for (const auto& g : kept)
    listening.push_back(g.bound);
  for (const auto& g : added)
    listening.push_back(g.bound);
  // Everything the workers need is built here, on the main thread: each worker only swaps
  // pointers, and the Runtime it drops is not the last reference (retired_ holds one).
  const auto destinations = destinationPolicy(runtime, std::move(listening));
  const std::uint64_t generation = ++generation_;
  retired_.push_back({generation, std::exchange(runtime_, runtime)});
  event* taken = taken_.get();
  for (unsigned i = 0; i < workers; ++i) {
    std::vector<int> add_fds;
    std::vector<int> remove_fds;
    for (auto& g : added)
      add_fds.push_back(g.fds[i]);
    for (auto& g : removed)
      remove_fds.push_back(g.fds[i]);
    Worker* w = workers_[i].get();
    w->post([w, runtime, destinations, add_fds, remove_fds, generation, taken]() mutable {
      // Moved, not copied: the task holds no reference once the worker has taken them.
      w->setRuntime(std::move(runtime), std::move(destinations), generation);
      for (int fd : remove_fds)
        w->removeListener(fd);
      for (int fd : add_fds)
        w->addListener(fd);
      event_active(taken, EV_TIMEOUT, 0);
    });
  }
  for (auto& g : removed)
    spdlog::info("stopped listening on {}", g.bound.toString());
  for (auto& g : added) {
    spdlog::info("listening on {}", g.bound.toString());
    kept.push_back(std::move(g));
  }
  groups_ = std::move(kept);
  return std::nullopt;
}

void Server::onRuntimeTaken(evutil_socket_t, short, void* arg) noexcept {
  static_cast<Server*>(arg)->releaseRetired();
}

// On the main thread: a Runtime every worker has replaced goes, and with it (when nothing
// else holds them) the config snapshot and the access log writer it carried.
void Server::releaseRetired() {
  std::uint64_t taken = generation_;
  for (const auto& w : workers_)
    taken = std::min(taken, w->runtimeGeneration());
  std::erase_if(retired_, [taken](const Retired& r) { return r.generation <= taken; });
}

void Server::drain() {
  if (drained_)
    return;
  drained_ = true;
  for (auto& w : workers_) {
    Worker* raw = w.get();
    raw->post([raw] { raw->beginDrain(); });
  }
  for (auto& w : workers_)
    w->join();
  workers_.clear();
  groups_.clear();
  retired_.clear();
  taken_.reset(); // before the main loop goes
}

} // namespace ferry::proxy
