// What an operator uses beside the proxy itself: the status page and /status.json, the
// metrics' histograms and gauges, the PAC file on the admin listener and the proxy port,
// and SIGUSR1 reopening the access log. The real binary, a FakeOrigin, RawClients.
#include "support/fake_origin.h"
#include "support/ferry_process.h"
#include "support/raw_client.h"

#include <catch2/catch.hpp>
#include <signal.h>

#include <cstdio>

using namespace ferry::test;

namespace {

struct Ferry {
  explicit Ferry(const std::string& extra = "")
      : process("listen: [\"127.0.0.1:0\"]\nworkers: 1\nadmin:\n  listen: 127.0.0.1:0\n"
                "access:\n  allow_destinations: [127.0.0.0/8]\n" +
                extra) {
    auto p = process.waitListening();
    REQUIRE(p);
    port = *p;
    auto a = process.waitAdminPort();
    REQUIRE(a);
    admin_port = *a;
  }

  std::optional<Response> send(int to, const std::string& request) const {
    RawClient client("127.0.0.1", to);
    client.send(request);
    return client.readResponse(request.rfind("HEAD ", 0) == 0);
  }
  std::optional<Response> admin(const std::string& path) const {
    return send(admin_port, "GET " + path + " HTTP/1.1\r\nHost: ferry\r\n\r\n");
  }
  std::optional<Response> fetch(const FakeOrigin& origin, const std::string& path) const {
    return send(port, "GET http://" + origin.authority() + path +
                          " HTTP/1.1\r\nHost: " + origin.authority() + "\r\n\r\n");
  }

  FerryProcess process;
  int port = 0;
  int admin_port = 0;
};

FakeOrigin::Script answering(std::string body) {
  return FakeOrigin::serveForever([=](OriginConnection& c, const ReceivedRequest&) {
    c.respond(200, body, {{"Cache-Control", "max-age=60"}});
  });
}

// The value of the sample `name` (a whole line "name value") in Prometheus text.
std::optional<std::string> sample(const std::string& text, const std::string& name) {
  const std::string key = "\n" + name + " ";
  const auto at = text.find(key);
  if (at == std::string::npos)
    return std::nullopt;
  const auto start = at + key.size();
  return text.substr(start, text.find('\n', start) - start);
}

} // namespace

TEST_CASE("#14 /metrics has latency histograms, gauges and the cache's figures",
          "[integration][operations]") {
  FakeOrigin origin(answering("metered"));
  Ferry ferry("cache:\n  memory: 64MiB\n");
  auto miss = ferry.fetch(origin, "/m");
  REQUIRE(miss);
  REQUIRE(miss->status == 200);
  auto hit = ferry.fetch(origin, "/m");
  REQUIRE(hit);
  REQUIRE(hit->body == "metered");

  auto metrics = ferry.admin("/metrics");
  REQUIRE(metrics);
  const std::string& text = metrics->body;
  CHECK(text.find("# TYPE ferry_request_duration_seconds histogram\n") != std::string::npos);
  CHECK(sample(text, "ferry_request_duration_seconds_count") == "2");
  CHECK(sample(text, "ferry_request_duration_seconds_bucket{le=\"+Inf\"}") == "2");
  CHECK(sample(text, "ferry_time_to_first_byte_seconds_count") == "2");
  CHECK(sample(text, "ferry_origin_connect_seconds_count") == "1");
  CHECK(text.find("# TYPE ferry_client_connections_open gauge\n") != std::string::npos);
  CHECK(sample(text, "ferry_origin_connections_open") == "1");
  CHECK(sample(text, "ferry_origin_connections_idle") == "1");
  CHECK(sample(text, "ferry_cache_entries") == "1");
  CHECK(sample(text, "ferry_cache_memory_budget_bytes") == std::to_string(64 << 20));
  CHECK(std::stoll(sample(text, "ferry_cache_memory_bytes").value_or("0")) > 0);
  CHECK(sample(text, "ferry_cache_status_hit") == "1");
  CHECK(sample(text, "ferry_cache_status_miss") == "1");
}

TEST_CASE("#14 /status.json shows requests, origins, top hosts and the history",
          "[integration][operations]") {
  FakeOrigin origin(answering("counted"));
  Ferry ferry;
  for (int i = 0; i < 3; ++i)
    REQUIRE(ferry.fetch(origin, "/s" + std::to_string(i)));

  auto status = ferry.admin("/status.json");
  REQUIRE(status);
  CHECK(status->status == 200);
  CHECK(status->header("content-type") == "application/json");
  const std::string& json = status->body;
  INFO(json);
  CHECK(json.rfind("{\"version\":\"", 0) == 0);
  CHECK(json.find("\"config_file\":\"" + ferry.process.dir().path() + "/ferry.yaml\"") !=
        std::string::npos);
  CHECK(json.find("\"requests\":{\"total\":3,") != std::string::npos);
  CHECK(json.find("\"cache_status\":{\"hit\":0,\"revalidated\":0,\"miss\":3,") !=
        std::string::npos);
  CHECK(json.find("{\"origin\":\"http://" + origin.authority() +
                  "\",\"idle\":1,\"busy\":0,\"opened\":1,\"reused\":2}") != std::string::npos);
  CHECK(json.find("\"top_hosts\":[{\"host\":\"127.0.0.1\",\"requests\":3}]") != std::string::npos);
  CHECK(json.find("\"history\":{\"interval_ms\":1000,") != std::string::npos);
  CHECK(json.back() == '}');
}

TEST_CASE("#14 the status page is one document that asks only for status.json",
          "[integration][operations]") {
  Ferry ferry;
  auto page = ferry.admin("/");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->header("content-type") == "text/html; charset=utf-8");
  const std::string& html = page->body;
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.find("fetch(\"status.json\"") != std::string::npos);
  for (const char* external : {" src=", "<link", "@import", "url(", "https://"})
    CHECK(html.find(external) == std::string::npos);
  auto head = ferry.send(ferry.admin_port, "HEAD / HTTP/1.1\r\nHost: ferry\r\n\r\n");
  REQUIRE(head);
  CHECK(head->body.empty());
  CHECK(head->header("content-length") == std::to_string(html.size()));
}

TEST_CASE("#14 the PAC file on the admin listener and on the proxy port",
          "[integration][operations]") {
  Ferry ferry("pac:\n  direct_domains: [.corp.example]\n");
  const std::string proxy = "\"PROXY 127.0.0.1:" + std::to_string(ferry.port) + "\"";

  for (const char* path : {"/proxy.pac", "/wpad.dat"}) {
    INFO(path);
    auto admin = ferry.admin(path);
    REQUIRE(admin);
    CHECK(admin->status == 200);
    CHECK(admin->header("content-type") == "application/x-ns-proxy-autoconfig");
    CHECK(admin->body.find("function FindProxyForURL(url, host) {") != std::string::npos);
    CHECK(admin->body.find("dnsDomainIs(h, \".corp.example\")") != std::string::npos);
    CHECK(admin->body.find("return " + proxy + ";") != std::string::npos);

    auto direct =
        ferry.send(ferry.port, std::string("GET ") + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    REQUIRE(direct);
    CHECK(direct->status == 200);
    CHECK(direct->header("content-type") == "application/x-ns-proxy-autoconfig");
    CHECK(direct->body == admin->body);
  }
  // On the proxy port, other origin-form requests are still refused.
  auto other = ferry.send(ferry.port, "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  REQUIRE(other);
  CHECK(other->status == 400);
  auto post = ferry.send(ferry.port, "POST /proxy.pac HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                     "Content-Length: 0\r\n\r\n");
  REQUIRE(post);
  CHECK(post->status == 400);
  // The connection stays usable after the PAC file.
  RawClient client("127.0.0.1", ferry.port);
  client.send("GET /proxy.pac HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
              "HEAD /wpad.dat HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  auto first = client.readResponse();
  auto second = client.readResponse(true);
  REQUIRE(first);
  REQUIRE(second);
  CHECK(second->status == 200);
  CHECK(second->body.empty());
  CHECK(second->header("content-length") == std::to_string(first->body.size()));
}

TEST_CASE("#14 the PAC file names the configured proxy address", "[integration][operations]") {
  Ferry ferry("pac:\n  proxy: proxy.corp.example:8080\n");
  auto pac = ferry.admin("/proxy.pac");
  REQUIRE(pac);
  CHECK(pac->body.find("return \"PROXY proxy.corp.example:8080\";") != std::string::npos);
}

TEST_CASE("#14 SIGUSR1 reopens the access log after logrotate moved it",
          "[integration][operations]") {
  FakeOrigin origin(answering("logged"));
  TempDir logs;
  const std::string log = logs.path() + "/access.log";
  Ferry ferry("log:\n  access_log: \"" + log + "\"\n");
  REQUIRE(ferry.fetch(origin, "/before"));
  REQUIRE(std::rename(log.c_str(), (log + ".1").c_str()) == 0);
  ferry.process.signal(SIGUSR1);
  REQUIRE(ferry.process.waitLog("SIGUSR1: reopening the access log"));
  // The reopen is asynchronous: the request after it may still race it, so wait until a
  // line reaches the new file.
  bool reopened = false;
  for (int i = 0; i < 100 && !reopened; ++i) {
    REQUIRE(ferry.fetch(origin, "/after"));
    reopened = readFile(log).find("/after") != std::string::npos;
  }
  CHECK(reopened);
  const std::string rotated = readFile(log + ".1");
  CHECK(rotated.find("/before") != std::string::npos);
  CHECK(readFile(log).find("/before") == std::string::npos);
  CHECK(ferry.process.log().find("SIGUSR1") != std::string::npos);
}
