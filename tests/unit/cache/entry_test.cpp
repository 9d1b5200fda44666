// Entries while they fill: insert, append, complete, abandon, and readers that stream from a
// filling Entry through its notifications.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "ferry/cache/memory_store.h"
#include "store_fixtures.h"

using namespace ferry::cache;
using namespace ferry::cache::test;

namespace {

Settings smallSettings() {
  Settings settings;
  settings.memory_bytes = 1024 * 1024;
  settings.max_object_bytes = 64 * 1024;
  return settings;
}

// A reader as the proxy would drive it: on each notification, read what is new.
struct StreamingReader {
  explicit StreamingReader(std::shared_ptr<const Entry> from) : entry(std::move(from)) {
    subscription = entry->subscribe([this] {
      ++notifications;
      drain();
    });
    drain();
  }
  StreamingReader(const StreamingReader&) = delete; // the callback holds `this`
  StreamingReader& operator=(const StreamingReader&) = delete;
  void drain() {
    BodyRead got = entry->read(next);
    next += got.chunks.size();
    for (const auto& chunk : got.chunks) {
      body += *chunk;
      chunks.push_back(chunk);
    }
    state = got.state;
  }
  std::shared_ptr<const Entry> entry;
  Subscription subscription;
  std::size_t next = 0;
  std::string body;
  std::vector<Chunk> chunks;
  EntryState state = EntryState::Filling;
  int notifications = 0;
};

} // namespace

TEST_CASE("an inserted Entry is found while filling and after completion", "[cache]") {
  MemoryStore store(smallSettings());
  auto init = makeInit("http://a.example/x");
  init.content_length = 6;
  auto writer = store.insert(std::move(init));
  REQUIRE(writer != nullptr);

  auto filling = store.lookup("http://a.example/x", {});
  REQUIRE(filling == writer->entry());
  CHECK(filling->state() == EntryState::Filling);
  CHECK(filling->head().status == 200);
  CHECK(filling->requestTime() == T0);
  CHECK(filling->responseTime() == T0 + std::chrono::seconds(1));
  CHECK(filling->contentLength() == 6u);

  CHECK(writer->append("abc"));
  CHECK(writer->append("def"));
  CHECK(filling->bodySize() == 0); // #11: small pieces wait to make one chunk
  CHECK(writer->complete());
  CHECK(filling->bodySize() == 6);
  CHECK(filling->state() == EntryState::Complete);

  auto complete = store.lookup("http://a.example/x", {});
  REQUIRE(complete == filling);
  CHECK(bodyOf(*complete) == "abcdef");
  CHECK(complete->chunkCount() == 1);
  CHECK(complete->hits() == 2);
  CHECK(store.lookup("http://a.example/other", {}) == nullptr);
  store.checkInvariantsForTest();
}

TEST_CASE("a streaming reader gets every chunk in order and a notification per change", "[cache]") {
  MemoryStore store(smallSettings());
  auto writer = store.insert(makeInit("k"));
  REQUIRE(writer != nullptr);
  const std::string first = chunkOf('1');
  const std::string second = chunkOf('2');
  writer->append(first);

  StreamingReader early(store.lookup("k", {}));
  CHECK(early.body == first);
  writer->append(second);
  CHECK(early.notifications == 1);
  CHECK(early.body == first + second);

  StreamingReader late(store.lookup("k", {}));
  CHECK(late.body == first + second);
  writer->append("third");
  CHECK(early.notifications == 1); // a small piece waits for more, or for the end
  CHECK(writer->complete());

  for (const StreamingReader* reader : {&early, &late}) {
    CHECK(reader->body == first + second + "third");
    CHECK(reader->state == EntryState::Complete);
  }
  CHECK(early.notifications == 3); // two chunks, then the last one and Complete
  CHECK(late.notifications == 2);
  // Every reader shares the very same chunks: no copy per hit.
  REQUIRE(early.chunks.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(early.chunks[i].get() == late.chunks[i].get());
  }
  // Nothing is called after the final state; late subscriptions are inactive.
  CHECK_FALSE(early.entry->subscribe([] { FAIL("called on a final Entry"); }).isActive());
}

TEST_CASE("read returns at most max_chunks from an index", "[cache]") {
  MemoryStore store(smallSettings());
  auto entry =
      storeComplete(store, makeInit("k"), {chunkOf('a'), chunkOf('b'), chunkOf('c'), chunkOf('d')});
  REQUIRE(entry != nullptr);
  BodyRead part = entry->read(1, 2);
  REQUIRE(part.chunks.size() == 2);
  CHECK(*part.chunks[0] == chunkOf('b'));
  CHECK(*part.chunks[1] == chunkOf('c'));
  CHECK(part.state == EntryState::Complete);
  CHECK(entry->read(4).chunks.empty());
  CHECK(entry->read(99).chunks.empty());
}

TEST_CASE("a dropped Subscription is not called again, even from its own callback", "[cache]") {
  MemoryStore store(smallSettings());
  auto writer = store.insert(makeInit("k"));
  int calls = 0;
  Subscription subscription = writer->entry()->subscribe([&] {
    ++calls;
    subscription.reset(); // a callback may drop itself
  });
  int other_calls = 0;
  Subscription other = writer->entry()->subscribe([&] { ++other_calls; });
  writer->append(chunkOf('a'));
  writer->append(chunkOf('b'));
  CHECK(calls == 1);
  CHECK_FALSE(subscription.isActive());
  other.reset();
  writer->append(chunkOf('c'));
  CHECK(other_calls == 2);
}

TEST_CASE("an abandoned Entry leaves the index and its readers learn it", "[cache]") {
  MemoryStore store(smallSettings());
  auto writer = store.insert(makeInit("k"));
  writer->append("partial");
  std::optional<StreamingReader> reader;
  reader.emplace(store.lookup("k", {}));

  SECTION("by abandon()") {
    writer->abandon();
  }
  SECTION("by the writer going away") {
    writer.reset();
  }
  SECTION("by complete() short of the announced length") {
    writer.reset();
    auto init = makeInit("k");
    init.content_length = 100;
    writer = store.insert(std::move(init));
    reader.emplace(store.lookup("k", {}));
    writer->append("only 17 bytes....");
    CHECK_FALSE(writer->complete());
  }
  CHECK(reader->state == EntryState::Abandoned);
  CHECK(reader->entry->state() == EntryState::Abandoned);
  CHECK(reader->notifications >= 1);
  CHECK(store.lookup("k", {}) == nullptr);
  CHECK(store.stats().entries == 0);
  if (writer != nullptr) {
    CHECK_FALSE(writer->append("more"));
    CHECK_FALSE(writer->complete());
    writer.reset(); // it kept what it published, charged, for its own client (#11)
  }
  CHECK(store.stats().used_bytes == 0);
  store.checkInvariantsForTest();
}

TEST_CASE("a chunk outlives its Entry's removal while a reader holds it", "[cache]") {
  MemoryStore store(smallSettings());
  Chunk held;
  std::weak_ptr<const Entry> entry_gone;
  {
    auto entry = storeComplete(store, makeInit("k"), {"payload"});
    held = entry->read(0).chunks.at(0);
    entry_gone = entry;
  }
  CHECK(store.remove("k") == 1);
  CHECK(entry_gone.expired());
  REQUIRE(held != nullptr);
  CHECK(*held == "payload");
}

TEST_CASE("#11 a Filling Entry that leaves the index stops growing at once", "[cache]") {
  Settings settings = smallSettings();
  settings.max_variants = 1;
  MemoryStore store(settings);
  auto writer = store.insert(makeInit("k", "a"));
  REQUIRE(writer->append(chunkOf('x')));
  StreamingReader reader(writer->entry());
  REQUIRE(reader.body == chunkOf('x'));

  SECTION("by remove() (PURGE, invalidation)") {
    CHECK(store.remove("k") == 1);
  }
  SECTION("by erase()") {
    CHECK(store.erase(*writer->entry()));
  }
  SECTION("by a newer response for the same variant") {
    REQUIRE(store.insert(makeInit("k", "a")) != nullptr);
  }
  SECTION("by max_variants") {
    REQUIRE(store.insert(makeInit("k", "b")) != nullptr);
  }
  SECTION("by eviction") {
    store.reconfigure([] {
      Settings tiny = smallSettings();
      tiny.memory_bytes = 1000; // less than the chunk already stored
      tiny.max_object_bytes = 1000;
      return tiny;
    }());
  }
  CHECK(reader.state == EntryState::Abandoned); // told at once, not at the next append
  CHECK_FALSE(writer->append(chunkOf('y')));
  CHECK_FALSE(writer->complete());
  CHECK(writer->entry()->bodySize() == MemoryStore::MinChunkBytes);
  CHECK(writer->entry()->chunkCount() == 0);   // released at once
  CHECK(*reader.chunks.at(0) == chunkOf('x')); // the reader keeps what it took
  CHECK(store.lookup("k", secondaryIs("a")) != writer->entry());
  store.checkInvariantsForTest();
}

TEST_CASE("#13 a stored head is serialised once, less what each hit adds", "[cache]") {
  MemoryStore store(smallSettings());
  auto init = makeInit("http://a.example/t", {},
                       {{"Age", "5"},
                        {"Via", "1.0 fred"},
                        {"Content-Type", "text/plain"},
                        {"Cache-Status", "upstream; hit"},
                        {"via", "1.1 other"},
                        {"Content-Length", "3"}});
  init.head.version_minor = 0; // received as HTTP/1.0
  auto entry = storeComplete(store, std::move(init), {"abc"});
  REQUIRE(entry);
  const HeadTemplate& made = entry->headTemplate();
  CHECK(made.lines == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n");
  CHECK(made.via == "1.0 fred, 1.1 other, 1.0 ");
  CHECK(&entry->headTemplate() == &made); // made once

  ferry::http::ResponseHead partial = entry->head();
  partial.status = 206;
  const HeadTemplate own = makeHeadTemplate(partial, {ferry::http::Framing::Length, 2});
  CHECK(own.lines == "HTTP/1.1 206 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n");
}

TEST_CASE("#13 an Entry's serving view is worked out once per cache settings", "[cache]") {
  MemoryStore store(smallSettings());
  auto init = makeInit(
      "http://a.example/v", {},
      {{"Age", "5"}, {"Last-Modified", "Thu, 01 Jan 1970 00:00:00 GMT"}, {"Content-Length", "3"}});
  auto entry = storeComplete(store, std::move(init), {"abc"});
  REQUIRE(entry);
  auto settings = std::make_shared<const Settings>(smallSettings());
  const auto first = entry->stored(settings);
  CHECK(first->initial_age == std::chrono::seconds(6)); // Age 5, plus the second it took
  CHECK(entry->stored(settings) == first);              // kept
  // A reload brings other settings: the heuristic lifetime follows them.
  Settings longer = smallSettings();
  longer.heuristic_max = std::chrono::hours(48);
  auto reloaded = std::make_shared<const Settings>(longer);
  const auto second = entry->stored(reloaded);
  CHECK(second != first);
  CHECK(first->lifetime == std::chrono::hours(24));
  CHECK(second->lifetime == std::chrono::hours(48));
  CHECK(entry->stored(reloaded) == second);
}
