// OriginExchange driven by hand: a scripted origin on a loopback socket, the loop turned by
// the test, time from a fake clock. What the owner is told, and what becomes of the
// connection (pooled only when clean, retried once, the next hop when a parent is down).
#include "by_hand.h"
#include "origin_exchange.h"
#include "water_marks.h"

#include "ferry/http/target.h"

#include <sys/socket.h>
#include <unistd.h>

using namespace ferry;
using namespace ferry::proxy;
using namespace ferry::proxy::by_hand;

namespace {

class RecordingOwner final : public OriginExchange::Owner {
public:
  void onInterim(http::ResponseHead& head) override { interim.push_back(head.status); }
  void onHead(http::ResponseHead& head, http::Framing, const http::ConnectionOptions&) override {
    status = head.status;
  }
  void onBody(std::string_view data) override { body.append(data); }
  void onEnd() override { ended = true; }
  void onFailed(const OriginExchange::Failure& f) override { failure = f; }
  void onTunnel() override {}
  void onRequestDrained() override { ++drained; }

  bool over() const { return ended || failure.has_value(); }

  std::vector<int> interim;
  int status = 0;
  std::string body;
  bool ended = false;
  int drained = 0; // onRequestDrained() calls
  std::optional<OriginExchange::Failure> failure;
};

OriginExchange::Request get(const ScriptedOrigin& origin, std::string path,
                            std::vector<Hop> hops = {Hop{}}) {
  OriginExchange::Request request;
  request.target = http::parseTarget("GET", "http://" + origin.authority() + path);
  request.head.method = "GET";
  request.head.target = "http://" + origin.authority() + path;
  request.hops = std::move(hops);
  request.connect_timeout = 5s;
  return request;
}

const std::string Hello = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

// A pooled connection to `origin`, its first exchange over; the origin's end of it.
int pooledConnection(Rig& rig, ScriptedOrigin& origin) {
  RecordingOwner first;
  OriginExchange one(*rig.worker, *rig.settings, first, get(origin, "/a"));
  one.start();
  const int fd = origin.accept(rig);
  REQUIRE(fd >= 0);
  ScriptedOrigin::readUntil(rig, fd);
  ScriptedOrigin::send(fd, Hello);
  REQUIRE(rig.runUntil([&] { return first.over(); }));
  REQUIRE(first.ended);
  REQUIRE(rig.worker->pool().idleCount() == 1);
  return fd;
}

} // namespace

TEST_CASE("#10 an exchange reports head, body and end, and pools a clean connection", "[proxy]") {
  Rig rig;
  ScriptedOrigin origin;
  RecordingOwner owner;
  rig.clock.advance(42s);
  OriginExchange exchange(*rig.worker, *rig.settings, owner, get(origin, "/a"));
  exchange.start();
  const int fd = origin.accept(rig);
  REQUIRE(fd >= 0);
  CHECK(ScriptedOrigin::readUntil(rig, fd) ==
        "GET /a HTTP/1.1\r\nHost: " + origin.authority() + "\r\n\r\n");
  ScriptedOrigin::send(fd, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n" + Hello);
  REQUIRE(rig.runUntil([&] { return owner.over(); }));
  CHECK(owner.interim == std::vector<int>{100, 103});
  CHECK(owner.status == 200);
  CHECK(owner.body == "hello");
  CHECK(owner.ended);
  CHECK(exchange.requestTime() == rig.clock.wall()); // RFC 9111 §4.2.3, from the clock
  CHECK(rig.worker->pool().idleCount() == 1);
}

TEST_CASE("#10 a pooled connection is closed after timeouts.origin_idle", "[proxy]") {
  Settings settings;
  settings.timeouts.origin_idle = 50ms;
  Rig rig(settings);
  ScriptedOrigin origin;
  const int fd = pooledConnection(rig, origin);
  CHECK(rig.runUntil([&] { return rig.worker->pool().idleCount() == 0; }));
  CHECK(ScriptedOrigin::readUntil(rig, fd).empty()); // EOF: ferry closed it
}

TEST_CASE("#10 a pooled connection is dropped at once when its origin sends or closes", "[proxy]") {
  Rig rig;
  ScriptedOrigin origin;
  const int fd = pooledConnection(rig, origin);
  SECTION("stray bytes") {
    ScriptedOrigin::send(fd, "HTTP/1.1 200 OK\r\n");
    CHECK(rig.runUntil([&] { return rig.worker->pool().idleCount() == 0; }));
  }
  SECTION("EOF") {
    ::shutdown(fd, SHUT_WR);
    CHECK(rig.runUntil([&] { return rig.worker->pool().idleCount() == 0; }));
    CHECK(ScriptedOrigin::readUntil(rig, fd).empty()); // EOF: ferry closed it
  }
}

TEST_CASE("#10 the next exchange on a pooled connection reads its own response", "[proxy]") {
  Rig rig;
  ScriptedOrigin origin;
  const int fd = pooledConnection(rig, origin);

  RecordingOwner second;
  OriginExchange two(*rig.worker, *rig.settings, second, get(origin, "/b"));
  two.start();
  CHECK(rig.worker->pool().idleCount() == 0);
  CHECK(ScriptedOrigin::readUntil(rig, fd) ==
        "GET /b HTTP/1.1\r\nHost: " + origin.authority() + "\r\n\r\n");
  ScriptedOrigin::send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbye");
  REQUIRE(rig.runUntil([&] { return second.over(); }));
  CHECK(second.body == "bye");
  CHECK(rig.worker->pool().idleCount() == 1);
}

TEST_CASE("#10 #9 bytes after the response: the connection is closed, not pooled", "[proxy]") {
  Rig rig;
  ScriptedOrigin origin;
  RecordingOwner owner;
  OriginExchange exchange(*rig.worker, *rig.settings, owner, get(origin, "/a"));
  exchange.start();
  const int fd = origin.accept(rig);
  REQUIRE(fd >= 0);
  ScriptedOrigin::readUntil(rig, fd);
  ScriptedOrigin::send(fd, Hello + "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL");
  REQUIRE(rig.runUntil([&] { return owner.over(); }));
  CHECK(owner.body == "hello");
  CHECK(rig.worker->pool().idleCount() == 0);
}

TEST_CASE("#10 a reused connection that dies before any byte: sent again once, fresh", "[proxy]") {
  Rig rig;
  ScriptedOrigin origin;
  int pooled = -1;
  {
    RecordingOwner first;
    OriginExchange exchange(*rig.worker, *rig.settings, first, get(origin, "/first"));
    exchange.start();
    pooled = origin.accept(rig);
    ScriptedOrigin::readUntil(rig, pooled);
    ScriptedOrigin::send(pooled, Hello);
    REQUIRE(rig.runUntil([&] { return first.over(); }));
    REQUIRE(rig.worker->pool().idleCount() == 1);
  }
  RecordingOwner second;
  OriginExchange exchange(*rig.worker, *rig.settings, second, get(origin, "/second"));
  exchange.start(); // on the pooled connection, which the origin closes unanswered
  CHECK(ScriptedOrigin::readUntil(rig, pooled).starts_with("GET /second "));
  ::shutdown(pooled, SHUT_RDWR);
  const int fresh = origin.accept(rig);
  REQUIRE(fresh >= 0);
  CHECK(ScriptedOrigin::readUntil(rig, fresh).starts_with("GET /second "));
  ScriptedOrigin::send(fresh, Hello);
  REQUIRE(rig.runUntil([&] { return second.over(); }));
  CHECK(second.body == "hello");
  CHECK_FALSE(second.failure);
}

TEST_CASE("#10 a parent gets absolute-form with its credentials; one that is down is skipped",
          "[proxy]") {
  Rig rig;
  ScriptedOrigin origin; // plays the parent, then the origin
  Parent dead;
  dead.host = "127.0.0.1";
  dead.port = 1; // nothing listens there
  Parent parent;
  parent.host = "127.0.0.1";
  parent.port = origin.port();
  parent.authorization = "Basic YTpi";
  SECTION("through the parent") {
    RecordingOwner owner;
    OriginExchange exchange(*rig.worker, *rig.settings, owner,
                            get(origin, "/p", {Hop{&parent}, Hop{}}));
    exchange.start();
    const int fd = origin.accept(rig);
    CHECK(ScriptedOrigin::readUntil(rig, fd) == "GET http://" + origin.authority() +
                                                    "/p HTTP/1.1\r\nHost: " + origin.authority() +
                                                    "\r\nProxy-Authorization: Basic YTpi\r\n\r\n");
    ScriptedOrigin::send(fd, Hello);
    REQUIRE(rig.runUntil([&] { return owner.over(); }));
    CHECK(exchange.parent() == &parent);
  }
  SECTION("a parent that drops a fresh connection unanswered: marked down, next hop") {
    ScriptedOrigin dropping;
    Parent flaky;
    flaky.host = "127.0.0.1";
    flaky.port = dropping.port();
    RecordingOwner owner;
    OriginExchange exchange(*rig.worker, *rig.settings, owner,
                            get(origin, "/f", {Hop{&flaky}, Hop{}}));
    exchange.start();
    const int dropped = dropping.accept(rig);
    REQUIRE(dropped >= 0);
    ScriptedOrigin::readUntil(rig, dropped);
    ::shutdown(dropped, SHUT_RDWR);
    const int fd = origin.accept(rig);
    REQUIRE(fd >= 0);
    CHECK(ScriptedOrigin::readUntil(rig, fd).starts_with("GET /f HTTP/1.1\r\n"));
    ScriptedOrigin::send(fd, Hello);
    REQUIRE(rig.runUntil([&] { return owner.over(); }));
    CHECK(owner.body == "hello");
    CHECK(rig.worker->parentHealth().isDown(flaky, rig.clock.steady()));
  }
  SECTION("a parent that refuses: a body larger than the replay copy goes on whole") {
    const std::string body = std::string(100 * 1024, 'b') + "end"; // more than the 64 KiB
                                                                   // kept for a retry
    OriginExchange::Request request = get(origin, "/upload", {Hop{&dead}, Hop{}});
    request.head.method = "POST";
    request.head.headers.add("Content-Length", std::to_string(body.size()));
    request.body_framing = {http::Framing::Length, body.size()};
    request.body_done = false;
    RecordingOwner owner;
    OriginExchange exchange(*rig.worker, *rig.settings, owner, std::move(request));
    exchange.start();
    exchange.sendBody(body); // while the first hop is still being connected to
    exchange.endBody();
    const int fd = origin.accept(rig);
    REQUIRE(fd >= 0);
    const std::string received = ScriptedOrigin::readUntil(rig, fd, "end");
    CHECK(received.size() == received.find("\r\n\r\n") + 4 + body.size());
    ScriptedOrigin::send(fd, Hello);
    REQUIRE(rig.runUntil([&] { return owner.over(); }));
    CHECK(owner.body == "hello");
  }
  SECTION("a parent that refuses: marked down, the next hop (direct) answers") {
    RecordingOwner owner;
    OriginExchange exchange(*rig.worker, *rig.settings, owner,
                            get(origin, "/d", {Hop{&dead}, Hop{}}));
    exchange.start();
    const int fd = origin.accept(rig);
    REQUIRE(fd >= 0);
    CHECK(ScriptedOrigin::readUntil(rig, fd).starts_with("GET /d HTTP/1.1\r\n"));
    ScriptedOrigin::send(fd, Hello);
    REQUIRE(rig.runUntil([&] { return owner.over(); }));
    CHECK(owner.body == "hello");
    CHECK(exchange.parent() == nullptr);
    CHECK(rig.worker->parentHealth().isDown(dead, rig.clock.steady()));
    CHECK_FALSE(rig.worker->parentHealth().isDown(
        dead, rig.clock.steady() + rig.settings->upstream.parent_down + 1s));
  }
}

TEST_CASE("#13 a body is lent only once the request's last bytes have left", "[proxy]") {
  Rig rig;
  ScriptedOrigin origin;
  // An upload larger than the socket buffers take while the origin reads nothing.
  const std::string upload = std::string(8 << 20, 'u') + "end";
  OriginExchange::Request request = get(origin, "/echo");
  request.head.method = "POST";
  request.head.headers.add("Content-Length", std::to_string(upload.size()));
  request.body_framing = {http::Framing::Length, upload.size()};
  request.body_done = false;
  RecordingOwner owner;
  OriginExchange exchange(*rig.worker, *rig.settings, owner, std::move(request));
  std::optional<std::uint64_t> lent;
  exchange.lendBody([&](int, std::uint64_t left) {
    lent = left;
    return false; // the exchange reads the body on itself
  });
  exchange.start();
  exchange.sendBody(upload);
  exchange.endBody();
  const int fd = origin.accept(rig);
  REQUIRE(fd >= 0);
  const std::string body(100 << 10, 'b');
  // The origin answers before it reads the upload, as one that streams its answer does.
  ScriptedOrigin::send(fd, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                               "\r\n\r\n" + body.substr(0, 10));
  rig.runUntil([&] { return owner.status != 0; });
  REQUIRE(owner.status == 200);
  CHECK_FALSE(lent);    // the request is still queued: lending would stop sending it
  std::string received; // then it reads the upload
  REQUIRE(rig.runUntil(
      [&] {
        char buffer[1 << 16];
        for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;)
          received.append(buffer, static_cast<std::size_t>(n));
        return received.ends_with("end");
      },
      30s));
  REQUIRE(rig.runUntil([&] { return lent.has_value(); }));
  CHECK(*lent == body.size() - 10);
  ScriptedOrigin::send(fd, body.substr(10));
  REQUIRE(rig.runUntil([&] { return owner.over(); }));
  CHECK(owner.body == body);
}

TEST_CASE("#10 an upload on a reused connection outlives the pool's idle timeout", "[proxy]") {
  Settings settings;
  settings.timeouts.origin_idle = 100ms;
  settings.timeouts.origin_response = 10s;
  Rig rig(settings);
  ScriptedOrigin origin;
  pooledConnection(rig, origin);

  OriginExchange::Request request = get(origin, "/put");
  request.head.method = "PUT";
  request.head.headers.add("Content-Length", "8");
  request.body_framing = {http::Framing::Length, 8};
  request.body_done = false;
  RecordingOwner owner;
  OriginExchange exchange(*rig.worker, *rig.settings, owner, std::move(request));
  exchange.start();
  REQUIRE(rig.worker->pool().idleCount() == 0); // the pooled one carries it
  exchange.sendBody("1234");
  // The client sends the rest 300 ms later: the origin owes no answer yet.
  rig.runUntil([&] { return owner.over(); }, 300ms);
  if (owner.failure)
    FAIL_CHECK("failed mid-upload: " << owner.failure->status << " " << owner.failure->why);
  exchange.endBody();
}

TEST_CASE("#10 a connection taken as its idle timeout falls due still hears its response",
          "[proxy]") {
  Settings settings;
  settings.timeouts.origin_idle = 20ms;
  settings.timeouts.origin_response = 1s;
  Rig rig(settings);
  ScriptedOrigin origin;
  const int fd = pooledConnection(rig, origin);

  // The idle timeout falls due while the loop is busy elsewhere; in the same turn of the
  // loop a client's request (here: a readable socketpair) takes the connection first.
  RecordingOwner owner;
  OriginExchange exchange(*rig.worker, *rig.settings, owner, get(origin, "/b"));
  int pair[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair) == 0);
  struct Trigger {
    OriginExchange* exchange;
    bool started = false;
  } trigger{&exchange};
  event* ev = event_new(
      rig.worker->base(), pair[0], EV_READ,
      [](evutil_socket_t, short, void* arg) {
        auto* t = static_cast<Trigger*>(arg);
        t->exchange->start();
        t->started = true;
      },
      &trigger);
  event_add(ev, nullptr);
  ::usleep(60'000); // past origin_idle, the loop not turning
  REQUIRE(::write(pair[1], "x", 1) == 1);
  REQUIRE(rig.runUntil([&] { return trigger.started; }));
  CHECK(rig.worker->pool().idleCount() == 0); // taken, not dropped
  CHECK(ScriptedOrigin::readUntil(rig, fd).starts_with("GET /b HTTP/1.1\r\n"));
  ScriptedOrigin::send(fd, Hello);
  REQUIRE(rig.runUntil([&] { return owner.over(); }, 3s));
  CHECK(owner.body == "hello");
  if (owner.failure)
    FAIL_CHECK("failed: " << owner.failure->status << " " << owner.failure->why);
  event_free(ev);
  ::close(pair[0]);
  ::close(pair[1]);
}

TEST_CASE("#10 an interim answer mid-upload on a reused connection arms no stale timeout",
          "[proxy]") {
  Settings settings;
  settings.timeouts.origin_idle = 100ms;
  settings.timeouts.origin_response = 10s;
  Rig rig(settings);
  ScriptedOrigin origin;
  const int fd = pooledConnection(rig, origin);

  OriginExchange::Request request = get(origin, "/put");
  request.head.method = "PUT";
  request.head.headers.add("Content-Length", "8");
  request.head.headers.add("Expect", "100-continue");
  request.body_framing = {http::Framing::Length, 8};
  request.body_done = false;
  RecordingOwner owner;
  OriginExchange exchange(*rig.worker, *rig.settings, owner, std::move(request));
  exchange.start();
  REQUIRE(rig.worker->pool().idleCount() == 0);
  CHECK(ScriptedOrigin::readUntil(rig, fd).starts_with("PUT /put HTTP/1.1\r\n"));
  ScriptedOrigin::send(fd, "HTTP/1.1 100 Continue\r\n\r\n");
  REQUIRE(rig.runUntil([&] { return !owner.interim.empty() || owner.over(); }));
  exchange.sendBody("1234");
  rig.runUntil([&] { return owner.over(); }, 300ms); // the client is slow; no answer is due
  if (owner.failure)
    FAIL_CHECK("failed mid-upload: " << owner.failure->status << " " << owner.failure->why);
  exchange.endBody();
}

TEST_CASE("#13 an upload that backed up while connecting is reported drained once it is sent",
          "[proxy]") {
  // sendBody() tells the owner to wait for onRequestDrained() (a Transaction stops reading
  // its client); once connected, the queued bytes may all leave in the first write, with no
  // write event left to say so.
  Rig rig;
  ScriptedOrigin origin;
  const std::string upload(HighWater + 1, 'u'); // past HighWater, within the socket buffer
  OriginExchange::Request request = get(origin, "/up");
  request.head.method = "POST";
  request.head.headers.add("Content-Length", std::to_string(2 * upload.size()));
  request.body_framing = {http::Framing::Length, 2 * upload.size()};
  request.body_done = false;
  RecordingOwner owner;
  OriginExchange exchange(*rig.worker, *rig.settings, owner, std::move(request));
  exchange.start();                         // connecting: the body queues in the exchange
  REQUIRE_FALSE(exchange.sendBody(upload)); // the owner must wait for onRequestDrained()
  const int fd = origin.accept(rig);
  REQUIRE(fd >= 0);
  std::string received;
  CHECK(rig.runUntil(
      [&] {
        char buffer[1 << 16];
        for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;)
          received.append(buffer, static_cast<std::size_t>(n));
        return received.ends_with(upload) && owner.drained > 0;
      },
      3s));
  CHECK(received.ends_with(upload));
  CHECK(owner.drained > 0);
}
