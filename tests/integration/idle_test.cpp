// Keep-alive client connections between requests, where ferry keeps only the socket and
// one read event (ClientSession's Resting state): the next request after a pause, pipelined
// or in pieces, the idle timeout, a half-close and SIGTERM. The real binary, a FakeOrigin,
// RawClients.
#include "support/fake_origin.h"
#include "support/ferry_process.h"
#include "support/raw_client.h"

#include <catch2/catch.hpp>
#include <signal.h>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

using namespace ferry::test;

namespace {

// ferry with an admin listener, so that tests can read its counters and gauges.
struct Ferry {
  explicit Ferry(const std::string& extra = "")
      : process("listen: [\"127.0.0.1:0\"]\nworkers: 2\nadmin:\n  listen: 127.0.0.1:0\n"
                "access:\n  allow_destinations: [127.0.0.0/8]\n" +
                extra) {
    auto p = process.waitListening();
    REQUIRE(p);
    port = *p;
    auto a = process.waitAdminPort();
    REQUIRE(a);
    admin_port = *a;
  }
  RawClient client() const { return RawClient("127.0.0.1", port); }
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

  FerryProcess process;
  int port = 0;
  int admin_port = 0;
};

std::string get(const FakeOrigin& origin, const std::string& path) {
  return "GET http://" + origin.authority() + path + " HTTP/1.1\r\nHost: " + origin.authority() +
         "\r\n\r\n";
}

FakeOrigin::Script echoPath() {
  return FakeOrigin::serveForever(
      [](OriginConnection& c, const ReceivedRequest& r) { c.respond(200, r.target); });
}

// Nothing arrives for `pause` and the connection stays open: ferry has let it rest.
bool quietFor(RawClient& client, std::chrono::milliseconds pause) {
  return !client.readResponse(false, pause);
}

} // namespace

TEST_CASE("after a pause a keep-alive connection serves the next request, a pipelined burst too",
          "[integration][idle]") {
  FakeOrigin origin(echoPath());
  Ferry ferry;
  RawClient client = ferry.client();
  for (int round = 0; round < 3; ++round) {
    const std::string n = std::to_string(round);
    client.send(get(origin, "/single/" + n));
    auto single = client.readResponse();
    REQUIRE(single);
    CHECK(single->body == "/single/" + n);
    REQUIRE(quietFor(client, 300ms));

    client.send(get(origin, "/a/" + n) + get(origin, "/b/" + n) + get(origin, "/c/" + n));
    for (const std::string path : {"/a/", "/b/", "/c/"}) {
      auto r = client.readResponse();
      REQUIRE(r);
      CHECK(r->body == path + n);
    }
    REQUIRE(quietFor(client, 300ms));
  }
  CHECK(ferry.waitMetric("ferry_client_connections_open", "1"));
}

TEST_CASE("a request head that arrives in pieces, with pauses, on a new or a rested connection",
          "[integration][idle]") {
  FakeOrigin origin(echoPath());
  Ferry ferry;
  RawClient client = ferry.client();
  REQUIRE(quietFor(client, 300ms)); // connected, nothing sent yet
  for (const std::string path : {"/first", "/second"}) {
    // RFC 9112 §2.2: empty lines before a request are ignored.
    const std::string request = "\r\n" + get(origin, path);
    const std::size_t half = request.size() / 2;
    client.send(request.substr(0, 1));
    REQUIRE(quietFor(client, 200ms));
    client.send(request.substr(1, half - 1));
    REQUIRE(quietFor(client, 200ms));
    client.send(request.substr(half));
    auto r = client.readResponse();
    REQUIRE(r);
    CHECK(r->body == path);
    REQUIRE(quietFor(client, 200ms));
  }
}

TEST_CASE("timeouts.client_idle closes idle keep-alive connections, new and served alike",
          "[integration][idle]") {
  FakeOrigin origin(echoPath());
  Ferry ferry("timeouts:\n  client_idle: 1s\n");
  RawClient never_sent = ferry.client();
  RawClient served = ferry.client();
  served.send(get(origin, "/once"));
  REQUIRE(served.readResponse());
  CHECK(never_sent.waitClosed(10s));
  CHECK(served.waitClosed(10s));
  CHECK(ferry.waitMetric("ferry_closes_client_idle_timeout", "2"));
  CHECK(ferry.waitMetric("ferry_client_connections_open", "0"));
}

TEST_CASE("a client that half-closes an idle keep-alive connection sees it closed",
          "[integration][idle]") {
  FakeOrigin origin(echoPath());
  Ferry ferry;
  RawClient client = ferry.client();
  client.send(get(origin, "/before"));
  REQUIRE(client.readResponse());
  REQUIRE(quietFor(client, 200ms));
  client.shutdownWrite();
  CHECK(client.waitClosed());
  CHECK(ferry.waitMetric("ferry_closes_client_eof", "1"));
}

TEST_CASE("SIGTERM closes idle keep-alive connections at once, not after shutdown_grace",
          "[integration][idle]") {
  FakeOrigin origin(echoPath());
  Ferry ferry("timeouts:\n  shutdown_grace: 60s\n");
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(std::make_unique<RawClient>("127.0.0.1", ferry.port));
    if (i % 2 == 0) { // half of them served once, the other half never sent anything
      clients.back()->send(get(origin, "/" + std::to_string(i)));
      REQUIRE(clients.back()->readResponse());
    }
  }
  REQUIRE(ferry.waitMetric("ferry_client_connections_open", "20"));
  ferry.process.signal(SIGTERM);
  for (auto& client : clients)
    CHECK(client->waitClosed(20s));
  CHECK(ferry.process.waitExit(20s) == 0);
}
