// Histogram snapshots, quantile bounds and their Prometheus text.
#include "ferry/core/histograms.h"

#include "prometheus.h"

#include <cmath>
#include <limits>

namespace ferry::core {
namespace {

// Microseconds as seconds, exactly and without trailing zeros: 2500 → "0.0025".
std::string seconds(std::uint64_t us) {
  std::string out = std::to_string(us / 1000000);
  std::uint64_t fraction = us % 1000000;
  if (fraction == 0)
    return out;
  std::string digits = std::to_string(fraction);
  digits.insert(0, 6 - digits.size(), '0');
  digits.erase(digits.find_last_not_of('0') + 1);
  return out + "." + digits;
}

} // namespace

std::uint64_t HistogramValue::count() const noexcept {
  std::uint64_t total = 0;
  for (std::uint64_t n : buckets)
    total += n;
  return total;
}

std::uint64_t HistogramValue::quantileBoundUs(double q) const noexcept {
  const std::uint64_t total = count();
  if (total == 0)
    return 0;
  const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kHistogramBoundsUs.size(); ++i) {
    seen += buckets[i];
    if (seen >= rank)
      return kHistogramBoundsUs[i];
  }
  return std::numeric_limits<std::uint64_t>::max();
}

std::vector<HistogramValue> snapshotHistograms() {
  const auto sums = detail::HistogramSlots::sum();
  std::vector<HistogramValue> values;
  values.reserve(kHistogramCount);
  for (std::size_t h = 0; h < kHistogramCount; ++h) {
    HistogramValue v{detail::kHistogramNames[h], detail::kHistogramHelps[h], {}, 0};
    const std::size_t base = h * detail::kHistogramStride;
    for (std::size_t b = 0; b < kHistogramBuckets; ++b)
      v.buckets[b] = sums[base + b];
    v.sum_us = sums[base + kHistogramBuckets];
    values.push_back(v);
  }
  return values;
}

std::string renderPrometheus(const std::vector<HistogramValue>& values) {
  std::string out;
  for (const HistogramValue& v : values) {
    prometheus::appendHeader(out, v.name, v.help, "histogram");
    const std::string prefix = "ferry_" + std::string(v.name);
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < kHistogramBuckets; ++b) {
      cumulative += v.buckets[b];
      const std::string le =
          b < kHistogramBoundsUs.size() ? seconds(kHistogramBoundsUs[b]) : "+Inf";
      out += prefix + "_bucket{le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
    }
    out += prefix + "_sum " + seconds(v.sum_us) + "\n";
    out += prefix + "_count " + std::to_string(cumulative) + "\n";
  }
  return out;
}

} // namespace ferry::core
