// The shared cache end to end (RFC 9111): the real ferry binary between RawClients and a
// scripted FakeOrigin that counts what reaches it.
#include "support/fake_origin.h"
#include "support/ferry_process.h"
#include "support/raw_client.h"

#include <catch2/catch.hpp>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace ferry::test;

namespace {

// The fake origins listen on loopback, which access.deny_destinations refuses by default.
struct Proxy {
  explicit Proxy(const std::string& extra = "")
      : process("listen: [\"127.0.0.1:0\"]\nworkers: 2\n"
                "access:\n  allow_destinations: [127.0.0.0/8, \"::1/128\"]\n" +
                extra) {
    auto p = process.waitListening();
    REQUIRE(p);
    port = *p;
  }
  // One request on a fresh connection; the response, or nullopt.
  std::optional<Response> fetch(const std::string& request) const {
    RawClient client("127.0.0.1", port);
    client.send(request);
    return client.readResponse(request.rfind("HEAD ", 0) == 0);
  }
  FerryProcess process;
  int port = 0;
};

std::string get(const FakeOrigin& origin, const std::string& path,
                const std::string& extra_headers = "") {
  return "GET http://" + origin.authority() + path + " HTTP/1.1\r\nHost: " + origin.authority() +
         "\r\n" + extra_headers + "\r\n";
}

std::string cacheStatus(const Response& r) {
  return r.header("cache-status").value_or("");
}

// An origin that answers every request with `body` and the given fields.
FakeOrigin::Script answering(std::string body,
                             std::vector<std::pair<std::string, std::string>> fields) {
  return FakeOrigin::serveForever(
      [=](OriginConnection& c, const ReceivedRequest&) { c.respond(200, body, fields); });
}

std::size_t requestsFor(const FakeOrigin& origin, const std::string& path) {
  std::size_t n = 0;
  for (const auto& r : origin.requests())
    n += r.target == path;
  return n;
}

} // namespace

TEST_CASE("cache: a hit after a miss does not reach the origin", "[integration][cache]") {
  FakeOrigin origin(answering("cached body", {{"Cache-Control", "max-age=60"}}));
  Proxy proxy;
  auto miss = proxy.fetch(get(origin, "/a"));
  REQUIRE(miss);
  CHECK(miss->body == "cached body");
  CHECK(cacheStatus(*miss).find("fwd=uri-miss") != std::string::npos);
  CHECK(cacheStatus(*miss).find("stored") != std::string::npos);

  for (int i = 0; i < 3; ++i) {
    auto hit = proxy.fetch(get(origin, "/a"));
    REQUIRE(hit);
    CHECK(hit->status == 200);
    CHECK(hit->body == "cached body");
    CHECK(cacheStatus(*hit).find("ferry; hit") == 0);
    CHECK(hit->header("age"));
    CHECK(hit->header("via").value_or("").find("ferry") != std::string::npos);
  }
  CHECK(requestsFor(origin, "/a") == 1);

  auto head = proxy.fetch("HEAD http://" + origin.authority() +
                          "/a HTTP/1.1\r\nHost: " + origin.authority() + "\r\n\r\n");
  REQUIRE(head);
  CHECK(head->header("content-length") == "11");
  CHECK(requestsFor(origin, "/a") == 1); // HEAD answered from the stored GET
}

TEST_CASE("cache: Age counts the time spent upstream and in the cache", "[integration][cache]") {
  // RFC 9111 §4.2.3: an Age of 30 from upstream is where the stored response's age starts.
  FakeOrigin origin(answering("aged", {{"Cache-Control", "max-age=600"}, {"Age", "30"}}));
  Proxy proxy;
  REQUIRE(proxy.fetch(get(origin, "/aged")));
  auto first = proxy.fetch(get(origin, "/aged"));
  REQUIRE(first);
  const int age = std::stoi(first->header("age").value_or("-1"));
  CHECK(age >= 30);
  // It grows while the response sits in the cache (polled with a deadline, not slept).
  const auto until = std::chrono::steady_clock::now() + 5s;
  int later = age;
  while (later <= age && std::chrono::steady_clock::now() < until) {
    auto r = proxy.fetch(get(origin, "/aged"));
    REQUIRE(r);
    later = std::stoi(r->header("age").value_or("-1"));
  }
  CHECK(later > age);
  CHECK(requestsFor(origin, "/aged") == 1);
}

TEST_CASE("cache: a stale response is revalidated and a 304 serves the stored body",
          "[integration][cache]") {
  FakeOrigin origin(FakeOrigin::serveForever([](OriginConnection& c, const ReceivedRequest& r) {
    if (r.header("if-none-match") == "\"v1\"")
      c.respond(304, "", {{"ETag", "\"v1\""}, {"Cache-Control", "max-age=0"}});
    else
      c.respond(200, "version one", {{"ETag", "\"v1\""}, {"Cache-Control", "max-age=0"}});
  }));
  Proxy proxy;
  REQUIRE(proxy.fetch(get(origin, "/v")));
  auto again = proxy.fetch(get(origin, "/v"));
  REQUIRE(again);
  CHECK(again->status == 200);
  CHECK(again->body == "version one");
  CHECK(cacheStatus(*again).find("fwd=stale") != std::string::npos);
  CHECK(cacheStatus(*again).find("fwd-status=304") != std::string::npos);
  REQUIRE(origin.requests().size() == 2);
  CHECK(origin.requests()[1].header("if-none-match") == "\"v1\"");

  SECTION("the client's own conditional is answered 304 from the cache") {
    auto conditional = proxy.fetch(get(origin, "/v", "If-None-Match: \"v1\"\r\n"));
    REQUIRE(conditional);
    CHECK(conditional->status == 304);
    CHECK(conditional->body.empty());
  }
}

TEST_CASE("cache: a 200 to a revalidation replaces the stored response", "[integration][cache]") {
  std::atomic<int> version{1};
  FakeOrigin origin(FakeOrigin::serveForever([&](OriginConnection& c, const ReceivedRequest&) {
    const std::string v = std::to_string(version.load());
    c.respond(200, "version " + v, {{"ETag", "\"" + v + "\""}, {"Cache-Control", "max-age=0"}});
  }));
  Proxy proxy;
  REQUIRE(proxy.fetch(get(origin, "/r"))->body == "version 1");
  version = 2;
  auto changed = proxy.fetch(get(origin, "/r"));
  REQUIRE(changed);
  CHECK(changed->body == "version 2");
  CHECK(cacheStatus(*changed).find("fwd=stale") != std::string::npos);
}

TEST_CASE("cache: Vary keeps one variant per nominated request value", "[integration][cache]") {
  FakeOrigin origin(FakeOrigin::serveForever([](OriginConnection& c, const ReceivedRequest& r) {
    c.respond(200, "lang=" + r.header("accept-language").value_or("none"),
              {{"Cache-Control", "max-age=60"}, {"Vary", "Accept-Language"}});
  }));
  Proxy proxy;
  CHECK(proxy.fetch(get(origin, "/l", "Accept-Language: en\r\n"))->body == "lang=en");
  CHECK(proxy.fetch(get(origin, "/l", "Accept-Language: fr\r\n"))->body == "lang=fr");
  auto en = proxy.fetch(get(origin, "/l", "Accept-Language: en\r\n"));
  auto fr = proxy.fetch(get(origin, "/l", "Accept-Language: fr\r\n"));
  REQUIRE(en);
  REQUIRE(fr);
  CHECK(en->body == "lang=en");
  CHECK(fr->body == "lang=fr");
  CHECK(cacheStatus(*en).find("hit") != std::string::npos);
  CHECK(requestsFor(origin, "/l") == 2);
}

TEST_CASE("cache: a successful POST invalidates the stored URI", "[integration][cache]") {
  FakeOrigin origin(answering("fresh", {{"Cache-Control", "max-age=60"}}));
  Proxy proxy;
  REQUIRE(proxy.fetch(get(origin, "/p")));
  REQUIRE(proxy.fetch(get(origin, "/p")));
  CHECK(requestsFor(origin, "/p") == 1);
  auto post = proxy.fetch("POST http://" + origin.authority() + "/p HTTP/1.1\r\nHost: " +
                          origin.authority() + "\r\nContent-Length: 2\r\n\r\nhi");
  REQUIRE(post);
  CHECK(post->status == 200);
  REQUIRE(proxy.fetch(get(origin, "/p")));
  CHECK(requestsFor(origin, "/p") == 3); // GET, POST, GET again
}

TEST_CASE("cache: only-if-cached answers 504 without a stored response", "[integration][cache]") {
  FakeOrigin origin(answering("x", {{"Cache-Control", "max-age=60"}}));
  Proxy proxy;
  auto none = proxy.fetch(get(origin, "/o", "Cache-Control: only-if-cached\r\n"));
  REQUIRE(none);
  CHECK(none->status == 504);
  CHECK(origin.requests().empty());
  REQUIRE(proxy.fetch(get(origin, "/o")));
  auto stored = proxy.fetch(get(origin, "/o", "Cache-Control: only-if-cached\r\n"));
  REQUIRE(stored);
  CHECK(stored->status == 200);
  CHECK(requestsFor(origin, "/o") == 1);
}

TEST_CASE("cache: a truncated response is never served from the cache", "[integration][cache]") {
  SECTION("Content-Length not reached") {
    FakeOrigin origin([](OriginConnection& c) {
      c.readRequest();
      if (c.index() == 0) {
        c.send("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 100\r\n\r\npart");
        c.close();
        return;
      }
      c.respond(200, "whole", {{"Cache-Control", "max-age=60"}});
    });
    Proxy proxy;
    CHECK_FALSE(proxy.fetch(get(origin, "/t"))); // the reader sees the close before 100 bytes
    auto next = proxy.fetch(get(origin, "/t"));
    REQUIRE(next);
    CHECK(next->body == "whole");
    CHECK(origin.accepts() == 2);
  }
  SECTION("chunked without its last chunk") {
    FakeOrigin origin([](OriginConnection& c) {
      c.readRequest();
      if (c.index() == 0) {
        c.send("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nTransfer-Encoding: chunked\r\n"
               "\r\n4\r\npart\r\n");
        c.close();
        return;
      }
      c.respond(200, "whole", {{"Cache-Control", "max-age=60"}});
    });
    Proxy proxy;
    CHECK_FALSE(proxy.fetch(get(origin, "/t")));
    auto next = proxy.fetch(get(origin, "/t"));
    REQUIRE(next);
    CHECK(next->body == "whole");
    CHECK(origin.accepts() == 2);
  }
}

TEST_CASE("cache: 20 concurrent misses for one URI make one origin request",
          "[integration][cache]") {
  const std::string body(100000, 'c');
  FakeOrigin origin(FakeOrigin::serveForever([&](OriginConnection& c, const ReceivedRequest&) {
    c.stall(500ms); // every client asks while the first fetch is still waiting
    c.respond(200, body, {{"Cache-Control", "max-age=60"}});
  }));
  Proxy proxy;
  std::vector<std::thread> clients;
  std::atomic<int> whole{0};
  for (int i = 0; i < 20; ++i)
    clients.emplace_back([&] {
      auto r = proxy.fetch(get(origin, "/collapsed"));
      if (r && r->status == 200 && r->body == body)
        ++whole;
    });
  for (auto& t : clients)
    t.join();
  CHECK(whole == 20);
  CHECK(requestsFor(origin, "/collapsed") == 1);
}

TEST_CASE("cache: stale-if-error serves the stored response when the origin fails",
          "[integration][cache]") {
  std::atomic<bool> failing{false};
  FakeOrigin origin(FakeOrigin::serveForever([&](OriginConnection& c, const ReceivedRequest&) {
    if (failing)
      c.respond(503, "down");
    else
      c.respond(200, "still good", {{"Cache-Control", "max-age=0, stale-if-error=600"}});
  }));
  Proxy proxy;
  REQUIRE(proxy.fetch(get(origin, "/e")));
  failing = true;
  auto r = proxy.fetch(get(origin, "/e"));
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "still good");
  CHECK(cacheStatus(*r).find("stale-if-error") != std::string::npos);
}

TEST_CASE("cache: must-revalidate answers the error rather than stale", "[integration][cache]") {
  std::atomic<bool> failing{false};
  FakeOrigin origin(FakeOrigin::serveForever([&](OriginConnection& c, const ReceivedRequest&) {
    if (failing)
      c.respond(503, "down");
    else
      c.respond(200, "strict",
                {{"Cache-Control", "max-age=0, must-revalidate, stale-if-error=600"}});
  }));
  Proxy proxy;
  REQUIRE(proxy.fetch(get(origin, "/m")));
  failing = true;
  auto r = proxy.fetch(get(origin, "/m"));
  REQUIRE(r);
  CHECK(r->status == 503);
}

TEST_CASE("cache: stale-while-revalidate serves stale and refreshes in the background",
          "[integration][cache]") {
  std::atomic<int> version{1};
  FakeOrigin origin(FakeOrigin::serveForever([&](OriginConnection& c, const ReceivedRequest&) {
    c.respond(200, "v" + std::to_string(version.load()),
              {{"Cache-Control", "max-age=0, stale-while-revalidate=600"}});
  }));
  Proxy proxy;
  REQUIRE(proxy.fetch(get(origin, "/s"))->body == "v1");
  version = 2;
  auto stale = proxy.fetch(get(origin, "/s"));
  REQUIRE(stale);
  CHECK(stale->body == "v1");
  CHECK(cacheStatus(*stale).find("stale-while-revalidate") != std::string::npos);
  // One background revalidation reaches the origin and stores v2.
  REQUIRE(origin.waitRequests(2));
  const auto until = std::chrono::steady_clock::now() + 5s;
  std::string body;
  while (body != "v2" && std::chrono::steady_clock::now() < until)
    body = proxy.fetch(get(origin, "/s"))->body;
  CHECK(body == "v2");
}

TEST_CASE("cache: a single Range is answered 206 from a stored response", "[integration][cache]") {
  FakeOrigin origin(answering("0123456789", {{"Cache-Control", "max-age=60"}}));
  Proxy proxy;
  REQUIRE(proxy.fetch(get(origin, "/range")));
  auto part = proxy.fetch(get(origin, "/range", "Range: bytes=2-5\r\n"));
  REQUIRE(part);
  CHECK(part->status == 206);
  CHECK(part->body == "2345");
  CHECK(part->header("content-range") == "bytes 2-5/10");
  auto bad = proxy.fetch(get(origin, "/range", "Range: bytes=50-\r\n"));
  REQUIRE(bad);
  CHECK(bad->status == 416);
  CHECK(bad->header("content-range") == "bytes */10");
  CHECK(requestsFor(origin, "/range") == 1);
}

TEST_CASE("cache: PURGE removes a stored URI, from admin networks only", "[integration][cache]") {
  FakeOrigin origin(answering("purge me", {{"Cache-Control", "max-age=60"}}));
  const std::string purge = "PURGE http://" + origin.authority() +
                            "/x HTTP/1.1\r\nHost: " + origin.authority() + "\r\n\r\n";
  SECTION("allowed") {
    Proxy proxy;
    REQUIRE(proxy.fetch(get(origin, "/x")));
    auto purged = proxy.fetch(purge);
    REQUIRE(purged);
    CHECK(purged->status == 200);
    CHECK(proxy.fetch(purge)->status == 404);
    REQUIRE(proxy.fetch(get(origin, "/x")));
    CHECK(requestsFor(origin, "/x") == 2);
  }
  SECTION("refused") {
    Proxy proxy("admin:\n  allow: [\"10.0.0.0/8\"]\n");
    REQUIRE(proxy.fetch(get(origin, "/x")));
    CHECK(proxy.fetch(purge)->status == 403);
    REQUIRE(proxy.fetch(get(origin, "/x")));
    CHECK(requestsFor(origin, "/x") == 1);
  }
}

TEST_CASE("cache: a response over max_object_size is relayed whole but not stored",
          "[integration][cache]") {
  const std::string big(300000, 'B');
  FakeOrigin origin(answering(big, {{"Cache-Control", "max-age=60"}}));
  Proxy proxy("cache:\n  memory: 4MiB\n  max_object_size: 100KiB\n");
  for (int i = 0; i < 2; ++i) {
    auto r = proxy.fetch(get(origin, "/big"));
    REQUIRE(r);
    CHECK(r->body.size() == big.size());
  }
  CHECK(requestsFor(origin, "/big") == 2);
}

TEST_CASE("cache: LRU eviction under a small budget drops the oldest first",
          "[integration][cache]") {
  const std::string body(400 * 1024, 'L');
  FakeOrigin origin(answering(body, {{"Cache-Control", "max-age=600"}}));
  Proxy proxy("cache:\n  memory: 2MiB\n  max_object_size: 1MiB\n");
  for (int i = 0; i < 8; ++i) // 3.2 MB into a 2 MiB budget
    REQUIRE(proxy.fetch(get(origin, "/lru/" + std::to_string(i))));
  REQUIRE(proxy.fetch(get(origin, "/lru/7"))); // the newest is still there
  CHECK(requestsFor(origin, "/lru/7") == 1);
  REQUIRE(proxy.fetch(get(origin, "/lru/0"))); // the oldest was evicted
  CHECK(requestsFor(origin, "/lru/0") == 2);
}

TEST_CASE("cache: the access log records hits and misses", "[integration][cache]") {
  FakeOrigin origin(answering("logged", {{"Cache-Control", "max-age=60"}}));
  TempDir dir;
  const std::string path = dir.path() + "/access.log";
  {
    Proxy proxy("log:\n  access_log: " + path + "\n");
    REQUIRE(proxy.fetch(get(origin, "/log")));
    REQUIRE(proxy.fetch(get(origin, "/log")));
    proxy.process.signal(SIGTERM);
    REQUIRE(proxy.process.waitExit() == 0);
  }
  std::ifstream in(path);
  std::string first;
  std::string second;
  REQUIRE(std::getline(in, first));
  REQUIRE(std::getline(in, second));
  CHECK(first.find(" TCP_MISS/200 ") != std::string::npos);
  CHECK(second.find(" TCP_MEM_HIT/200 ") != std::string::npos);
}

// ---- #9: hostile peers ----------------------------------------------------------------------

namespace {

// Resident memory of process `pid`, in KiB (VmRSS), or -1.
long residentKiB(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stol(line.substr(6));
  return -1;
}

} // namespace

TEST_CASE("#9 pipelined HEADs answered from the cache wait for a client that reads nothing",
          "[integration][cache]") {
  // 60 KiB of header fields per answer: 3,000 of them would be 180 MiB if queued.
  std::vector<std::pair<std::string, std::string>> fields{{"Cache-Control", "max-age=600"}};
  for (int i = 0; i < 60; ++i)
    fields.emplace_back("X-Pad-" + std::to_string(i), std::string(1000, 'p'));
  FakeOrigin origin(answering("body", fields));
  Proxy proxy;
  REQUIRE(proxy.fetch(get(origin, "/fat-head")));
  const long before = residentKiB(proxy.process.pid());
  REQUIRE(before > 0);

  constexpr int Heads = 3000;
  RawClient client("127.0.0.1", proxy.port);
  std::string burst;
  for (int i = 0; i < Heads; ++i)
    burst += "HEAD http://" + origin.authority() +
             "/fat-head HTTP/1.1\r\nHost: " + origin.authority() + "\r\n\r\n";
  client.send(burst);
  // Long enough for ferry to answer every one of them if nothing held it back.
  std::this_thread::sleep_for(2s);
  const long grown = residentKiB(proxy.process.pid()) - before;
  CHECK(grown < 48 * 1024);
  for (int i = 0; i < Heads; ++i) {
    auto r = client.readResponse(true);
    REQUIRE(r);
    REQUIRE(r->status == 200);
  }
  CHECK(requestsFor(origin, "/fat-head") == 1);
}

TEST_CASE("#9 background revalidation sends a bodiless conditional GET", "[integration][cache]") {
  FakeOrigin origin(FakeOrigin::serveForever([&](OriginConnection& c, const ReceivedRequest& r) {
    if (r.header("if-none-match"))
      c.respond(304, "", {{"ETag", "\"v1\""}});
    else
      c.respond(200, "v1",
                {{"Cache-Control", "max-age=0, stale-while-revalidate=600"}, {"ETag", "\"v1\""}});
  }));
  Proxy proxy;
  REQUIRE(proxy.fetch(get(origin, "/swr-body")));
  // A stale hit whose request carries a body, an expectation and its own conditionals.
  auto stale = proxy.fetch("GET http://" + origin.authority() +
                           "/swr-body HTTP/1.1\r\nHost: " + origin.authority() +
                           "\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n"
                           "If-Match: \"v1\"\r\n\r\nabc");
  REQUIRE(stale);
  CHECK(stale->body == "v1");
  REQUIRE(origin.waitRequests(2));
  const ReceivedRequest refresh = origin.requests()[1];
  CHECK(refresh.method == "GET");
  CHECK(refresh.header("if-none-match") == "\"v1\"");
  CHECK_FALSE(refresh.header("content-length"));
  CHECK_FALSE(refresh.header("transfer-encoding"));
  CHECK_FALSE(refresh.header("content-type"));
  CHECK_FALSE(refresh.header("if-match"));
  CHECK(refresh.body.empty());
}

TEST_CASE("#9 a refresh rule pattern costs linear time on a long attacker-chosen URL",
          "[integration][cache]") {
  FakeOrigin origin(answering("fine", {{"Last-Modified", "Thu, 01 Jan 2026 00:00:00 GMT"}}));
  // Catastrophic for a backtracking engine: nested quantifiers that fail at the last byte.
  Proxy proxy("cache:\n  refresh_rules:\n    - {pattern: '(a+)+$', min: 1h}\n");
  const std::string path = "/" + std::string(8000, 'a') + "b";
  REQUIRE(proxy.fetch(get(origin, path)));
  auto hit = proxy.fetch(get(origin, path)); // the stored response's freshness runs the rules
  REQUIRE(hit);
  CHECK(hit->status == 200);
  CHECK(hit->body == "fine");
  CHECK(cacheStatus(*hit).find("hit") != std::string::npos);
}

TEST_CASE("#9 --check refuses a refresh rule pattern RE2 cannot run in linear time",
          "[integration][cache]") {
  TempDir dir;
  const std::string path =
      dir.write("ferry.yaml", "cache:\n  refresh_rules:\n    - {pattern: '(a)\\1'}\n");
  const RunResult result = runFerry({"--check", "--config", path});
  CHECK(result.exit_code == 1);
  CHECK(result.err.find(path + ":3:") != std::string::npos);
  CHECK(result.err.find("RE2") != std::string::npos);
}

TEST_CASE("#11 a stored Set-Cookie reaches only the client whose request fetched it",
          "[integration][cache]") {
  FakeOrigin origin(
      answering("per user", {{"Cache-Control", "max-age=60"}, {"Set-Cookie", "sid=alice"}}));
  SECTION("set_cookie: strip (the default) stores the response without the cookie") {
    Proxy proxy;
    auto alice = proxy.fetch(get(origin, "/c"));
    REQUIRE(alice);
    CHECK(alice->header("set-cookie") == "sid=alice");
    auto bob = proxy.fetch(get(origin, "/c"));
    REQUIRE(bob);
    CHECK(bob->body == "per user");
    CHECK(cacheStatus(*bob).find("ferry; hit") == 0);
    CHECK_FALSE(bob->header("set-cookie"));
    CHECK(requestsFor(origin, "/c") == 1);
  }
  SECTION("set_cookie: refuse does not store it") {
    Proxy proxy("cache:\n  set_cookie: refuse\n");
    auto alice = proxy.fetch(get(origin, "/c"));
    REQUIRE(alice);
    CHECK(cacheStatus(*alice).find("detail=set-cookie") != std::string::npos);
    auto bob = proxy.fetch(get(origin, "/c"));
    REQUIRE(bob);
    CHECK(bob->header("set-cookie") == "sid=alice"); // the origin's answer to bob
    CHECK(requestsFor(origin, "/c") == 2);
  }
  SECTION("set_cookie: store serves it from the cache (RFC 9111 §3)") {
    Proxy proxy("cache:\n  set_cookie: store\n");
    REQUIRE(proxy.fetch(get(origin, "/c")));
    auto bob = proxy.fetch(get(origin, "/c"));
    REQUIRE(bob);
    CHECK(cacheStatus(*bob).find("ferry; hit") == 0);
    CHECK(bob->header("set-cookie") == "sid=alice");
    CHECK(requestsFor(origin, "/c") == 1);
  }
}

TEST_CASE("#11 a transfer coding other than chunked is relayed until the origin closes, unstored",
          "[integration][cache]") {
  // RFC 9112 §6.3 rule 4: the body ends at the close. ferry does not decode it, so the coding
  // goes on to the client and the coded bytes are not stored as the representation.
  FakeOrigin origin([](OriginConnection& c) {
    if (!c.readRequest())
      return;
    c.send("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nTransfer-Encoding: x-rot13\r\n"
           "Connection: x-unknown, x-Trace\r\nX-Trace: hop\r\nX-Kept: 1\r\n\r\nuryyb jbeyq");
  }); // the script returns: the connection closes
  Proxy proxy;
  for (int i = 1; i <= 2; ++i) {
    auto r = proxy.fetch(get(origin, "/coded"));
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->header("transfer-encoding") == "x-rot13, chunked");
    CHECK(r->body == "uryyb jbeyq");
    CHECK(cacheStatus(*r).find("detail=transfer-coded") != std::string::npos);
    // Connection options ferry does not know are stripped with the fields they name.
    CHECK_FALSE(r->header("x-trace"));
    CHECK_FALSE(r->header("x-unknown"));
    CHECK(r->header("x-kept") == "1");
    CHECK(requestsFor(origin, "/coded") == static_cast<std::size_t>(i));
  }
  // RFC 9112 §6.1: an HTTP/1.0 client cannot be sent Transfer-Encoding.
  auto old = proxy.fetch("GET http://" + origin.authority() + "/coded HTTP/1.0\r\n\r\n");
  REQUIRE(old);
  CHECK(old->status == 502);
}

TEST_CASE("#11 a 304 whose ETag selects no stored response leads to an unconditional request",
          "[integration][cache]") {
  // RFC 9111 §4.3.4: nothing stored is updated, and the client (which asked for the whole
  // response) never sees the 304 to ferry's condition.
  std::atomic<int> full{0};
  FakeOrigin origin(FakeOrigin::serveForever([&](OriginConnection& c, const ReceivedRequest& r) {
    if (r.header("if-none-match")) {
      c.respond(304, "", {{"ETag", "\"other\""}, {"Cache-Control", "max-age=0"}});
      return;
    }
    const std::string v = std::to_string(++full);
    c.respond(200, "version " + v, {{"ETag", "\"v" + v + "\""}, {"Cache-Control", "max-age=0"}});
  }));
  Proxy proxy;
  REQUIRE(proxy.fetch(get(origin, "/etag"))->body == "version 1");
  auto again = proxy.fetch(get(origin, "/etag"));
  REQUIRE(again);
  CHECK(again->status == 200);
  CHECK(again->body == "version 2");
  CHECK(again->header("etag") == "\"v2\"");
  REQUIRE(origin.requests().size() == 3);
  CHECK(origin.requests()[1].header("if-none-match") == "\"v1\"");
  CHECK_FALSE(origin.requests()[2].header("if-none-match"));
  // The answer replaced the stored response: the next revalidation names its ETag.
  REQUIRE(proxy.fetch(get(origin, "/etag")));
  REQUIRE(origin.requests().size() >= 4);
  CHECK(origin.requests()[3].header("if-none-match") == "\"v2\"");
}

TEST_CASE("#11 a 200 to HEAD updates the stored GET response, or removes it (RFC 9111 §4.3.5)",
          "[integration][cache]") {
  std::atomic<int> etag{1};
  FakeOrigin origin(FakeOrigin::serveForever([&](OriginConnection& c, const ReceivedRequest& r) {
    const std::string tag = "\"" + std::to_string(etag.load()) + "\"";
    if (r.method == "HEAD")
      c.send("HTTP/1.1 200 OK\r\nETag: " + tag +
             "\r\nCache-Control: max-age=600\r\nX-Version: head\r\nContent-Length: 4\r\n\r\n");
    else
      c.respond(200, "body", {{"ETag", tag}, {"Cache-Control", "max-age=0"}, {"X-Version", "get"}});
  }));
  Proxy proxy;
  const std::string head = "HEAD http://" + origin.authority() +
                           "/h HTTP/1.1\r\nHost: " + origin.authority() + "\r\n\r\n";
  REQUIRE(proxy.fetch(get(origin, "/h")));
  SECTION("matching validators and length: freshened, served from the cache after") {
    auto h = proxy.fetch(head);
    REQUIRE(h);
    CHECK(h->status == 200);
    CHECK(h->header("x-version") == "head");
    auto hit = proxy.fetch(get(origin, "/h"));
    REQUIRE(hit);
    CHECK(hit->body == "body");
    CHECK(hit->header("x-version") == "head");
    CHECK(cacheStatus(*hit).find("ferry; hit") == 0);
    CHECK(requestsFor(origin, "/h") == 2);
  }
  SECTION("another ETag: the stored response is removed") {
    etag = 2;
    auto h = proxy.fetch(head);
    REQUIRE(h);
    CHECK(h->header("etag") == "\"2\"");
    auto miss = proxy.fetch(get(origin, "/h"));
    REQUIRE(miss);
    CHECK(cacheStatus(*miss).find("fwd=uri-miss") != std::string::npos);
    CHECK(requestsFor(origin, "/h") == 3);
  }
}

TEST_CASE("#11 a 304 with private removes the stored response", "[integration][cache]") {
  FakeOrigin origin(FakeOrigin::serveForever([](OriginConnection& c, const ReceivedRequest& r) {
    if (r.header("if-none-match"))
      c.respond(304, "", {{"ETag", "\"v1\""}, {"Cache-Control", "private, max-age=60"}});
    else
      c.respond(200, "shared", {{"ETag", "\"v1\""}, {"Cache-Control", "max-age=0"}});
  }));
  Proxy proxy;
  REQUIRE(proxy.fetch(get(origin, "/p")));
  auto revalidated = proxy.fetch(get(origin, "/p"));
  REQUIRE(revalidated);
  CHECK(revalidated->status == 200);
  CHECK(revalidated->body == "shared"); // this client still gets its answer
  CHECK(revalidated->header("cache-control") == "private, max-age=60");
  auto after = proxy.fetch(get(origin, "/p"));
  REQUIRE(after);
  CHECK(cacheStatus(*after).find("fwd=uri-miss") != std::string::npos);
  REQUIRE(origin.requests().size() == 3);
  CHECK_FALSE(origin.requests()[2].header("if-none-match")); // nothing left to revalidate
}

TEST_CASE("#11 a Set-Cookie in a 304 reaches only the client that revalidated",
          "[integration][cache]") {
  FakeOrigin origin(FakeOrigin::serveForever([](OriginConnection& c, const ReceivedRequest& r) {
    if (r.header("if-none-match"))
      c.respond(304, "",
                {{"ETag", "\"v1\""}, {"Cache-Control", "max-age=60"}, {"Set-Cookie", "sid=bob"}});
    else
      c.respond(200, "shared", {{"ETag", "\"v1\""}, {"Cache-Control", "max-age=0"}});
  }));
  Proxy proxy("cache:\n  set_cookie: store\n");
  REQUIRE(proxy.fetch(get(origin, "/s")));
  auto bob = proxy.fetch(get(origin, "/s", "Cookie: sid=old\r\n"));
  REQUIRE(bob);
  CHECK(bob->body == "shared");
  CHECK(bob->header("set-cookie") == "sid=bob");
  auto carol = proxy.fetch(get(origin, "/s"));
  REQUIRE(carol);
  CHECK(cacheStatus(*carol).find("ferry; hit") == 0); // freshened by bob's 304: max-age=60
  CHECK(carol->body == "shared");
  CHECK_FALSE(carol->header("set-cookie"));
  CHECK(requestsFor(origin, "/s") == 2);
}

TEST_CASE("#11 cache.targeted_fields: CDN-Cache-Control replaces Cache-Control when listed",
          "[integration][cache]") {
  FakeOrigin origin(answering(
      "for the cdn", {{"Cache-Control", "no-store"}, {"CDN-Cache-Control", "max-age=60"}}));
  SECTION("listed: stored for its max-age, the field passed on") {
    Proxy proxy("cache:\n  targeted_fields: [CDN-Cache-Control]\n");
    REQUIRE(proxy.fetch(get(origin, "/t")));
    auto hit = proxy.fetch(get(origin, "/t"));
    REQUIRE(hit);
    CHECK(cacheStatus(*hit).find("ferry; hit") == 0);
    CHECK(hit->header("cdn-cache-control") == "max-age=60");
    CHECK(requestsFor(origin, "/t") == 1);
  }
  SECTION("by default: Cache-Control's no-store applies") {
    Proxy proxy;
    auto first = proxy.fetch(get(origin, "/t"));
    REQUIRE(first);
    CHECK(first->header("cdn-cache-control") == "max-age=60");
    REQUIRE(proxy.fetch(get(origin, "/t")));
    CHECK(requestsFor(origin, "/t") == 2);
  }
}

TEST_CASE("#9 a malformed body of a request being answered ends the connection, no 400 in it",
          "[integration][cache]") {
  FakeOrigin origin(answering("0123", {{"Cache-Control", "max-age=60"}}));
  Proxy proxy;
  REQUIRE(proxy.fetch(get(origin, "/g")));
  RawClient client("127.0.0.1", proxy.port);
  // A hit answered at once, while its request's chunked body is still being read: bad.
  client.send("GET http://" + origin.authority() + "/g HTTP/1.1\r\nHost: " + origin.authority() +
              "\r\nTransfer-Encoding: chunked\r\n\r\nx\r\n");
  const std::string all = client.readAll(5s);
  CHECK(all.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(all.find("400 Bad Request") == std::string::npos);
  CHECK(client.waitClosed(1s)); // the answer cut short by the close: the client can tell
}

namespace {

// `size` bytes that differ from one offset to the next, so a lost or repeated piece shows.
std::string patterned(std::size_t size) {
  std::string body(size, '\0');
  for (std::size_t i = 0; i < size; ++i)
    body[i] = static_cast<char>('a' + (i * 7 + i / 4093) % 26);
  return body;
}

// The value of counter `name` in the admin listener's /metrics, or -1.
long metric(int admin_port, const std::string& name) {
  RawClient admin("127.0.0.1", admin_port);
  admin.send("GET /metrics HTTP/1.1\r\nHost: ferry\r\n\r\n");
  const auto metrics = admin.readResponse();
  if (!metrics)
    return -1;
  const std::string line = "\nferry_" + name + " ";
  const auto at = metrics->body.find(line);
  return at == std::string::npos ? -1 : std::stol(metrics->body.substr(at + line.size()));
}

bool waitMetric(int admin_port, const std::string& name, long value) {
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until) {
    if (metric(admin_port, name) == value)
      return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// The client goes away at once: a reset, not a FIN (after a FIN ferry still answers).
void abort(std::unique_ptr<RawClient>& client) {
  const linger now{1, 0};
  ::setsockopt(client->fd(), SOL_SOCKET, SO_LINGER, &now, sizeof now);
  client.reset();
}

// Reads from `client`'s socket itself until a response head has arrived (a client streaming
// the response has started); returns the bytes read, or "" at the deadline.
std::string awaitHead(const RawClient& client) {
  std::string bytes;
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (bytes.find("\r\n\r\n") == std::string::npos && std::chrono::steady_clock::now() < until) {
    pollfd p{client.fd(), POLLIN, 0};
    if (::poll(&p, 1, 10) <= 0)
      continue;
    char buffer[4096];
    const ssize_t n = ::recv(client.fd(), buffer, sizeof buffer, 0);
    if (n <= 0)
      return "";
    bytes.append(buffer, static_cast<std::size_t>(n));
  }
  return bytes.find("\r\n\r\n") == std::string::npos ? "" : bytes;
}

// Reads the rest of a Content-Length body whose first bytes (after the head) are in `got`.
std::string restOfBody(const RawClient& client, std::string got, std::size_t length) {
  std::string body = got.substr(got.find("\r\n\r\n") + 4);
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (body.size() < length && std::chrono::steady_clock::now() < until) {
    pollfd p{client.fd(), POLLIN, 0};
    if (::poll(&p, 1, 10) <= 0)
      continue;
    char buffer[65536];
    const ssize_t n = ::recv(client.fd(), buffer, sizeof buffer, 0);
    if (n <= 0)
      break;
    body.append(buffer, static_cast<std::size_t>(n));
  }
  return body;
}

// An origin whose /held responses send the head and `first` body bytes, then wait until
// `release` is set before sending the rest (or, when `cut` is set, closing instead).
struct HeldOrigin {
  explicit HeldOrigin(std::string full, std::size_t first_bytes)
      : body(std::move(full)), first(first_bytes),
        origin(FakeOrigin::serveForever([this](OriginConnection& c, const ReceivedRequest& r) {
          if (r.target != "/held") {
            c.respond(200, body, {{"Cache-Control", "max-age=60"}});
            return;
          }
          c.send("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, first));
          while (!release && !cut && !c.isShuttingDown())
            c.stall(10ms);
          if (cut) {
            c.close();
            return;
          }
          c.send(body.substr(first), 20s);
        })) {}
  std::string body;
  std::size_t first;
  std::atomic<bool> release{false};
  std::atomic<bool> cut{false};
  FakeOrigin origin;
};

} // namespace

TEST_CASE("#11 a fill runs at the origin's pace while its first client reads nothing",
          "[integration][cache]") {
  // Far more than the kernel's socket buffers and ferry's 256 KiB queue towards a client
  // together: were the origin read at the first client's pace, the second reader would stall.
  const std::string body = patterned(12 * 1024 * 1024);
  FakeOrigin origin(answering(body, {{"Cache-Control", "max-age=60"}}));
  Proxy proxy("cache:\n  memory: 64MiB\n  max_object_size: 16MiB\n");
  RawClient first("127.0.0.1", proxy.port); // reads nothing until the end
  first.send(get(origin, "/big"));
  REQUIRE(origin.waitRequests(1));

  const auto second = proxy.fetch(get(origin, "/big"));
  REQUIRE(second);
  CHECK(second->status == 200);
  CHECK(second->body == body);

  const auto third = proxy.fetch(get(origin, "/big")); // stored whole meanwhile
  REQUIRE(third);
  CHECK(cacheStatus(*third).find("ferry; hit") == 0);
  CHECK(third->body == body);

  const auto late = first.readResponse(false, 20s); // the first client, at its own pace
  REQUIRE(late);
  CHECK(late->body == body);
  CHECK(requestsFor(origin, "/big") == 1);
}

TEST_CASE("#11 a first client that aborts mid-fill does not cut the body short for a second "
          "reader",
          "[integration][cache]") {
  HeldOrigin held(patterned(1024 * 1024), 100 * 1024);
  Proxy proxy("admin:\n  listen: 127.0.0.1:0\n");
  const auto admin = proxy.process.waitAdminPort();
  REQUIRE(admin);
  auto first = std::make_unique<RawClient>("127.0.0.1", proxy.port);
  first->send(get(held.origin, "/held"));
  REQUIRE(held.origin.waitRequests(1));

  RawClient second("127.0.0.1", proxy.port);
  second.send(get(held.origin, "/held"));
  const std::string head = awaitHead(second); // it streams the Entry being filled
  REQUIRE(head.rfind("HTTP/1.1 200", 0) == 0);
  abort(first); // the client that caused the fetch goes away
  REQUIRE(waitMetric(*admin, "cache_fills_continued", 1));
  held.release = true;

  CHECK(restOfBody(second, head, held.body.size()) == held.body);

  const auto later = proxy.fetch(get(held.origin, "/held"));
  REQUIRE(later);
  CHECK(cacheStatus(*later).find("ferry; hit") == 0);
  CHECK(later->body == held.body);
  CHECK(requestsFor(held.origin, "/held") == 1);
}

TEST_CASE("#11 a first client that aborts with nobody else waiting stops the fill",
          "[integration][cache]") {
  HeldOrigin held(patterned(1024 * 1024), 100 * 1024);
  Proxy proxy("admin:\n  listen: 127.0.0.1:0\n");
  const auto admin = proxy.process.waitAdminPort();
  REQUIRE(admin);
  auto first = std::make_unique<RawClient>("127.0.0.1", proxy.port);
  first->send(get(held.origin, "/held"));
  REQUIRE(awaitHead(*first) != "");
  abort(first);
  REQUIRE(waitMetric(*admin, "cache_fills_stopped", 1));
  held.release = true;

  const auto next = proxy.fetch(get(held.origin, "/held")); // nothing was stored
  REQUIRE(next);
  CHECK(cacheStatus(*next).find("fwd=uri-miss") != std::string::npos);
  CHECK(next->body == held.body);
  CHECK(requestsFor(held.origin, "/held") == 2);
  CHECK(metric(*admin, "cache_fills_continued") == 0);
}

TEST_CASE("#11 a truncated response is cut short for every reader and never stored",
          "[integration][cache]") {
  HeldOrigin held(patterned(1024 * 1024), 100 * 1024);
  Proxy proxy;
  RawClient first("127.0.0.1", proxy.port);
  first.send(get(held.origin, "/held"));
  REQUIRE(held.origin.waitRequests(1));
  RawClient second("127.0.0.1", proxy.port);
  second.send(get(held.origin, "/held"));
  const std::string head = awaitHead(second);
  REQUIRE(head != "");
  held.cut = true;
  CHECK_FALSE(first.readResponse()); // each sees the connection close before the body ends
  CHECK(restOfBody(second, head, held.body.size()).size() < held.body.size());
  CHECK(second.waitClosed());
  held.cut = false;
  held.release = true;
  const auto next = proxy.fetch(get(held.origin, "/held"));
  REQUIRE(next);
  CHECK(cacheStatus(*next).find("fwd=uri-miss") != std::string::npos);
  CHECK(next->body == held.body);
}

TEST_CASE("#11 a chunked fill that outgrows max_object_size reaches its client whole",
          "[integration][cache]") {
  const std::string body = patterned(3 * 1024 * 1024 + 4321);
  FakeOrigin origin(FakeOrigin::serveForever([&](OriginConnection& c, const ReceivedRequest&) {
    std::string framed =
        "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (std::size_t at = 0; at < body.size(); at += 5000) {
      const std::size_t n = std::min<std::size_t>(5000, body.size() - at);
      char size[16];
      std::snprintf(size, sizeof size, "%zx\r\n", n);
      framed += size + body.substr(at, n) + "\r\n";
    }
    c.send(framed + "0\r\n\r\n", 20s);
  }));
  Proxy proxy("cache:\n  memory: 8MiB\n  max_object_size: 1MiB\n");
  for (int i = 0; i < 2; ++i) {
    RawClient client("127.0.0.1", proxy.port);
    client.send(get(origin, "/chunked"));
    const auto r = client.readResponse(false, 20s);
    REQUIRE(r);
    CHECK(r->body == body);
  }
  CHECK(requestsFor(origin, "/chunked") == 2); // too large: never stored
}

TEST_CASE("#11 fills evicted while their clients read nothing reach those clients whole",
          "[integration][cache]") {
  // Each body alone fits the budget, all of them together do not: the fills evict each
  // other mid-way while no client reads, and each client then gets what its Entry kept and
  // the rest from its origin. The clients keep the kernel's receive buffer: a small fixed
  // SO_RCVBUF makes loopback drop segments once it is full, and the sender then waits out
  // retransmission timeouts backed off to tens of seconds, whatever ferry does.
  constexpr int Fills = 64;
  const std::string body = patterned(1024 * 1024);
  std::atomic<int> sent{0};
  FakeOrigin origin(FakeOrigin::serveForever([&](OriginConnection& c, const ReceivedRequest&) {
    c.send("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n",
           5s);
    if (c.send(body, 60s))
      ++sent;
  }));
  Proxy proxy("cache:\n  memory: 2MiB\n  max_object_size: 2MiB\n");
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < Fills; ++i) {
    clients.push_back(std::make_unique<RawClient>("127.0.0.1", proxy.port));
    clients.back()->send(get(origin, "/evicted/" + std::to_string(i)));
  }
  REQUIRE(origin.waitRequests(Fills));
  // Until the origins stop making progress: the rest waits for the clients.
  int last = -1;
  for (int round = 0; round < 20 && sent != last; ++round) {
    last = sent;
    std::this_thread::sleep_for(500ms);
  }
  for (auto& client : clients) {
    const auto r = client->readResponse(false, 20s);
    REQUIRE(r);
    CHECK(r->body.size() == body.size());
    CHECK(r->body == body);
  }
}

TEST_CASE("cache: a GET with a body that waits on the disk tier's look-up reaches its origin whole",
          "[integration][cache]") {
  // Not in memory, the look-up goes on on the disk tier's thread: the body, sent with the
  // head, arrives before there is an origin exchange to take it.
  FakeOrigin origin(FakeOrigin::serveForever(
      [](OriginConnection& c, const ReceivedRequest& r) { c.respond(200, "got " + r.body); }));
  TempDir dir;
  Proxy proxy("cache:\n  disk: {path: " + dir.path() + "/cache, size: 64MiB}\n");
  const std::string body = R"({"query": {"match": {"title": "ferry"}}})";
  RawClient client("127.0.0.1", proxy.port);
  client.send("GET http://" + origin.authority() +
              "/search HTTP/1.1\r\nHost: " + origin.authority() +
              "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  const auto r = client.readResponse(false, 5s);
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "got " + body);
}
