// Transaction driven by hand through its steps: a recording ClientSink, a scripted origin,
// the loop turned by the test and time from a fake clock (freshness and Age follow it).
#include "by_hand.h"
#include "transaction.h"

#include "ferry/http/parser.h"

using namespace ferry;
using namespace ferry::proxy;
using namespace ferry::proxy::by_hand;

namespace {

// A Transaction for `raw` (a request head as a client sends it), as ClientSession makes one.
struct Exchange {
  Exchange(Rig& rig, const std::string& raw) {
    http::RequestParser parser{http::Limits{}};
    REQUIRE(parser.parse(raw).event == http::Event::Head);
    http::RequestHead head = parser.head();
    http::stripHopByHop(head.headers);
    const bool complete = parser.parse({}).event == http::Event::MessageEnd;
    transaction = std::make_unique<Transaction>(sink, *rig.worker, *rig.settings, std::move(head),
                                                parser.target(), parser.framing(), complete,
                                                std::vector<std::string>{});
    transaction->start();
  }
  RecordingSink sink;
  std::unique_ptr<Transaction> transaction;
};

std::string get(const ScriptedOrigin& origin, const std::string& path) {
  return "GET http://" + origin.authority() + path + " HTTP/1.1\r\nHost: " + origin.authority() +
         "\r\n\r\n";
}

} // namespace

TEST_CASE("#10 route refuses an origin-form request at once, without an origin", "[proxy]") {
  Rig rig;
  Exchange exchange(rig, "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n");
  REQUIRE(exchange.sink.done);
  CHECK(exchange.sink.written().starts_with("HTTP/1.1 400 "));
  CHECK(exchange.sink.done->reusable);
  CHECK(exchange.sink.done->reason == core::CloseReason::ClientRequestError);
}

TEST_CASE("#10 fetch, relay (re-framed as chunked), finish; then a hit with Age from the clock",
          "[proxy]") {
  Rig rig;
  ScriptedOrigin origin;
  {
    Exchange miss(rig, get(origin, "/page"));
    const int fd = origin.accept(rig);
    REQUIRE(fd >= 0);
    CHECK(ScriptedOrigin::readUntil(rig, fd).starts_with("GET /page HTTP/1.1\r\n"));
    // Close-delimited: ferry frames it as chunked for its HTTP/1.1 client.
    ScriptedOrigin::send(fd, "HTTP/1.0 200 OK\r\nCache-Control: max-age=60\r\n\r\nbody");
    ::shutdown(fd, SHUT_WR);
    REQUIRE(rig.runUntil([&] { return miss.sink.done.has_value(); }));
    const std::string out = miss.sink.written();
    CHECK(out.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(out.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
    CHECK(out.ends_with("\r\n\r\n4\r\nbody\r\n0\r\n\r\n"));
    CHECK(miss.sink.done->reusable);
  }
  rig.clock.advance(10s);
  Exchange hit(rig, get(origin, "/page"));
  REQUIRE(rig.runUntil([&] { return hit.sink.done.has_value(); }));
  const std::string out = hit.sink.written();
  CHECK(out.find("Age: 10\r\n") != std::string::npos);
  CHECK(out.find("Cache-Status: ferry; hit; ttl=50") != std::string::npos);
  CHECK(out.ends_with("\r\n\r\nbody"));
  CHECK(origin.accepts() == 1);
}

TEST_CASE("#10 revalidate, refreshed by a 304, serve the stored body", "[proxy]") {
  Rig rig;
  ScriptedOrigin origin;
  int fd = -1;
  {
    Exchange first(rig, get(origin, "/r"));
    fd = origin.accept(rig);
    ScriptedOrigin::readUntil(rig, fd);
    ScriptedOrigin::send(fd, "HTTP/1.1 200 OK\r\nCache-Control: max-age=5\r\nETag: \"v1\"\r\n"
                             "Content-Length: 6\r\n\r\nstored");
    REQUIRE(rig.runUntil([&] { return first.sink.done.has_value(); }));
  }
  rig.clock.advance(30s); // stale now
  Exchange second(rig, get(origin, "/r"));
  const std::string conditional = ScriptedOrigin::readUntil(rig, fd); // the pooled connection
  CHECK(conditional.find("If-None-Match: \"v1\"\r\n") != std::string::npos);
  ScriptedOrigin::send(fd, "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n");
  REQUIRE(rig.runUntil([&] { return second.sink.done.has_value(); }));
  const std::string out = second.sink.written();
  CHECK(out.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(out.find("fwd-status=304") != std::string::npos);
  CHECK(out.ends_with("\r\n\r\nstored"));
  CHECK(second.sink.done->reusable);
}

TEST_CASE("#10 connect: a CONNECT becomes a tunnel once the origin is reached", "[proxy]") {
  Settings settings;
  ScriptedOrigin origin;
  settings.access.connect_ports = {origin.port()};
  Rig rig(settings);
  Exchange exchange(rig, "CONNECT " + origin.authority() +
                             " HTTP/1.1\r\nHost: " + origin.authority() + "\r\n\r\n");
  REQUIRE(rig.runUntil([&] { return exchange.sink.tunnel; }));
  CHECK(exchange.sink.written() == "HTTP/1.1 200 Connection established\r\n\r\n");
  CHECK_FALSE(exchange.sink.done);
}
