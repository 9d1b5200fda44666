// Self-tests of the scripted fake origin, talking to it with RawClient directly (no
// ferry), so integration tests can trust what it reads, sends and how it closes.
#include "support/fake_origin.h"
#include "support/raw_client.h"

#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <future>
#include <memory>
#include <stdexcept>

using namespace ferry::test;

namespace {

std::string get(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: origin.test\r\n\r\n";
}

struct RawEnd {
  std::string bytes; // everything received before the end
  int error = -1;    // 0: EOF (FIN), an errno (ECONNRESET), -1: deadline passed
};

// Reads `fd` until EOF, an error or the deadline, without RawClient's buffering, so the
// test can tell a FIN from a reset.
RawEnd readToEnd(int fd, std::chrono::milliseconds deadline = 10s) {
  RawEnd end;
  const auto until = std::chrono::steady_clock::now() + deadline;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n > 0) {
      end.bytes.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) {
      end.error = 0;
      return end;
    }
    if (errno != EAGAIN && errno != EINTR) {
      end.error = errno;
      return end;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) == 0)
      return end;
  }
}

bool ipv6LoopbackAvailable() {
  const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_loopback;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

} // namespace

TEST_CASE("fake_origin: keep-alive origin serves sequential requests on one connection",
          "[integration][fake_origin]") {
  FakeOrigin origin(FakeOrigin::serveForever(
      [](OriginConnection& c, const ReceivedRequest& r) { c.respond(200, r.target); }));
  RawClient client("127.0.0.1", origin.port());
  for (const std::string target : {"/a", "/b", "/c"}) {
    client.send("GET " + target +
                " HTTP/1.1\r\nHost: origin.test\r\nX-Twice: 1\r\n"
                "x-twice:  2 \r\n\r\n");
    auto response = client.readResponse();
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->header("content-length") == std::to_string(target.size()));
    CHECK(response->body == target);
  }
  CHECK(origin.accepts() == 1);

  const auto requests = origin.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[1].method == "GET");
  CHECK(requests[1].target == "/b");
  CHECK(requests[1].version == "HTTP/1.1");
  CHECK(requests[1].connection == 0);
  CHECK(requests[1].header("host") == "origin.test");
  CHECK(requests[1].headers.count("x-twice") == 2);
  CHECK(requests[1].header("x-twice") == "1");
  CHECK(requests[1].head.rfind("GET /b HTTP/1.1\r\nHost: origin.test\r\n", 0) == 0);
  CHECK(requests[1].head.size() >= 4);
  CHECK(requests[1].head.substr(requests[1].head.size() - 4) == "\r\n\r\n");
  CHECK(requests[1].body.empty());
}

TEST_CASE("fake_origin: pipelined requests are read in order", "[integration][fake_origin]") {
  FakeOrigin origin(FakeOrigin::serveForever([](OriginConnection& c, const ReceivedRequest& r) {
    c.respond(200, r.method + " " + r.target + " " + r.body);
  }));
  RawClient client("127.0.0.1", origin.port());
  client.send(get("/1") +
              "POST /2 HTTP/1.1\r\nHost: origin.test\r\nContent-Length: 5\r\n\r\nhello" + "\r\n" +
              get("/3")); // RFC 9112 §2.2: a stray CRLF between requests
  for (const std::string expected : {"GET /1 ", "POST /2 hello", "GET /3 "}) {
    auto response = client.readResponse();
    REQUIRE(response);
    CHECK(response->body == expected);
  }
  CHECK(origin.accepts() == 1);
  REQUIRE(origin.requests().size() == 3);
  CHECK(origin.requests()[1].body == "hello");
}

TEST_CASE("fake_origin: a chunked request body is decoded", "[integration][fake_origin]") {
  FakeOrigin origin(FakeOrigin::serveForever(
      [](OriginConnection& c, const ReceivedRequest& r) { c.respond(200, r.body); }));
  RawClient client("127.0.0.1", origin.port());
  client.send("POST /up HTTP/1.1\r\nHost: origin.test\r\nTransfer-Encoding: chunked\r\n\r\n"
              "5;name=value\r\nhello\r\n8\r\n, wor");
  client.send("ld!\r\na\r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\n" + get("/after"));
  auto first = client.readResponse();
  REQUIRE(first);
  CHECK(first->body == "hello, world!0123456789");
  auto second = client.readResponse();
  REQUIRE(second);
  CHECK(second->body.empty());
  REQUIRE(origin.requests().size() == 2);
  CHECK(origin.requests()[0].body == "hello, world!0123456789");
  CHECK(origin.requests()[1].target == "/after");
}

TEST_CASE("fake_origin: respond frames by status and respects the script's own framing",
          "[integration][fake_origin]") {
  FakeOrigin origin(FakeOrigin::serveForever([](OriginConnection& c, const ReceivedRequest& r) {
    if (r.target == "/204")
      c.respond(204, "");
    else if (r.target == "/chunked")
      c.respond(200, "3\r\nabc\r\n0\r\n\r\n", {{"Transfer-Encoding", "chunked"}});
    else
      c.respond(404, "nope", {{"Cache-Control", "no-store"}});
  }));
  RawClient client("127.0.0.1", origin.port());
  client.send(get("/204") + get("/chunked") + get("/other"));

  auto no_content = client.readResponse();
  REQUIRE(no_content);
  CHECK(no_content->head == "HTTP/1.1 204 No Content\r\n\r\n");
  auto chunked = client.readResponse();
  REQUIRE(chunked);
  CHECK(chunked->body == "abc");
  CHECK_FALSE(chunked->header("content-length"));
  auto not_found = client.readResponse();
  REQUIRE(not_found);
  CHECK(not_found->head ==
        "HTTP/1.1 404 Not Found\r\nCache-Control: no-store\r\nContent-Length: 4\r\n\r\n");
  CHECK(not_found->body == "nope");
}

TEST_CASE("fake_origin: close mid-body ends with FIN after fewer bytes than Content-Length",
          "[integration][fake_origin]") {
  FakeOrigin origin([](OriginConnection& c) {
    c.readRequest().value();
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello");
    c.close();
  });
  RawClient client("127.0.0.1", origin.port());
  client.send(get("/"));
  const RawEnd end = readToEnd(client.fd());
  CHECK(end.error == 0);
  CHECK(end.bytes == "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello");
}

TEST_CASE("fake_origin: reset sends RST", "[integration][fake_origin]") {
  FakeOrigin origin([](OriginConnection& c) {
    c.readRequest().value();
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
    c.reset();
  });
  RawClient client("127.0.0.1", origin.port());
  client.send(get("/"));
  const RawEnd end = readToEnd(client.fd());
  CHECK(end.error == ECONNRESET);
}

TEST_CASE("fake_origin: waitClosed sees the client go away", "[integration][fake_origin]") {
  auto closed = std::make_shared<std::promise<bool>>();
  FakeOrigin origin([closed](OriginConnection& c) {
    c.readRequest().value();
    closed->set_value(c.waitClosed());
  });
  auto seen = closed->get_future();
  {
    RawClient client("127.0.0.1", origin.port());
    client.send(get("/") + "unread bytes");
    REQUIRE(origin.waitRequests(1));
  }
  REQUIRE(seen.wait_for(10s) == std::future_status::ready);
  CHECK(seen.get());
}

TEST_CASE("fake_origin: the destructor wakes scripts in stall, readRequest, send and polling loops",
          "[integration][fake_origin]") {
  auto stalled = std::make_shared<std::atomic<bool>>(false);
  auto read_nothing = std::make_shared<std::atomic<bool>>(false);
  auto send_failed = std::make_shared<std::atomic<bool>>(false);
  auto polling_ended = std::make_shared<std::atomic<bool>>(false);
  {
    // Declared before the origin so that they outlive it: the scripts must be woken by the
    // origin's destructor, not by these clients going away.
    std::unique_ptr<RawClient> stalls, idle, not_reading, polled;
    FakeOrigin origin([=](OriginConnection& c) {
      if (c.index() == 0) {
        c.readRequest().value();
        c.stall(std::chrono::hours(1));
        stalled->store(true);
      } else if (c.index() == 1) {
        read_nothing->store(!c.readRequest(std::chrono::hours(1)));
      } else if (c.index() == 2) {
        // Far more than the socket buffers hold; the client never reads.
        send_failed->store(!c.send(std::string(32 << 20, 'x'), std::chrono::hours(1)));
      } else {
        while (!c.waitClosed(10ms)) {
        }
        polling_ended->store(c.isShuttingDown());
      }
    });
    stalls = std::make_unique<RawClient>("127.0.0.1", origin.port());
    stalls->send(get("/"));
    REQUIRE(origin.waitRequests(1));
    idle = std::make_unique<RawClient>("127.0.0.1", origin.port());
    REQUIRE(origin.waitAccepts(2));
    not_reading = std::make_unique<RawClient>("127.0.0.1", origin.port());
    REQUIRE(origin.waitAccepts(3));
    polled = std::make_unique<RawClient>("127.0.0.1", origin.port());
    REQUIRE(origin.waitAccepts(4));
  }
  CHECK(stalled->load());
  CHECK(read_nothing->load());
  CHECK(send_failed->load());
  CHECK(polling_ended->load());
}

TEST_CASE("fake_origin: script exceptions are collected, and thrown by the destructor if not taken",
          "[integration][fake_origin]") {
  SECTION("taken") {
    FakeOrigin origin([](OriginConnection& c) {
      c.readRequest().value();
      throw std::runtime_error("boom");
    });
    RawClient client("127.0.0.1", origin.port());
    client.send(get("/"));
    CHECK(client.waitClosed()); // the error is recorded before the connection closes
    RawClient garbage("127.0.0.1", origin.port());
    garbage.send("NOT-HTTP\r\n\r\n");
    CHECK(garbage.waitClosed());
    auto errors = origin.takeErrors();
    REQUIRE(errors.size() == 2);
    CHECK_THAT(errors[0], Catch::Contains("connection 0") && Catch::Contains("boom"));
    CHECK_THAT(errors[1], Catch::Contains("connection 1") && Catch::Contains("malformed"));
  }
  SECTION("not taken") {
    auto run = [] {
      FakeOrigin origin([](OriginConnection& c) {
        c.readRequest().value();
        c.respond(200, "ok");
        throw std::runtime_error("boom");
      });
      RawClient client("127.0.0.1", origin.port());
      client.send(get("/"));
      REQUIRE(client.readResponse());
    };
    CHECK_THROWS_WITH(run(), Catch::Contains("connection 0: script threw: boom"));
  }
}

TEST_CASE("fake_origin: two hundred concurrent connections", "[integration][fake_origin]") {
  constexpr int Count = 200;
  FakeOrigin origin(FakeOrigin::serveForever(
      [](OriginConnection& c, const ReceivedRequest& r) { c.respond(200, r.target); }));
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < Count; ++i)
    clients.push_back(std::make_unique<RawClient>("127.0.0.1", origin.port()));
  for (int i = 0; i < Count; ++i)
    clients[static_cast<std::size_t>(i)]->send(get("/" + std::to_string(i)));
  int answered = 0;
  for (int i = 0; i < Count; ++i) {
    auto response = clients[static_cast<std::size_t>(i)]->readResponse();
    answered += response && response->body == "/" + std::to_string(i);
  }
  CHECK(answered == Count);
  CHECK(origin.accepts() == Count);
  CHECK(origin.requests().size() == Count);
}

TEST_CASE("fake_origin: an origin on the IPv6 loopback", "[integration][fake_origin]") {
  if (!ipv6LoopbackAvailable()) {
    WARN("IPv6 loopback unavailable, skipped");
    return;
  }
  FakeOrigin origin(FakeOrigin::serveForever(
                        [](OriginConnection& c, const ReceivedRequest&) { c.respond(200, "v6"); }),
                    "::1");
  CHECK(origin.authority() == "[::1]:" + std::to_string(origin.port()));
  RawClient client("::1", origin.port());
  client.send(get("/"));
  auto response = client.readResponse();
  REQUIRE(response);
  CHECK(response->body == "v6");
  CHECK(origin.requests().size() == 1);
}
