// Per-thread origin and host tables and their merge. A thread's table is created at its
// first record and folded into the retired table when the thread exits.
#include "ferry/core/traffic_stats.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace ferry::core::traffic {
namespace {

constexpr std::size_t MaxRows = 1024;

struct Hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

struct OriginRow {
  std::int64_t open = 0;
  std::int64_t idle = 0;
  std::uint64_t opened = 0;
  std::uint64_t reused = 0;
};

// One thread's figures, or the sum of several.
struct Figures {
  std::unordered_map<std::string, OriginRow, Hash, std::equal_to<>> origins;
  std::unordered_map<std::string, std::uint64_t, Hash, std::equal_to<>> hosts;

  OriginRow& origin(std::string_view key) {
    if (auto it = origins.find(key); it != origins.end())
      return it->second;
    if (origins.size() >= MaxRows)
      std::erase_if(origins, [](const auto& row) { return row.second.open == 0; });
    return origins[std::string(key)];
  }

  void mergeInto(Figures& into) const {
    for (const auto& [key, row] : origins) {
      OriginRow& sum = into.origins[key];
      sum.open += row.open;
      sum.idle += row.idle;
      sum.opened += row.opened;
      sum.reused += row.reused;
    }
    for (const auto& [host, requests] : hosts)
      into.hosts[host] += requests;
  }
};

struct Table {
  std::mutex mutex; // taken by its thread to record and by snapshots
  Figures figures;
};

struct Registry {
  std::mutex mutex;
  std::vector<Table*> live;
  Figures retired;
};

// Leaked on purpose: threads may exit (and retire their table) after static destruction.
Registry& registry() {
  static Registry* const instance = new Registry;
  return *instance;
}

struct Owner {
  std::unique_ptr<Table> table = std::make_unique<Table>();
  Owner() {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    r.live.push_back(table.get());
  }
  ~Owner() {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    table->figures.mergeInto(r.retired);
    r.live.erase(std::find(r.live.begin(), r.live.end(), table.get()));
  }
  Owner(const Owner&) = delete;
  Owner& operator=(const Owner&) = delete;
};

template <class Change> void record(Change change) {
  static thread_local Owner owner;
  std::lock_guard lock(owner.table->mutex);
  change(owner.table->figures);
}

Figures merged() {
  Figures sum;
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.retired.mergeInto(sum);
  for (Table* table : r.live) {
    std::lock_guard table_lock(table->mutex);
    table->figures.mergeInto(sum);
  }
  return sum;
}

} // namespace

void originOpened(std::string_view origin) {
  record([&](Figures& t) {
    OriginRow& row = t.origin(origin);
    ++row.open;
    ++row.opened;
  });
}

void originClosed(std::string_view origin) {
  record([&](Figures& t) { --t.origin(origin).open; });
}

void originIdle(std::string_view origin, int delta) {
  record([&](Figures& t) { t.origin(origin).idle += delta; });
}

void originReused(std::string_view origin) {
  record([&](Figures& t) {
    OriginRow& row = t.origin(origin);
    --row.idle;
    ++row.reused;
  });
}

void hostRequested(std::string_view host) {
  if (host.empty())
    return;
  record([&](Figures& t) {
    if (auto it = t.hosts.find(host); it != t.hosts.end()) {
      ++it->second;
      return;
    }
    if (t.hosts.size() >= MaxRows) {
      for (auto& entry : t.hosts)
        entry.second /= 2;
      std::erase_if(t.hosts, [](const auto& entry) { return entry.second == 0; });
    }
    t.hosts.emplace(std::string(host), 1);
  });
}

std::vector<OriginFigures> snapshotOrigins() {
  const Figures sum = merged();
  std::vector<OriginFigures> out;
  out.reserve(sum.origins.size());
  for (const auto& [key, row] : sum.origins)
    out.push_back({key, row.open, row.idle, row.opened, row.reused});
  std::sort(out.begin(), out.end(), [](const OriginFigures& a, const OriginFigures& b) {
    if (a.open != b.open)
      return a.open > b.open;
    if (a.opened != b.opened)
      return a.opened > b.opened;
    return a.origin < b.origin;
  });
  return out;
}

std::vector<HostFigures> topHosts(std::size_t n) {
  const Figures sum = merged();
  std::vector<HostFigures> out;
  out.reserve(sum.hosts.size());
  for (const auto& [host, requests] : sum.hosts)
    out.push_back({host, requests});
  std::sort(out.begin(), out.end(), [](const HostFigures& a, const HostFigures& b) {
    return a.requests != b.requests ? a.requests > b.requests : a.host < b.host;
  });
  if (out.size() > n)
    out.resize(n);
  return out;
}

} // namespace ferry::core::traffic
