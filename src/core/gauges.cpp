// Gauge snapshots and their Prometheus text.
#include "ferry/core/gauges.h"

#include "prometheus.h"

namespace ferry::core {

std::vector<GaugeValue> snapshotGauges() {
  const auto sums = detail::GaugeSlots::sum();
  std::vector<GaugeValue> values;
  values.reserve(kGaugeCount);
  for (std::size_t i = 0; i < kGaugeCount; ++i)
    values.push_back(
        {detail::kGaugeNames[i], detail::kGaugeHelps[i], static_cast<std::int64_t>(sums[i])});
  return values;
}

std::string renderPrometheus(const std::vector<GaugeValue>& values) {
  std::string out;
  for (const GaugeValue& v : values)
    prometheus::appendMetric(out, v.name, v.help, "gauge", std::to_string(v.value));
  return out;
}

} // namespace ferry::core
