// Parent proxies end to end: a child ferry in front of a parent ferry (or a scripted parent)
// in front of a scripted origin, all on loopback — absolute-form over pooled connections,
// credentials, failover when a parent dies, never_direct and always_direct, CONNECT chained
// through both, the cache in front of a parent, and the hierarchy codes in the access log.
#include "support/fake_origin.h"
#include "support/ferry_process.h"
#include "support/raw_client.h"

#include <catch2/catch.hpp>
#include <signal.h>

#include <cctype>

using namespace ferry::test;

namespace {

// A ferry on 127.0.0.1:0 that may reach loopback origins, CONNECT to `connect_port` too.
struct Ferry {
  explicit Ferry(const std::string& extra, int connect_port = 443, int workers = 1)
      : process("listen: [\"127.0.0.1:0\"]\nworkers: " + std::to_string(workers) +
                "\naccess:\n"
                "  allow_destinations: [127.0.0.0/8]\n  connect_ports: [" +
                std::to_string(connect_port) + "]\n" + extra) {
    auto p = process.waitListening();
    REQUIRE(p);
    port = *p;
  }
  std::string authority() const { return "127.0.0.1:" + std::to_string(port); }
  std::optional<Response> fetch(const std::string& request) const {
    RawClient client("127.0.0.1", port);
    client.send(request);
    return client.readResponse();
  }
  FerryProcess process;
  int port = 0;
};

std::string parents(const std::vector<std::string>& authorities, const std::string& more = "") {
  std::string yaml = "upstream:\n  parents:\n";
  for (const auto& a : authorities)
    yaml += "    - {address: \"" + a + "\"}\n";
  return yaml + more;
}

std::string get(const FakeOrigin& origin, const std::string& path) {
  return "GET http://" + origin.authority() + path + " HTTP/1.1\r\nHost: " + origin.authority() +
         "\r\n\r\n";
}

FakeOrigin::Script echoPath() {
  return FakeOrigin::serveForever([](OriginConnection& c, const ReceivedRequest& r) {
    c.respond(200, r.target, {{"Cache-Control", "max-age=60"}});
  });
}

} // namespace

TEST_CASE("#10 a child ferry reaches the origin through its parent", "[integration][parent]") {
  FakeOrigin origin(echoPath());
  Ferry parent("");
  TempDir dir;
  const std::string log = dir.path() + "/access.log";
  Ferry child(parents({parent.authority()}) + "log:\n  access_log: " + log + "\n");
  for (int i = 0; i < 3; ++i) {
    auto r = child.fetch(get(origin, "/via-parent"));
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "/via-parent");
  }
  REQUIRE(origin.requests().size() == 1); // the child's cache answers the others
  const ReceivedRequest seen = origin.requests().front();
  CHECK(seen.target == "/via-parent"); // the parent sent origin-form
  CHECK(seen.header("via") == "1.1 ferry, 1.1 ferry");
  child.process.signal(SIGTERM);
  REQUIRE(child.process.waitExit() == 0);
  const std::string lines = readFile(log);
  CHECK(lines.find("TCP_MISS/200") != std::string::npos);
  CHECK(lines.find("FIRSTUP_PARENT/127.0.0.1") != std::string::npos);
  CHECK(lines.find("TCP_MEM_HIT/200") != std::string::npos);
}

TEST_CASE("#10 a parent gets absolute-form requests with its credentials, on pooled connections",
          "[integration][parent]") {
  // A scripted parent: it checks what a parent must get and answers for the origin.
  FakeOrigin parent(FakeOrigin::serveForever([](OriginConnection& c, const ReceivedRequest& r) {
    c.respond(200, r.target + " " + r.header("proxy-authorization").value_or("none"));
  }));
  TempDir dir;
  const std::string credentials = dir.write("parent.credentials", "alice:s3cret\n");
  Ferry child("upstream:\n  parents:\n    - {address: \"" + parent.authority() +
              "\", credentials_file: " + credentials + "}\n");
  for (const std::string path : {"/a", "/b", "/c"}) {
    auto r = child.fetch("GET http://origin.example" + path +
                         " HTTP/1.1\r\nHost: origin.example\r\nCache-Control: no-store\r\n\r\n");
    REQUIRE(r);
    CHECK(r->body == "http://origin.example" + path + " Basic YWxpY2U6czNjcmV0");
  }
  CHECK(parent.accepts() == 1); // one persistent connection for every origin behind it
  CHECK(child.process.log().find("s3cret") == std::string::npos);
}

TEST_CASE("#10 a parent that dies is skipped: the next one, then direct, unless never_direct",
          "[integration][parent]") {
  FakeOrigin origin(FakeOrigin::serveForever([](OriginConnection& c, const ReceivedRequest& r) {
    c.respond(200, r.target + " via " + r.header("via").value_or(""));
  }));
  SECTION("first parent killed mid-run: the second one serves") {
    Ferry first("");
    Ferry second("via: second\n");
    Ferry child(parents({first.authority(), second.authority()}));
    auto before = child.fetch(get(origin, "/one"));
    REQUIRE(before);
    CHECK(before->body == "/one via 1.1 ferry, 1.1 ferry");
    first.process.signal(SIGKILL);
    REQUIRE(first.process.waitExit());
    for (const std::string path : {"/two", "/three"}) {
      auto after = child.fetch(get(origin, path));
      REQUIRE(after);
      CHECK(after->status == 200);
      CHECK(after->body == path + " via 1.1 ferry, 1.1 second");
    }
    CHECK(child.process.waitLog("parent proxy " + first.authority() + " is down"));
  }
  SECTION("every parent down: direct, or a clear 502 with never_direct") {
    const std::string dead = "127.0.0.1:1"; // nothing listens there
    Ferry direct(parents({dead}));
    auto r = direct.fetch(get(origin, "/direct"));
    REQUIRE(r);
    CHECK(r->body == "/direct via 1.1 ferry");
    Ferry never(parents({dead}, "  never_direct: [\"*\"]\n"));
    auto refused = never.fetch(get(origin, "/never"));
    REQUIRE(refused);
    CHECK(refused->status == 502);
    CHECK(refused->body.find("parent proxy " + dead) != std::string::npos);
    auto again = never.fetch(get(origin, "/never-again")); // marked down: not even tried
    REQUIRE(again);
    CHECK(again->status == 502);
    CHECK(again->body.find("every parent proxy for 127.0.0.1 is down") != std::string::npos);
  }
}

TEST_CASE("#10 a parent one worker found down is skipped by every worker",
          "[integration][parent]") {
  FakeOrigin origin(echoPath());
  // A parent that takes each request and closes without a word: after the first such
  // connection, no worker tries it again within parent_down.
  FakeOrigin dropping([](OriginConnection& c) {
    c.readRequest();
    c.close();
  });
  Ferry child(parents({dropping.authority()}), 443, 2);
  for (int i = 0; i < 8; ++i) { // new client connections, spread over both workers
    auto r = child.fetch(get(origin, "/spread/" + std::to_string(i)));
    REQUIRE(r);
    CHECK(r->body == "/spread/" + std::to_string(i));
  }
  CHECK(dropping.accepts() == 1);
}

TEST_CASE("#10 through a parent, a host in any address form is judged by the destination policy",
          "[integration][parent]") {
  FakeOrigin parent(FakeOrigin::serveForever(
      [](OriginConnection& c, const ReceivedRequest&) { c.respond(200, "from the parent"); }));
  Ferry child(parents({parent.authority()}));
  // 169.254.169.254 (link-local, denied by default) written as a resolver would still read it.
  for (const std::string host : {"169.254.169.254", "169.254.43518", "0xa9fea9fe", "2852039166"}) {
    auto r = child.fetch("GET http://" + host + "/latest HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    REQUIRE(r);
    CHECK(r->status == 403);
    CHECK(r->body.find("169.254.169.254") != std::string::npos);
  }
  CHECK(parent.accepts() == 0);
}

TEST_CASE("#10 always_direct and parent domains pick the hop per host", "[integration][parent]") {
  FakeOrigin origin(echoPath());
  FakeOrigin parent(FakeOrigin::serveForever(
      [](OriginConnection& c, const ReceivedRequest&) { c.respond(200, "from the parent"); }));
  Ferry child("upstream:\n  parents:\n    - {address: \"" + parent.authority() +
              "\", domains: [.corp.example]}\n  always_direct: [127.0.0.1]\n");
  auto direct = child.fetch(get(origin, "/mine"));
  REQUIRE(direct);
  CHECK(direct->body == "/mine");
  auto corp = child.fetch(
      "GET http://intranet.corp.example/ HTTP/1.1\r\nHost: intranet.corp.example\r\n\r\n");
  REQUIRE(corp);
  CHECK(corp->body == "from the parent");
}

TEST_CASE("#10 CONNECT is chained through the parent", "[integration][parent]") {
  // The tunnel's far end: echoes what it reads, upper-cased, then closes.
  FakeOrigin far([](OriginConnection& c) {
    const std::string hello = c.readBytes(5);
    std::string upper = hello;
    for (char& ch : upper)
      ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    c.send(upper);
  });
  Ferry parent("", far.port());
  Ferry child(parents({parent.authority()}), far.port());
  RawClient client("127.0.0.1", child.port);
  client.send("CONNECT " + far.authority() + " HTTP/1.1\r\nHost: " + far.authority() + "\r\n\r\n");
  auto established = client.readResponse(true); // no body: the tunnel follows
  REQUIRE(established);
  CHECK(established->status == 200);
  client.send("hello");
  CHECK(client.readAll() == "HELLO");

  SECTION("a parent that refuses the CONNECT: 502, and the connection ends") {
    Ferry strict(""); // its connect_ports do not include the far end's port
    Ferry behind(parents({strict.authority()}), far.port());
    RawClient refused("127.0.0.1", behind.port);
    refused.send("CONNECT " + far.authority() + " HTTP/1.1\r\nHost: " + far.authority() +
                 "\r\n\r\n");
    auto r = refused.readResponse();
    REQUIRE(r);
    CHECK(r->status == 502);
    CHECK(r->body.find("answered CONNECT with 403") != std::string::npos);
    CHECK(refused.waitClosed());
  }
}
