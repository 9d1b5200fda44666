// Counters: the table, sums over live and exited threads, Prometheus text.
#include "ferry/core/counters.h"

#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace ferry::core;

namespace {

std::uint64_t valueOf(std::string_view counter_name) {
  for (const CounterValue& v : snapshotCounters())
    if (v.name == counter_name)
      return v.value;
  FAIL("no counter " << counter_name);
  return 0;
}

} // namespace

TEST_CASE("counters have unique Prometheus names and a help line", "[core]") {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < kCounterCount; ++i) {
    const auto counter = static_cast<Counter>(i);
    INFO("counter #" << i << " " << name(counter));
    CHECK(names.insert(name(counter)).second);
    REQUIRE_FALSE(name(counter).empty());
    CHECK_FALSE((name(counter).front() >= '0' && name(counter).front() <= '9'));
    for (char c : name(counter))
      CHECK(((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'));
    CHECK_FALSE(help(counter).empty());
    CHECK(help(counter).find('\n') == std::string_view::npos);
  }
}

TEST_CASE("each close reason has its closes_ counter", "[core]") {
  for (CloseReason reason : kAllCloseReasons) {
    const Counter counter = closeCounter(reason);
    CHECK(name(counter) == "closes_" + std::string(name(reason)));
    CHECK(help(counter) == "connections closed: " + std::string(description(reason)));
  }
  CHECK(closeCounter(kAllCloseReasons.back()) == static_cast<Counter>(kCounterCount - 1));
  CHECK(name(Counter::ClientConnectionsAccepted) == "client_connections_accepted");
}

TEST_CASE("counts are summed over live threads and threads that have exited", "[core]") {
  const std::uint64_t requests = valueOf("requests_total");
  const std::uint64_t eofs = valueOf("closes_client_eof");

  std::thread([] {
    count(Counter::RequestsTotal, 5);
    countClose(CloseReason::ClientEof);
  }).join();

  std::mutex mutex;
  std::condition_variable cv;
  bool counted = false;
  bool release = false;
  std::thread live([&] {
    count(Counter::RequestsTotal, 7);
    std::unique_lock lock(mutex);
    counted = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  });
  {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return counted; });
  }
  count(Counter::RequestsTotal);

  CHECK(valueOf("requests_total") - requests == 13);
  CHECK(valueOf("closes_client_eof") - eofs == 1);

  {
    std::lock_guard lock(mutex);
    release = true;
  }
  cv.notify_all();
  live.join();
  CHECK(valueOf("requests_total") - requests == 13);
}

TEST_CASE("concurrent counting loses nothing", "[core]") {
  const std::uint64_t before = valueOf("client_bytes_out");
  constexpr int kThreads = 8;
  constexpr int kIncrements = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([] {
      for (int i = 0; i < kIncrements; ++i)
        count(Counter::ClientBytesOut, 3);
    });
  // Snapshots while the threads run must be safe; their values only grow.
  std::uint64_t last = before;
  for (int i = 0; i < 50; ++i) {
    const std::uint64_t now = valueOf("client_bytes_out");
    CHECK(now >= last);
    last = now;
  }
  for (auto& thread : threads)
    thread.join();
  CHECK(valueOf("client_bytes_out") - before == std::uint64_t{kThreads} * kIncrements * 3);
}

TEST_CASE("counters render in Prometheus text format", "[core]") {
  const std::vector<CounterValue> values{{"requests_total", "requests received", 42},
                                         {"odd", "a \\ and a\nnewline", 0}};
  CHECK(renderPrometheus(values) == "# HELP ferry_requests_total requests received\n"
                                    "# TYPE ferry_requests_total counter\n"
                                    "ferry_requests_total 42\n"
                                    "# HELP ferry_odd a \\\\ and a\\nnewline\n"
                                    "# TYPE ferry_odd counter\n"
                                    "ferry_odd 0\n");
  CHECK(renderPrometheus({}).empty());
}

TEST_CASE("the full snapshot renders every counter once", "[core]") {
  count(Counter::TunnelsOpened, 18446744073709551615ULL - valueOf("tunnels_opened"));
  const std::string text = renderPrometheus(snapshotCounters());
  CHECK(text.find("\nferry_tunnels_opened 18446744073709551615\n") != std::string::npos);
  CHECK(text.find("# TYPE ferry_closes_client_eof counter\n") != std::string::npos);
  CHECK(text.find("# HELP ferry_closes_client_eof connections closed: client closed the "
                  "connection\n") != std::string::npos);
  std::size_t types = 0;
  for (std::size_t at = text.find("# TYPE "); at != std::string::npos;
       at = text.find("# TYPE ", at + 1))
    ++types;
  CHECK(types == kCounterCount);
}
