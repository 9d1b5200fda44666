// The admin listener: GET / (the status page), /status.json, /metrics (Prometheus text
// from the counter, gauge and histogram tables), /healthz (200 while serving, 503 while
// draining) and the PAC file (/proxy.pac, /wpad.dat). It runs on the main thread's event
// loop, answers one request per connection, and serves only the networks in admin.allow.
// It samples the counters every second for the status page's chart.
#pragma once

#include "ferry/admin/settings.h"
#include "ferry/admin/status.h"
#include "ferry/net/event_ptr.h"
#include "ferry/net/listener.h"
#include "ferry/net/socket.h"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <variant>
#include <vector>

namespace ferry::admin {

// What the admin listener learns from the rest of ferry, wired by main. The functions are
// called on the admin's (the main) thread.
struct Sources {
  std::string version;
  std::chrono::system_clock::time_point started;
  std::function<CacheFigures()> cache;
  std::function<net::Address()> proxy_address; // the first proxy listen address, as bound
};

class AdminServer {
public:
  static constexpr std::chrono::milliseconds SampleInterval{1000};
  static constexpr std::size_t HistorySamples = 600; // ten minutes

  // Binds settings.listen (which must be set) on `base`. Returns the error on failure.
  static std::variant<std::unique_ptr<AdminServer>, net::SocketError>
  start(event_base* base, Settings settings, Sources sources);

  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  const net::Address& address() const { return listener_.address(); }
  // New settings (allow-list, PAC file) for requests from now on (SIGHUP); the listen
  // address stays.
  void reconfigure(Settings settings);
  // /healthz answers 503 from now on.
  void setDraining() { draining_ = true; }

private:
  class Connection;

  AdminServer(event_base* base, Settings settings, Sources sources, int fd);
  void accept(int fd, const net::Address& peer);
  static void onReap(evutil_socket_t, short, void* arg) noexcept;
  static void onSample(evutil_socket_t, short, void* arg) noexcept;
  void done(Connection* connection);
  void sample();
  StatusSnapshot snapshot() const;
  std::string metrics() const;

  event_base* base_;
  Settings settings_;
  Sources sources_;
  History history_{HistorySamples};
  net::EventPtr sampler_;
  net::Listener listener_;
  net::EventPtr reap_;
  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> finished_;
  bool draining_ = false;
};

} // namespace ferry::admin
