// The config loader on good input: every key read into its settings field, defaults for
// what is missing, and the shipped config/ferry.yaml documenting exactly those defaults.
#include "ferry/config/config.h"

#include <catch2/catch.hpp>
#include <re2/re2.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <unistd.h>

using namespace ferry;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

config::Config parseText(const std::string& yaml) {
  return config::parse(yaml, "t.yaml");
}

template <class T> std::string joined(const std::vector<T>& items) {
  std::ostringstream out;
  for (const auto& item : items) {
    if constexpr (std::is_arithmetic_v<T> || std::is_same_v<T, std::string>)
      out << item << ' ';
    else
      out << item.toString() << ' ';
  }
  return out.str();
}

std::string ports(const std::vector<access::PortRange>& ranges) {
  std::string out;
  for (const auto& range : ranges)
    out += std::to_string(range.first) + "-" + std::to_string(range.last) + ' ';
  return out;
}

// Every field of a Config, one per line, so two configs compare with a readable diff.
std::string describe(const config::Config& c) {
  std::ostringstream out;
  const auto& p = c.proxy;
  const auto& t = p.timeouts;
  out << "source " << c.source << "\nlog_level " << static_cast<int>(c.log_level) << "\nlisten "
      << joined(p.listen) << "\nworkers " << p.workers << "\ntimeouts " << t.client_header.count()
      << ' ' << t.client_idle.count() << ' ' << t.client_rest.count() << ' '
      << t.origin_connect.count() << ' ' << t.origin_response.count() << ' '
      << t.origin_idle.count() << ' ' << t.tunnel_idle.count() << ' ' << t.shutdown_grace.count()
      << "\nlimits " << p.limits.listen_backlog << ' ' << p.limits.client_connections << ' '
      << p.limits.origin_idle_per_origin << ' ' << p.limits.origin_idle_total
      << "\nallowed_clients " << joined(p.allowed_clients) << "\nconnect_ports "
      << joined(p.access.connect_ports) << "\nhttp_ports " << ports(p.access.http_ports)
      << "\ndeny_destinations " << joined(p.deny_destinations) << "\nallow_destinations "
      << joined(p.allow_destinations) << "\naccess_rules " << p.access.rules.size() << "\nauth "
      << p.access.basic.file << ' ' << p.access.basic.realm << ' '
      << p.access.basic.credentials_ttl.count() << ' ' << p.access.basic.max_failures << ' '
      << p.access.basic.lockout.count() << ' ' << p.access.basic.accounts.size() << "\naccess_log "
      << p.access_log.path << ' ' << static_cast<int>(p.access_log.format) << "\nhttp "
      << p.http.limits.request_line_bytes << ' ' << p.http.limits.header_bytes << ' '
      << p.http.limits.header_count << ' ' << p.http.via_pseudonym << "\nexpect_continue "
      << static_cast<int>(p.expect_continue) << "\nsplice " << p.splice << "\npurge_allowed "
      << joined(p.purge_allowed) << "\ncache " << c.cache.memory_bytes << ' '
      << c.cache.max_object_bytes << ' ' << c.cache.heuristic_percent << ' '
      << c.cache.heuristic_max.count() << ' ' << static_cast<int>(c.cache.set_cookie) << ' '
      << c.cache.max_variants << "\ntargeted_fields " << joined(c.cache.targeted_fields)
      << "\nrefresh_rules";
  for (const auto& rule : c.cache.refresh_rules)
    out << " {" << rule.pattern << ' ' << rule.ignore_case << ' ' << rule.min.count() << ' '
        << rule.percent << ' ' << rule.max.count() << '}';
  out << "\nadmin " << (c.admin.listen ? c.admin.listen->toString() : "none") << ' '
      << joined(c.admin.allowed) << ' ' << c.admin.config_file;
  for (const pac::Settings* pac : {&c.admin.pac, &c.proxy.pac}) {
    out << "\npac " << pac->proxy << " domains ";
    for (const auto& domain : pac->direct_domains)
      out << domain << ' ';
    out << "networks " << joined(pac->direct_networks);
  }
  out << '\n';
  return out.str();
}

// The settings structs' own defaults, plus the few the config module sets because an empty
// value would be useless or unsafe (no listener, zero workers, an open proxy, a proxy that
// fetches from this host).
config::Config structDefaults(const std::string& source) {
  config::Config c;
  c.source = source;
  c.proxy.listen = {*net::Address::parse("127.0.0.1:3128")};
  c.proxy.workers = std::max(1u, std::thread::hardware_concurrency());
  c.proxy.allowed_clients = {*net::Cidr::parse("127.0.0.0/8"), *net::Cidr::parse("::1/128")};
  for (const char* network :
       {"127.0.0.0/8", "0.0.0.0/8", "169.254.0.0/16", "::1/128", "::/128", "fe80::/10"})
    c.proxy.deny_destinations.push_back(*net::Cidr::parse(network));
  c.admin.allowed = c.proxy.allowed_clients;
  c.proxy.purge_allowed = c.admin.allowed;
  c.admin.config_file = source;
  for (const char* network : {"127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                              "169.254.0.0/16", "::1/128", "fc00::/7", "fe80::/10"})
    c.admin.pac.direct_networks.push_back(*net::Cidr::parse(network));
  c.proxy.pac = c.admin.pac;
  return c;
}

} // namespace

TEST_CASE("an empty file, a comment-only file and empty sections mean all defaults", "[config]") {
  const std::string expected = describe(structDefaults("t.yaml"));
  CHECK(describe(parseText("")) == expected);
  CHECK(describe(parseText("# nothing here\n\n   # still nothing\n")) == expected);
  CHECK(describe(parseText("log:\ntimeouts:\nlimits:\nauth:\naccess:\ncache:\nadmin:\npac:\n")) ==
        expected);
  CHECK(describe(parseText("auth:\n  basic:\naccess:\n  rules: []\n")) == expected);
  CHECK(describe(parseText("timeouts: {}\nlimits: {}\n")) == expected);
  CHECK(describe(parseText("---\nvia: ferry\n...\n")) == expected);
}

TEST_CASE("the shipped config/ferry.yaml loads and documents the defaults", "[config]") {
  const std::string path = FERRY_SOURCE_DIR "/config/ferry.yaml";
  config::Config expected = structDefaults(path);
  // The one deliberate difference: the shipped file turns the admin listener on.
  expected.admin.listen = net::Address::parse("127.0.0.1:3129");
  CHECK(describe(config::load(path)) == describe(expected));
}

TEST_CASE("listen takes IPv4 and IPv6 addresses in order", "[config]") {
  auto c = parseText("listen: [0.0.0.0:8080, \"[::1]:3128\", \"[2001:db8::1]:80\"]\n");
  REQUIRE(c.proxy.listen.size() == 3);
  CHECK(c.proxy.listen[0].toString() == "0.0.0.0:8080");
  CHECK(c.proxy.listen[1].toString() == "[::1]:3128");
  CHECK(c.proxy.listen[2].toString() == "[2001:db8::1]:80");

  auto block = parseText("listen:\n  - 10.1.2.3:3128\n  - 127.0.0.1:0\n  - 127.0.0.1:0\n");
  REQUIRE(block.proxy.listen.size() == 3); // port 0: the kernel picks, so not a duplicate
  CHECK(block.proxy.listen[0].toString() == "10.1.2.3:3128");
  CHECK(block.proxy.listen[2].port() == 0);
}

TEST_CASE("workers is auto or a thread count", "[config]") {
  CHECK(parseText("workers: 1\n").proxy.workers == 1);
  CHECK(parseText("workers: 7\n").proxy.workers == 7);
  CHECK(parseText("workers: \"12\"\n").proxy.workers == 12);
  CHECK(parseText("workers: 256\n").proxy.workers == 256);
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  CHECK(parseText("workers: auto\n").proxy.workers == cores);
  CHECK(parseText("").proxy.workers == cores);
}

TEST_CASE("log level, access log and its format", "[config]") {
  using core::LogLevel;
  const std::pair<const char*, LogLevel> levels[] = {
      {"trace", LogLevel::Trace}, {"debug", LogLevel::Debug}, {"info", LogLevel::Info},
      {"warn", LogLevel::Warn},   {"error", LogLevel::Error}, {"critical", LogLevel::Critical},
      {"off", LogLevel::Off}};
  for (const auto& [name, level] : levels) {
    INFO(name);
    CHECK(parseText(std::string("log:\n  level: ") + name + "\n").log_level == level);
  }

  auto c = parseText("log:\n  access_log: /var/log/ferry/access.log\n"
                     "  access_log_format: combined\n");
  CHECK(c.proxy.access_log.path == "/var/log/ferry/access.log");
  CHECK(c.proxy.access_log.format == proxy::AccessLogFormat::Combined);
  CHECK(parseText("log:\n  access_log: \"-\"\n").proxy.access_log.path == "-");
  CHECK(parseText("log:\n  access_log: \"\"\n").proxy.access_log.path == "");
  CHECK(parseText("log:\n  access_log:\n").proxy.access_log.path == "");
  CHECK(parseText("log:\n  access_log_format: squid\n").proxy.access_log.format ==
        proxy::AccessLogFormat::Squid);
}

TEST_CASE("every timeout takes a duration in any unit", "[config]") {
  auto c = parseText("timeouts:\n"
                     "  client_header: 250ms\n"
                     "  client_idle: 2m\n"
                     "  client_rest: 2s\n"
                     "  origin_connect: 3s\n"
                     "  origin_response: 1h\n"
                     "  origin_idle: 1ms\n"
                     "  tunnel_idle: 7d\n"
                     "  shutdown_grace: 45s\n");
  const auto& t = c.proxy.timeouts;
  CHECK(t.client_header == 250ms);
  CHECK(t.client_idle == 2min);
  CHECK(t.client_rest == 2s);
  CHECK(t.origin_connect == 3s);
  CHECK(t.origin_response == 1h);
  CHECK(t.origin_idle == 1ms);
  CHECK(t.tunnel_idle == 7 * 24h);
  CHECK(t.shutdown_grace == 45s);

  // Keys left out keep their defaults.
  auto one = parseText("timeouts:\n  tunnel_idle: 1h\n");
  CHECK(one.proxy.timeouts.tunnel_idle == 1h);
  CHECK(one.proxy.timeouts.client_idle == proxy::Timeouts{}.client_idle);
}

TEST_CASE("limits map onto the proxy and http settings, boundaries included", "[config]") {
  auto low = parseText("limits:\n"
                       "  request_line: 256B\n"
                       "  header_bytes: 1KiB\n"
                       "  header_count: 1\n"
                       "  listen_backlog: 1\n"
                       "  client_connections: 1\n"
                       "  origin_idle_per_origin: 0\n"
                       "  origin_idle_total: 0\n");
  CHECK(low.proxy.http.limits.request_line_bytes == 256);
  CHECK(low.proxy.http.limits.header_bytes == 1024);
  CHECK(low.proxy.http.limits.header_count == 1);
  CHECK(low.proxy.limits.listen_backlog == 1);
  CHECK(low.proxy.limits.client_connections == 1);
  CHECK(low.proxy.limits.origin_idle_per_origin == 0);
  CHECK(low.proxy.limits.origin_idle_total == 0);

  auto high = parseText("limits:\n"
                        "  request_line: 1MiB\n"
                        "  header_bytes: 1048576\n"
                        "  header_count: 10000\n"
                        "  listen_backlog: 65535\n"
                        "  client_connections: 1000000\n"
                        "  origin_idle_per_origin: 100000\n"
                        "  origin_idle_total: 1000000\n");
  CHECK(high.proxy.http.limits.request_line_bytes == 1024 * 1024);
  CHECK(high.proxy.http.limits.header_bytes == 1024 * 1024);
  CHECK(high.proxy.http.limits.header_count == 10000);
  CHECK(high.proxy.limits.listen_backlog == 65535);
  CHECK(high.proxy.limits.client_connections == 1000000);
  CHECK(high.proxy.limits.origin_idle_per_origin == 100000);
  CHECK(high.proxy.limits.origin_idle_total == 1000000);

  auto equal = parseText("limits:\n  origin_idle_per_origin: 32\n  origin_idle_total: 32\n");
  CHECK(equal.proxy.limits.origin_idle_per_origin == 32);
}

TEST_CASE("access lists client networks and CONNECT ports", "[config]") {
  auto c = parseText("access:\n"
                     "  allow: [10.0.0.0/8, 192.168.1.7, \"2001:db8::/32\"]\n"
                     "  connect_ports: [443, 563, 8443]\n");
  CHECK(joined(c.proxy.allowed_clients) == "10.0.0.0/8 192.168.1.7/32 2001:db8::/32 ");
  CHECK(c.proxy.access.connect_ports == std::vector<uint16_t>{443, 563, 8443});
  CHECK(net::anyContains(c.proxy.allowed_clients, *net::Address::parse("10.9.9.9:1")));

  auto closed = parseText("access:\n  allow: []\n  connect_ports: []\n");
  CHECK(closed.proxy.allowed_clients.empty());
  CHECK(closed.proxy.access.connect_ports.empty());
  CHECK(parseText("access:\n  connect_ports: [1, 65535]\n").proxy.access.connect_ports ==
        std::vector<uint16_t>{1, 65535});
}

TEST_CASE("#9 access.http_ports takes ports and ranges, Safe_ports by default", "[config]") {
  CHECK(ports(parseText("").proxy.access.http_ports) == "80-80 443-443 1025-65535 ");
  auto c = parseText("access:\n  http_ports: [80, \"8000-8999\", 1-1, 21, 65535]\n");
  CHECK(ports(c.proxy.access.http_ports) == "80-80 8000-8999 1-1 21-21 65535-65535 ");
  auto unquoted = parseText("access:\n  http_ports:\n    - 1025-65535\n    - \"443\"\n");
  CHECK(ports(unquoted.proxy.access.http_ports) == "1025-65535 443-443 ");
  CHECK(parseText("access:\n  http_ports: []\n").proxy.access.http_ports.empty());
}

TEST_CASE("#9 access destinations: loopback, link-local and unspecified denied by default",
          "[config]") {
  auto defaults = parseText("");
  CHECK(joined(defaults.proxy.deny_destinations) ==
        "127.0.0.0/8 0.0.0.0/8 169.254.0.0/16 ::1/128 ::/128 fe80::/10 ");
  CHECK(defaults.proxy.allow_destinations.empty());

  auto c = parseText("access:\n"
                     "  deny_destinations: [10.0.0.0/8, \"fd00::/8\"]\n"
                     "  allow_destinations: [127.0.0.0/8, \"::1/128\", 10.1.2.3]\n");
  CHECK(joined(c.proxy.deny_destinations) == "10.0.0.0/8 fd00::/8 ");
  CHECK(joined(c.proxy.allow_destinations) == "127.0.0.0/8 ::1/128 10.1.2.3/32 ");
  CHECK(parseText("access:\n  deny_destinations: []\n").proxy.deny_destinations.empty());
}

TEST_CASE("cache heuristic freshness and refresh rules", "[config][cache]") {
  auto defaults = parseText("");
  CHECK(defaults.cache.heuristic_percent == 10);
  CHECK(defaults.cache.heuristic_max == 24h);
  CHECK(defaults.cache.refresh_rules.empty());

  auto c = parseText("cache:\n"
                     "  heuristic_percent: 25\n"
                     "  heuristic_max: 12h\n"
                     "  refresh_rules:\n"
                     "    - {pattern: '\\.deb$', min: 30d, percent: 100, max: 365d}\n"
                     "    - pattern: /Packages(\\.xz)?$\n"
                     "      ignore_case: true\n"
                     "      max: 0s\n");
  CHECK(c.cache.heuristic_percent == 25);
  CHECK(c.cache.heuristic_max == 12h);
  REQUIRE(c.cache.refresh_rules.size() == 2);
  const auto& deb = c.cache.refresh_rules[0];
  CHECK(deb.pattern == "\\.deb$");
  CHECK_FALSE(deb.ignore_case);
  CHECK(deb.min == 30 * 24h);
  CHECK(deb.percent == 100);
  CHECK(deb.max == 365 * 24h);
  CHECK(RE2::PartialMatch("http://deb.debian.org/pool/c/curl_7.88.deb", *deb.regex));
  CHECK_FALSE(RE2::PartialMatch("http://deb.debian.org/pool/c/curl_7.88.DEB", *deb.regex));
  CHECK_FALSE(RE2::PartialMatch("http://deb.debian.org/pool/c/curl_7.88.deb.sig", *deb.regex));
  const auto& packages = c.cache.refresh_rules[1];
  CHECK(packages.ignore_case);
  CHECK(packages.min == 0s);     // default
  CHECK(packages.percent == 20); // default
  CHECK(packages.max == 0s);
  CHECK(RE2::PartialMatch("http://x/debian/dists/main/PACKAGES.XZ", *packages.regex));
}

TEST_CASE("#11 cache.set_cookie: strip, refuse or store", "[config][cache]") {
  CHECK(parseText("").cache.set_cookie == cache::SetCookie::Strip);
  CHECK(parseText("cache:\n  set_cookie: refuse\n").cache.set_cookie == cache::SetCookie::Refuse);
  CHECK(parseText("cache:\n  set_cookie: store\n").cache.set_cookie == cache::SetCookie::Store);
  CHECK(parseText("cache:\n  set_cookie: strip\n").cache.set_cookie == cache::SetCookie::Strip);
}

TEST_CASE("#11 cache.targeted_fields lists RFC 9213 fields in order", "[config][cache]") {
  CHECK(parseText("").cache.targeted_fields.empty());
  CHECK(parseText("cache:\n  targeted_fields: [CDN-Cache-Control, Acme-Cache-Control]\n")
            .cache.targeted_fields ==
        std::vector<std::string>{"CDN-Cache-Control", "Acme-Cache-Control"});
}

TEST_CASE("#11 cache.max_variants", "[config][cache]") {
  CHECK(parseText("").cache.max_variants == 32);
  CHECK(parseText("cache:\n  max_variants: 4\n").cache.max_variants == 4);
}

TEST_CASE("cache memory and largest object", "[config]") {
  auto c = parseText("cache:\n  memory: 2GiB\n  max_object_size: 1GB\n");
  CHECK(c.cache.memory_bytes == 2ull << 30);
  CHECK(c.cache.max_object_bytes == 1000000000);
  auto equal = parseText("cache:\n  memory: 1MiB\n  max_object_size: 1048576\n");
  CHECK(equal.cache.memory_bytes == 1 << 20);
  CHECK(equal.cache.max_object_bytes == 1 << 20);
}

TEST_CASE("#12 cache.disk: off by default; path, size, largest object and sync", "[config]") {
  const auto off = parseText("");
  CHECK(off.cache.disk.path.empty());
  const auto on = parseText("cache:\n  disk:\n    path: /tmp/ferry-cache/\n    size: 8GiB\n"
                            "    max_object_size: 512MiB\n    sync: commit\n");
  CHECK(on.cache.disk.path == "/tmp/ferry-cache"); // the trailing / dropped
  CHECK(on.cache.disk.size_bytes == 8ull << 30);
  CHECK(on.cache.disk.max_object_bytes == 512ull << 20);
  CHECK(on.cache.disk.sync == cache::DiskSettings::Sync::Commit);
  const auto small = parseText("cache:\n  disk: {path: /tmp/ferry-cache, size: 800MiB}\n");
  CHECK(small.cache.disk.max_object_bytes == 100ull << 20); // at most an eighth of the size
  CHECK(small.cache.disk.sync == cache::DiskSettings::Sync::None);
}

TEST_CASE("admin listener on, off and its allow-list", "[config]") {
  auto on = parseText("admin:\n  listen: \"[::1]:3129\"\n  allow: [10.0.0.0/8]\n");
  REQUIRE(on.admin.listen);
  CHECK(on.admin.listen->toString() == "[::1]:3129");
  CHECK(joined(on.admin.allowed) == "10.0.0.0/8 ");

  CHECK_FALSE(parseText("").admin.listen);
  CHECK_FALSE(parseText("admin:\n  listen: \"\"\n").admin.listen);
  CHECK_FALSE(parseText("admin:\n  listen:\n").admin.listen);
  // Port 0 for both is two kernel-picked ports, not a clash.
  CHECK(parseText("listen: [127.0.0.1:0]\nadmin:\n  listen: 127.0.0.1:0\n").admin.listen);
}

TEST_CASE("via sets the Via pseudonym", "[config]") {
  CHECK(parseText("via: cache-7.example\n").proxy.http.via_pseudonym == "cache-7.example");
  CHECK(parseText("via: 123\n").proxy.http.via_pseudonym == "123");
}

TEST_CASE("#13 splice is on unless turned off", "[config]") {
  CHECK(parseText("").proxy.splice);
  CHECK_FALSE(parseText("splice: false\n").proxy.splice);
  CHECK(parseText("splice: true\n").proxy.splice);
}

TEST_CASE("expect_continue forwards or rejects", "[config]") {
  CHECK(parseText("").proxy.expect_continue == proxy::ExpectContinue::Forward);
  CHECK(parseText("expect_continue: reject\n").proxy.expect_continue ==
        proxy::ExpectContinue::Reject);
  CHECK(parseText("expect_continue: forward\n").proxy.expect_continue ==
        proxy::ExpectContinue::Forward);
}

TEST_CASE("PURGE is allowed from the admin networks", "[config]") {
  const auto c = parseText("admin:\n  allow: [\"10.0.0.0/8\"]\n");
  REQUIRE(c.proxy.purge_allowed.size() == 1);
  CHECK(c.proxy.purge_allowed[0].toString() == "10.0.0.0/8");
}

TEST_CASE("load reads a file and names it in problems", "[config]") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("ferry-config-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto good = (dir / "good.yaml").string();
  const auto bad = (dir / "bad.yaml").string();
  std::ofstream(good) << "workers: 3\n";
  std::ofstream(bad) << "workers: 3\nvia: \"a b\"\n";

  auto c = config::load(good);
  CHECK(c.proxy.workers == 3);
  CHECK(c.source == good);
  try {
    config::load(bad);
    FAIL("no error");
  } catch (const config::Error& e) {
    REQUIRE(e.problems().size() == 1);
    CHECK_THAT(e.problems()[0], Catch::Matchers::StartsWith(bad + ":2:6: via: "));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("load names a missing or unreadable file and the system's reason", "[config]") {
  try {
    config::load("/nonexistent/ferry.yaml");
    FAIL("no error");
  } catch (const config::Error& e) {
    REQUIRE(e.problems().size() == 1);
    CHECK(e.problems()[0] == "/nonexistent/ferry.yaml: No such file or directory");
  }
  try {
    config::load(FERRY_SOURCE_DIR "/config");
    FAIL("no error");
  } catch (const config::Error& e) {
    REQUIRE(e.problems().size() == 1);
    CHECK_THAT(e.problems()[0], Contains("/config: Is a directory"));
  }
}

TEST_CASE("#10 upstream parents, their credentials and domains, direct rules", "[config]") {
  const std::string credentials = "/tmp/ferry-config-test-parent.credentials";
  {
    std::ofstream out(credentials);
    out << "alice:s3cret\n";
  }
  const auto c = parseText("upstream:\n"
                           "  parents:\n"
                           "    - {address: \"proxy.corp.example:8080\", credentials_file: " +
                           credentials +
                           "}\n"
                           "    - {address: \"[::1]:3128\", domains: [.Corp.example, intranet]}\n"
                           "  always_direct: [.local]\n"
                           "  never_direct: [\"*\"]\n"
                           "  parent_down: 5s\n");
  std::remove(credentials.c_str());
  const auto& up = c.proxy.upstream;
  REQUIRE(up.parents.size() == 2);
  CHECK(up.parents[0].host == "proxy.corp.example");
  CHECK(up.parents[0].port == 8080);
  CHECK(up.parents[0].authorization == "Basic YWxpY2U6czNjcmV0"); // RFC 7617 §2
  CHECK(up.parents[0].domains.empty());
  CHECK(up.parents[1].host == "::1");
  CHECK(up.parents[1].port == 3128);
  CHECK(up.parents[1].authorization.empty());
  CHECK(joined(up.parents[1].domains) == ".corp.example intranet ");
  CHECK(joined(up.always_direct) == ".local ");
  CHECK(joined(up.never_direct) == "* ");
  CHECK(up.parent_down == 5s);
  CHECK(parseText("").proxy.upstream.parents.empty());
  CHECK(parseText("").proxy.upstream.parent_down == 30s);
}

TEST_CASE("#14 pac settings reach the admin listener and the proxy port alike", "[config]") {
  const auto c = parseText("pac:\n  proxy: proxy.corp.example:3128\n"
                           "  direct_domains: [intranet, .corp.example]\n"
                           "  direct_networks: [10.0.0.0/8, \"fd00::/8\"]\n");
  CHECK(c.admin.pac.proxy == "proxy.corp.example:3128");
  CHECK(c.admin.pac.direct_domains == std::vector<std::string>{"intranet", ".corp.example"});
  CHECK(joined(c.admin.pac.direct_networks) == "10.0.0.0/8 fd00::/8 ");
  CHECK(c.proxy.pac.proxy == c.admin.pac.proxy);
  CHECK(c.proxy.pac.direct_domains == c.admin.pac.direct_domains);
  CHECK(joined(c.proxy.pac.direct_networks) == joined(c.admin.pac.direct_networks));
  const auto none = parseText("pac: {direct_domains: [], direct_networks: []}\n");
  CHECK(none.proxy.pac.direct_domains.empty());
  CHECK(none.proxy.pac.direct_networks.empty());
  CHECK(parseText("pac: {proxy: \"[2001:db8::1]:8080\"}\n").admin.pac.proxy ==
        "[2001:db8::1]:8080");
}
