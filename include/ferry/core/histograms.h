// Process-wide latency histograms: one table (name, help), fixed buckets from 100 µs to
// 60 s, exported as Prometheus histograms in seconds. observe() adds to the calling
// thread's slots (thread_slots.h): no lock, no locked instruction, like count().
#pragma once

#include "ferry/core/thread_slots.h"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// X(enumerator, name, help). Names are snake_case, unique, exported as ferry_<name>.
#define FERRY_HISTOGRAMS(X)                                                                        \
  X(RequestDuration, "request_duration_seconds",                                                   \
    "time from a request's first byte to the last byte of its response sent")                      \
  X(TimeToFirstByte, "time_to_first_byte_seconds",                                                 \
    "time from a request's first byte to the first byte of its response head sent")                \
  X(OriginConnect, "origin_connect_seconds",                                                       \
    "time to resolve an origin's name and open a TCP connection to it")

namespace ferry::core {

enum class Histogram {
#define FERRY_X(e, n, h) e,
  FERRY_HISTOGRAMS(FERRY_X)
#undef FERRY_X
};

inline constexpr std::size_t kHistogramCount = 0
#define FERRY_X(e, n, h) +1
    FERRY_HISTOGRAMS(FERRY_X)
#undef FERRY_X
    ;

// Upper bounds of the buckets (µs), inclusive; one more bucket above the last is +Inf.
inline constexpr std::array<std::uint64_t, 18> kHistogramBoundsUs{
    100,    250,    500,    1000,    2500,    5000,    10000,    25000,    50000,
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000, 60000000};
inline constexpr std::size_t kHistogramBuckets = kHistogramBoundsUs.size() + 1;

namespace detail {
inline constexpr std::array<std::string_view, kHistogramCount> kHistogramNames{
#define FERRY_X(e, n, h) n,
    FERRY_HISTOGRAMS(FERRY_X)
#undef FERRY_X
};
inline constexpr std::array<std::string_view, kHistogramCount> kHistogramHelps{
#define FERRY_X(e, n, h) h,
    FERRY_HISTOGRAMS(FERRY_X)
#undef FERRY_X
};
// Per histogram: one slot per bucket (not cumulative), then the sum in µs.
inline constexpr std::size_t kHistogramStride = kHistogramBuckets + 1;
struct HistogramTag;
using HistogramSlots = ThreadSlots<HistogramTag, kHistogramCount * kHistogramStride>;

constexpr std::size_t bucketOf(std::uint64_t us) noexcept {
  std::size_t bucket = 0;
  while (bucket < kHistogramBoundsUs.size() && us > kHistogramBoundsUs[bucket])
    ++bucket;
  return bucket;
}
} // namespace detail

constexpr std::string_view name(Histogram histogram) noexcept {
  return detail::kHistogramNames[static_cast<std::size_t>(histogram)];
}

// Records one observation. Any thread; wait-free once the thread has its slots.
inline void observe(Histogram histogram, std::chrono::microseconds elapsed) noexcept {
  const std::uint64_t us = elapsed.count() > 0 ? static_cast<std::uint64_t>(elapsed.count()) : 0;
  const std::size_t base = static_cast<std::size_t>(histogram) * detail::kHistogramStride;
  detail::HistogramSlots::add(base + detail::bucketOf(us), 1);
  detail::HistogramSlots::add(base + kHistogramBuckets, us);
}

struct HistogramValue {
  std::string_view name; // static storage, without the ferry_ prefix
  std::string_view help; // static storage
  std::array<std::uint64_t, kHistogramBuckets> buckets{}; // observations per bucket
  std::uint64_t sum_us = 0;

  std::uint64_t count() const noexcept;
  // The upper bound (µs) of the bucket holding the q-quantile (0 < q <= 1), 0 when
  // nothing was observed, UINT64_MAX when it is the +Inf bucket.
  std::uint64_t quantileBoundUs(double q) const noexcept;
};

// Every histogram of the table, summed over all threads, in table order. Any thread.
std::vector<HistogramValue> snapshotHistograms();

// Prometheus text: HELP, TYPE histogram, cumulative _bucket{le="..."} samples in seconds,
// _sum (seconds) and _count, names prefixed with ferry_. Pure.
std::string renderPrometheus(const std::vector<HistogramValue>& values);

} // namespace ferry::core
