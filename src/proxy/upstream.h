// The next hops of a request: which parent proxies, in which order, and whether ferry may
// go direct (Squid's cache_peer parent, never_direct, always_direct), and how long a parent
// that failed is skipped. Pure decisions, apart from the health table a worker keeps.
#pragma once

#include "ferry/proxy/settings.h"

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ferry::proxy {

// One way to the origin: through `parent`, or direct when it is null.
struct Hop {
  const Parent* parent = nullptr;
  bool isDirect() const { return parent == nullptr; }
};

// Parents that recently failed, keyed by Parent::name() so that it survives a reload that
// keeps the parent. One table for all workers: a parent one worker found down is skipped by
// every worker. Thread-safe.
class ParentHealth {
public:
  using Clock = std::chrono::steady_clock;
  void markDown(const Parent& parent, Clock::time_point until);
  bool isDown(const Parent& parent, Clock::time_point now) const;

private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Clock::time_point> down_;
};

// Whether `parent` takes requests for `host` (its domains; none: every host).
bool serves(const Parent& parent, std::string_view host);

// The hops to try for a request to `host`, in order: each parent that serves it and is not
// down, then direct unless never_direct names the host; only direct when always_direct
// does. Empty: nothing may be tried (never_direct and every parent down).
std::vector<Hop> nextHops(const Upstream& upstream, std::string_view host,
                          const ParentHealth& health, ParentHealth::Clock::time_point now);

} // namespace ferry::proxy
