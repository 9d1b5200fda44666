// Traffic tables: per-origin figures and top hosts merged over threads, bounded tables.
#include "ferry/core/traffic_stats.h"

#include <catch2/catch.hpp>

#include <thread>

using namespace ferry::core;

namespace {

traffic::OriginFigures originNamed(const std::string& key) {
  for (const auto& figures : traffic::snapshotOrigins())
    if (figures.origin == key)
      return figures;
  return {key};
}

std::uint64_t requestsOf(const std::string& host) {
  for (const auto& figures : traffic::topHosts(100000))
    if (figures.host == host)
      return figures.requests;
  return 0;
}

} // namespace

TEST_CASE("#14 origin figures add up over threads, exited ones included", "[core]") {
  const std::string key = "http://figures.test:80";
  std::thread([&] {
    traffic::originOpened(key);
    traffic::originOpened(key);
    traffic::originIdle(key, 1);
    traffic::originReused(key);
    traffic::originClosed(key);
  }).join();
  traffic::originOpened(key);
  traffic::originIdle(key, 1);
  const auto figures = originNamed(key);
  CHECK(figures.open == 2); // one left open by the exited thread, one here
  CHECK(figures.idle == 1);
  CHECK(figures.busy() == 1);
  CHECK(figures.opened == 3);
  CHECK(figures.reused == 1);
  traffic::originIdle(key, -1);
  traffic::originClosed(key);
}

TEST_CASE("#14 top hosts are ordered by requests and cut at n", "[core]") {
  for (int i = 0; i < 3; ++i)
    traffic::hostRequested("c.top.test");
  std::thread([] {
    for (int i = 0; i < 5; ++i)
      traffic::hostRequested("a.top.test");
  }).join();
  traffic::hostRequested("b.top.test");
  CHECK(requestsOf("a.top.test") == 5);
  CHECK(requestsOf("c.top.test") == 3);
  CHECK(requestsOf("b.top.test") == 1);
  const auto top = traffic::topHosts(1);
  REQUIRE(top.size() == 1);
  CHECK(top.front().requests >= 5);
}

TEST_CASE("#14 a full host table halves its counts and forgets hosts seen once", "[core]") {
  std::thread([] {
    for (int i = 0; i < 4; ++i)
      traffic::hostRequested("busy.bound.test");
    for (int i = 0; i < 1023; ++i)
      traffic::hostRequested("once-" + std::to_string(i) + ".bound.test");
    traffic::hostRequested("new.bound.test"); // the table is full: counts halve
  }).join();
  CHECK(requestsOf("busy.bound.test") == 2);
  CHECK(requestsOf("once-7.bound.test") == 0);
  CHECK(requestsOf("new.bound.test") == 1);
}
