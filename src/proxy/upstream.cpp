// Parent selection and health.
#include "upstream.h"

#include "ferry/http/target.h"

#include <algorithm>

namespace ferry::proxy {
namespace {

bool named(const std::vector<std::string>& patterns, std::string_view host) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& pattern) { return http::hostMatches(host, pattern); });
}

} // namespace

std::string Parent::name() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool serves(const Parent& parent, std::string_view host) {
  return parent.domains.empty() || named(parent.domains, host);
}

void ParentHealth::markDown(const Parent& parent, Clock::time_point until) {
  std::string name = parent.name();
  std::lock_guard lock(mutex_);
  down_[std::move(name)] = until;
}

bool ParentHealth::isDown(const Parent& parent, Clock::time_point now) const {
  const std::string name = parent.name();
  std::lock_guard lock(mutex_);
  const auto it = down_.find(name);
  return it != down_.end() && it->second > now;
}

std::vector<Hop> nextHops(const Upstream& upstream, std::string_view host,
                          const ParentHealth& health, ParentHealth::Clock::time_point now) {
  std::vector<Hop> hops;
  if (!named(upstream.always_direct, host)) {
    for (const Parent& parent : upstream.parents) {
      if (serves(parent, host) && !health.isDown(parent, now))
        hops.push_back({&parent});
    }
    if (named(upstream.never_direct, host))
      return hops;
  }
  hops.push_back({});
  return hops;
}

} // namespace ferry::proxy
