// Next hops (upstream.h): parents in order, their domains, health, always_direct and
// never_direct, as a table of (upstream, host, parents down) → hops.
#include "upstream.h"

#include <catch2/catch.hpp>

using namespace ferry::proxy;

namespace {

Parent parent(std::string host, std::vector<std::string> domains = {}) {
  Parent p;
  p.host = std::move(host);
  p.port = 3128;
  p.domains = std::move(domains);
  return p;
}

// The hops as text: each parent's host, "direct" for going direct.
std::string describe(const std::vector<Hop>& hops) {
  std::string out;
  for (const Hop& hop : hops)
    out += (out.empty() ? "" : " ") + (hop.isDirect() ? std::string("direct") : hop.parent->host);
  return out;
}

} // namespace

TEST_CASE("#10 next hops per host, health and direct rules", "[proxy]") {
  Upstream upstream;
  upstream.parents = {parent("p1"), parent("p2"), parent("corp", {".corp.example"})};
  upstream.always_direct = {".local.example"};
  upstream.never_direct = {".secure.example"};
  const auto now = ParentHealth::Clock::now();

  struct Row {
    const char* host;
    std::vector<std::string> down;
    const char* hops;
  };
  const Row rows[] = {
      {"www.example.org", {}, "p1 p2 direct"},   {"intranet.corp.example", {}, "p1 p2 corp direct"},
      {"www.example.org", {"p1"}, "p2 direct"},  {"www.example.org", {"p1", "p2"}, "direct"},
      {"box.local.example", {}, "direct"},       {"bank.secure.example", {}, "p1 p2"},
      {"bank.secure.example", {"p1", "p2"}, ""},
  };
  for (const Row& row : rows) {
    INFO(row.host << " with down:" << row.down.size());
    ParentHealth health;
    for (const std::string& down : row.down)
      health.markDown(parent(down), now + std::chrono::seconds(30));
    CHECK(describe(nextHops(upstream, row.host, health, now)) == row.hops);
  }
}

TEST_CASE("#10 a parent marked down is tried again once the time is over", "[proxy]") {
  Upstream upstream;
  upstream.parents = {parent("p1")};
  ParentHealth health;
  const auto now = ParentHealth::Clock::now();
  health.markDown(upstream.parents[0], now + std::chrono::seconds(30));
  CHECK(describe(nextHops(upstream, "a.example", health, now)) == "direct");
  CHECK(describe(nextHops(upstream, "a.example", health, now + std::chrono::seconds(31))) ==
        "p1 direct");
}
