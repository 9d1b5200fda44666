// Several threads inserting, streaming, looking up, revalidating, purging and evicting at
// once, for a bounded number of operations. Meant for -fsanitize=thread as much as for the
// invariants checked at the end. Catch2 assertions are not thread-safe: worker threads count
// failures in atomics and the test thread checks them.
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "ferry/cache/memory_store.h"
#include "store_fixtures.h"

using namespace ferry::cache;
using namespace ferry::cache::test;

TEST_CASE("threads share the store without races and the budget holds", "[cache]") {
  Settings settings;
  settings.memory_bytes = 96 * 1024;
  settings.max_object_bytes = 16 * 1024;
  MemoryStore store(settings);
  constexpr int Threads = 8;
  constexpr int Operations = 3000;
  std::atomic<std::uint64_t> hits{0};
  std::atomic<std::uint64_t> over_budget{0};
  std::atomic<std::uint64_t> bad_reads{0};

  auto work = [&](unsigned seed) {
    std::mt19937 random(seed);
    auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
    for (int i = 0; i < Operations; ++i) {
      const Key key = "http://o.example/" + std::to_string(pick(48));
      const std::string variant = pick(4) == 0 ? "v" + std::to_string(pick(2)) : "";
      switch (pick(8)) {
      case 0:
      case 1:
      case 2: {
        if (auto entry = store.lookup(key, secondaryIs(variant))) {
          hits.fetch_add(1, std::memory_order_relaxed);
          std::size_t bytes = 0;
          for (const auto& chunk : entry->read(0).chunks) {
            bytes += chunk->size();
          }
          if (bytes > entry->bodySize() || entry->key() != key) {
            bad_reads.fetch_add(1, std::memory_order_relaxed);
          }
        }
        break;
      }
      case 3:
      case 4: {
        auto writer = store.insert(makeInit(key, variant, {{"X-Thread", std::to_string(seed)}}));
        if (writer == nullptr) {
          break;
        }
        const int chunks = 1 + pick(6);
        bool stored = true;
        for (int c = 0; c < chunks && stored; ++c) {
          stored = writer->append(std::string(static_cast<std::size_t>(1 + pick(4000)), 'c'));
        }
        if (pick(5) == 0) {
          writer->abandon();
        } else if (stored) {
          writer->complete();
        }
        break;
      }
      case 5: {
        if (auto entry = store.lookup(key, secondaryIs(variant))) {
          store.updateHead(entry, makeHead({{"X-Revalidated", "yes"}}), T0, T0);
        }
        break;
      }
      case 6: {
        FetchTicket ticket = store.joinFetch(key);
        if (ticket.isLeader() && pick(2) == 0) {
          ticket.publish();
        }
        break;
      }
      case 7:
        if (pick(4) == 0) {
          store.remove(key);
        }
        break;
      }
      if (store.stats().used_bytes > settings.memory_bytes) {
        over_budget.fetch_add(1, std::memory_order_relaxed);
      }
    }
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < Threads; ++t) {
    threads.emplace_back(work, static_cast<unsigned>(t + 1));
  }
  for (auto& thread : threads) {
    thread.join();
  }
  CHECK(over_budget == 0);
  CHECK(bad_reads == 0);
  CHECK(hits > 0);
  CHECK(store.stats().evictions > 0);
  store.checkInvariantsForTest();
}

TEST_CASE("readers on other threads stream a filling Entry to the end", "[cache]") {
  MemoryStore store(Settings{});
  auto writer = store.insert(makeInit("k"));
  REQUIRE(writer != nullptr);
  auto entry = store.lookup("k", {});
  constexpr int Readers = 4;
  constexpr int Chunks = 200;

  std::string expected;
  for (int c = 0; c < Chunks; ++c) {
    expected += std::to_string(c) + ",";
  }

  // Each reader waits for notifications as an event loop would, then reads what is new.
  // A reader that waits too long leaves final_state Filling.
  auto read = [&](std::string& body, EntryState& final_state) {
    std::mutex mutex;
    std::condition_variable changed;
    bool pending = true;
    Subscription subscription = entry->subscribe([&] {
      std::lock_guard lock(mutex);
      pending = true;
      changed.notify_one();
    });
    std::size_t next = 0;
    for (;;) {
      {
        std::unique_lock lock(mutex);
        if (!changed.wait_for(lock, std::chrono::seconds(30), [&] { return pending; })) {
          return;
        }
        pending = false;
      }
      BodyRead got = entry->read(next);
      next += got.chunks.size();
      for (const auto& chunk : got.chunks) {
        body += *chunk;
      }
      if (got.state != EntryState::Filling) {
        final_state = got.state;
        return;
      }
    }
  };

  std::vector<std::string> bodies(Readers);
  std::vector<EntryState> states(Readers, EntryState::Filling);
  std::vector<std::thread> threads;
  for (int r = 0; r < Readers; ++r) {
    threads.emplace_back(read, std::ref(bodies[static_cast<std::size_t>(r)]),
                         std::ref(states[static_cast<std::size_t>(r)]));
  }
  for (int c = 0; c < Chunks; ++c) {
    REQUIRE(writer->append(std::to_string(c) + ","));
  }
  REQUIRE(writer->complete());
  for (auto& thread : threads) {
    thread.join();
  }
  for (int r = 0; r < Readers; ++r) {
    CHECK(bodies[static_cast<std::size_t>(r)] == expected);
    CHECK(states[static_cast<std::size_t>(r)] == EntryState::Complete);
  }
}

TEST_CASE("followers on other threads all learn the leader's outcome", "[cache]") {
  MemoryStore store(Settings{});
  FetchTicket leader = store.joinFetch("k");
  constexpr int Followers = 6;
  std::atomic<int> ready{0};
  std::atomic<int> published{0};
  std::atomic<int> led{0};

  std::vector<std::thread> threads;
  for (int f = 0; f < Followers; ++f) {
    threads.emplace_back([&] {
      FetchTicket ticket = store.joinFetch("k");
      if (ticket.isLeader()) {
        led.fetch_add(1);
        ready.fetch_add(1);
        return;
      }
      std::mutex mutex;
      std::condition_variable decided;
      Subscription subscription = ticket.fetch()->subscribe([&] {
        std::lock_guard lock(mutex);
        decided.notify_one();
      });
      ready.fetch_add(1);
      std::unique_lock lock(mutex);
      const bool done = decided.wait_for(lock, std::chrono::seconds(30), [&] {
        return ticket.fetch()->outcome() != FetchOutcome::Waiting;
      });
      if (done && ticket.fetch()->outcome() == FetchOutcome::Published) {
        published.fetch_add(1);
      }
    });
  }
  while (ready.load() < Followers) {
    std::this_thread::yield();
  }
  leader.publish();
  for (auto& thread : threads) {
    thread.join();
  }
  CHECK(led == 0);
  CHECK(published == Followers);
}
