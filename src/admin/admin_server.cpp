// Admin listener. Requests are parsed by the same strict http parser as proxy traffic;
// every answer closes the connection, since monitoring scrapes are rare and short.
#include "ferry/admin/admin_server.h"

#include "ferry/core/assert.h"
#include "ferry/core/counters.h"
#include "ferry/http/error_response.h"
#include "ferry/http/parser.h"
#include "ferry/pac/pac.h"

#include <event2/buffer.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <utility>

namespace ferry::admin {
namespace {

constexpr long long RequestTimeoutMs = 10000;
constexpr std::size_t TopHostCount = 20;
constexpr std::string_view PlainText = "text/plain; charset=utf-8";

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
    const std::string_view path = std::string_view(head.target).substr(0, head.target.find('?'));
    auto ok = [&](std::string_view type, std::string_view body) {
      return http::ownResponse(200, type, body, true, is_head);
    };
    if (path == "/")
      return ok("text/html; charset=utf-8", statusPage());
    if (path == "/status.json")
      return ok("application/json", renderStatusJson(server_.snapshot()));
    if (path == "/healthz")
      return server_.draining_ ? http::ownResponse(503, PlainText, "draining\n", true, is_head)
                               : ok(PlainText, "ok\n");
    if (path == "/metrics")
      return ok("text/plain; version=0.0.4; charset=utf-8", server_.metrics());
    if (pac::isScriptPath(head.target)) {
      const auto& pac = server_.settings_.pac;
      const net::Address reached = net::localAddress(bufferevent_getfd(bev_.get()));
      return ok(
          pac::ContentType,
          pac::script(pac, pac::announcedProxy(pac, server_.sources_.proxy_address(), reached)));
    }
    return http::errorResponse(
        404, "unknown admin path (try /, /status.json, /metrics, /healthz or /proxy.pac)", true,
        is_head);
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

std::variant<std::unique_ptr<AdminServer>, net::SocketError>
AdminServer::start(event_base* base, Settings settings, Sources sources) {
  FERRY_ASSERT(settings.listen.has_value());
  auto fd = net::openListenSocket(*settings.listen, 64);
  if (auto* err = std::get_if<net::SocketError>(&fd))
    return *err;
  return std::unique_ptr<AdminServer>(
      new AdminServer(base, std::move(settings), std::move(sources), std::get<int>(fd)));
}

AdminServer::AdminServer(event_base* base, Settings settings, Sources sources, int fd)
    : base_(base), settings_(std::move(settings)), sources_(std::move(sources)),
      sampler_(event_new(base, -1, EV_PERSIST, &AdminServer::onSample, this)),
      listener_(base, fd, [this](int client, const net::Address& peer) { accept(client, peer); }),
      reap_(event_new(base, -1, 0, &AdminServer::onReap, this)) {
  FERRY_ASSERT(reap_ && sampler_);
  sample();
  const timeval interval = net::toTimeval(SampleInterval.count());
  event_add(sampler_.get(), &interval);
}

void AdminServer::reconfigure(Settings settings) {
  settings.listen = settings_.listen;
  settings_ = std::move(settings);
}

void AdminServer::onSample(evutil_socket_t, short, void* arg) noexcept {
  static_cast<AdminServer*>(arg)->sample();
}

void AdminServer::sample() {
  const auto counters = core::snapshotCounters();
  const auto gauges = core::snapshotGauges();
  history_.add({std::chrono::system_clock::now(),
                counters[core::index(core::Counter::RequestsTotal)].value,
                counters[core::index(core::Counter::CacheStatusHit)].value,
                counters[core::index(core::Counter::ClientBytesOut)].value,
                gauges[static_cast<std::size_t>(core::Gauge::ClientConnections)].value});
}

StatusSnapshot AdminServer::snapshot() const {
  StatusSnapshot s;
  s.version = sources_.version;
  s.config_file = settings_.config_file;
  s.started = sources_.started;
  s.now = std::chrono::system_clock::now();
  s.counters = core::snapshotCounters();
  s.gauges = core::snapshotGauges();
  s.histograms = core::snapshotHistograms();
  s.origins = core::traffic::snapshotOrigins();
  s.top_hosts = core::traffic::topHosts(TopHostCount);
  s.cache = sources_.cache();
  s.sample_interval = SampleInterval;
  s.history = history_.samples();
  return s;
}

std::string AdminServer::metrics() const {
  const CacheFigures cache = sources_.cache();
  auto to = [](std::size_t n) { return static_cast<std::int64_t>(n); };
  const std::vector<core::GaugeValue> cache_gauges{
      {"cache_entries", "entries in the memory cache", to(cache.entries)},
      {"cache_memory_bytes", "bytes charged to the memory cache", to(cache.memory_used)},
      {"cache_memory_budget_bytes", "the memory cache's budget (cache.memory)",
       to(cache.memory_budget)},
      {"cache_disk_entries", "entries in the disk tier", to(cache.disk_entries)},
      {"cache_disk_bytes", "bytes charged to the disk tier", to(cache.disk_used)},
      {"cache_disk_budget_bytes", "the disk tier's budget (cache.disk.size; 0: no disk tier)",
       to(cache.disk_budget)}};
  return core::renderPrometheus(core::snapshotCounters()) +
         core::renderPrometheus(core::snapshotGauges()) + core::renderPrometheus(cache_gauges) +
         core::renderPrometheus(core::snapshotHistograms());
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
