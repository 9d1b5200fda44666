// What the status page and /status.json show: a snapshot of the counters, gauges,
// latency histograms, origins, top hosts and cache, plus a history of samples for the time
// chart. Rendering is pure (a snapshot in, JSON text out); collecting is AdminServer's.
#pragma once

#include "ferry/core/counters.h"
#include "ferry/core/gauges.h"
#include "ferry/core/histograms.h"
#include "ferry/core/traffic_stats.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::admin {

// The cache's own figures (not in the gauge table: one object owns them).
struct CacheFigures {
  std::size_t entries = 0;
  std::size_t memory_used = 0;   // bytes
  std::size_t memory_budget = 0; // bytes
  std::uint64_t disk_entries = 0;
  std::uint64_t disk_used = 0;   // bytes
  std::uint64_t disk_budget = 0; // bytes; 0 without a disk tier
};

// One point of the time chart.
struct Sample {
  std::chrono::system_clock::time_point at;
  std::uint64_t requests = 0;   // requests_total so far
  std::uint64_t hits = 0;       // cache_status_hit so far
  std::uint64_t bytes_out = 0;  // client_bytes_out so far
  std::int64_t connections = 0; // client connections open
};

// The last `capacity` samples, oldest first.
class History {
public:
  explicit History(std::size_t capacity) : capacity_(capacity) {}
  void add(const Sample& sample);
  const std::deque<Sample>& samples() const { return samples_; }

private:
  std::size_t capacity_;
  std::deque<Sample> samples_;
};

struct StatusSnapshot {
  std::string version;
  std::string config_file;
  std::chrono::system_clock::time_point started;
  std::chrono::system_clock::time_point now;
  std::vector<core::CounterValue> counters;     // table order
  std::vector<core::GaugeValue> gauges;         // table order
  std::vector<core::HistogramValue> histograms; // table order
  std::vector<core::traffic::OriginFigures> origins;
  std::vector<core::traffic::HostFigures> top_hosts;
  CacheFigures cache;
  std::chrono::milliseconds sample_interval{0};
  std::deque<Sample> history;
};

// The snapshot as one JSON object (see README, "Status page"). Pure.
std::string renderStatusJson(const StatusSnapshot& snapshot);

// The status page: one self-contained HTML document (inline style and script, no other
// request than /status.json, which it polls every second).
std::string_view statusPage();

} // namespace ferry::admin
