// The admin listener: GET /healthz (200 while serving, 503 while draining) and GET
// /metrics (Prometheus text from the counters table). It runs on the main thread's event
// loop, answers one request per connection, and serves only the networks in admin.allow.
#pragma once

#include "ferry/admin/settings.h"
#include "ferry/net/event_ptr.h"
#include "ferry/net/listener.h"
#include "ferry/net/socket.h"

#include <memory>
#include <optional>
#include <unordered_map>
#include <variant>
#include <vector>

namespace ferry::admin {

class AdminServer {
public:
  // Binds settings.listen (which must be set) on `base`. Returns the error on failure.
  static std::variant<std::unique_ptr<AdminServer>, net::SocketError> start(event_base* base,
                                                                            Settings settings);

  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  const net::Address& address() const { return listener_.address(); }
  // New allow-list for connections accepted from now on (SIGHUP).
  void setAllowed(std::vector<net::Cidr> allowed) { settings_.allowed = std::move(allowed); }
  // /healthz answers 503 from now on.
  void setDraining() { draining_ = true; }

private:
  class Connection;

  AdminServer(event_base* base, Settings settings, int fd);
  void accept(int fd, const net::Address& peer);
  static void onReap(evutil_socket_t, short, void* arg) noexcept;
  void done(Connection* connection);

  event_base* base_;
  Settings settings_;
  net::Listener listener_;
  net::EventPtr reap_;
  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> finished_;
  bool draining_ = false;
};

} // namespace ferry::admin
