// The forward proxy core end to end: the real ferry binary between a RawClient and a
// scripted FakeOrigin, all on loopback.
#include "support/fake_origin.h"
#include "support/ferry_process.h"
#include "support/raw_client.h"

#include <catch2/catch.hpp>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <future>
#include <memory>
#include <thread>

using namespace ferry::test;

namespace {

// The fake origins listen on loopback, which access.deny_destinations refuses by default.
const std::string LoopbackOrigins = "  allow_destinations: [127.0.0.0/8, \"::1/128\"]\n";

// `access`: the keys of the access section, indented.
std::string config(const std::string& extra, int workers, const std::string& access) {
  return "listen: [\"127.0.0.1:0\"]\nworkers: " + std::to_string(workers) + "\naccess:\n" + access +
         extra;
}

// A running ferry and the port it listens on.
struct Proxy {
  explicit Proxy(const std::string& extra = "", int workers = 2,
                 const std::string& access = LoopbackOrigins)
      : process(config(extra, workers, access)) {
    auto p = process.waitListening();
    REQUIRE(p);
    port = *p;
  }
  RawClient client() const { return RawClient("127.0.0.1", port); }
  FerryProcess process;
  int port = 0;
};

std::string get(const FakeOrigin& origin, const std::string& path,
                const std::string& extra_headers = "", const std::string& version = "HTTP/1.1") {
  return "GET http://" + origin.authority() + path + " " + version +
         "\r\nHost: " + origin.authority() + "\r\n" + extra_headers + "\r\n";
}

FakeOrigin::Script echoPath() {
  return FakeOrigin::serveForever(
      [](OriginConnection& c, const ReceivedRequest& r) { c.respond(200, r.target); });
}

} // namespace

TEST_CASE("keep-alive: 100 sequential requests on one client connection", "[integration][proxy]") {
  FakeOrigin origin(echoPath());
  Proxy proxy;
  RawClient client = proxy.client();
  for (int i = 0; i < 100; ++i) {
    client.send(get(origin, "/seq/" + std::to_string(i)));
    auto r = client.readResponse();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "/seq/" + std::to_string(i));
  }
  CHECK(origin.accepts() == 1);
}

TEST_CASE("keep-alive: 100 client connections share a handful of origin connections",
          "[integration][proxy]") {
  FakeOrigin origin(echoPath());
  Proxy proxy;
  for (int i = 0; i < 100; ++i) {
    RawClient client = proxy.client();
    client.send(get(origin, "/c/" + std::to_string(i)));
    auto r = client.readResponse();
    REQUIRE(r);
    CHECK(r->body == "/c/" + std::to_string(i));
  }
  // One idle connection per worker at most, since the clients come one after another.
  CHECK(origin.accepts() <= 2);
}

TEST_CASE("HTTP/1.0 clients: keep-alive only when asked for", "[integration][proxy]") {
  FakeOrigin origin(echoPath());
  Proxy proxy;
  SECTION("without keep-alive the connection closes after the response") {
    RawClient client = proxy.client();
    client.send(get(origin, "/a", "", "HTTP/1.0"));
    auto r = client.readResponse();
    REQUIRE(r);
    CHECK(r->body == "/a");
    CHECK(r->header("connection") == "close");
    CHECK(client.waitClosed());
  }
  SECTION("with Connection: keep-alive it stays open and says so") {
    RawClient client = proxy.client();
    for (int i = 0; i < 3; ++i) {
      client.send(get(origin, "/k", "Connection: keep-alive\r\n", "HTTP/1.0"));
      auto r = client.readResponse();
      REQUIRE(r);
      CHECK(r->header("connection") == "keep-alive");
    }
  }
  SECTION("a chunked origin response is de-chunked and close-delimited") {
    FakeOrigin chunked([](OriginConnection& c) {
      c.readRequest();
      c.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    });
    RawClient client = proxy.client();
    client.send(get(chunked, "/", "Connection: keep-alive\r\n", "HTTP/1.0"));
    const std::string raw = client.readAll();
    CHECK(raw.find("Transfer-Encoding") == std::string::npos);
    CHECK(raw.substr(raw.size() - 5) == "hello");
  }
}

TEST_CASE("Connection: close from either side is honoured", "[integration][proxy]") {
  SECTION("client") {
    FakeOrigin origin(echoPath());
    Proxy proxy("", 1); // one worker, so both clients meet the same origin pool
    RawClient client = proxy.client();
    client.send(get(origin, "/x", "Connection: close\r\n"));
    auto r = client.readResponse();
    REQUIRE(r);
    CHECK(r->header("connection") == "close");
    CHECK(client.waitClosed());
    // The origin connection is still reusable: ferry's client side closed, not its origin side.
    RawClient again = proxy.client();
    again.send(get(origin, "/y"));
    REQUIRE(again.readResponse());
    CHECK(origin.accepts() == 1);
  }
  SECTION("origin") {
    FakeOrigin origin([](OriginConnection& c) {
      c.readRequest();
      c.respond(200, "bye", {{"Connection", "close"}});
      c.waitClosed();
    });
    Proxy proxy;
    RawClient client = proxy.client();
    for (int i = 0; i < 2; ++i) {
      client.send(get(origin, "/"));
      auto r = client.readResponse();
      REQUIRE(r);
      CHECK(r->body == "bye");
      CHECK_FALSE(r->header("connection") == "close"); // the client side stays persistent
    }
    CHECK(origin.accepts() == 2);
  }
}

TEST_CASE("pipelining: 10 requests in one write, 10 responses in order", "[integration][proxy]") {
  FakeOrigin origin(echoPath());
  Proxy proxy;
  RawClient client = proxy.client();
  std::string burst;
  for (int i = 0; i < 10; ++i)
    burst += get(origin, "/p/" + std::to_string(i));
  client.send(burst);
  for (int i = 0; i < 10; ++i) {
    auto r = client.readResponse();
    REQUIRE(r);
    CHECK(r->body == "/p/" + std::to_string(i));
  }
}

TEST_CASE("pipelining: a slow response followed by a fast one stays ordered",
          "[integration][proxy]") {
  FakeOrigin origin(FakeOrigin::serveForever([](OriginConnection& c, const ReceivedRequest& r) {
    if (r.target == "/slow")
      c.stall(300ms);
    c.respond(200, r.target);
  }));
  Proxy proxy;
  RawClient client = proxy.client();
  client.send(get(origin, "/slow") + get(origin, "/fast"));
  auto first = client.readResponse();
  auto second = client.readResponse();
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->body == "/slow");
  CHECK(second->body == "/fast");
}

TEST_CASE("hop-by-hop fields never cross ferry; Via is added both ways", "[integration][proxy]") {
  FakeOrigin origin(FakeOrigin::serveForever([](OriginConnection& c, const ReceivedRequest&) {
    c.send("HTTP/1.1 200 OK\r\nConnection: X-Origin-Secret\r\nX-Origin-Secret: 1\r\n"
           "Keep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\nContent-Length: 2\r\n\r\nok");
  }));
  Proxy proxy;
  RawClient client = proxy.client();
  client.send(get(origin, "/h",
                  "Connection: X-Client-Secret, keep-alive\r\nX-Client-Secret: 1\r\n"
                  "Keep-Alive: 300\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\n"
                  "Upgrade: h2c\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\nX-Kept: yes\r\n"));
  auto r = client.readResponse();
  REQUIRE(r);
  CHECK(r->body == "ok");
  CHECK_FALSE(r->header("x-origin-secret"));
  CHECK_FALSE(r->header("keep-alive"));
  CHECK_FALSE(r->header("proxy-authenticate"));
  CHECK(r->header("via").value_or("").find("ferry") != std::string::npos);

  REQUIRE(origin.waitRequests(1));
  const ReceivedRequest req = origin.requests().front();
  for (const char* name : {"connection", "x-client-secret", "keep-alive", "proxy-connection", "te",
                           "upgrade", "proxy-authorization"}) {
    INFO(name);
    CHECK_FALSE(req.header(name));
  }
  CHECK(req.header("x-kept") == "yes");
  CHECK(req.header("via").value_or("").find("ferry") != std::string::npos);
  CHECK(req.target == "/h"); // origin-form towards the origin
  CHECK(req.header("host") == origin.authority());
}

TEST_CASE("stale pooled connection: an idempotent request is retried once on a fresh one",
          "[integration][proxy]") {
  // Every connection answers its first request, then reads the next one and closes
  // without answering: the origin's idle close racing ferry's reuse.
  FakeOrigin origin([](OriginConnection& c) {
    if (auto r = c.readRequest())
      c.respond(200, "first:" + r->target);
    c.readRequest();
  });
  Proxy proxy("", 1);
  RawClient client = proxy.client();
  client.send(get(origin, "/warm"));
  auto warm = client.readResponse();
  REQUIRE(warm);
  CHECK(warm->body == "first:/warm");

  client.send(get(origin, "/again"));
  auto r = client.readResponse();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "first:/again");
  CHECK(origin.accepts() == 2);
  int sent = 0; // once on the stale connection, once more on the fresh one
  for (const auto& req : origin.requests())
    sent += req.target == "/again";
  CHECK(sent == 2);
}

TEST_CASE("POST is never retried: it goes on a fresh connection and a failure is a 502",
          "[integration][proxy]") {
  // GETs are answered; a POST is read and the connection closed without an answer.
  FakeOrigin origin(FakeOrigin::serveForever([](OriginConnection& c, const ReceivedRequest& r) {
    if (r.method == "POST")
      c.close();
    else
      c.respond(200, "ok");
  }));
  Proxy proxy("", 1);
  RawClient client = proxy.client();
  client.send(get(origin, "/warm")); // leaves an idle pooled connection behind
  REQUIRE(client.readResponse());

  client.send("POST http://" + origin.authority() + "/submit HTTP/1.1\r\nHost: " +
              origin.authority() + "\r\nContent-Length: 4\r\n\r\ndata");
  auto r = client.readResponse();
  REQUIRE(r);
  CHECK(r->status == 502);
  // ferry answered only after giving up, so any retry would already have arrived.
  int posts = 0;
  for (const auto& req : origin.requests()) {
    if (req.method == "POST") {
      ++posts;
      CHECK(req.body == "data");
      CHECK(req.connection != 0); // not the pooled connection
    }
  }
  CHECK(posts == 1);
}

TEST_CASE("truncated response: the client sees the close, the connection is not reused",
          "[integration][proxy]") {
  FakeOrigin origin([](OriginConnection& c) {
    c.readRequest();
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-part");
    c.close();
  });
  Proxy proxy;
  RawClient client = proxy.client();
  client.send(get(origin, "/t"));
  const std::string got = client.readAll();
  CHECK(got.find("200 OK") != std::string::npos);
  CHECK(got.substr(got.size() - 9) == "only-part"); // relayed, not padded
  CHECK(client.waitClosed());
}

TEST_CASE("chunked response without its last chunk is truncated", "[integration][proxy]") {
  FakeOrigin origin([](OriginConnection& c) {
    c.readRequest();
    c.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    c.close();
  });
  Proxy proxy;
  RawClient client = proxy.client();
  client.send(get(origin, "/t"));
  CHECK_FALSE(client.readResponse()); // the reader never sees the last chunk
  CHECK(client.waitClosed());
}

TEST_CASE("graceful close with pipelined bytes pending: the last response arrives whole",
          "[integration][proxy]") {
  const std::string big(200000, 'b');
  FakeOrigin origin(FakeOrigin::serveForever(
      [&](OriginConnection& c, const ReceivedRequest&) { c.respond(200, big); }));
  Proxy proxy;
  RawClient client = proxy.client();
  // The close request is followed by more requests ferry must ignore, unread.
  std::string burst = get(origin, "/last", "Connection: close\r\n");
  for (int i = 0; i < 50; ++i)
    burst += get(origin, "/ignored");
  client.send(burst);
  auto r = client.readResponse();
  REQUIRE(r);
  CHECK(r->body.size() == big.size());
  CHECK(client.waitClosed());
  CHECK(origin.requests().size() == 1);
}

TEST_CASE("a client that half-closes after its request still gets the whole response",
          "[integration][proxy]") {
  const std::string big(300000, 'h');
  FakeOrigin origin(FakeOrigin::serveForever([&](OriginConnection& c, const ReceivedRequest& r) {
    c.stall(100ms); // the FIN reaches ferry before the response does
    c.respond(200, r.target == "/big" ? big : "small", {{"Cache-Control", "max-age=60"}});
  }));
  Proxy proxy;
  for (const std::string path : {"/small", "/big", "/big"}) { // miss, miss, cache hit
    INFO(path);
    RawClient client = proxy.client();
    client.send(get(origin, path));
    client.shutdownWrite();
    auto r = client.readResponse();
    REQUIRE(r);
    CHECK(r->body.size() == (path == "/big" ? big.size() : 5));
    CHECK(client.waitClosed());
  }
}

TEST_CASE("slowloris: a trickled head is cut off at the deadline", "[integration][proxy]") {
  FakeOrigin origin(echoPath());
  Proxy proxy("timeouts:\n  client_header: 1s\n");
  RawClient slow = proxy.client();
  const std::string request = get(origin, "/slow");
  bool closed = false;
  for (std::size_t i = 0; i < request.size() && i < 40; ++i) {
    try {
      slow.send(request.substr(i, 1));
    } catch (const std::exception&) {
      closed = true;
      break;
    }
    if (slow.waitClosed(100ms)) {
      closed = true;
      break;
    }
  }
  CHECK(closed);
  CHECK(origin.requests().empty());
}

TEST_CASE("1,000 idle clients do not stop a new client from being served", "[integration][proxy]") {
  FakeOrigin origin(echoPath());
  Proxy proxy;
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 1000; ++i)
    idle.push_back(std::make_unique<RawClient>("127.0.0.1", proxy.port));
  RawClient client = proxy.client();
  client.send(get(origin, "/served"));
  auto r = client.readResponse();
  REQUIRE(r);
  CHECK(r->body == "/served");
}

TEST_CASE("past limits.client_connections ferry stops accepting until a slot frees",
          "[integration][proxy]") {
  FakeOrigin origin(echoPath());
  Proxy proxy("limits:\n  client_connections: 2\n", 1);
  auto first = std::make_unique<RawClient>("127.0.0.1", proxy.port);
  RawClient second = proxy.client();
  second.send(get(origin, "/second"));
  REQUIRE(second.readResponse());   // both slots taken and served
  RawClient third = proxy.client(); // the kernel completes the handshake; ferry waits
  third.send(get(origin, "/third"));
  CHECK_FALSE(third.readResponse(false, 500ms));
  first.reset(); // a slot frees
  auto served = third.readResponse();
  REQUIRE(served);
  CHECK(served->body == "/third");
}

TEST_CASE("requests ferry refuses get a clear status", "[integration][proxy]") {
  // Every port, so that port 1 stands for one nobody listens on.
  Proxy proxy("", 2, LoopbackOrigins + "  connect_ports: [443]\n  http_ports: [\"1-65535\"]\n");
  RawClient client = proxy.client();
  SECTION("origin-form") {
    client.send("GET / HTTP/1.1\r\nHost: example.test\r\n\r\n");
    auto r = client.readResponse();
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(r->body.find("forward proxy") != std::string::npos);
  }
  SECTION("https:// in a plain request") {
    client.send("GET https://127.0.0.1:1/ HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n");
    auto r = client.readResponse();
    REQUIRE(r);
    CHECK(r->status == 501);
  }
  SECTION("CONNECT to a port not allowed") {
    client.send("CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n");
    auto r = client.readResponse();
    REQUIRE(r);
    CHECK(r->status == 403);
  }
  SECTION("unreachable origin") {
    client.send("GET http://127.0.0.1:1/ HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n");
    auto r = client.readResponse();
    REQUIRE(r);
    CHECK(r->status == 502);
  }
  SECTION("a name that does not resolve") {
    client.send("GET http://no-such-host.invalid/ HTTP/1.1\r\nHost: no-such-host.invalid\r\n\r\n");
    auto r = client.readResponse(false, 30s);
    REQUIRE(r);
    CHECK(r->status == 502);
  }
}

TEST_CASE("clients outside access.allow get 403", "[integration][proxy]") {
  Proxy proxy("", 2, LoopbackOrigins + "  allow: [\"10.0.0.0/8\"]\n");
  RawClient client = proxy.client();
  client.send("GET http://127.0.0.1:1/ HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n");
  auto r = client.readResponse();
  REQUIRE(r);
  CHECK(r->status == 403);
  CHECK(client.waitClosed());
}

TEST_CASE("Expect: 100-continue is relayed, or refused with 417 when configured",
          "[integration][proxy]") {
  FakeOrigin origin(FakeOrigin::serveForever(
      [](OriginConnection& c, const ReceivedRequest& r) { c.respond(200, "got " + r.body); }));
  const std::string upload = "PUT http://" + origin.authority() +
                             "/up HTTP/1.1\r\nHost: " + origin.authority() +
                             "\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n";
  SECTION("forward: the origin's 100 reaches the client, then the body goes up") {
    // An origin that answers 100 before reading the body.
    FakeOrigin hand([](OriginConnection& c) {
      c.send("HTTP/1.1 100 Continue\r\n\r\n");
      c.readRequest();
      c.respond(200, "stored");
    });
    Proxy proxy;
    RawClient client = proxy.client();
    client.send("PUT http://" + hand.authority() + "/up HTTP/1.1\r\nHost: " + hand.authority() +
                "\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    auto interim = client.readResponse();
    REQUIRE(interim);
    CHECK(interim->status == 100);
    client.send("data");
    auto final = client.readResponse();
    REQUIRE(final);
    CHECK(final->status == 200);
    REQUIRE(hand.waitRequests(1));
    CHECK(hand.requests().front().body == "data");
    CHECK(hand.requests().front().header("expect") == "100-continue");
  }
  SECTION("reject") {
    Proxy proxy("expect_continue: reject\n");
    RawClient client = proxy.client();
    client.send(upload);
    auto r = client.readResponse();
    REQUIRE(r);
    CHECK(r->status == 417);
    CHECK(origin.requests().empty());
  }
  SECTION("an unknown expectation is refused either way") {
    Proxy proxy;
    RawClient client = proxy.client();
    client.send("GET http://" + origin.authority() + "/ HTTP/1.1\r\nHost: " + origin.authority() +
                "\r\nExpect: telepathy\r\n\r\n");
    auto r = client.readResponse();
    REQUIRE(r);
    CHECK(r->status == 417);
  }
}

TEST_CASE("CONNECT relays bytes both ways and passes a half-close on", "[integration][proxy]") {
  std::promise<std::string> up; // what the origin received, handed over between threads
  FakeOrigin origin([&](OriginConnection& c) {
    c.send("hello from origin\n");
    std::string received = c.readBytes(13);
    if (c.waitClosed()) // the client's half-close arrives as our EOF
      received += "<EOF>";
    up.set_value(received);
    c.send("bye\n"); // and this direction still works
  });
  Proxy proxy("", 2,
              LoopbackOrigins + "  connect_ports: [" + std::to_string(origin.port()) + "]\n");
  RawClient client = proxy.client();
  client.send("CONNECT " + origin.authority() + " HTTP/1.1\r\nHost: " + origin.authority() +
              "\r\n\r\n");
  auto r = client.readResponse(true);
  REQUIRE(r);
  CHECK(r->status == 200);
  client.send("some bytes up");
  client.shutdownWrite();
  const std::string down = client.readAll();
  CHECK(down == "hello from origin\nbye\n");
  auto received = up.get_future();
  REQUIRE(received.wait_for(10s) == std::future_status::ready);
  CHECK(received.get() == "some bytes up<EOF>");
}

TEST_CASE("a WebSocket upgrade is relayed as a tunnel after the origin's 101",
          "[integration][proxy]") {
  std::promise<std::string> frame_up; // what the origin received after its 101
  FakeOrigin origin([&](OriginConnection& c) {
    c.readRequest();
    c.send("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
           "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x04down");
    frame_up.set_value(c.readBytes(3));
    c.waitClosed();
  });
  Proxy proxy;
  RawClient client = proxy.client();
  client.send(get(origin, "/chat",
                  "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
  auto r = client.readResponse();
  REQUIRE(r);
  CHECK(r->status == 101);
  CHECK(r->header("upgrade") == "websocket");
  CHECK(r->header("sec-websocket-accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  client.send("\x81up");
  client.shutdownWrite();
  CHECK(client.readAll() == "\x81\x04down");
  auto received = frame_up.get_future();
  REQUIRE(received.wait_for(10s) == std::future_status::ready);
  CHECK(received.get() == "\x81up");
  REQUIRE(origin.waitRequests(1));
  const ReceivedRequest request = origin.requests().front();
  CHECK(request.header("upgrade") == "websocket");
  CHECK(request.header("connection").value_or("").find("upgrade") != std::string::npos);
}

TEST_CASE("access log: one line per exchange, Squid and combined formats", "[integration][proxy]") {
  FakeOrigin origin(FakeOrigin::serveForever([](OriginConnection& c, const ReceivedRequest&) {
    c.respond(200, "logged", {{"Content-Type", "text/plain; charset=utf-8"}});
  }));
  for (const std::string format : {"squid", "combined"}) {
    INFO(format);
    TempDir dir;
    const std::string path = dir.path() + "/access.log";
    {
      Proxy proxy("log:\n  access_log: " + path + "\n  access_log_format: " + format + "\n");
      RawClient client = proxy.client();
      client.send(get(origin, "/logged", "User-Agent: tester/1\r\n"));
      REQUIRE(client.readResponse());
      proxy.process.signal(SIGTERM);
      REQUIRE(proxy.process.waitExit() == 0); // flushes the log
    }
    std::ifstream in(path);
    std::string line;
    REQUIRE(std::getline(in, line));
    const std::string url = "http://" + origin.authority() + "/logged";
    CHECK(line.find(url) != std::string::npos);
    if (format == "squid") {
      CHECK(line.find(" TCP_MISS/200 ") != std::string::npos);
      CHECK(line.find(" HIER_DIRECT/127.0.0.1 text/plain") != std::string::npos);
    } else {
      CHECK(line.find("\"GET " + url + " HTTP/1.1\" 200 6 \"-\" \"tester/1\"") !=
            std::string::npos);
    }
    CHECK_FALSE(std::getline(in, line)); // exactly one line
  }
}

// ---- #9: hostile peers ----------------------------------------------------------------------

namespace {

// A response an origin must never get to answer a request with: whatever reads it as the
// response to the next request on the connection has been fooled.
const std::string Forged =
    "HTTP/1.1 200 OK\r\nCache-Control: max-age=999\r\nContent-Length: 4\r\n\r\nEVIL";

// After a request on a fresh connection and any later one, the origin answers with the path.
void serveRest(OriginConnection& c) {
  while (auto r = c.readRequest())
    c.respond(200, r->target);
}

} // namespace

TEST_CASE("#9 bytes after a complete response never answer another request",
          "[integration][proxy]") {
  // Each first response is followed, in the same write, by a forged one.
  FakeOrigin origin([](OriginConnection& c) {
    auto r = c.readRequest();
    if (!r)
      return;
    if (r->target == "/two-in-one-read")
      c.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" + Forged);
    else if (r->target == "/no-content")
      c.send("HTTP/1.1 204 No Content\r\n\r\n" + Forged);
    else if (r->method == "HEAD")
      c.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n" + Forged);
    else
      c.respond(200, r->target);
    serveRest(c);
  });
  Proxy proxy("", 1); // one worker: one pool, so the next request would meet the connection
  const std::pair<std::string, std::string> firsts[] = {
      {"GET", "/two-in-one-read"}, {"GET", "/no-content"}, {"HEAD", "/head"}};
  for (const auto& [method, first] : firsts) {
    INFO(method << " " << first);
    RawClient victim_before = proxy.client();
    victim_before.send(method + " http://" + origin.authority() + first +
                       " HTTP/1.1\r\nHost: " + origin.authority() + "\r\n\r\n");
    auto r = victim_before.readResponse(method == "HEAD");
    REQUIRE(r);
    CHECK(r->body != "EVIL");
    // Another client, another path: answered by the origin, not by the forged bytes, and
    // nothing forged was stored under its URI.
    for (int i = 0; i < 2; ++i) {
      RawClient other = proxy.client();
      other.send(get(origin, "/next" + first));
      auto next = other.readResponse();
      REQUIRE(next);
      CHECK(next->status == 200);
      CHECK(next->body == "/next" + first);
    }
  }
}

TEST_CASE("#9 a bodiless response that announces a body ends the origin connection",
          "[integration][proxy]") {
  // The stray body arrives only once the next request is on the connection: the only
  // defence is not to reuse it.
  FakeOrigin origin([](OriginConnection& c) {
    while (auto r = c.readRequest()) {
      if (r->method == "HEAD") {
        c.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      } else if (r->target == "/no-content") {
        c.send("HTTP/1.1 204 No Content\r\nContent-Length: 4\r\n\r\n");
      } else {
        c.respond(200, r->target);
        continue;
      }
      if (c.readRequest(3s))
        c.send("4\r\nEVIL\r\n0\r\n\r\n" + Forged);
      return;
    }
  });
  Proxy proxy("", 1);
  for (const std::string method : {"HEAD", "GET"}) {
    INFO(method);
    RawClient client = proxy.client();
    client.send(method + " http://" + origin.authority() +
                "/no-content HTTP/1.1\r\nHost: " + origin.authority() + "\r\n\r\n");
    auto r = client.readResponse(method == "HEAD");
    REQUIRE(r);
    if (method == "GET")
      CHECK_FALSE(r->header("content-length")); // RFC 9110 §8.6: not on a 204
    client.send(get(origin, "/after-" + method));
    auto next = client.readResponse();
    REQUIRE(next);
    CHECK(next->status == 200);
    CHECK(next->body == "/after-" + method);
  }
}

TEST_CASE("#9 1xx responses are relayed with back-pressure, never to HTTP/1.0 clients",
          "[integration][proxy]") {
  constexpr int Hints = 8192; // 4 KiB each: 32 MiB, more than the socket buffers hold
  const std::string hint =
      "HTTP/1.1 103 Early Hints\r\nLink: </" + std::string(4000, 'h') + ">; rel=preload\r\n\r\n";
  std::atomic<int> sent{0};
  FakeOrigin origin([&](OriginConnection& c) {
    auto r = c.readRequest();
    if (!r)
      return;
    const int hints = r->version == "HTTP/1.1" ? Hints : 100;
    for (int i = 0; i < hints; ++i) {
      if (!c.send(hint, 30s))
        return;
      ++sent;
    }
    c.respond(200, "final " + r->target);
  });
  Proxy proxy;
  SECTION("HTTP/1.1: every hint arrives, at the client's pace") {
    RawClient client = proxy.client();
    client.send(get(origin, "/hinted"));
    // The client reads nothing: ferry stops reading the origin instead of queueing hints.
    const auto until = std::chrono::steady_clock::now() + 3s;
    while (sent.load() < Hints && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(50ms);
    CHECK(sent.load() < Hints / 2);
    for (int i = 0; i < Hints; ++i) {
      auto r = client.readResponse();
      REQUIRE(r);
      REQUIRE(r->status == 103);
      REQUIRE(r->header("link").value_or("").size() > 4000);
    }
    auto final = client.readResponse();
    REQUIRE(final);
    CHECK(final->status == 200);
    CHECK(final->body == "final /hinted");
  }
  SECTION("HTTP/1.0: only the final response") {
    RawClient client = proxy.client();
    client.send(get(origin, "/old", "", "HTTP/1.0"));
    auto r = client.readResponse();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "final /old");
  }
}

TEST_CASE("#9 a CONNECT that is refused ends the client connection", "[integration][proxy]") {
  FakeOrigin origin(echoPath());
  Proxy proxy;
  RawClient client = proxy.client();
  // A client that sends its TLS hello right behind the CONNECT, and another request.
  client.send("CONNECT 127.0.0.1:25 HTTP/1.1\r\nHost: 127.0.0.1:25\r\n\r\n"
              "\x16\x03\x01\x00\x05hello" +
              get(origin, "/behind"));
  auto r = client.readResponse();
  REQUIRE(r);
  CHECK(r->status == 403);
  CHECK(r->header("connection") == "close");
  CHECK(client.readAll() == ""); // nothing answers the bytes behind it
  CHECK(origin.requests().empty());
}

TEST_CASE("#9 half-close: every pipelined request sent before the FIN is answered, in order",
          "[integration][proxy]") {
  FakeOrigin origin(FakeOrigin::serveForever([](OriginConnection& c, const ReceivedRequest& r) {
    c.stall(50ms); // the FIN reaches ferry while the first request is in progress
    c.respond(200, r.target);
  }));
  Proxy proxy;
  RawClient client = proxy.client();
  std::string burst;
  for (int i = 0; i < 5; ++i)
    burst += get(origin, "/half/" + std::to_string(i));
  client.send(burst);
  client.shutdownWrite();
  for (int i = 0; i < 5; ++i) {
    auto r = client.readResponse();
    REQUIRE(r);
    CHECK(r->body == "/half/" + std::to_string(i));
  }
  CHECK(client.waitClosed());
}

TEST_CASE("#9 half-close: a buffered request whose body the FIN cut short ends the connection",
          "[integration][proxy]") {
  FakeOrigin origin(FakeOrigin::serveForever([](OriginConnection& c, const ReceivedRequest& r) {
    c.stall(100ms); // the FIN reaches ferry while the first request is in progress
    c.respond(200, r.target);
  }));
  Proxy proxy("timeouts:\n  client_idle: 30s\n  origin_response: 30s\n");
  RawClient client = proxy.client();
  client.send(get(origin, "/first") + "POST http://" + origin.authority() +
              "/cut HTTP/1.1\r\nHost: " + origin.authority() +
              "\r\nContent-Length: 100\r\n\r\n0123456789");
  client.shutdownWrite();
  auto r = client.readResponse();
  REQUIRE(r);
  CHECK(r->body == "/first");
  CHECK(client.waitClosed(5s)); // long before any timeout
}

TEST_CASE("#9 a response after which ferry closes says Connection: close", "[integration][proxy]") {
  // An origin that refuses the upload before reading its body.
  FakeOrigin origin([](OriginConnection& c) {
    c.respond(413, "too large", {{"Connection", "close"}});
    c.stall(1s);
  });
  Proxy proxy;
  RawClient client = proxy.client();
  client.send("POST http://" + origin.authority() + "/upload HTTP/1.1\r\nHost: " +
              origin.authority() + "\r\nContent-Length: 1000000\r\n\r\n" + std::string(1000, 'u'));
  auto r = client.readResponse();
  REQUIRE(r);
  CHECK(r->status == 413);
  CHECK(r->header("connection") == "close");
  CHECK(client.waitClosed());
}

TEST_CASE("#9 timeouts.origin_response starts once the request is sent whole",
          "[integration][proxy]") {
  FakeOrigin origin(FakeOrigin::serveForever([](OriginConnection& c, const ReceivedRequest& r) {
    c.respond(201, "got " + std::to_string(r.body.size()));
  }));
  const std::string head = "PUT http://" + origin.authority() +
                           "/slow-upload HTTP/1.1\r\nHost: " + origin.authority() +
                           "\r\nContent-Length: 20\r\n\r\n";
  SECTION("an upload longer than origin_response succeeds") {
    Proxy proxy("timeouts:\n  origin_response: 1s\n");
    RawClient client = proxy.client();
    client.send(head);
    for (int i = 0; i < 20; ++i) { // 3 s in all
      std::this_thread::sleep_for(150ms);
      client.send("u");
    }
    auto r = client.readResponse();
    REQUIRE(r);
    CHECK(r->status == 201);
    CHECK(r->body == "got 20");
  }
  SECTION("an upload that stalls for client_idle ends the connection") {
    Proxy proxy("timeouts:\n  origin_response: 30s\n  client_idle: 1s\n");
    RawClient client = proxy.client();
    client.send(head + "uuuuu");
    CHECK(client.waitClosed(5s));
  }
}

// ---- #9: destination policy ----------------------------------------------------------------

namespace {

// The admin listener's port, as ferry logged it.
int adminPort(FerryProcess& process) {
  const auto port = process.waitAdminPort();
  REQUIRE(port);
  return *port;
}

// The value of one counter on /metrics.
std::string metric(int admin_port, const std::string& name) {
  RawClient client("127.0.0.1", admin_port);
  client.send("GET /metrics HTTP/1.1\r\nHost: ferry\r\n\r\n");
  auto r = client.readResponse();
  REQUIRE(r);
  const std::string sample = "\nferry_" + name + " ";
  const auto at = r->body.find(sample);
  REQUIRE(at != std::string::npos);
  return r->body.substr(at + sample.size(), r->body.find('\n', at + 1) - at - sample.size());
}

std::string requestTo(const std::string& authority, const std::string& path = "/") {
  return "GET http://" + authority + path + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n";
}

} // namespace

TEST_CASE("#9 by default an origin on loopback or link-local gets 403 before any connection",
          "[integration][proxy]") {
  FakeOrigin origin(echoPath());
  const std::string port = std::to_string(origin.port());
  TempDir dir;
  const std::string path = dir.path() + "/access.log";
  {
    Proxy proxy("log:\n  access_log: " + path + "\n", 2, "");
    RawClient client = proxy.client();
    for (const std::string& authority :
         {"127.0.0.1:" + port, "localhost:" + port, "[::ffff:127.0.0.1]:" + port,
          "127.0.0.2:" + port, std::string("169.254.169.254:80"), "[::1]:" + port}) {
      INFO(authority);
      client.send(requestTo(authority));
      auto r = client.readResponse();
      REQUIRE(r);
      CHECK(r->status == 403);
      CHECK(r->body.find(" is not allowed (access.deny_destinations)") != std::string::npos);
    }
    client.send(requestTo("127.0.0.1:" + port));
    auto r = client.readResponse();
    REQUIRE(r);
    CHECK(r->body.find("destination 127.0.0.1 is not allowed") != std::string::npos);
    CHECK(origin.accepts() == 0);
    proxy.process.signal(SIGTERM);
    REQUIRE(proxy.process.waitExit() == 0); // flushes the log
  }
  std::ifstream in(path);
  std::string line;
  REQUIRE(std::getline(in, line));
  CHECK(line.find(" TCP_DENIED/403 ") != std::string::npos);
  CHECK(line.find(" GET http://127.0.0.1:" + port + "/ ") != std::string::npos);
  CHECK(line.find(" HIER_NONE/") != std::string::npos);
}

TEST_CASE("#9 with allow_destinations the loopback origin is served", "[integration][proxy]") {
  FakeOrigin origin(echoPath());
  Proxy proxy("", 2, "  allow_destinations: [127.0.0.0/8]\n");
  RawClient client = proxy.client();
  client.send(get(origin, "/allowed"));
  auto r = client.readResponse();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "/allowed");
  CHECK(origin.accepts() == 1);
}

TEST_CASE("#9 ferry refuses its own listen and admin ports even when loopback is allowed",
          "[integration][proxy]") {
  Proxy proxy("admin:\n  listen: 127.0.0.1:0\n", 2, "  allow_destinations: [127.0.0.0/8]\n");
  const int admin = adminPort(proxy.process);
  RawClient client = proxy.client();
  for (const std::string& authority :
       {"127.0.0.1:" + std::to_string(admin), "localhost:" + std::to_string(admin),
        "127.0.0.1:" + std::to_string(proxy.port)}) {
    INFO(authority);
    client.send(requestTo(authority, "/metrics"));
    auto r = client.readResponse();
    REQUIRE(r);
    CHECK(r->status == 403);
    CHECK(r->body.find("is ferry itself") != std::string::npos);
  }
  CHECK(metric(admin, "destinations_denied") == "3");
}

TEST_CASE("#9 a plain or Upgrade request to a port outside access.http_ports gets 403",
          "[integration][proxy]") {
  SECTION("the default ports leave out 25") {
    Proxy proxy;
    RawClient client = proxy.client();
    client.send(requestTo("127.0.0.1:25"));
    auto r = client.readResponse();
    REQUIRE(r);
    CHECK(r->status == 403);
    CHECK(r->body.find("port 25 is not allowed (access.http_ports)") != std::string::npos);
  }
  SECTION("an origin on a port left out is never connected to") {
    FakeOrigin origin(echoPath());
    Proxy proxy("", 2, LoopbackOrigins + "  http_ports: [80, 443]\n");
    RawClient client = proxy.client();
    client.send(get(origin, "/plain"));
    auto plain = client.readResponse();
    REQUIRE(plain);
    CHECK(plain->status == 403);
    client.send(get(origin, "/ws", "Connection: Upgrade\r\nUpgrade: websocket\r\n"));
    auto upgrade = client.readResponse();
    REQUIRE(upgrade);
    CHECK(upgrade->status == 403);
    CHECK(origin.accepts() == 0);
  }
}

TEST_CASE("#9 CONNECT to a denied destination gets 403", "[integration][proxy]") {
  FakeOrigin origin([](OriginConnection& c) { c.send("never\n"); });
  Proxy proxy("", 2, "  connect_ports: [" + std::to_string(origin.port()) + "]\n");
  RawClient client = proxy.client();
  client.send("CONNECT " + origin.authority() + " HTTP/1.1\r\nHost: " + origin.authority() +
              "\r\n\r\n");
  auto r = client.readResponse();
  REQUIRE(r);
  CHECK(r->status == 403);
  CHECK(r->body.find("destination 127.0.0.1 is not allowed") != std::string::npos);
  CHECK(origin.accepts() == 0);
}

TEST_CASE("#9 a reload that denies an origin applies to pooled connections and background "
          "revalidation",
          "[integration][proxy]") {
  FakeOrigin origin(FakeOrigin::serveForever([](OriginConnection& c, const ReceivedRequest&) {
    c.respond(200, "v1", {{"Cache-Control", "max-age=0, stale-while-revalidate=600"}});
  }));
  const std::string admin = "admin:\n  listen: 127.0.0.1:0\n";
  Proxy proxy(admin, 1);
  const int admin_port = adminPort(proxy.process);
  {
    RawClient client = proxy.client();
    client.send(get(origin, "/s"));
    REQUIRE(client.readResponse()); // stored, and its connection pooled
  }
  proxy.process.rewriteConfig(config(admin, 1, ""));
  proxy.process.signal(SIGHUP);
  REQUIRE(proxy.process.waitLog("configuration reloaded"));

  RawClient client = proxy.client();
  client.send(get(origin, "/s"));
  auto stale = client.readResponse();
  REQUIRE(stale);
  CHECK(stale->body == "v1");
  CHECK(stale->header("cache-status").value_or("").find("stale-while-revalidate") !=
        std::string::npos);
  // The background revalidation finds no pooled connection and may not open one.
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (metric(admin_port, "destinations_denied") != "1" &&
         std::chrono::steady_clock::now() < until) {
  }
  CHECK(metric(admin_port, "destinations_denied") == "1");

  client.send(get(origin, "/s", "Cache-Control: no-cache\r\n"));
  auto refused = client.readResponse();
  REQUIRE(refused);
  CHECK(refused->status == 403);
  CHECK(origin.requests().size() == 1);
}

// ---- #13: tunnels relayed in the kernel -----------------------------------------------------

namespace {

// n bytes that depend on their position and on `seed`, so a block lost, doubled or moved
// shows.
std::string pattern(std::size_t n, std::uint32_t seed) {
  std::string out(n, '\0');
  std::uint32_t x = seed;
  for (char& c : out) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return out;
}

// A proxy with one worker, CONNECT allowed to `origin`, the relay spliced or buffered, and
// `extra` configuration lines.
Proxy tunnelProxy(bool splice, const FakeOrigin& origin, const std::string& extra) {
  return Proxy("splice: " + std::string(splice ? "true" : "false") + "\n" + extra, 1,
               LoopbackOrigins + "  connect_ports: [" + std::to_string(origin.port()) + "]\n");
}

// CONNECT to `origin`; its 200 read.
void openTunnel(RawClient& client, const FakeOrigin& origin) {
  client.send("CONNECT " + origin.authority() + " HTTP/1.1\r\nHost: " + origin.authority() +
              "\r\n\r\n");
  auto r = client.readResponse(true);
  REQUIRE(r);
  CHECK(r->status == 200);
}

} // namespace

TEST_CASE("#13 a tunnel relays 64 MiB each way byte-exact and passes a half-close on, in the "
          "kernel or through ferry's buffers",
          "[integration][proxy]") {
  constexpr std::size_t Size = 64 << 20;
  const std::string down = pattern(Size, 1);
  const std::string up = pattern(Size, 2);
  for (const bool splice : {true, false}) {
    INFO("splice: " << splice);
    std::promise<bool> up_exact; // the origin got every byte, then the client's FIN
    FakeOrigin origin([&](OriginConnection& c) {
      c.send(down, 60s);
      const bool exact = c.readBytes(Size, 60s) == up;
      up_exact.set_value(exact && c.waitClosed(60s));
      c.send("bye\n"); // after the half-close, this direction still works
    });
    TempDir dir;
    const std::string log = dir.path() + "/access.log";
    Proxy proxy = tunnelProxy(splice, origin,
                              "admin:\n  listen: 127.0.0.1:0\nlog:\n  access_log: " + log +
                                  "\n  access_log_format: combined\n");
    const int admin_port = adminPort(proxy.process);
    RawClient client = proxy.client();
    std::atomic<bool> sent{false};
    std::thread sender([&] {
      try {
        // The first MiB right behind the CONNECT, as a TLS ClientHello would be.
        client.send("CONNECT " + origin.authority() + " HTTP/1.1\r\nHost: " + origin.authority() +
                    "\r\n\r\n" + up.substr(0, 1 << 20));
        for (std::size_t off = 1 << 20; off < Size; off += 1 << 20)
          client.send(up.substr(off, 1 << 20)); // each MiB with its own deadline
        client.shutdownWrite();
        sent = true;
      } catch (const std::exception&) {
      }
    });
    auto r = client.readResponse(true);
    const std::string got = client.readAll(60s);
    sender.join();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(sent);
    CHECK(got.size() == Size + 4);
    CHECK((got == down + "bye\n")); // parenthesised: 64 MiB is not printed on failure
    auto exact = up_exact.get_future();
    REQUIRE(exact.wait_for(60s) == std::future_status::ready);
    CHECK(exact.get());
    CHECK(metric(admin_port, "tunnels_opened") == "1");
    CHECK(metric(admin_port, "tunnels_spliced") == (splice ? "1" : "0"));
    proxy.process.signal(SIGTERM);
    REQUIRE(proxy.process.waitExit() == 0); // flushes the log
    std::ifstream in(log);
    std::string line;
    REQUIRE(std::getline(in, line));
    CHECK(line.find("\"CONNECT " + origin.authority() + " HTTP/1.1\" 200 " +
                    std::to_string(Size + 4) + " ") != std::string::npos);
  }
}

TEST_CASE("#13 a tunnel ends after timeouts.tunnel_idle with no byte either way, while bytes one "
          "way keep it open, in the kernel or through ferry's buffers",
          "[integration][proxy]") {
  for (const bool splice : {true, false}) {
    INFO("splice: " << splice);
    std::promise<bool> closed; // the origin saw ferry close the tunnel
    FakeOrigin origin([&](OriginConnection& c) {
      for (int i = 0; i < 6; ++i) { // 1.8 s of a one-way download against a 1 s timeout
        c.send("tick\n");
        c.stall(300ms);
      }
      closed.set_value(c.waitClosed(10s));
    });
    Proxy proxy = tunnelProxy(splice, origin,
                              "admin:\n  listen: 127.0.0.1:0\ntimeouts:\n  tunnel_idle: 1s\n");
    const int admin_port = adminPort(proxy.process);
    RawClient client = proxy.client();
    openTunnel(client, origin);
    std::string ticks;
    for (int i = 0; i < 6; ++i)
      ticks += "tick\n";
    CHECK(client.readAll(20s) == ticks); // every tick, then ferry's close
    auto origin_closed = closed.get_future();
    REQUIRE(origin_closed.wait_for(20s) == std::future_status::ready);
    CHECK(origin_closed.get());
    CHECK(metric(admin_port, "tunnels_spliced") == (splice ? "1" : "0"));
    for (int i = 0; i < 100 && metric(admin_port, "closes_tunnel_idle_timeout") != "1"; ++i)
      std::this_thread::sleep_for(50ms);
    CHECK(metric(admin_port, "closes_tunnel_idle_timeout") == "1");
  }
}

TEST_CASE("#13 a tunnel whose client stops reading for longer than timeouts.client_idle goes on: "
          "timeouts.tunnel_idle is the one that applies",
          "[integration][proxy]") {
  constexpr std::size_t Size = 16 << 20; // past both sockets' buffers and ferry's window
  const std::string down = pattern(Size, 3);
  for (const bool splice : {true, false}) {
    INFO("splice: " << splice);
    FakeOrigin origin([&](OriginConnection& c) { c.send(down, 60s); });
    Proxy proxy =
        tunnelProxy(splice, origin, "timeouts:\n  client_idle: 300ms\n  tunnel_idle: 20s\n");
    RawClient client = proxy.client();
    openTunnel(client, origin);
    std::this_thread::sleep_for(1500ms); // ferry's writes to the client wait meanwhile
    const std::string got = client.readAll(30s);
    CHECK(got.size() == Size);
    CHECK((got == down));
  }
}

TEST_CASE("#13 bytes a socket does not take at once wait for it: an upload to a stalled origin "
          "and a hit to a slow client, then the next exchange on both connections",
          "[integration][proxy]") {
  constexpr std::size_t Size = 8 << 20; // past both sockets' buffers
  const std::string up = pattern(Size, 5);
  const std::string down = pattern(Size, 6);
  FakeOrigin origin([&](OriginConnection& c) {
    c.stall(500ms); // the upload backs up in ferry, whose writes then wait for the socket
    while (auto r = c.readRequest(20s)) {
      if (r->method == "POST")
        c.respond(200, r->body == up ? "uploaded" : "damaged");
      else if (r->target.ends_with("/big"))
        c.send("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: " +
                   std::to_string(Size) + "\r\n\r\n" + down,
               60s);
      else
        c.respond(200, r->target);
    }
  });
  Proxy proxy("cache:\n  memory: 64MiB\n  max_object_size: 16MiB\n", 1);
  RawClient client = proxy.client();
  client.send("POST http://" + origin.authority() + "/up HTTP/1.1\r\nHost: " + origin.authority() +
              "\r\nContent-Length: " + std::to_string(Size) + "\r\n\r\n" + up);
  auto posted = client.readResponse(false, 20s);
  REQUIRE(posted);
  CHECK(posted->body == "uploaded");
  for (int i = 0; i < 2; ++i) { // a miss that fills the cache, then a hit
    client.send(get(origin, "/big"));
    std::this_thread::sleep_for(300ms); // a client slow to start reading: the window fills
    auto big = client.readResponse(false, 20s);
    REQUIRE(big);
    CHECK(big->body.size() == Size);
    CHECK((big->body == down)); // parenthesised: 8 MiB is not printed on failure
  }
  client.send(get(origin, "/after"));
  auto after = client.readResponse();
  REQUIRE(after);
  CHECK(after->body == "/after");
  const std::vector<ReceivedRequest> requests = origin.requests();
  REQUIRE(requests.size() == 3); // the POST, the miss and /after: the hit never reached it
  CHECK(requests[0].connection == requests[1].connection);
  CHECK(requests[1].connection == requests[2].connection);
}

TEST_CASE("#13 a body that is not stored moves in the kernel: byte-exact, then the next request "
          "on both connections, and when cut short the client sees the close",
          "[integration][proxy]") {
  constexpr std::size_t Size = 8 << 20;
  const std::string big = pattern(Size, 3);
  FakeOrigin origin(FakeOrigin::serveForever([&](OriginConnection& c, const ReceivedRequest& r) {
    if (r.target.ends_with("/big")) {
      c.send("HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Length: " +
                 std::to_string(Size) + "\r\n\r\n" + big,
             60s);
    } else if (r.target.ends_with("/cut")) {
      c.send("HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Length: " +
             std::to_string(1 << 20) + "\r\n\r\n" + big.substr(0, 300 << 10));
      c.close();
    } else {
      c.respond(200, "small");
    }
  }));
  for (const bool splice : {true, false}) {
    INFO("splice: " << splice);
    Proxy proxy("splice: " + std::string(splice ? "true" : "false") +
                    "\nadmin:\n  listen: 127.0.0.1:0\n",
                1);
    const int admin_port = adminPort(proxy.process);
    const std::size_t before = origin.requests().size();
    {
      RawClient client = proxy.client();
      client.send(get(origin, "/big") + get(origin, "/small")); // pipelined
      std::this_thread::sleep_for(300ms); // a client slow to start reading: the window fills
      auto first = client.readResponse(false, 60s);
      REQUIRE(first);
      CHECK(first->status == 200);
      CHECK(first->body.size() == Size);
      CHECK((first->body == big)); // parenthesised: 8 MiB is not printed on failure
      auto second = client.readResponse();
      REQUIRE(second);
      CHECK(second->body == "small");
      const std::vector<ReceivedRequest> requests = origin.requests();
      REQUIRE(requests.size() == before + 2);
      // The origin connection went back to the pool whole and carried the next request.
      CHECK(requests[before].connection == requests[before + 1].connection);
    }
    {
      RawClient client = proxy.client();
      client.send(get(origin, "/cut"));
      const std::string got = client.readAll(20s);
      const std::size_t body_at = got.find("\r\n\r\n");
      REQUIRE(body_at != std::string::npos);
      CHECK(got.size() - body_at - 4 == 300u << 10); // relayed as far as it came, not padded
      CHECK(client.waitClosed());
    }
    CHECK(metric(admin_port, "bodies_spliced") == (splice ? "2" : "0"));
  }
}
