// What the status page shows beyond the counters: per origin, connections open, idle,
// opened and reused; per host, requests. Each thread records into a table of its own
// (taken only by that thread and by snapshots, so the lock is uncontended); snapshots
// merge every thread's table, threads that have exited included. Tables are bounded:
// origins with no connection are forgotten past 1024 of them, and host counts are halved
// when 1024 hosts are known, so the top hosts lean towards recent traffic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::core::traffic {

struct OriginFigures {
  std::string origin;       // the pool key, e.g. http://example.com:80
  std::int64_t open = 0;    // connections open now, idle or busy
  std::int64_t idle = 0;    // of those, idle in a pool
  std::uint64_t opened = 0; // connections opened since start
  std::uint64_t reused = 0; // requests sent on a pooled connection
  std::int64_t busy() const noexcept { return open - idle; }
};

struct HostFigures {
  std::string host;
  std::uint64_t requests = 0;
};

// Recording, from the thread that owns the connection or request. Never blocks for long.
void originOpened(std::string_view origin);
void originClosed(std::string_view origin);
void originIdle(std::string_view origin, int delta); // +1 into a pool, -1 closed from it
void originReused(std::string_view origin);          // out of a pool for a request: idle -1
void hostRequested(std::string_view host);           // "" (no host in the request) is ignored

// Every origin known, most open connections first, then most opened. Any thread.
std::vector<OriginFigures> snapshotOrigins();
// The `n` hosts with the most requests, most first. Any thread.
std::vector<HostFigures> topHosts(std::size_t n);

} // namespace ferry::core::traffic
