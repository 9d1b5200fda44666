// Process-wide gauges: values that go up and down (connections open, idle pooled
// connections), one table with a one-line help each. The owner of what is counted adds +1
// when it appears and -1 when it goes, on its own thread's slots (thread_slots.h), so a
// gauge costs no more than a counter. Values owned by one object (the cache's bytes) are
// not here: whoever renders reads them from their owner.
#pragma once

#include "ferry/core/thread_slots.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// X(enumerator, name, help). Names are snake_case, unique, exported as ferry_<name>.
#define FERRY_GAUGES(X)                                                                            \
  X(ClientConnections, "client_connections_open", "client connections open")                       \
  X(ClientConnectionsResting, "client_connections_resting",                                        \
    "client connections resting: idle, holding only their socket")                                 \
  X(Tunnels, "tunnels_open", "CONNECT and Upgrade tunnels open")                                   \
  X(OriginConnections, "origin_connections_open", "origin connections open, idle or busy")         \
  X(OriginConnectionsIdle, "origin_connections_idle", "origin connections idle in the pools")

namespace ferry::core {

enum class Gauge {
#define FERRY_X(e, n, h) e,
  FERRY_GAUGES(FERRY_X)
#undef FERRY_X
};

inline constexpr std::size_t kGaugeCount = 0
#define FERRY_X(e, n, h) +1
    FERRY_GAUGES(FERRY_X)
#undef FERRY_X
    ;

namespace detail {
inline constexpr std::array<std::string_view, kGaugeCount> kGaugeNames{
#define FERRY_X(e, n, h) n,
    FERRY_GAUGES(FERRY_X)
#undef FERRY_X
};
inline constexpr std::array<std::string_view, kGaugeCount> kGaugeHelps{
#define FERRY_X(e, n, h) h,
    FERRY_GAUGES(FERRY_X)
#undef FERRY_X
};
struct GaugeTag;
using GaugeSlots = ThreadSlots<GaugeTag, kGaugeCount>;
} // namespace detail

constexpr std::string_view name(Gauge gauge) noexcept {
  return detail::kGaugeNames[static_cast<std::size_t>(gauge)];
}

// Adds delta (negative when something went away). Any thread; wait-free.
inline void addGauge(Gauge gauge, std::int64_t delta) noexcept {
  detail::GaugeSlots::add(static_cast<std::size_t>(gauge), static_cast<std::uint64_t>(delta));
}

struct GaugeValue {
  std::string_view name; // static storage, without the ferry_ prefix
  std::string_view help; // static storage
  std::int64_t value = 0;
};

// Every gauge of the table, summed over all threads, in table order. Any thread.
std::vector<GaugeValue> snapshotGauges();

// Prometheus text: HELP, TYPE gauge and a sample per value, names prefixed with ferry_.
// Pure; also renders values that are not in the table (read from their owner).
std::string renderPrometheus(const std::vector<GaugeValue>& values);

} // namespace ferry::core
