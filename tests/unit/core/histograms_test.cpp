// Histograms: bucket choice at the bounds, sums over threads, quantile bounds, Prometheus.
#include "ferry/core/histograms.h"

#include <catch2/catch.hpp>

#include <limits>
#include <thread>

using namespace ferry::core;
using std::chrono::microseconds;

namespace {

HistogramValue current(Histogram histogram) {
  return snapshotHistograms()[static_cast<std::size_t>(histogram)];
}

HistogramValue minus(HistogramValue after, const HistogramValue& before) {
  for (std::size_t b = 0; b < kHistogramBuckets; ++b)
    after.buckets[b] -= before.buckets[b];
  after.sum_us -= before.sum_us;
  return after;
}

} // namespace

TEST_CASE("#14 an observation lands in the first bucket whose bound holds it", "[core]") {
  struct Case {
    std::int64_t us;
    std::size_t bucket;
  };
  const Case cases[] = {{-5, 0},        {0, 0},         {100, 0},         {101, 1},
                        {250, 1},       {999, 3},       {1000, 3},        {1001, 4},
                        {60000000, 17}, {60000001, 18}, {86400000000, 18}};
  for (const Case& c : cases) {
    INFO(c.us << " µs");
    const HistogramValue before = current(Histogram::OriginConnect);
    observe(Histogram::OriginConnect, microseconds(c.us));
    const HistogramValue added = minus(current(Histogram::OriginConnect), before);
    CHECK(added.count() == 1);
    CHECK(added.buckets[c.bucket] == 1);
    CHECK(added.sum_us == static_cast<std::uint64_t>(c.us > 0 ? c.us : 0));
  }
}

TEST_CASE("#14 observations of exited threads are kept", "[core]") {
  const HistogramValue before = current(Histogram::TimeToFirstByte);
  std::thread([] {
    for (int i = 0; i < 10; ++i)
      observe(Histogram::TimeToFirstByte, microseconds(2000));
  }).join();
  observe(Histogram::TimeToFirstByte, microseconds(7));
  const HistogramValue added = minus(current(Histogram::TimeToFirstByte), before);
  CHECK(added.count() == 11);
  CHECK(added.buckets[4] == 10);
  CHECK(added.sum_us == 20007);
}

TEST_CASE("#14 quantile bounds come from the cumulative bucket counts", "[core]") {
  HistogramValue v{"h", "help", {}, 0};
  CHECK(v.quantileBoundUs(0.5) == 0);
  v.buckets[0] = 90; // ≤ 100 µs
  v.buckets[5] = 9;  // ≤ 5 ms
  v.buckets[18] = 1; // above 60 s
  CHECK(v.quantileBoundUs(0.5) == 100);
  CHECK(v.quantileBoundUs(0.9) == 100);
  CHECK(v.quantileBoundUs(0.91) == 5000);
  CHECK(v.quantileBoundUs(0.99) == 5000);
  CHECK(v.quantileBoundUs(1.0) == std::numeric_limits<std::uint64_t>::max());
}

TEST_CASE("#14 histograms render cumulative buckets in seconds", "[core]") {
  HistogramValue v{"origin_connect_seconds", "connect time", {}, 0};
  v.buckets[0] = 2;
  v.buckets[4] = 1;
  v.buckets[18] = 1;
  v.sum_us = 61002650;
  const std::string text = renderPrometheus(std::vector<HistogramValue>{v});
  CHECK(text.rfind("# HELP ferry_origin_connect_seconds connect time\n"
                   "# TYPE ferry_origin_connect_seconds histogram\n"
                   "ferry_origin_connect_seconds_bucket{le=\"0.0001\"} 2\n"
                   "ferry_origin_connect_seconds_bucket{le=\"0.00025\"} 2\n",
                   0) == 0);
  CHECK(text.find("_bucket{le=\"0.0025\"} 3\n") != std::string::npos);
  CHECK(text.find("_bucket{le=\"60\"} 3\n") != std::string::npos);
  CHECK(text.find("_bucket{le=\"+Inf\"} 4\n") != std::string::npos);
  CHECK(text.find("\nferry_origin_connect_seconds_sum 61.00265\n"
                  "ferry_origin_connect_seconds_count 4\n") != std::string::npos);
}
