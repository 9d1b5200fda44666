// MemoryStore: LRU eviction within the byte budget, what the budget counts, object size
// limits, Vary variants, revalidated heads and purges.
#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "ferry/cache/memory_store.h"
#include "store_fixtures.h"

using namespace ferry::cache;
using namespace ferry::cache::test;

namespace {

Settings settingsWith(std::size_t memory_bytes, std::size_t max_object_bytes) {
  Settings settings;
  settings.memory_bytes = memory_bytes;
  settings.max_object_bytes = max_object_bytes;
  return settings;
}

std::string keyOf(int i) {
  return "http://origin.example/object/" + std::to_string(i);
}

// The charge of one Entry as built by entryFor(i), measured in a store of its own.
std::size_t chargeOfOne(const EntryInit& init, const std::string& body) {
  MemoryStore probe(settingsWith(1 << 20, 1 << 20));
  REQUIRE(storeComplete(probe, init, {body}) != nullptr);
  return probe.stats().used_bytes;
}

} // namespace

TEST_CASE("the least recently used Entry is evicted first, a recent hit survives", "[cache]") {
  const std::string body(1000, 'x');
  const std::size_t one = chargeOfOne(makeInit(keyOf(0)), body);
  MemoryStore store(settingsWith(4 * one + one / 2, 1 << 20));

  for (int i = 0; i < 4; ++i) {
    REQUIRE(storeComplete(store, makeInit(keyOf(i)), {body}) != nullptr);
  }
  CHECK(store.stats().entries == 4);
  REQUIRE(store.lookup(keyOf(0), {}) != nullptr); // 0 becomes the most recent

  REQUIRE(storeComplete(store, makeInit(keyOf(4)), {body}) != nullptr);
  CHECK(store.lookup(keyOf(1), {}) == nullptr); // the oldest went
  CHECK(store.stats().evictions == 1);

  REQUIRE(storeComplete(store, makeInit(keyOf(5)), {body}) != nullptr);
  CHECK(store.lookup(keyOf(2), {}) == nullptr);
  CHECK(store.lookup(keyOf(0), {}) != nullptr);
  CHECK(store.lookup(keyOf(3), {}) != nullptr);
  CHECK(store.lookup(keyOf(4), {}) != nullptr);
  CHECK(store.lookup(keyOf(5), {}) != nullptr);
  CHECK(store.stats().entries == 4);
  CHECK(store.stats().used_bytes <= store.stats().budget_bytes);
  store.checkInvariantsForTest();
}

TEST_CASE("the budget bounds bodies, heads, keys and overheads together", "[cache]") {
  const std::size_t budget = 64 * 1024;
  MemoryStore store(settingsWith(budget, 1 << 20));
  const std::string big_field(2000, 'h');

  // A body-less Entry is charged its head, key and fixed overhead.
  auto init = makeInit(keyOf(0), "", {{"X-Padding", big_field}});
  const std::size_t head_wire = init.head.headers.wireSize();
  const std::size_t key_size = init.key.size();
  REQUIRE(storeComplete(store, std::move(init), {}) != nullptr);
  CHECK(store.stats().used_bytes >= head_wire + key_size + MemoryStore::EntryOverheadBytes);
  store.remove(keyOf(0));
  CHECK(store.stats().used_bytes == 0);

  // Many small bodies with big heads: counting bodies alone would overshoot the budget ~40x.
  std::size_t stored_head_bytes = 0;
  for (int i = 0; i < 2000; ++i) {
    auto each = makeInit(keyOf(i), "", {{"X-Padding", big_field}});
    REQUIRE(storeComplete(store, std::move(each), {std::string(50, 'b')}) != nullptr);
    REQUIRE(store.stats().used_bytes <= budget);
  }
  for (int i = 0; i < 2000; ++i) {
    if (auto entry = store.lookup(keyOf(i), {})) {
      stored_head_bytes += entry->head().headers.wireSize() + entry->bodySize();
    }
  }
  CHECK(stored_head_bytes <= budget);
  CHECK(store.stats().entries > 10);
  CHECK(store.stats().entries < 64 * 1024 / 2000);
  CHECK(store.stats().evictions == 2000 - store.stats().entries);
  store.checkInvariantsForTest();
}

TEST_CASE("#11 tiny appends coalesce into chunks of at least MinChunkBytes", "[cache]") {
  MemoryStore store(settingsWith(1 << 20, 1 << 20));
  auto writer = store.insert(makeInit("k"));
  const std::size_t before = store.stats().used_bytes;
  constexpr std::size_t Bytes = 100000; // as if the origin sent 1-byte chunked frames
  std::string expected;
  for (std::size_t i = 0; i < Bytes; ++i) {
    const char byte = static_cast<char>('a' + i % 26);
    REQUIRE(writer->append(std::string_view(&byte, 1)));
    expected += byte;
  }
  const std::size_t whole = Bytes / MemoryStore::MinChunkBytes;
  CHECK(writer->entry()->chunkCount() == whole); // the rest waits for complete()
  REQUIRE(writer->complete());
  const auto chunks = writer->entry()->read(0).chunks;
  REQUIRE(chunks.size() == whole + 1);
  for (std::size_t i = 0; i < whole; ++i) {
    CHECK(chunks[i]->size() == MemoryStore::MinChunkBytes);
  }
  CHECK(chunks.back()->size() == Bytes % MemoryStore::MinChunkBytes);
  CHECK(bodyOf(*writer->entry()) == expected);
  // Charged in proportion to the bytes, not to how they arrived.
  const std::size_t charged = store.stats().used_bytes - before;
  CHECK(charged >= Bytes + chunks.size() * MemoryStore::ChunkOverheadBytes);
  CHECK(charged <= Bytes + chunks.size() * (MemoryStore::ChunkOverheadBytes + 64));

  SECTION("a large append is one chunk, not split") {
    auto big = store.insert(makeInit("big"));
    REQUIRE(big->append(std::string(3 * MemoryStore::MinChunkBytes, 'b')));
    CHECK(big->entry()->chunkCount() == 1);
  }
  store.checkInvariantsForTest();
}

TEST_CASE("an Entry growing past max_object_bytes is abandoned and removed", "[cache]") {
  MemoryStore store(settingsWith(1 << 20, 1000));
  auto writer = store.insert(makeInit("big"));
  REQUIRE(writer != nullptr);

  auto reader = store.lookup("big", {});
  bool told = false;
  Subscription subscription = reader->subscribe([&] { told = true; });

  CHECK(writer->append(std::string(600, 'a')));
  CHECK(reader->state() == EntryState::Filling);
  told = false;
  CHECK_FALSE(writer->append(std::string(600, 'a')));
  CHECK(told);
  CHECK(reader->state() == EntryState::Abandoned);
  CHECK(reader->read(0).state == EntryState::Abandoned);
  CHECK(reader->bodySize() == 0); // the 600 bytes were still being coalesced
  CHECK(store.lookup("big", {}) == nullptr);
  CHECK(store.stats().used_bytes == 0);
  CHECK_FALSE(writer->complete());

  SECTION("an announced length over the limit is refused at once") {
    auto init = makeInit("announced");
    init.content_length = 1001;
    CHECK(store.insert(std::move(init)) == nullptr);
    init = makeInit("announced");
    init.content_length = 1000;
    CHECK(store.insert(std::move(init)) != nullptr);
  }
  SECTION("exactly max_object_bytes is stored") {
    CHECK(storeComplete(store, makeInit("exact"), {std::string(1000, 'e')}) != nullptr);
  }
  store.checkInvariantsForTest();
}

TEST_CASE("an Entry larger than the whole budget is abandoned, not evicting all", "[cache]") {
  const std::string body = chunkOf('x');
  const std::size_t one = chargeOfOne(makeInit(keyOf(0)), body);
  MemoryStore store(settingsWith(3 * one, 1 << 20));
  REQUIRE(storeComplete(store, makeInit(keyOf(0)), {body}) != nullptr);
  auto writer = store.insert(makeInit("huge"));
  REQUIRE(writer != nullptr);
  bool refused = false;
  for (int i = 0; i < 10 && !refused; ++i) {
    refused = !writer->append(body);
  }
  CHECK(refused);
  CHECK(writer->entry()->state() == EntryState::Abandoned);
  CHECK(store.lookup("huge", {}) == nullptr);
  CHECK(store.stats().used_bytes <= store.stats().budget_bytes);
  store.checkInvariantsForTest();

  SECTION("a head larger than the budget is refused") {
    MemoryStore tiny(settingsWith(1000, 1000));
    CHECK(tiny.insert(makeInit("k", "", {{"X-Big", std::string(2000, 'h')}})) == nullptr);
  }
}

TEST_CASE("Vary variants are found by secondary key and replaced by the same one", "[cache]") {
  MemoryStore store(settingsWith(1 << 20, 1 << 20));
  const std::vector<std::pair<std::string, std::string>> vary = {{"Vary", "Accept-Encoding"}};
  auto gzip = storeComplete(store, makeInit("k", "gzip", vary), {"gzip body"});
  auto br = storeComplete(store, makeInit("k", "br", vary), {"br body"});
  REQUIRE(gzip != nullptr);
  REQUIRE(br != nullptr);
  CHECK(br->vary() == "Accept-Encoding");
  CHECK(store.stats().entries == 2);

  CHECK(store.lookup("k", secondaryIs("gzip")) == gzip);
  CHECK(store.lookup("k", secondaryIs("br")) == br);
  CHECK(store.lookup("k", secondaryIs("identity")) == nullptr);
  CHECK(store.lookup("k", {}) == nullptr); // no variant without Vary
  CHECK(store.lookup("k", [](const Entry&) { return std::optional<std::string>(); }) == nullptr);

  // #11: the function runs once per distinct Vary value, not once per variant.
  REQUIRE(storeComplete(store, makeInit("k", "fr", {{"Vary", "Accept-Language"}}), {"fr"}));
  std::vector<std::string> seen;
  store.lookup("k", [&](const Entry& variant) {
    seen.push_back(variant.vary());
    return std::optional<std::string>("none");
  });
  std::sort(seen.begin(), seen.end());
  CHECK(seen == std::vector<std::string>{"Accept-Encoding", "Accept-Language"});
  CHECK(store
            .lookup("k",
                    [](const Entry& variant) {
                      return std::optional<std::string>(
                          variant.vary() == "Accept-Language" ? "fr" : "none");
                    })
            ->secondaryKey() == "fr");
  REQUIRE(store.remove("k") == 3);
  gzip = storeComplete(store, makeInit("k", "gzip", vary), {"gzip body"});
  REQUIRE(storeComplete(store, makeInit("k", "br", vary), {"br body"}));

  auto gzip2 = storeComplete(store, makeInit("k", "gzip", vary), {"new gzip body"});
  REQUIRE(gzip2 != nullptr);
  CHECK(store.stats().entries == 2);
  CHECK(store.lookup("k", secondaryIs("gzip")) == gzip2);
  CHECK(bodyOf(*gzip) == "gzip body"); // its readers keep the old one
  store.checkInvariantsForTest();
}

TEST_CASE("#11 cache.max_variants bounds the variants of one URI, oldest out", "[cache]") {
  Settings settings = settingsWith(1 << 20, 1 << 20);
  settings.max_variants = 3;
  MemoryStore store(settings);
  const std::vector<std::pair<std::string, std::string>> vary = {{"Vary", "X-Id"}};
  for (const char* id : {"a", "b", "c"}) {
    REQUIRE(storeComplete(store, makeInit("k", id, vary), {"body"}) != nullptr);
  }
  REQUIRE(store.lookup("k", secondaryIs("a")) != nullptr); // a is now more recent than b
  REQUIRE(storeComplete(store, makeInit("k", "d", vary), {"body"}) != nullptr);
  CHECK(store.lookup("k", secondaryIs("b")) == nullptr); // the least recently used went
  for (const char* id : {"a", "c", "d"}) {
    CHECK(store.lookup("k", secondaryIs(id)) != nullptr);
  }
  CHECK(store.stats().entries == 3);
  CHECK(store.stats().variant_evictions == 1);
  CHECK(store.stats().evictions == 0);
  // Replacing a variant is not a new one; other URIs have their own allowance.
  REQUIRE(storeComplete(store, makeInit("k", "d", vary), {"newer"}) != nullptr);
  REQUIRE(storeComplete(store, makeInit("other", "a", vary), {"body"}) != nullptr);
  CHECK(store.stats().variant_evictions == 1);
  CHECK(store.stats().entries == 4);
  store.checkInvariantsForTest();

  // A client sending 1000 distinct values cannot grow one URI past the cap.
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(storeComplete(store, makeInit("k", "x" + std::to_string(i), vary), {"b"}) != nullptr);
  }
  CHECK(store.stats().entries == 4);
  store.checkInvariantsForTest();
  CHECK(Settings().max_variants == 32);
}

TEST_CASE("#11 1000 concurrent fills of 1 MiB under a 64 MiB budget stay within it", "[cache]") {
  constexpr std::size_t Budget = 64 << 20;
  constexpr std::size_t Fills = 1000;
  constexpr std::size_t Piece = 64 << 10;
  constexpr std::size_t Pieces = (1 << 20) / Piece;
  MemoryStore store(settingsWith(Budget, 16 << 20));
  std::vector<std::unique_ptr<EntryWriter>> writers;
  for (std::size_t i = 0; i < Fills; ++i) {
    writers.push_back(store.insert(makeInit(keyOf(static_cast<int>(i)))));
    REQUIRE(writers.back() != nullptr);
  }
  const std::string piece(Piece, 'f');
  // The body bytes still allocated: an evicted fill's go at once, even while its writer (which
  // drops it at its next append, like the proxy) still holds the Entry.
  const auto heldBytes = [&] {
    std::size_t held = 0;
    for (const auto& writer : writers) {
      for (const Chunk& chunk : writer ? writer->entry()->read(0).chunks : std::vector<Chunk>())
        held += chunk->size();
    }
    return held;
  };
  for (std::size_t round = 0; round < Pieces; ++round) {
    for (auto& writer : writers) {
      if (writer && !writer->append(piece)) {
        writer.reset();
      }
      REQUIRE(store.stats().used_bytes <= Budget);
    }
    CHECK(heldBytes() <= Budget); // every byte still held is charged
  }
  std::size_t complete = 0;
  for (auto& writer : writers) {
    complete += writer && writer->complete();
  }
  CHECK(complete > 0);
  CHECK(complete <= Budget / (1 << 20));
  CHECK(heldBytes() <= Budget);
  store.checkInvariantsForTest();
}

TEST_CASE("updateHead makes a new Entry that shares the body chunks", "[cache]") {
  MemoryStore store(settingsWith(1 << 20, 1 << 20));
  auto old =
      storeComplete(store, makeInit("k", "", {{"ETag", "\"v1\""}}), {chunkOf('1'), chunkOf('2')});
  REQUIRE(old != nullptr);
  const std::size_t used_before = store.stats().used_bytes;

  auto head = makeHead({{"ETag", "\"v1\""}, {"Cache-Control", "max-age=600"}});
  const auto later = T0 + std::chrono::hours(1);
  auto fresh = store.updateHead(old, head, later, later + std::chrono::seconds(2));
  REQUIRE(fresh != nullptr);
  CHECK(fresh != old);
  CHECK(fresh->state() == EntryState::Complete);
  CHECK(fresh->head().headers.get("Cache-Control") == "max-age=600");
  CHECK(fresh->requestTime() == later);
  CHECK(fresh->responseTime() == later + std::chrono::seconds(2));
  CHECK(fresh->key() == "k");
  CHECK(fresh->bodySize() == 2 * MemoryStore::MinChunkBytes);
  const auto old_chunks = old->read(0).chunks;
  const auto new_chunks = fresh->read(0).chunks;
  REQUIRE(new_chunks.size() == 2);
  CHECK(new_chunks[0].get() == old_chunks[0].get());
  CHECK(new_chunks[1].get() == old_chunks[1].get());

  CHECK(store.lookup("k", {}) == fresh);
  CHECK(store.stats().entries == 1);
  CHECK(store.stats().used_bytes == used_before + MemoryStore::headCharge("k", "", fresh->head()) -
                                        MemoryStore::headCharge("k", "", old->head()));
  store.checkInvariantsForTest();

  SECTION("a Filling Entry cannot be updated") {
    auto writer = store.insert(makeInit("filling"));
    CHECK(store.updateHead(writer->entry(), head, later, later) == nullptr);
  }
  SECTION("an Entry that left the index is updated but not stored again") {
    REQUIRE(store.remove("k") == 1);
    auto detached = store.updateHead(fresh, head, later, later);
    REQUIRE(detached != nullptr);
    CHECK(detached->read(0).chunks.at(0).get() == old_chunks[0].get());
    CHECK(store.lookup("k", {}) == nullptr);
    CHECK(store.stats().used_bytes == 0);
  }
  SECTION("a smaller head gives bytes back") {
    auto smaller = store.updateHead(fresh, makeHead({}), later, later);
    REQUIRE(store.lookup("k", {}) == smaller);
    CHECK(store.stats().used_bytes < used_before);
    store.checkInvariantsForTest();
  }
}

TEST_CASE("#11 erase removes one stored variant, withHead answers one client", "[cache]") {
  MemoryStore store(settingsWith(1 << 20, 1 << 20));
  auto gzip = storeComplete(store, makeInit("k", "gzip"), {"zipped"});
  auto plain = storeComplete(store, makeInit("k", "plain"), {"plain"});
  REQUIRE(gzip != nullptr);
  REQUIRE(plain != nullptr);
  const std::size_t used_with_both = store.stats().used_bytes;

  auto mine = withHead(*gzip, makeHead({{"Set-Cookie", "sid=bob"}}), T0, T0);
  REQUIRE(mine != nullptr);
  CHECK(mine->head().headers.get("Set-Cookie") == "sid=bob");
  CHECK(mine->read(0).chunks.at(0).get() == gzip->read(0).chunks.at(0).get());
  CHECK(store.lookup("k", secondaryIs("gzip")) == gzip); // not in the index
  CHECK(store.stats().used_bytes == used_with_both);     // nor charged

  CHECK(store.erase(*gzip));
  CHECK_FALSE(store.erase(*gzip));
  CHECK_FALSE(store.erase(*mine));
  CHECK(store.lookup("k", secondaryIs("gzip")) == nullptr);
  CHECK(store.lookup("k", secondaryIs("plain")) == plain);
  CHECK(bodyOf(*gzip) == "zipped"); // its readers carry on
  store.checkInvariantsForTest();

  auto writer = store.insert(makeInit("filling"));
  CHECK(withHead(*writer->entry(), makeHead({}), T0, T0) == nullptr);
}

TEST_CASE("remove drops every variant of a Key and only those", "[cache]") {
  MemoryStore store(settingsWith(1 << 20, 1 << 20));
  for (const char* variant : {"a", "b", "c"}) {
    REQUIRE(storeComplete(store, makeInit("k", variant), {"body"}) != nullptr);
  }
  REQUIRE(storeComplete(store, makeInit("other"), {"body"}) != nullptr);
  CHECK(store.remove("k") == 3);
  CHECK(store.lookup("k", secondaryIs("a")) == nullptr);
  CHECK(store.lookup("other", {}) != nullptr);
  CHECK(store.remove("k") == 0);
  CHECK(store.stats().entries == 1);
  store.checkInvariantsForTest();
}

TEST_CASE("reconfigure with a smaller budget evicts down to it", "[cache]") {
  MemoryStore store(settingsWith(1 << 20, 1 << 20));
  for (int i = 0; i < 50; ++i) {
    REQUIRE(storeComplete(store, makeInit(keyOf(i)), {std::string(1000, 'r')}) != nullptr);
  }
  store.reconfigure(settingsWith(10 * 1024, 1 << 20));
  CHECK(store.stats().used_bytes <= 10 * 1024);
  CHECK(store.stats().budget_bytes == 10 * 1024);
  CHECK(store.lookup(keyOf(49), {}) != nullptr); // the newest stay
  CHECK(store.lookup(keyOf(0), {}) == nullptr);
  store.checkInvariantsForTest();
}

TEST_CASE("#11 a writer keeps an abandoned fill's bytes for its client, charged until it goes",
          "[cache]") {
  MemoryStore store(settingsWith(1 << 20, 1 << 20));
  auto writer = store.insert(makeInit(keyOf(1)));
  REQUIRE(writer != nullptr);
  REQUIRE(writer->append(chunkOf('a')));
  REQUIRE(writer->append(chunkOf('b')));
  REQUIRE(writer->append("tail")); // coalescing: not published yet
  const std::size_t charged = store.stats().used_bytes;

  REQUIRE(store.remove(keyOf(1)) == 1); // e.g. evicted: other readers see it cut short
  CHECK(writer->entry()->state() == EntryState::Abandoned);
  CHECK(writer->entry()->read(0).chunks.empty());
  CHECK_FALSE(writer->append("more")); // never kept: the caller relays it itself

  const BodyRead kept = writer->read(0, 16);
  CHECK(kept.state == EntryState::Abandoned);
  std::string body;
  for (const Chunk& chunk : kept.chunks)
    body += *chunk;
  CHECK(body == chunkOf('a') + chunkOf('b') + "tail");
  CHECK(writer->read(1, 1).chunks.size() == 1);

  // Its body is still charged (the head is not): the budget is not given away twice.
  const std::size_t body_charge =
      2 * (MemoryStore::MinChunkBytes + MemoryStore::ChunkOverheadBytes);
  CHECK(store.stats().used_bytes >= body_charge);
  CHECK(store.stats().used_bytes < charged);
  CHECK(store.stats().entries == 0);
  store.checkInvariantsForTest();
  writer.reset();
  CHECK(store.stats().used_bytes == 0);
  store.checkInvariantsForTest();
}

TEST_CASE("#11 fills evicted while their writers keep them leave no room to exceed the budget",
          "[cache]") {
  constexpr std::size_t Budget = 1 << 20;
  MemoryStore store(settingsWith(Budget, Budget));
  std::vector<std::unique_ptr<EntryWriter>> writers;
  std::size_t refused = 0;
  for (int i = 0; i < 64; ++i) {
    auto writer = store.insert(makeInit(keyOf(i)));
    if (writer == nullptr) {
      ++refused;
      continue;
    }
    for (int piece = 0; piece < 4 && writer->append(chunkOf('x')); ++piece) {
    }
    writers.push_back(std::move(writer)); // kept, like a client that reads nothing
    REQUIRE(store.stats().used_bytes <= Budget);
  }
  std::size_t held = 0; // bytes the writers keep, whatever became of their Entries
  for (auto& writer : writers)
    for (const Chunk& chunk : writer->read(0, 64).chunks)
      held += chunk->size();
  CHECK(held <= Budget);
  CHECK(refused + writers.size() == 64);
  store.checkInvariantsForTest();
  writers.clear();
  CHECK(store.stats().used_bytes == 0);
}
