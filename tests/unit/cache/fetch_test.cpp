// Collapsed forwarding before a response head: one leader per Key fetches, followers wait for
// its outcome, and a leader that disappears gives up for them.
#include <catch2/catch.hpp>

#include "ferry/cache/memory_store.h"
#include "store_fixtures.h"

using namespace ferry::cache;
using namespace ferry::cache::test;

namespace {

struct Follower {
  explicit Follower(FetchTicket joined) : ticket(std::move(joined)) {
    subscription = ticket.fetch()->subscribe([this] {
      ++notifications;
      seen = ticket.fetch()->outcome();
    });
  }
  Follower(const Follower&) = delete; // the callback holds `this`
  Follower& operator=(const Follower&) = delete;
  FetchTicket ticket;
  Subscription subscription;
  int notifications = 0;
  FetchOutcome seen = FetchOutcome::Waiting;
};

} // namespace

TEST_CASE("the first miss leads; later misses follow and stream the published Entry", "[cache]") {
  MemoryStore store{Settings{}};
  FetchTicket leader = store.joinFetch("k");
  REQUIRE(leader.isLeader());
  Follower one(store.joinFetch("k"));
  Follower two(store.joinFetch("k"));
  CHECK_FALSE(one.ticket.isLeader());
  CHECK(one.ticket.fetch() == leader.fetch());
  CHECK(two.ticket.fetch() == leader.fetch());
  CHECK(store.joinFetch("other").isLeader());

  auto writer = store.insert(makeInit("k"));
  writer->append("head arrived, body streaming");
  CHECK(one.notifications == 0);
  leader.publish();
  CHECK(leader.fetch()->outcome() == FetchOutcome::Published);
  for (Follower* follower : {&one, &two}) {
    CHECK(follower->notifications == 1);
    CHECK(follower->seen == FetchOutcome::Published);
  }
  auto found = store.lookup("k", {});
  REQUIRE(found == writer->entry());
  CHECK(found->state() == EntryState::Filling);

  leader.publish(); // decided already: nothing happens
  CHECK(one.notifications == 1);
  // The fetch left the table: the next miss leads a new one.
  FetchTicket next = store.joinFetch("k");
  CHECK(next.isLeader());
  CHECK(next.fetch() != leader.fetch());
}

TEST_CASE("followers are told when the leader gives up", "[cache]") {
  MemoryStore store{Settings{}};
  FetchTicket leader = store.joinFetch("k");
  Follower follower(store.joinFetch("k"));

  SECTION("explicitly") {
    leader.giveUp();
  }
  SECTION("by dropping its ticket") {
    leader = FetchTicket();
  }
  SECTION("by its ticket being destroyed after a move") {
    FetchTicket moved = std::move(leader);
    CHECK(follower.notifications == 0); // the moved-from ticket gives nothing up
    CHECK(moved.isLeader());
  }
  CHECK(follower.notifications == 1);
  CHECK(follower.seen == FetchOutcome::GaveUp);
  CHECK(follower.ticket.fetch()->outcome() == FetchOutcome::GaveUp);
  CHECK(store.joinFetch("k").isLeader());
}

TEST_CASE("a follower dropping its ticket changes nothing for the leader", "[cache]") {
  MemoryStore store{Settings{}};
  FetchTicket leader = store.joinFetch("k");
  {
    FetchTicket follower = store.joinFetch("k");
    CHECK_FALSE(follower.isLeader());
  }
  CHECK(leader.fetch()->outcome() == FetchOutcome::Waiting);
  CHECK_FALSE(store.joinFetch("k").isLeader());
  // Subscribing after the outcome is decided returns an inactive Subscription.
  leader.giveUp();
  CHECK_FALSE(leader.fetch()->subscribe([] { FAIL("called after the outcome"); }).isActive());
}

TEST_CASE("a ticket outliving its store still gives up cleanly", "[cache]") {
  FetchTicket leader;
  std::shared_ptr<PendingFetch> fetch;
  {
    MemoryStore store{Settings{}};
    leader = store.joinFetch("k");
    fetch = leader.fetch();
  }
  leader = FetchTicket();
  CHECK(fetch->outcome() == FetchOutcome::GaveUp);
}
