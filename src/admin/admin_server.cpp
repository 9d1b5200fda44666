// Admin listener. Requests are parsed by the same strict http parser as proxy traffic;
// every answer closes the connection, since monitoring scrapes are rare and short.
#include "ferry/admin/admin_server.h"

#include "ferry/core/assert.h"
#include "ferry/core/counters.h"
#include "ferry/http/error_response.h"
#include "ferry/http/parser.h"

#include <event2/buffer.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <utility>

namespace ferry::admin {
namespace {

constexpr long long RequestTimeoutMs = 10000;

std::string plainResponse(int status, std::string_view content_type, std::string_view body,
                          bool head_request) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " +
                    std::string(http::reasonPhrase(status)) +
                    "\r\nContent-Type: " + std::string(content_type) +
                    "\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n";
  if (!head_request)
    out.append(body);
  return out;
}

} // namespace

// One admin client: read one request head, answer, close once the answer is flushed.
class AdminServer::Connection {
public:
  Connection(AdminServer& server, int fd, bool allowed)
      : server_(server), bev_(bufferevent_socket_new(server.base_, fd, BEV_OPT_CLOSE_ON_FREE)),
        parser_(http::Limits{}), allowed_(allowed) {
    FERRY_ASSERT(bev_);
    bufferevent_setcb(bev_.get(), &Connection::onRead, &Connection::onWrite, &Connection::onEvent,
                      this);
    const timeval timeout = net::toTimeval(RequestTimeoutMs);
    bufferevent_set_timeouts(bev_.get(), &timeout, &timeout);
    bufferevent_enable(bev_.get(), EV_READ | EV_WRITE);
  }

private:
  static void onRead(bufferevent*, void* arg) noexcept { static_cast<Connection*>(arg)->read(); }
  static void onWrite(bufferevent* bev, void* arg) noexcept {
    auto* self = static_cast<Connection*>(arg);
    if (self->answered_ && !self->closing_ &&
        evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
      self->closing_ = true;
      ::shutdown(bufferevent_getfd(bev), SHUT_WR);
      self->server_.done(self);
    }
  }
  static void onEvent(bufferevent* bev, short, void* arg) noexcept {
    auto* self = static_cast<Connection*>(arg);
    bufferevent_disable(bev, EV_READ | EV_WRITE);
    if (!self->closing_) {
      self->closing_ = true;
      self->server_.done(self);
    }
  }

  void read() {
    if (answered_)
      return;
    evbuffer* in = bufferevent_get_input(bev_.get());
    const std::size_t length = evbuffer_get_length(in);
    const auto* data = reinterpret_cast<const char*>(evbuffer_pullup(in, -1));
    const http::Step step = parser_.parse({data, length});
    evbuffer_drain(in, step.consumed);
    if (step.event == http::Event::Error) {
      answer(http::errorResponse(parser_.error().status, parser_.error().reason, true));
    } else if (step.event == http::Event::Head) {
      answer(respond(parser_.head()));
    }
  }

  std::string respond(const http::RequestHead& head) const {
    const bool is_head = head.isMethod("HEAD");
    if (!allowed_)
      return http::errorResponse(403, "your address may not use the admin interface", true);
    if (!head.isMethod("GET") && !is_head)
      return http::errorResponse(405, "the admin interface answers GET and HEAD", true, is_head);
    if (head.target == "/healthz")
      return server_.draining_
                 ? plainResponse(503, "text/plain; charset=utf-8", "draining\n", is_head)
                 : plainResponse(200, "text/plain; charset=utf-8", "ok\n", is_head);
    if (head.target == "/metrics")
      return plainResponse(200, "text/plain; version=0.0.4; charset=utf-8",
                           core::renderPrometheus(core::snapshotCounters()), is_head);
    return http::errorResponse(404, "unknown admin path (try /healthz or /metrics)", true, is_head);
  }

  void answer(const std::string& bytes) {
    answered_ = true;
    bufferevent_write(bev_.get(), bytes.data(), bytes.size());
  }

  AdminServer& server_;
  net::BuffereventPtr bev_;
  http::RequestParser parser_;
  bool allowed_;
  bool answered_ = false;
  bool closing_ = false; // handed to done(); waiting to be destroyed
};

std::variant<std::unique_ptr<AdminServer>, net::SocketError> AdminServer::start(event_base* base,
                                                                                Settings settings) {
  FERRY_ASSERT(settings.listen.has_value());
  auto fd = net::openListenSocket(*settings.listen, 64);
  if (auto* err = std::get_if<net::SocketError>(&fd))
    return *err;
  return std::unique_ptr<AdminServer>(
      new AdminServer(base, std::move(settings), std::get<int>(fd)));
}

AdminServer::AdminServer(event_base* base, Settings settings, int fd)
    : base_(base), settings_(std::move(settings)),
      listener_(base, fd, [this](int client, const net::Address& peer) { accept(client, peer); }),
      reap_(event_new(base, -1, 0, &AdminServer::onReap, this)) {
  FERRY_ASSERT(reap_);
}

AdminServer::~AdminServer() = default;

void AdminServer::accept(int fd, const net::Address& peer) {
  const bool allowed = net::anyContains(settings_.allowed, peer);
  if (!allowed)
    spdlog::info("admin: {} refused: not in admin.allow", peer.toString());
  auto connection = std::make_unique<Connection>(*this, fd, allowed);
  Connection* raw = connection.get();
  connections_.emplace(raw, std::move(connection));
}

// Called from the connection's own callback: it is destroyed later, from the loop.
void AdminServer::done(Connection* connection) {
  finished_.push_back(connection);
  event_active(reap_.get(), EV_TIMEOUT, 0);
}

void AdminServer::onReap(evutil_socket_t, short, void* arg) noexcept {
  auto* self = static_cast<AdminServer*>(arg);
  for (Connection* c : std::exchange(self->finished_, {}))
    self->connections_.erase(c);
}

} // namespace ferry::admin
