// Proxy authentication with the real binary (#14): a reload that removes a user applies to
// connections already open, and after max_failures wrong passwords an address is answered
// 407 without its password being checked, as /metrics counts. Requests go to port 1, which
// access.http_ports refuses after authentication, so no origin is needed: 403 means the
// credentials were accepted, 407 that they were not.
#include "support/fake_origin.h"
#include "support/ferry_process.h"
#include "support/raw_client.h"

#include <catch2/catch.hpp>
#include <signal.h>

using namespace ferry::test;

namespace {

// alice:wonder, bcrypt cost 5.
const std::string Htpasswd = "alice:$2b$05$9htJACe2nxmaQqBeygi/DeSHYcszHzMvvE74HaFgwYLM/4OCXzlWu\n";

std::string config(const std::string& htpasswd, const std::string& extra = "") {
  return "listen: [\"127.0.0.1:0\"]\nworkers: 1\nadmin:\n  listen: 127.0.0.1:0\nauth:\n  basic:\n"
         "    file: " +
         htpasswd + "\n" + extra;
}

std::string request(const std::string& credentials) {
  return "GET http://127.0.0.1:1/ HTTP/1.1\r\nHost: 127.0.0.1:1\r\nProxy-Authorization: Basic " +
         credentials + "\r\n\r\n";
}

const std::string AliceWonder = "YWxpY2U6d29uZGVy"; // alice:wonder
const std::string AliceWrong = "YWxpY2U6d3Jvbmc=";  // alice:wrong

// The value of a counter on /metrics, or -1.
long long metric(int admin_port, const std::string& name) {
  RawClient admin("127.0.0.1", admin_port);
  admin.send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto response = admin.readResponse();
  if (!response)
    return -1;
  const std::string line = "\nferry_" + name + " ";
  const auto at = response->body.find(line);
  return at == std::string::npos ? -1 : std::stoll(response->body.substr(at + line.size()));
}

} // namespace

TEST_CASE("#14 a user removed from the htpasswd file is refused on a connection already open",
          "[integration][auth]") {
  TempDir dir;
  const std::string file = dir.write("htpasswd", Htpasswd);
  FerryProcess ferry(config(file));
  auto port = ferry.waitListening();
  REQUIRE(port);
  RawClient client("127.0.0.1", *port);
  client.send(request(AliceWonder));
  auto before = client.readResponse();
  REQUIRE(before);
  CHECK(before->status == 403); // accepted, then refused for the port

  dir.write("htpasswd", "bob:$2b$05$9htJACe2nxmaQqBeygi/DeSHYcszHzMvvE74HaFgwYLM/4OCXzlWu\n");
  ferry.signal(SIGHUP);
  REQUIRE(ferry.waitLog("configuration reloaded"));
  client.send(request(AliceWonder)); // the same connection, alice's password cached
  auto after = client.readResponse();
  REQUIRE(after);
  CHECK(after->status == 407);
  CHECK(after->header("proxy-authenticate") == "Basic realm=\"ferry\", charset=\"UTF-8\"");
}

TEST_CASE("#14 after max_failures wrong passwords an address gets 407 unchecked",
          "[integration][auth]") {
  TempDir dir;
  FerryProcess ferry(
      config(dir.write("htpasswd", Htpasswd), "    max_failures: 3\n    lockout: 1h\n"));
  auto port = ferry.waitListening();
  auto admin = ferry.waitAdminPort();
  REQUIRE(port);
  REQUIRE(admin);
  RawClient client("127.0.0.1", *port);
  for (int i = 0; i < 3; ++i) {
    client.send(request(AliceWrong));
    auto response = client.readResponse();
    REQUIRE(response);
    CHECK(response->status == 407);
  }
  CHECK(metric(*admin, "auth_failures") == 3);
  CHECK(metric(*admin, "auth_password_checks") == 3);
  // Locked out: the right password is not even checked.
  client.send(request(AliceWonder));
  auto locked = client.readResponse();
  REQUIRE(locked);
  CHECK(locked->status == 407);
  CHECK(locked->body.find("too many failed attempts") != std::string::npos);
  CHECK(metric(*admin, "auth_password_checks") == 3);
  CHECK(metric(*admin, "auth_throttled") == 1);
  CHECK(metric(*admin, "auth_challenges") == 4);
}

TEST_CASE("#14 what a destinations rule opens to one user reaches no other, cached or pooled",
          "[integration][auth]") {
  FakeOrigin origin(FakeOrigin::serveForever([](OriginConnection& c, const ReceivedRequest& r) {
    c.respond(200, "for alice " + r.target, {{"Cache-Control", "max-age=600"}});
  }));
  TempDir dir;
  // alice and bob, both with the password "wonder".
  const std::string file = dir.write(
      "htpasswd", Htpasswd + "bob:$2b$05$9htJACe2nxmaQqBeygi/DeSHYcszHzMvvE74HaFgwYLM/4OCXzlWu\n");
  // Loopback stays in deny_destinations for everyone but alice.
  FerryProcess ferry(config(file, "access:\n  rules:\n"
                                  "    - allow: {users: [alice], destinations: [127.0.0.0/8]}\n"));
  auto port = ferry.waitListening();
  REQUIRE(port);
  const auto get = [&](const std::string& credentials, const std::string& more = "") {
    RawClient client("127.0.0.1", *port);
    client.send("GET http://" + origin.authority() +
                "/page HTTP/1.1\r\nHost: " + origin.authority() +
                "\r\nProxy-Authorization: Basic " + credentials + "\r\n" + more + "\r\n");
    return client.readResponse();
  };
  auto alice = get(AliceWonder);
  REQUIRE(alice);
  CHECK(alice->status == 200);
  const std::string BobWonder = "Ym9iOndvbmRlcg=="; // bob:wonder
  auto cached = get(BobWonder);
  REQUIRE(cached);
  CHECK(cached->status == 403); // not alice's stored response
  auto pooled = get(BobWonder, "Cache-Control: no-cache\r\n");
  REQUIRE(pooled);
  CHECK(pooled->status == 403); // not over alice's pooled connection either
  CHECK(origin.requests().size() == 1);
}
