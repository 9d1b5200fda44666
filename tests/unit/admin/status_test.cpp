// The status snapshot as JSON and the history ring behind the status page's chart.
#include "ferry/admin/status.h"

#include <catch2/catch.hpp>

using namespace ferry;
using std::chrono::milliseconds;
using std::chrono::system_clock;

namespace {

system_clock::time_point at(long long ms) {
  return system_clock::time_point(milliseconds(ms));
}

admin::StatusSnapshot snapshot() {
  admin::StatusSnapshot s;
  s.version = "1.2.3";
  s.config_file = "/etc/ferry/\"odd\"\n.yaml";
  s.started = at(1000000);
  s.now = at(1090500);
  for (std::size_t i = 0; i < core::kCounterCount; ++i)
    s.counters.push_back({core::name(static_cast<core::Counter>(i)), "", 0});
  s.counters[core::index(core::Counter::RequestsTotal)].value = 10;
  s.counters[core::index(core::Counter::Responses2xx)].value = 9;
  s.counters[core::index(core::Counter::CacheStatusHit)].value = 6;
  s.counters[core::index(core::Counter::CacheStatusMiss)].value = 3;
  for (std::size_t i = 0; i < core::kGaugeCount; ++i)
    s.gauges.push_back({"", "", 0});
  s.gauges[static_cast<std::size_t>(core::Gauge::ClientConnections)].value = 4;
  s.gauges[static_cast<std::size_t>(core::Gauge::OriginConnections)].value = 2;
  core::HistogramValue h{"request_duration_seconds", "", {}, 12500};
  h.buckets[0] = 9; // ≤ 100 µs
  h.buckets[4] = 1; // ≤ 2.5 ms
  s.histograms.push_back(h);
  s.origins.push_back({"http://a.example:80", 2, 1, 5, 7});
  s.top_hosts.push_back({"a.example", 10});
  s.cache = {3, 4096, 1 << 20};
  s.sample_interval = milliseconds(1000);
  s.history = {{at(1089000), 8, 5, 100, 3}, {at(1090000), 10, 6, 150, 4}};
  return s;
}

} // namespace

TEST_CASE("#14 the status snapshot renders as one JSON object", "[admin]") {
  CHECK(admin::renderStatusJson(snapshot()) ==
        "{\"version\":\"1.2.3\",\"config_file\":\"/etc/ferry/\\\"odd\\\"\\u000a.yaml\","
        "\"now_ms\":1090500,\"started_ms\":1000000,\"uptime_s\":90,"
        "\"requests\":{\"total\":10,\"responses_2xx\":9,\"responses_3xx\":0,"
        "\"responses_4xx\":0,\"responses_5xx\":0},"
        "\"cache_status\":{\"hit\":6,\"revalidated\":0,\"miss\":3,\"bypass\":0,\"none\":0},"
        "\"connections\":{\"clients\":4,\"tunnels\":0,\"origins_open\":2,\"origins_idle\":0},"
        "\"latency\":{\"request_duration_seconds\":{\"count\":10,\"sum_ms\":12,"
        "\"p50_ms\":0.1,\"p90_ms\":0.1,\"p99_ms\":2.5}},"
        "\"cache\":{\"entries\":3,\"memory_used\":4096,\"memory_budget\":1048576,"
        "\"disk_entries\":0,\"disk_used\":0,\"disk_budget\":0},"
        "\"origins\":[{\"origin\":\"http://a.example:80\",\"idle\":1,\"busy\":1,\"opened\":5,"
        "\"reused\":7}],"
        "\"top_hosts\":[{\"host\":\"a.example\",\"requests\":10}],"
        "\"history\":{\"interval_ms\":1000,"
        "\"columns\":\"at_ms requests hits bytes_out connections\","
        "\"samples\":[[1089000,8,5,100,3],[1090000,10,6,150,4]]}}");
}

TEST_CASE("#14 a latency past the last bucket renders as null", "[admin]") {
  auto s = snapshot();
  s.histograms[0].buckets = {};
  s.histograms[0].buckets[core::kHistogramBuckets - 1] = 1;
  const std::string json = admin::renderStatusJson(s);
  CHECK(json.find("\"p50_ms\":null,\"p90_ms\":null,\"p99_ms\":null") != std::string::npos);
}

TEST_CASE("#14 the history keeps the newest samples up to its capacity", "[admin]") {
  admin::History history(3);
  for (int i = 0; i < 5; ++i)
    history.add({at(i * 1000), static_cast<std::uint64_t>(i), 0, 0, 0});
  REQUIRE(history.samples().size() == 3);
  CHECK(history.samples().front().requests == 2);
  CHECK(history.samples().back().requests == 4);
}
