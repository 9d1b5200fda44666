// Counter snapshots and their Prometheus text. The per-thread storage is thread_slots.h.
#include "ferry/core/counters.h"

#include "prometheus.h"

namespace ferry::core {

std::vector<CounterValue> snapshotCounters() {
  const auto sums = detail::CounterSlots::sum();
  std::vector<CounterValue> values;
  values.reserve(kCounterCount);
  for (std::size_t i = 0; i < kCounterCount; ++i)
    values.push_back({detail::kCounterNames[i], detail::kCounterHelps[i], sums[i]});
  return values;
}

std::string renderPrometheus(const std::vector<CounterValue>& values) {
  std::string out;
  out.reserve(values.size() * 160);
  for (const CounterValue& v : values)
    prometheus::appendMetric(out, v.name, v.help, "counter", std::to_string(v.value));
  return out;
}

} // namespace ferry::core
