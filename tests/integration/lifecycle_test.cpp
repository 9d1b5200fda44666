// The daemon's life: command line, --check, start, SIGTERM drain, SIGHUP reload (good
// and bad), bind failures and systemd notifications, all with the real binary.
#include "support/fake_origin.h"
#include "support/ferry_process.h"
#include "support/raw_client.h"

#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <poll.h>

#include <thread>

using namespace ferry::test;

namespace {

const std::string BaseConfig = R"(listen: ["127.0.0.1:0"]
workers: 2
timeouts:
  shutdown_grace: 3s
)";

const std::string Request = "GET http://127.0.0.1:1/ HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n";

} // namespace

TEST_CASE("command line: version, help and a bad option", "[integration][lifecycle]") {
  auto version = runFerry({"--version"});
  CHECK(version.exit_code == 0);
  CHECK(version.out.rfind("ferry ", 0) == 0);

  auto help = runFerry({"--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out.find("--check") != std::string::npos);

  auto bad = runFerry({"--bogus"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("--bogus") != std::string::npos);
}

TEST_CASE("check mode exits 0 on a valid config and 1 listing every error",
          "[integration][lifecycle]") {
  TempDir dir;
  auto good = runFerry({"--check", "--config", dir.write("good.yaml", BaseConfig)});
  CHECK(good.exit_code == 0);

  const std::string bad_path = dir.write("bad.yaml", "listen: [\"127.0.0.1:0\"]\n"
                                                     "workers: lots\n"
                                                     "timeouts:\n"
                                                     "  client_idle: 5 parsecs\n");
  auto bad = runFerry({"--check", "--config", bad_path});
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.find(bad_path + ":2:") != std::string::npos);
  CHECK(bad.err.find(bad_path + ":4:") != std::string::npos);

  auto missing = runFerry({"--check", "--config", dir.path() + "/nope.yaml"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find("nope.yaml") != std::string::npos);
}

TEST_CASE("start, serve, SIGTERM: exits 0 within the grace period", "[integration][lifecycle]") {
  FerryProcess ferry(BaseConfig);
  auto port = ferry.waitListening();
  REQUIRE(port);

  RawClient idle("127.0.0.1", *port);
  RawClient busy("127.0.0.1", *port);
  busy.send(Request);
  auto response = busy.readResponse();
  REQUIRE(response);
  CHECK(response->status > 0);

  ferry.signal(SIGTERM);
  CHECK(idle.waitClosed(3s));
  CHECK(ferry.waitExit(3s + 2s) == 0);
  CHECK(ferry.log().find("stopped") != std::string::npos);
  CHECK_FALSE(RawClient::canConnect("127.0.0.1", *port));
}

TEST_CASE("SIGHUP with a valid change adds a listener and keeps open connections",
          "[integration][lifecycle]") {
  FerryProcess ferry(BaseConfig);
  auto first = ferry.waitListening(0);
  REQUIRE(first);
  RawClient held("127.0.0.1", *first);

  ferry.rewriteConfig(R"(listen: ["127.0.0.1:0", "127.0.0.2:0"]
workers: 2
)");
  ferry.signal(SIGHUP);
  auto second = ferry.waitListening(1);
  REQUIRE(second);
  CHECK(ferry.waitLog("configuration reloaded"));

  RawClient fresh("127.0.0.2", *second);
  fresh.send(Request);
  CHECK(fresh.readResponse());

  held.send(Request); // accepted before the reload, still served
  CHECK(held.readResponse());
  CHECK(RawClient::canConnect("127.0.0.1", *first));
}

namespace {

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

} // namespace

TEST_CASE("#14 SIGHUPs while requests flow on persistent connections: none fails, each reload "
          "takes effect",
          "[integration][lifecycle]") {
  FakeOrigin origin(FakeOrigin::serveForever([](OriginConnection& c, const ReceivedRequest& r) {
    const bool hit = r.target.find("/hit") != std::string::npos;
    c.respond(200, "body of " + r.target, {{"Cache-Control", hit ? "max-age=3600" : "no-store"}});
  }));
  TempDir logs;
  // Reload number `generation` names the proxy in Via and moves the access log between
  // two files, so the old writer is released while the workers serve.
  auto config = [&](int generation) {
    return "listen: [\"127.0.0.1:0\"]\nworkers: 2\nvia: gen" + std::to_string(generation) +
           "\nlog: {access_log: " + logs.path() + (generation % 2 ? "/odd.log" : "/even.log") +
           "}\naccess: {allow_destinations: [127.0.0.0/8]}\n";
  };
  FerryProcess ferry(config(0));
  const auto port = ferry.waitListening();
  REQUIRE(port);

  const std::string authority = origin.authority();
  auto request = [&](int n) {
    const std::string path = n % 2 ? "/hit" : "/miss/" + std::to_string(n);
    return "GET http://" + authority + path + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n";
  };
  // Each held connection is answered once before the first reload: ferry has accepted it.
  std::vector<std::unique_ptr<RawClient>> held;
  int sent = 0;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<RawClient>("127.0.0.1", *port));
    held.back()->send(request(sent++));
    REQUIRE(held.back()->readResponse());
  }

  constexpr int Reloads = 10;
  std::atomic<bool> reloading{true};
  std::atomic<int> reloaded{0};
  std::thread reloader([&] {
    for (int generation = 1; generation <= Reloads; ++generation) {
      ferry.rewriteConfig(config(generation));
      ferry.signal(SIGHUP);
      const auto until = std::chrono::steady_clock::now() + 10s;
      while (occurrences(ferry.log(), "configuration reloaded") < std::size_t(generation) &&
             std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(5ms);
      reloaded = static_cast<int>(occurrences(ferry.log(), "configuration reloaded"));
    }
    reloading = false;
  });

  int failed = 0;
  std::string first_failure;
  while (reloading && failed == 0) {
    for (auto& client : held) {
      client->send(request(sent));
      auto r = client->readResponse();
      const std::string target = sent % 2 ? "/hit" : "/miss/" + std::to_string(sent);
      if (!r || r->status != 200 || r->body != "body of " + target ||
          r->header("via").value_or("").find("gen0") == std::string::npos) {
        if (failed == 0)
          first_failure = target + ": " + (r ? r->head + r->body : "no response");
        ++failed;
      }
      ++sent;
    }
  }
  reloader.join();
  CAPTURE(first_failure);
  CHECK(failed == 0);
  CHECK(reloaded == Reloads);
  CHECK(sent > 0);
  CHECK(ferry.log().find("keeping the running configuration") == std::string::npos);

  // A connection accepted after the last reload has its settings; the ones held through
  // every reload still answer, with the settings they were accepted with (checked above).
  RawClient fresh("127.0.0.1", *port);
  fresh.send("GET http://" + authority + "/fresh HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
  auto r = fresh.readResponse();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("via").value_or("").find("gen" + std::to_string(Reloads)) != std::string::npos);
  // The access log moved with every reload: the last file has the new line, and every line
  // given to a writer that a reload replaced still reached its file.
  const std::string last_log = logs.path() + (Reloads % 2 ? "/odd.log" : "/even.log");
  auto lines = [&] {
    return occurrences(readFile(logs.path() + "/odd.log"), "\n") +
           occurrences(readFile(logs.path() + "/even.log"), "\n");
  };
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (lines() < std::size_t(sent) + 1 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(5ms);
  CHECK(lines() == std::size_t(sent) + 1);
  CHECK(occurrences(readFile(last_log), "/fresh") == 1);
  for (auto& client : held) {
    client->send(request(1));
    auto again = client->readResponse();
    REQUIRE(again);
    CHECK(again->status == 200);
  }
}

TEST_CASE("SIGHUP with an invalid file logs the errors and keeps serving",
          "[integration][lifecycle]") {
  FerryProcess ferry(BaseConfig);
  auto port = ferry.waitListening();
  REQUIRE(port);

  ferry.rewriteConfig("listen: [\"127.0.0.1:0\"]\nworkers: 2\nno_such_key: 1\n");
  ferry.signal(SIGHUP);
  REQUIRE(ferry.waitLog("keeping the running configuration"));
  CHECK(ferry.log().find("ferry.yaml:3:") != std::string::npos);

  RawClient client("127.0.0.1", *port);
  client.send(Request);
  CHECK(client.readResponse());
}

TEST_CASE("a listen address in use is a clear error and exit 1", "[integration][lifecycle]") {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
  REQUIRE(::listen(fd, 1) == 0);
  socklen_t len = sizeof(sa);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  const int port = ntohs(sa.sin_port);

  FerryProcess ferry("listen: [\"127.0.0.1:" + std::to_string(port) + "\"]\n");
  CHECK(ferry.waitExit(5s) == 1);
  CHECK(ferry.log().find("Address already in use") != std::string::npos);
  ::close(fd);
}

TEST_CASE("systemd notifications: READY, RELOADING, STOPPING", "[integration][lifecycle]") {
  TempDir dir;
  const std::string path = dir.path() + "/notify";
  const int sock = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  REQUIRE(path.size() < sizeof(sa.sun_path));
  std::copy(path.begin(), path.end(), sa.sun_path);
  REQUIRE(::bind(sock, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);

  auto next = [&]() -> std::string {
    pollfd p{sock, POLLIN, 0};
    if (::poll(&p, 1, 10000) != 1)
      return "";
    char buf[512];
    const ssize_t n = ::recv(sock, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
  };

  FerryProcess ferry(BaseConfig, {"NOTIFY_SOCKET=" + path});
  CHECK(next().find("READY=1") != std::string::npos);
  ferry.signal(SIGHUP);
  CHECK(next().find("RELOADING=1") != std::string::npos);
  CHECK(next().find("READY=1") != std::string::npos);
  ferry.signal(SIGTERM);
  CHECK(next().find("STOPPING=1") != std::string::npos);
  CHECK(ferry.waitExit() == 0);
  ::close(sock);
}

TEST_CASE("admin interface: /healthz, /metrics, allow-list", "[integration][lifecycle]") {
  FerryProcess ferry(BaseConfig + "admin:\n  listen: 127.0.0.1:0\n");
  REQUIRE(ferry.waitListening());
  const auto admin_port = ferry.waitAdminPort();
  REQUIRE(admin_port);

  auto get = [&](const std::string& path) {
    RawClient client("127.0.0.1", *admin_port);
    client.send("GET " + path + " HTTP/1.1\r\nHost: ferry\r\n\r\n");
    return client.readResponse();
  };
  auto health = get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(health->body == "ok\n");

  auto metrics = get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  CHECK(metrics->body.find("# TYPE ferry_requests_total counter") != std::string::npos);
  CHECK(metrics->body.find("ferry_closes_client_header_timeout ") != std::string::npos);

  auto missing = get("/nope");
  REQUIRE(missing);
  CHECK(missing->status == 404);
}

TEST_CASE("admin interface refuses clients outside admin.allow", "[integration][lifecycle]") {
  FerryProcess ferry(BaseConfig + "admin:\n  listen: 127.0.0.1:0\n  allow: [\"10.0.0.0/8\"]\n");
  const auto admin_port = ferry.waitAdminPort();
  REQUIRE(admin_port);
  RawClient client("127.0.0.1", *admin_port);
  client.send("GET /metrics HTTP/1.1\r\nHost: ferry\r\n\r\n");
  auto r = client.readResponse();
  REQUIRE(r);
  CHECK(r->status == 403);
}
