// Keep-alive client connections between requests. Idle for timeouts.client_rest, ferry keeps
// only the socket, in its worker's epoll set of resting sockets (ClientSession's Resting
// state): the next request after a pause, pipelined or in pieces, a connection that never
// pauses long enough, the idle timeout, a half-close, SIGHUP and SIGTERM, on connections awake
// and resting. The real
// binary, a FakeOrigin, RawClients.
#include "support/fake_origin.h"
#include "support/ferry_process.h"
#include "support/raw_client.h"

#include <catch2/catch.hpp>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

using namespace ferry::test;

namespace {

// ferry with an admin listener, so that tests can read its counters and gauges. Connections
// rest after 100-200 ms idle unless `timeouts` (lines of the timeouts map) say otherwise.
std::string config(const std::string& timeouts) {
  return "listen: [\"127.0.0.1:0\"]\nworkers: 2\nadmin:\n  listen: 127.0.0.1:0\n"
         "access:\n  allow_destinations: [127.0.0.0/8]\ntimeouts:\n" +
         (timeouts.empty() ? std::string("  client_rest: 100ms\n") : timeouts);
}

std::string get(const FakeOrigin& origin, const std::string& path) {
  return "GET http://" + origin.authority() + path + " HTTP/1.1\r\nHost: " + origin.authority() +
         "\r\n\r\n";
}

struct Ferry {
  explicit Ferry(const std::string& timeouts = "") : process(config(timeouts)) {
    auto p = process.waitListening();
    REQUIRE(p);
    port = *p;
    auto a = process.waitAdminPort();
    REQUIRE(a);
    admin_port = *a;
  }
  RawClient client() const { return RawClient("127.0.0.1", port); }
  // A new connection that has had `path` answered through `origin`, now idle.
  RawClient servedClient(const FakeOrigin& origin, const std::string& path) const {
    RawClient c = client();
    c.send(get(origin, path));
    REQUIRE(c.readResponse());
    return c;
  }
  // The value of the sample `name` in /metrics ("" when absent or unreadable).
  std::string metric(const std::string& name) const {
    RawClient admin("127.0.0.1", admin_port);
    admin.send("GET /metrics HTTP/1.1\r\nHost: ferry\r\n\r\n");
    const auto metrics = admin.readResponse();
    if (!metrics)
      return "";
    const std::string key = "\n" + name + " ";
    const auto at = metrics->body.find(key);
    if (at == std::string::npos)
      return "";
    const auto start = at + key.size();
    return metrics->body.substr(start, metrics->body.find('\n', start) - start);
  }
  // Counters and gauges change as connections end, a moment after the client sees the close.
  bool waitMetric(const std::string& name, const std::string& value,
                  std::chrono::milliseconds deadline = 10s) const {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (metric(name) != value) {
      if (std::chrono::steady_clock::now() > until)
        return false;
      std::this_thread::sleep_for(50ms);
    }
    return true;
  }

  // How many client connections rest, once that many do.
  bool waitResting(int n) const {
    return waitMetric("ferry_client_connections_resting", std::to_string(n));
  }
  std::string resting() const { return metric("ferry_client_connections_resting"); }
  bool waitRestingAtLeast(int n) const {
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (std::atoi(resting().c_str()) < n) {
      if (std::chrono::steady_clock::now() > until)
        return false;
      std::this_thread::sleep_for(50ms);
    }
    return true;
  }

  FerryProcess process;
  int port = 0;
  int admin_port = 0;
};

FakeOrigin::Script echoPath() {
  return FakeOrigin::serveForever(
      [](OriginConnection& c, const ReceivedRequest& r) { c.respond(200, r.target); });
}

// Nothing arrives for `pause` and the connection stays open.
bool quietFor(RawClient& client, std::chrono::milliseconds pause) {
  return !client.readResponse(false, pause);
}

} // namespace

TEST_CASE("after a pause a keep-alive connection serves the next request, a pipelined burst too",
          "[integration][idle]") {
  FakeOrigin origin(echoPath());
  Ferry ferry;
  RawClient client = ferry.client();
  CHECK(ferry.waitResting(1)); // a new connection that sends nothing rests after the pause too
  for (int round = 0; round < 3; ++round) {
    const std::string n = std::to_string(round);
    client.send(get(origin, "/single/" + n));
    auto single = client.readResponse();
    REQUIRE(single);
    CHECK(single->body == "/single/" + n);
    REQUIRE(ferry.waitResting(1));

    client.send(get(origin, "/a/" + n) + get(origin, "/b/" + n) + get(origin, "/c/" + n));
    for (const std::string path : {"/a/", "/b/", "/c/"}) {
      auto r = client.readResponse();
      REQUIRE(r);
      CHECK(r->body == path + n);
    }
    REQUIRE(quietFor(client, 50ms));
    REQUIRE(ferry.waitResting(1));
  }
  CHECK(ferry.waitMetric("ferry_client_connections_open", "1"));
}

TEST_CASE("a keep-alive connection whose requests keep coming never rests", "[integration][idle]") {
  FakeOrigin origin(echoPath());
  // Requests 50 ms apart, resting after 1-2 s: only a stall of the test for a second would
  // let the connection rest.
  Ferry ferry("  client_rest: 1s\n");
  RawClient client = ferry.client();
  for (int i = 0; i < 20; ++i) {
    client.send(get(origin, "/" + std::to_string(i)));
    auto r = client.readResponse();
    REQUIRE(r);
    CHECK(r->body == "/" + std::to_string(i));
    CHECK(ferry.resting() == "0");
    std::this_thread::sleep_for(50ms);
  }
  // Then a pause: it rests, and wakes for the next request.
  CHECK(ferry.waitResting(1));
  client.send(get(origin, "/after"));
  auto after = client.readResponse();
  REQUIRE(after);
  CHECK(after->body == "/after");
  CHECK(ferry.resting() == "0");
}

TEST_CASE("past 64 idle connections awake on a worker, those idle since the last tick rest at once",
          "[integration][idle]") {
  FakeOrigin origin(echoPath());
  Ferry ferry("  client_rest: 1h\n"); // no sweep rests anything during the test
  constexpr int Count = 200;          // over 2 workers
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < Count; ++i) {
    clients.push_back(std::make_unique<RawClient>("127.0.0.1", ferry.port));
    clients.back()->send(get(origin, "/" + std::to_string(i)));
    REQUIRE(clients.back()->readResponse());
  }
  std::this_thread::sleep_for(150ms);
  // Past a tick (20 ms), connections going idle again (some on each worker) rest the others,
  // down to 64 awake per worker.
  for (int i = 0; i < 20; ++i) {
    clients[i]->send(get(origin, "/again/" + std::to_string(i)));
    auto r = clients[i]->readResponse();
    REQUIRE(r);
    CHECK(r->body == "/again/" + std::to_string(i));
  }
  CHECK(ferry.waitRestingAtLeast(Count - 2 * 64));
  CHECK(std::atoi(ferry.resting().c_str()) < Count);
  // Rested or awake, each serves its next request.
  for (int i = 0; i < Count; i += 39) {
    clients[i]->send(get(origin, "/third/" + std::to_string(i)));
    auto r = clients[i]->readResponse();
    REQUIRE(r);
    CHECK(r->body == "/third/" + std::to_string(i));
  }
}

TEST_CASE("connections that send nothing past 64 idle awake on a worker rest from the start, and "
          "each serves its first request",
          "[integration][idle]") {
  FakeOrigin origin(echoPath());
  Ferry ferry("  client_rest: 1h\n"); // no sweep rests anything during the test
  constexpr int Count = 300;          // over 2 workers
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < Count; ++i)
    clients.push_back(std::make_unique<RawClient>("127.0.0.1", ferry.port));
  // However fast they came: at most 64 a worker awake, the others resting.
  CHECK(ferry.waitRestingAtLeast(Count - 2 * 64));
  for (int i = 0; i < Count; i += 29) {
    clients[i]->send(get(origin, "/first/" + std::to_string(i)));
    auto r = clients[i]->readResponse();
    REQUIRE(r);
    CHECK(r->body == "/first/" + std::to_string(i));
  }
}

TEST_CASE("a request head that arrives in pieces, with pauses, on a new or a rested connection",
          "[integration][idle]") {
  FakeOrigin origin(echoPath());
  Ferry ferry;
  RawClient client = ferry.client();
  REQUIRE(ferry.waitResting(1)); // connected, nothing sent yet, rested
  for (const std::string path : {"/first", "/second"}) {
    // RFC 9112 §2.2: empty lines before a request are ignored.
    const std::string request = "\r\n" + get(origin, path);
    const std::size_t half = request.size() / 2;
    client.send(request.substr(0, 1));
    REQUIRE(quietFor(client, 300ms));
    // A session with part of a head is not idle: it never rests, whatever the pause.
    CHECK(ferry.resting() == "0");
    client.send(request.substr(1, half - 1));
    REQUIRE(quietFor(client, 300ms));
    CHECK(ferry.resting() == "0");
    client.send(request.substr(half));
    auto r = client.readResponse();
    REQUIRE(r);
    CHECK(r->body == path);
    REQUIRE(ferry.waitResting(1));
  }
}

TEST_CASE("timeouts.client_idle closes idle keep-alive connections, new, served and resting alike",
          "[integration][idle]") {
  FakeOrigin origin(echoPath());
  // Served, one connection rests after 100-200 ms, the other stays awake until its timeout.
  const std::string rest = GENERATE(as<std::string>{}, "100ms", "5s");
  Ferry ferry("  client_idle: 1s\n  client_rest: " + rest + "\n");
  RawClient never_sent = ferry.client();
  RawClient served = ferry.servedClient(origin, "/once");
  CHECK(never_sent.waitClosed(10s));
  CHECK(served.waitClosed(10s));
  CHECK(ferry.waitMetric("ferry_closes_client_idle_timeout", "2"));
  CHECK(ferry.waitMetric("ferry_client_connections_open", "0"));
  CHECK(ferry.resting() == "0");
}

TEST_CASE("after SIGHUP, a connection accepted since rests at the new timeouts.client_idle, one "
          "resting from before at its own",
          "[integration][idle]") {
  FakeOrigin origin(echoPath());
  Ferry ferry("  client_idle: 1h\n  client_rest: 100ms\n");
  RawClient before = ferry.servedClient(origin, "/before");
  REQUIRE(ferry.waitResting(1));

  ferry.process.rewriteConfig(config("  client_idle: 1s\n  client_rest: 100ms\n"));
  ferry.process.signal(SIGHUP);
  REQUIRE(ferry.process.waitLog("configuration reloaded"));
  RawClient since = ferry.servedClient(origin, "/since");
  // The later connection's timeout, the sooner, ends its rest: one timer serves both.
  CHECK(since.waitClosed(10s));
  CHECK(ferry.waitMetric("ferry_closes_client_idle_timeout", "1"));
  CHECK(ferry.resting() == "1");
  before.send(get(origin, "/still"));
  auto still = before.readResponse();
  REQUIRE(still);
  CHECK(still->body == "/still");
}

TEST_CASE("a client that half-closes an idle keep-alive connection sees it closed, awake or "
          "resting",
          "[integration][idle]") {
  FakeOrigin origin(echoPath());
  Ferry ferry("  client_rest: 500ms\n");
  RawClient awake = ferry.servedClient(origin, "/before");
  awake.shutdownWrite(); // at once: the session is idle, not yet resting
  CHECK(awake.waitClosed());

  RawClient resting = ferry.servedClient(origin, "/before");
  REQUIRE(ferry.waitResting(1));
  resting.shutdownWrite();
  CHECK(resting.waitClosed());
  CHECK(ferry.waitMetric("ferry_closes_client_eof", "2"));
  CHECK(ferry.resting() == "0");
}

TEST_CASE("after SIGHUP, idle connections rest at the new timeouts.client_rest",
          "[integration][idle]") {
  FakeOrigin origin(echoPath());
  Ferry ferry("  client_rest: 1h\n");
  RawClient client = ferry.servedClient(origin, "/before");
  REQUIRE(quietFor(client, 300ms));
  CHECK(ferry.resting() == "0");

  ferry.process.rewriteConfig(config("  client_rest: 100ms\n"));
  ferry.process.signal(SIGHUP);
  REQUIRE(ferry.process.waitLog("configuration reloaded"));
  CHECK(ferry.waitResting(1));
  client.send(get(origin, "/after"));
  auto after = client.readResponse();
  REQUIRE(after);
  CHECK(after->body == "/after");
}

TEST_CASE("SIGTERM closes idle keep-alive connections at once, not after shutdown_grace",
          "[integration][idle]") {
  FakeOrigin origin(echoPath());
  // Served, the connections rest after 100-200 ms, or stay awake.
  const std::string rest = GENERATE(as<std::string>{}, "100ms", "1h");
  Ferry ferry("  shutdown_grace: 60s\n  client_rest: " + rest + "\n");
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(std::make_unique<RawClient>("127.0.0.1", ferry.port));
    if (i % 2 == 0) { // half of them served once, the other half never sent anything
      clients.back()->send(get(origin, "/" + std::to_string(i)));
      REQUIRE(clients.back()->readResponse());
    }
  }
  REQUIRE(ferry.waitMetric("ferry_client_connections_open", "20"));
  REQUIRE(ferry.waitResting(rest == "1h" ? 0 : 20));
  ferry.process.signal(SIGTERM);
  for (auto& client : clients)
    CHECK(client->waitClosed(20s));
  CHECK(ferry.process.waitExit(20s) == 0);
}
