// The config loader on bad input: each problem names file:line:column and the key path,
// every key has its bad values, and all problems of a file come out in one Error.
#include "ferry/config/config.h"
#include "problems_of.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace ferry;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

struct Case {
  std::string yaml;
  std::string where; // "t.yaml:LINE:COLUMN: key.path: "
  std::string what;  // a part of the rest
};

void checkOneProblem(const Case& c) {
  INFO("yaml:\n" << c.yaml);
  auto problems = problemsOf(c.yaml);
  REQUIRE(problems.size() == 1);
  CHECK_THAT(problems[0], StartsWith(c.where));
  CHECK_THAT(problems[0], Contains(c.what));
}

} // namespace

TEST_CASE("bad listen addresses point at the item", "[config]") {
  const std::string example = "like 127.0.0.1:3128 or \"[::1]:3128\"";
  const Case cases[] = {
      {"listen: 127.0.0.1:3128\n", "t.yaml:1:9: listen: ",
       "expected a list of addresses like 127.0.0.1:3128, got \"127.0.0.1:3128\""},
      {"listen: []\n", "t.yaml:1:9: listen: ", "needs at least one address"},
      {"listen:\n", "t.yaml:1:1: listen: ", "expected a list of addresses"},
      {"listen: [127.0.0.1:3128, localhost:3128]\n", "t.yaml:1:26: listen[1]: ",
       "\"localhost:3128\" is not a numeric address with a port, " + example},
      {"listen: [127.0.0.1:3128, 127.0.0.1:3128]\n",
       "t.yaml:1:26: listen[1]: ", "\"127.0.0.1:3128\" is listed twice"},
      {"listen: [\"127.0.0.1:65536\"]\n",
       "t.yaml:1:10: listen[0]: ", "\"127.0.0.1:65536\" is not a numeric address"},
      {"listen: [127.0.0.1]\n", "t.yaml:1:10: listen[0]: ", "is not a numeric address"},
      {"listen: [\"::1:3128\"]\n", "t.yaml:1:10: listen[0]: ", "is not a numeric address"},
      {"listen:\n  - 127.0.0.1:3128\n  - {host: a}\n",
       "t.yaml:3:5: listen[1]: ", "expected an address " + example + ", got a map"},
  };
  for (const auto& c : cases)
    checkOneProblem(c);
}

TEST_CASE("bad workers and via", "[config]") {
  const std::string workers = "expected \"auto\" or a number of threads from 1 to 256";
  const Case cases[] = {
      {"workers: 0\n", "t.yaml:1:10: workers: ", workers + ", got \"0\""},
      {"workers: 257\n", "t.yaml:1:10: workers: ", workers + ", got \"257\""},
      {"workers: many\n", "t.yaml:1:10: workers: ", workers + ", got \"many\""},
      {"workers: -2\n", "t.yaml:1:10: workers: ", workers},
      {"workers: Auto\n", "t.yaml:1:10: workers: ", workers},
      {"workers: [2]\n", "t.yaml:1:10: workers: ", workers + ", got a list"},
      {"workers:\n", "t.yaml:1:1: workers: ", workers + ", got nothing"},
      {"via: \"a b\"\n", "t.yaml:1:6: via: ", "\"a b\" is not an HTTP token"},
      {"via: \"\"\n", "t.yaml:1:6: via: ", "\"\" is not an HTTP token"},
      {"via: ferry/1\n", "t.yaml:1:6: via: ", "\"ferry/1\" is not an HTTP token"},
      {"via: {a: 1}\n", "t.yaml:1:6: via: ", "expected a name like ferry, got a map"},
  };
  for (const auto& c : cases)
    checkOneProblem(c);
}

TEST_CASE("bad log settings", "[config]") {
  const std::string levels = "expected one of trace, debug, info, warn, error, critical, off";
  const Case cases[] = {
      {"log: verbose\n", "t.yaml:1:6: log: ", "expected a map, got \"verbose\""},
      {"log:\n  level: verbose\n", "t.yaml:2:10: log.level: ", levels + ", got \"verbose\""},
      {"log:\n  level: INFO\n", "t.yaml:2:10: log.level: ", levels + ", got \"INFO\""},
      {"log:\n  level: [info]\n", "t.yaml:2:10: log.level: ", "got a list"},
      {"log:\n  access_log: [a.log]\n",
       "t.yaml:2:15: log.access_log: ", "expected a file path, \"-\" or \"\", got a list"},
      {"log:\n  access_log_format: apache\n",
       "t.yaml:2:22: log.access_log_format: ", "expected one of squid, combined, got \"apache\""},
      {"expect_continue: ignore\n",
       "t.yaml:1:18: expect_continue: ", "expected one of forward, reject, got \"ignore\""},
      {"splice: auto\n", "t.yaml:1:9: splice: ", "expected one of true, false, got \"auto\""},
  };
  for (const auto& c : cases)
    checkOneProblem(c);
}

TEST_CASE("every timeout refuses zero, too long, no unit and junk", "[config]") {
  const char* keys[] = {"client_header",   "client_idle", "client_rest", "origin_connect",
                        "origin_response", "origin_idle", "tunnel_idle", "shutdown_grace"};
  const std::pair<const char*, std::string> values[] = {
      {"0s", "must be from 1ms to 7d, got 0s"},
      {"0ms", "must be from 1ms to 7d, got 0ms"},
      {"8d", "must be from 1ms to 7d, got 8d"},
      {"604800001ms", "must be from 1ms to 7d, got 604800001ms"},
      {"abc", "\"abc\" is not a duration"},
      {"60", "\"60\" has no unit"},
      {"-1s", "\"-1s\" is negative"},
      {"1.5s", "not a whole number"},
      {"30sec", "unknown unit \"sec\""},
      {"99999999999999999999s", "is too large"},
      {"{}", "expected a duration like 250ms, 30s or 5m, got a map"},
  };
  for (const char* key : keys) {
    for (const auto& [value, what] : values) {
      const std::string name = key;
      const std::string column = std::to_string(2 + name.size() + 2 + 1);
      checkOneProblem({"timeouts:\n  " + name + ": " + value + "\n",
                       "t.yaml:2:" + column + ": timeouts." + name + ": ", what});
    }
  }
  checkOneProblem({"timeouts: 30s\n", "t.yaml:1:11: timeouts: ", "expected a map, got \"30s\""});
  // The largest good one, so the range above is the boundary.
  CHECK(config::parse("timeouts:\n  tunnel_idle: 604800000ms\n", "t.yaml")
            .proxy.timeouts.tunnel_idle == std::chrono::hours(7 * 24));
}

TEST_CASE("bad limits, including origin_idle_per_origin above origin_idle_total", "[config]") {
  const Case cases[] = {
      {"limits:\n  request_line: 255B\n",
       "t.yaml:2:17: limits.request_line: ", "must be from 256B to 1MiB, got 255B"},
      {"limits:\n  request_line: 1048577\n",
       "t.yaml:2:17: limits.request_line: ", "must be from 256B to 1MiB, got 1048577"},
      {"limits:\n  request_line: 8 kib\n",
       "t.yaml:2:17: limits.request_line: ", "unknown unit \"kib\""},
      {"limits:\n  request_line: lots\n",
       "t.yaml:2:17: limits.request_line: ", "\"lots\" is not a size"},
      {"limits:\n  header_bytes: 1023\n",
       "t.yaml:2:17: limits.header_bytes: ", "must be from 1KiB to 1MiB, got 1023"},
      {"limits:\n  header_bytes: 2MiB\n",
       "t.yaml:2:17: limits.header_bytes: ", "must be from 1KiB to 1MiB, got 2MiB"},
      {"limits:\n  header_bytes: -1KiB\n", "t.yaml:2:17: limits.header_bytes: ", "is negative"},
      {"limits:\n  header_count: 0\n",
       "t.yaml:2:17: limits.header_count: ", "must be from 1 to 10000, got 0"},
      {"limits:\n  header_count: 10001\n",
       "t.yaml:2:17: limits.header_count: ", "must be from 1 to 10000, got 10001"},
      {"limits:\n  header_count: 1KiB\n",
       "t.yaml:2:17: limits.header_count: ", "\"1KiB\" is not a whole number"},
      {"limits:\n  listen_backlog: 0\n",
       "t.yaml:2:19: limits.listen_backlog: ", "must be from 1 to 65535, got 0"},
      {"limits:\n  listen_backlog: 65536\n",
       "t.yaml:2:19: limits.listen_backlog: ", "must be from 1 to 65535, got 65536"},
      {"limits:\n  client_connections: 0\n",
       "t.yaml:2:23: limits.client_connections: ", "must be from 1 to 1000000, got 0"},
      {"limits:\n  client_connections: 1000001\n",
       "t.yaml:2:23: limits.client_connections: ", "must be from 1 to 1000000, got 1000001"},
      {"limits:\n  origin_idle_per_origin: -1\n",
       "t.yaml:2:27: limits.origin_idle_per_origin: ", "\"-1\" is negative"},
      {"limits:\n  origin_idle_per_origin: 100001\n",
       "t.yaml:2:27: limits.origin_idle_per_origin: ", "must be from 0 to 100000, got 100001"},
      {"limits:\n  origin_idle_total: 1000001\n",
       "t.yaml:2:22: limits.origin_idle_total: ", "must be from 0 to 1000000, got 1000001"},
      {"limits:\n  origin_idle_total: [1]\n", "t.yaml:2:22: limits.origin_idle_total: ",
       "expected a whole number from 0 to 1000000, got a list"},
      {"limits:\n  origin_idle_per_origin: 17\n  origin_idle_total: 16\n",
       "t.yaml:2:27: limits.origin_idle_per_origin: ",
       "origin_idle_per_origin (17) must not exceed origin_idle_total (16)"},
      // Only the total is set, below the default per-origin 16: point at what was written.
      {"limits:\n  origin_idle_total: 8\n", "t.yaml:2:22: limits.origin_idle_total: ",
       "origin_idle_per_origin (64) must not exceed origin_idle_total (8)"},
  };
  for (const auto& c : cases)
    checkOneProblem(c);
}

TEST_CASE("bad access networks and CONNECT ports", "[config]") {
  const Case cases[] = {
      {"access: [10.0.0.0/8]\n", "t.yaml:1:9: access: ", "expected a map, got a list"},
      {"access:\n  allow: 10.0.0.0/8\n", "t.yaml:2:10: access.allow: ",
       "expected a list of networks like 10.0.0.0/8, got \"10.0.0.0/8\""},
      {"access:\n  allow: [10.0.0.1/8]\n",
       "t.yaml:2:11: access.allow[0]: ", "\"10.0.0.1/8\" is not a network like 10.0.0.0/8"},
      {"access:\n  allow: [10.0.0.0/8, 10.0.0.0/33]\n",
       "t.yaml:2:23: access.allow[1]: ", "\"10.0.0.0/33\" is not a network"},
      {"access:\n  allow: [example.com]\n",
       "t.yaml:2:11: access.allow[0]: ", "\"example.com\" is not a network"},
      {"access:\n  allow:\n    - 10.0.0.0/8\n    - \"::1/128\"\n    - 10.0.0.0/8\n",
       "t.yaml:5:7: access.allow[2]: ", "\"10.0.0.0/8\" is listed twice"},
      {"access:\n  connect_ports: [0]\n",
       "t.yaml:2:19: access.connect_ports[0]: ", "must be from 1 to 65535, got 0"},
      {"access:\n  connect_ports: [65536]\n",
       "t.yaml:2:19: access.connect_ports[0]: ", "must be from 1 to 65535, got 65536"},
      {"access:\n  connect_ports: [https]\n",
       "t.yaml:2:19: access.connect_ports[0]: ", "\"https\" is not a whole number"},
      {"access:\n  connect_ports: [443, 443]\n",
       "t.yaml:2:24: access.connect_ports[1]: ", "\"443\" is listed twice"},
      {"access:\n  connect_ports: 443\n",
       "t.yaml:2:18: access.connect_ports: ", "expected a list of ports like 443, got \"443\""},
  };
  for (const auto& c : cases)
    checkOneProblem(c);
}

TEST_CASE("#9 bad http_ports and destination networks point at the item", "[config]") {
  const std::string expected = "is not a port like 80 or a range like 1025-65535";
  const Case cases[] = {
      {"access:\n  http_ports: 80\n", "t.yaml:2:15: access.http_ports: ",
       "expected a list of ports like 80 and ranges like 1025-65535, got \"80\""},
      {"access:\n  http_ports: [80, http]\n",
       "t.yaml:2:20: access.http_ports[1]: ", "\"http\" " + expected},
      {"access:\n  http_ports: [\"1025-\"]\n",
       "t.yaml:2:16: access.http_ports[0]: ", "\"1025-\" " + expected},
      {"access:\n  http_ports: [\"-80\"]\n",
       "t.yaml:2:16: access.http_ports[0]: ", "\"-80\" " + expected},
      {"access:\n  http_ports: [\"1-2-3\"]\n",
       "t.yaml:2:16: access.http_ports[0]: ", "\"1-2-3\" " + expected},
      {"access:\n  http_ports: [0]\n",
       "t.yaml:2:16: access.http_ports[0]: ", "ports must be from 1 to 65535, got 0"},
      {"access:\n  http_ports: [\"1025-65536\"]\n",
       "t.yaml:2:16: access.http_ports[0]: ", "ports must be from 1 to 65535, got 1025-65536"},
      {"access:\n  http_ports: [\"9000-8000\"]\n",
       "t.yaml:2:16: access.http_ports[0]: ", "range 9000-8000 ends before it starts"},
      {"access:\n  http_ports:\n    - 80\n    - 1025-65535\n    - 80\n",
       "t.yaml:5:7: access.http_ports[2]: ", "\"80\" is listed twice"},
      {"access:\n  http_ports: [{from: 1}]\n", "t.yaml:2:16: access.http_ports[0]: ",
       "expected a port like 80 or a range like 1025-65535, got a map"},
      {"access:\n  deny_destinations: [127.0.0.1/8]\n",
       "t.yaml:2:23: access.deny_destinations[0]: ",
       "\"127.0.0.1/8\" is not a network like 10.0.0.0/8"},
      {"access:\n  deny_destinations: 127.0.0.0/8\n", "t.yaml:2:22: access.deny_destinations: ",
       "expected a list of networks like 10.0.0.0/8, got \"127.0.0.0/8\""},
      {"access:\n  allow_destinations: [localhost]\n",
       "t.yaml:2:24: access.allow_destinations[0]: ", "\"localhost\" is not a network"},
      {"access:\n  allow_destinations: [127.0.0.0/8, 127.0.0.0/8]\n",
       "t.yaml:2:37: access.allow_destinations[1]: ", "\"127.0.0.0/8\" is listed twice"},
  };
  for (const auto& c : cases)
    checkOneProblem(c);
}

TEST_CASE("bad cache sizes, including an object larger than the cache", "[config]") {
  const Case cases[] = {
      {"cache: 256MiB\n", "t.yaml:1:8: cache: ", "expected a map, got \"256MiB\""},
      {"cache:\n  memory: 1023KiB\n",
       "t.yaml:2:11: cache.memory: ", "must be at least 1MiB, got 1023KiB"},
      {"cache:\n  memory: lots\n", "t.yaml:2:11: cache.memory: ", "\"lots\" is not a size"},
      {"cache:\n  memory: 16777216TiB\n", "t.yaml:2:11: cache.memory: ", "is too large"},
      {"cache:\n  memory: -256MiB\n", "t.yaml:2:11: cache.memory: ", "is negative"},
      // max_object_size keeps its default 16MiB: point at the key that was written.
      {"cache:\n  memory: 1MiB\n",
       "t.yaml:2:11: cache.memory: ", "max_object_size (16MiB) must not exceed memory (1MiB)"},
      {"cache:\n  max_object_size: 512MiB\n", "t.yaml:2:20: cache.max_object_size: ",
       "max_object_size (512MiB) must not exceed memory (256MiB)"},
      {"cache:\n  max_object_size: 0\n",
       "t.yaml:2:20: cache.max_object_size: ", "must be at least 1B, got 0"},
      {"cache:\n  max_object_size: 1.5MiB\n",
       "t.yaml:2:20: cache.max_object_size: ", "not a whole number"},
  };
  for (const auto& c : cases)
    checkOneProblem(c);
}

TEST_CASE("#12 a disk cache path ferry cannot use, and bad disk settings", "[config]") {
  const Case cases[] = {
      {"cache:\n  disk: /var/cache/ferry\n",
       "t.yaml:2:9: cache.disk: ", "expected a map, got \"/var/cache/ferry\""},
      {"cache:\n  disk: {path: var/cache/ferry}\n", "t.yaml:2:16: cache.disk.path: ",
       "expected an absolute directory path, got \"var/cache/ferry\""},
      {"cache:\n  disk: {path: /proc/version/cache}\n",
       "t.yaml:2:16: cache.disk.path: ", "\"/proc/version\" is not a directory"},
      {"cache:\n  disk: {path: /tmp/ferry, size: 4096TiB}\n", "t.yaml:2:16: cache.disk.path: ",
       "cache.disk.size (4096TiB) exceeds the size of the filesystem of"},
      {"cache:\n  disk: {size: 15MiB}\n",
       "t.yaml:2:16: cache.disk.size: ", "must be at least 16MiB, got 15MiB"},
      {"cache:\n  disk: {sync: always}\n",
       "t.yaml:2:16: cache.disk.sync: ", "expected one of none, commit, got \"always\""},
      {"cache:\n  disk: {directory: /tmp}\n", "t.yaml:2:10: cache.disk.directory: ",
       "unknown key (known here: path, size, max_object_size, sync)"},
      {"cache:\n  disk: {size: 64MiB, max_object_size: 128MiB}\n",
       "t.yaml:2:40: cache.disk.max_object_size: ",
       "max_object_size (128MiB) must not exceed an eighth of size (8MiB)"},
      {"cache:\n  disk: {max_object_size: 2GiB}\n", "t.yaml:2:27: cache.disk.max_object_size: ",
       "max_object_size (2GiB) must not exceed an eighth of size (128MiB)"},
  };
  for (const auto& c : cases)
    checkOneProblem(c);
}

TEST_CASE("bad heuristic freshness and refresh rules", "[config][cache]") {
  const Case cases[] = {
      {"cache:\n  max_variants: 0\n",
       "t.yaml:2:17: cache.max_variants: ", "must be from 1 to 10000, got 0"},
      {"cache:\n  set_cookie: keep\n",
       "t.yaml:2:15: cache.set_cookie: ", "expected one of strip, refuse, store, got \"keep\""},
      {"cache:\n  targeted_fields: [\"CDN Cache-Control\"]\n",
       "t.yaml:2:21: cache.targeted_fields[0]: ", "\"CDN Cache-Control\" is not a field name"},
      {"cache:\n  targeted_fields: [cache-control]\n",
       "t.yaml:2:21: cache.targeted_fields[0]: ", "Cache-Control is always obeyed"},
      {"cache:\n  targeted_fields: [CDN-Cache-Control, cdn-cache-control]\n",
       "t.yaml:2:40: cache.targeted_fields[1]: ", "is listed twice"},
      {"cache:\n  heuristic_percent: 101\n",
       "t.yaml:2:22: cache.heuristic_percent: ", "must be from 0 to 100, got 101"},
      {"cache:\n  heuristic_max: 1500ms\n",
       "t.yaml:2:18: cache.heuristic_max: ", "must be whole seconds, got 1500ms"},
      {"cache:\n  heuristic_max: 3651d\n",
       "t.yaml:2:18: cache.heuristic_max: ", "must be from 0ms to 3650d, got 3651d"},
      {"cache:\n  refresh_rules: '\\.deb$'\n", "t.yaml:2:18: cache.refresh_rules: ",
       "expected a list of rules like {pattern: '\\.deb$', min: 30d"},
      {"cache:\n  refresh_rules:\n    - {min: 1d}\n",
       "t.yaml:3:7: cache.refresh_rules[0]: ", "needs a pattern"},
      {"cache:\n  refresh_rules:\n    - {pattern: '(deb'}\n",
       "t.yaml:3:17: cache.refresh_rules[0].pattern: ",
       "\"(deb\" is not a regular expression in RE2 syntax: missing ): (deb"},
      {"cache:\n  refresh_rules:\n    - {pattern: x, min: 2d, max: 1d}\n",
       "t.yaml:3:34: cache.refresh_rules[0].max: ", "max (1d) must not be less than min (2d)"},
      {"cache:\n  refresh_rules:\n    - {pattern: x, min: 4d}\n", // max keeps its 3d
       "t.yaml:3:25: cache.refresh_rules[0].min: ", "max (3d) must not be less than min (4d)"},
      {"cache:\n  refresh_rules:\n    - {pattern: x, percent: 1001}\n",
       "t.yaml:3:29: cache.refresh_rules[0].percent: ", "must be from 0 to 1000, got 1001"},
      {"cache:\n  refresh_rules:\n    - {pattern: x, ignore_case: yes}\n",
       "t.yaml:3:33: cache.refresh_rules[0].ignore_case: ",
       "expected one of true, false, got \"yes\""},
      {"cache:\n  refresh_rules:\n    - {pattern: x, min: 1.5s}\n",
       "t.yaml:3:25: cache.refresh_rules[0].min: ", "\"1.5s\" is not a whole number"},
      {"cache:\n  refresh_rules:\n    - {pattern: x, minimum: 1d}\n",
       "t.yaml:3:20: cache.refresh_rules[0].minimum: ",
       "unknown key (known here: pattern, ignore_case, min, percent, max)"},
      {"cache:\n  refresh_rules:\n    - {pattern: x}\n    - {pattern: x, max: 1d}\n",
       "t.yaml:4:7: cache.refresh_rules[1]: ", "pattern \"x\" is listed twice"},
  };
  for (const auto& c : cases)
    checkOneProblem(c);
}

TEST_CASE("#9 refresh rule patterns std::regex took but RE2 refuses are errors at their position",
          "[config][cache]") {
  const Case cases[] = {
      {"cache:\n  refresh_rules:\n    - {pattern: '(a)\\1'}\n",
       "t.yaml:3:17: cache.refresh_rules[0].pattern: ",
       "\"(a)\\1\" is not a regular expression in RE2 syntax: invalid escape sequence: \\1"},
      {"cache:\n  refresh_rules:\n    - {min: 1d, pattern: 'deb(?=x)'}\n",
       "t.yaml:3:26: cache.refresh_rules[0].pattern: ",
       "\"deb(?=x)\" is not a regular expression in RE2 syntax: invalid perl operator: (?="},
      {"cache:\n  refresh_rules:\n    - {pattern: x}\n    - pattern: '(?<!/)x'\n",
       "t.yaml:4:16: cache.refresh_rules[1].pattern: ",
       "\"(?<!/)x\" is not a regular expression in RE2 syntax"},
  };
  for (const auto& c : cases)
    checkOneProblem(c);
}

TEST_CASE("bad admin listener and allow-list", "[config]") {
  const Case cases[] = {
      {"admin: []\n", "t.yaml:1:8: admin: ", "expected a map, got a list"},
      {"admin:\n  listen: 3129\n",
       "t.yaml:2:11: admin.listen: ", "\"3129\" is not a numeric address with a port"},
      {"admin:\n  listen: [127.0.0.1:3129]\n", "t.yaml:2:11: admin.listen: ",
       "expected an address like 127.0.0.1:3128 or \"[::1]:3128\", got a list"},
      {"admin:\n  listen: 127.0.0.1:3128\n",
       "t.yaml:2:11: admin.listen: ", "\"127.0.0.1:3128\" is also a proxy listen address"},
      {"listen: [\"[::1]:80\"]\nadmin:\n  listen: \"[::1]:80\"\n",
       "t.yaml:3:11: admin.listen: ", "\"[::1]:80\" is also a proxy listen address"},
      {"admin:\n  allow: [10.0.0.1/8]\n",
       "t.yaml:2:11: admin.allow[0]: ", "\"10.0.0.1/8\" is not a network"},
      {"admin:\n  allow: 127.0.0.1\n", "t.yaml:2:10: admin.allow: ", "expected a list"},
  };
  for (const auto& c : cases)
    checkOneProblem(c);
}

TEST_CASE("unknown keys at every level name the key and what is known there", "[config]") {
  const Case cases[] = {
      {"lisen: [127.0.0.1:3128]\n", "t.yaml:1:1: lisen: ",
       "unknown key (known here: listen, workers, log, timeouts, limits, auth, access, cache, "
       "admin, upstream, pac, via, expect_continue, splice)"},
      {"log:\n  lvl: info\n",
       "t.yaml:2:3: log.lvl: ", "unknown key (known here: level, access_log, access_log_format)"},
      {"timeouts:\n  client_idel: 5s\n", "t.yaml:2:3: timeouts.client_idel: ",
       "unknown key (known here: client_header, client_idle, client_rest, origin_connect"},
      {"limits:\n  header_size: 1KiB\n",
       "t.yaml:2:3: limits.header_size: ", "unknown key (known here: request_line, header_bytes"},
      {"access:\n  deny: []\n", "t.yaml:2:3: access.deny: ",
       "unknown key (known here: allow, rules, connect_ports, http_ports, deny_destinations, "
       "allow_destinations)"},
      {"cache:\n  dir: /var/cache/ferry\n", "t.yaml:2:3: cache.dir: ",
       "unknown key (known here: memory, max_object_size, heuristic_percent, heuristic_max, "
       "refresh_rules, set_cookie, targeted_fields, max_variants, disk)"},
      {"admin:\n  port: 3129\n",
       "t.yaml:2:3: admin.port: ", "unknown key (known here: listen, allow)"},
      {"<<: {via: x}\n", "t.yaml:1:1: <<: ", "unknown key"},
      {"{[a]: 1}\n", "t.yaml:1:2: ", "a key must be a plain name, got a list"},
  };
  for (const auto& c : cases)
    checkOneProblem(c);
}

TEST_CASE("duplicate keys are refused where they repeat", "[config]") {
  checkOneProblem({"via: a\nvia: b\n", "t.yaml:2:1: via: ", "duplicate key (first set on line 1)"});
  checkOneProblem({"timeouts:\n  client_idle: 5s\n  client_idle: 6s\n",
                   "t.yaml:3:3: timeouts.client_idle: ", "duplicate key (first set on line 2)"});
}

TEST_CASE("the document must be one map and YAML syntax errors carry their position", "[config]") {
  const Case cases[] = {
      {"- a\n- b\n", "t.yaml:1:1: ", "expected a map, got a list"},
      {"just text\n", "t.yaml:1:1: ", "expected a map, got \"just text\""},
      {"via: a\n---\nvia: b\n", "t.yaml:3:1: ", "only one YAML document is allowed"},
      {"listen: [::1]:3128\n", "t.yaml:1:14: ",
       "invalid YAML: end of map not found (quote IPv6 addresses: \"[::1]:3128\")"},
      {"via: a: b\n", "t.yaml:1:7: ", "invalid YAML: illegal map value"},
      {"log:\n  level: info\n bad: x\n", "t.yaml:3:", "invalid YAML: "},
  };
  for (const auto& c : cases)
    checkOneProblem(c);
  // Not an IPv6 mistake: no hint.
  CHECK_THAT(problemsOf("via: a: b\n")[0], !Contains("IPv6"));
}

TEST_CASE("all problems of a file are reported at once, in file order", "[config]") {
  const std::string yaml = "via: \"bad via\"\n"            // 1
                           "listen: [127.0.0.1:3128, x]\n" // 2
                           "workers: none\n"               // 3
                           "log:\n"                        // 4
                           "  level: loud\n"               // 5
                           "  colour: yes\n"               // 6
                           "timeouts:\n"                   // 7
                           "  client_idle: 0s\n"           // 8
                           "  origin_connect: 10\n"        // 9
                           "cache:\n"                      // 10
                           "  memory: 1MiB\n"              // 11
                           "  max_object_size: 2MiB\n"     // 12
                           "access:\n"                     // 13
                           "  allow: [10.0.0.1/8]\n";      // 14
  auto problems = problemsOf(yaml);
  const std::vector<std::string> where = {
      "t.yaml:1:6: via: ",
      "t.yaml:2:26: listen[1]: ",
      "t.yaml:3:10: workers: ",
      "t.yaml:5:10: log.level: ",
      "t.yaml:6:3: log.colour: ",
      "t.yaml:8:16: timeouts.client_idle: ",
      "t.yaml:9:19: timeouts.origin_connect: ",
      "t.yaml:12:20: cache.max_object_size: ",
      "t.yaml:14:11: access.allow[0]: ",
  };
  REQUIRE(problems.size() == where.size());
  for (std::size_t i = 0; i < where.size(); ++i) {
    INFO(i);
    CHECK_THAT(problems[i], StartsWith(where[i]));
  }

  try {
    config::parse(yaml, "t.yaml");
    FAIL("no error");
  } catch (const config::Error& e) {
    const std::string what = e.what();
    for (const auto& problem : problems)
      CHECK_THAT(what, Contains(problem));
  }
}

TEST_CASE("a bad value leaves the rest of its section checked", "[config]") {
  auto problems = problemsOf("limits:\n"
                             "  request_line: 1B\n"
                             "  header_bytes: 1KiB\n"
                             "  header_count: 0\n");
  REQUIRE(problems.size() == 2);
  CHECK_THAT(problems[0], StartsWith("t.yaml:2:17: limits.request_line: "));
  CHECK_THAT(problems[1], StartsWith("t.yaml:4:17: limits.header_count: "));
}

TEST_CASE("#10 bad parents and host patterns point at the item", "[config]") {
  const Case cases[] = {
      {"upstream:\n  parents:\n    - {address: proxy}\n",
       "t.yaml:3:17: upstream.parents[0].address: ",
       "expected a host:port like proxy.example.com:3128, got \"proxy\""},
      {"upstream:\n  parents:\n    - {domains: [a]}\n",
       "t.yaml:3:7: upstream.parents[0]: ", "a parent needs an address"},
      {"upstream:\n  parents:\n    - {address: \"p:1\", credentials_file: /nonexistent/c}\n",
       "t.yaml:3:42: upstream.parents[0].credentials_file: ", "cannot read \"/nonexistent/c\""},
      {"upstream:\n  parents:\n    - {address: \"p:1\", weight: 2}\n",
       "t.yaml:3:24: upstream.parents[0].weight: ", "unknown key"},
      {"upstream:\n  never_direct: [\"a b\"]\n", "t.yaml:2:18: upstream.never_direct[0]: ",
       "expected a host like example.com, a domain like .example.com, or *"},
      {"upstream:\n  parents:\n    - {address: \"p:1\"}\n    - {address: \"p:1\"}\n",
       "t.yaml:4:7: upstream.parents[1]: ", "listed twice"},
  };
  for (const Case& c : cases)
    checkOneProblem(c);
}

TEST_CASE("#14 bad pac settings point at the value", "[config]") {
  const Case cases[] = {
      {"pac: {proxy: proxy.example}\n",
       "t.yaml:1:14: pac.proxy: ", "\"proxy.example\" is not a host with a port"},
      {"pac: {proxy: \"a b:3128\"}\n", "t.yaml:1:14: pac.proxy: ", "is not a host with a port"},
      {"pac: {direct_domains: [Example.com]}\n",
       "t.yaml:1:24: pac.direct_domains[0]: ", "\"Example.com\" is not a lower-case domain"},
      {"pac: {direct_domains: [\"a..b\"]}\n",
       "t.yaml:1:24: pac.direct_domains[0]: ", "is not a lower-case domain"},
      {"pac: {direct_domains: [.]}\n",
       "t.yaml:1:24: pac.direct_domains[0]: ", "is not a lower-case domain"},
      {"pac: {direct_domains: [a.example, a.example]}\n",
       "t.yaml:1:35: pac.direct_domains[1]: ", "\"a.example\" is listed twice"},
      {"pac: {direct_networks: [10.0.0.1/8]}\n",
       "t.yaml:1:25: pac.direct_networks[0]: ", "is not a network"},
      {"pac: {direct: []}\n", "t.yaml:1:7: pac.direct: ",
       "unknown key (known here: proxy, direct_domains, direct_networks)"},
  };
  for (const auto& c : cases)
    checkOneProblem(c);
}
