// Gauges: the table, +1/-1 from different threads, Prometheus text.
#include "ferry/core/counters.h"
#include "ferry/core/gauges.h"
#include "ferry/core/histograms.h"

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <thread>

using namespace ferry::core;

namespace {

std::int64_t gaugeValue(std::string_view gauge_name) {
  for (const GaugeValue& v : snapshotGauges())
    if (v.name == gauge_name)
      return v.value;
  FAIL("no gauge " << gauge_name);
  return 0;
}

} // namespace

TEST_CASE("#14 counters, gauges and histograms never share a Prometheus name", "[core]") {
  std::set<std::string> names;
  for (const CounterValue& v : snapshotCounters())
    CHECK(names.insert(std::string(v.name)).second);
  for (const GaugeValue& v : snapshotGauges()) {
    INFO(v.name);
    CHECK(names.insert(std::string(v.name)).second);
    CHECK_FALSE(v.help.empty());
  }
  for (const HistogramValue& v : snapshotHistograms()) {
    INFO(v.name);
    for (const char* suffix : {"", "_bucket", "_sum", "_count"})
      CHECK(names.insert(std::string(v.name) + suffix).second);
    CHECK_FALSE(v.help.empty());
  }
  CHECK(snapshotGauges().size() == kGaugeCount);
}

TEST_CASE("#14 a gauge raised on one thread and lowered on another sums to zero", "[core]") {
  const std::int64_t before = gaugeValue("client_connections_open");
  std::thread([] { addGauge(Gauge::ClientConnections, 3); }).join();
  CHECK(gaugeValue("client_connections_open") - before == 3);
  addGauge(Gauge::ClientConnections, -1);
  addGauge(Gauge::ClientConnections, -2);
  CHECK(gaugeValue("client_connections_open") == before);
  std::thread([] { addGauge(Gauge::ClientConnections, -1); }).join();
  CHECK(gaugeValue("client_connections_open") == before - 1);
  addGauge(Gauge::ClientConnections, 1);
}

TEST_CASE("#14 gauges render in Prometheus text format, negative values too", "[core]") {
  CHECK(renderPrometheus(
            std::vector<GaugeValue>{{"cache_entries", "entries", 12}, {"odd", "below zero", -2}}) ==
        "# HELP ferry_cache_entries entries\n"
        "# TYPE ferry_cache_entries gauge\n"
        "ferry_cache_entries 12\n"
        "# HELP ferry_odd below zero\n"
        "# TYPE ferry_odd gauge\n"
        "ferry_odd -2\n");
}
