// The disk tier: its index record's byte form, what survives reopening the directory (bodies,
// heads, variants, removals), that a damaged or missing body is dropped and never returned,
// eviction within the budget, the orphan sweep, and the memory tier in front of it.
#include <catch2/catch.hpp>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>

#include <sys/resource.h>
#include <unistd.h>

#include "disk_record.h"
#include "ferry/cache/disk_store.h"
#include "ferry/cache/tiered_store.h"
#include "ferry/core/counters.h"
#include "store_fixtures.h"

using namespace ferry::cache;
using namespace ferry::cache::test;
namespace fs = std::filesystem;

namespace {

class TempDir {
public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "ferry-disk-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

private:
  std::string path_;
};

DiskSettings diskAt(const std::string& path, std::uint64_t size = 64ull << 20) {
  DiskSettings settings;
  settings.path = path;
  settings.size_bytes = size;
  return settings;
}

std::shared_ptr<DiskStore> openDisk(const DiskSettings& settings, std::size_t max_variants = 32) {
  auto opened = DiskStore::open(settings, max_variants);
  if (auto* error = std::get_if<std::string>(&opened))
    FAIL("open: " << *error);
  return std::move(std::get<std::unique_ptr<DiskStore>>(opened));
}

// Waits (with a deadline) for a load to be done and returns what it found.
std::shared_ptr<const Entry> await(const std::shared_ptr<TierTask>& load) {
  std::mutex mutex;
  std::condition_variable done;
  auto subscription = load->subscribe([&] {
    std::lock_guard lock(mutex);
    done.notify_all();
  });
  std::unique_lock lock(mutex);
  REQUIRE(done.wait_for(lock, std::chrono::seconds(10), [&] { return load->isDone(); }));
  return load->entry();
}

// A memory tier in front of a disk tier on `path`, as ferry builds them.
struct Tiers {
  explicit Tiers(const DiskSettings& disk_settings, std::size_t max_variants = 32,
                 std::size_t memory_max_object = 16 << 20) {
    Settings settings;
    settings.max_variants = max_variants;
    settings.max_object_bytes = memory_max_object;
    memory = std::make_shared<MemoryStore>(settings);
    disk = openDisk(disk_settings, max_variants);
    store = std::make_unique<TieredStore>(memory, disk);
  }
  std::shared_ptr<const Entry> load(const Key& key, SecondaryKeyFn secondary = {}) {
    return await(store->load(key, std::move(secondary)));
  }
  std::shared_ptr<MemoryStore> memory;
  std::shared_ptr<DiskStore> disk;
  std::unique_ptr<TieredStore> store;
};

std::string bodyOfSize(std::size_t size, char seed) {
  std::string body(size, '\0');
  for (std::size_t i = 0; i < size; ++i)
    body[i] = static_cast<char>(seed + static_cast<char>(i * 7 % 251));
  return body;
}

std::string onlyBodyFile(const std::string& root) {
  std::string found;
  for (const auto& item : fs::recursive_directory_iterator(root + "/bodies"))
    if (item.is_regular_file()) {
      REQUIRE(found.empty());
      found = item.path().string();
    }
  REQUIRE(!found.empty());
  return found;
}

std::size_t bodyFileCount(const std::string& root) {
  std::size_t files = 0;
  for (const auto& item : fs::recursive_directory_iterator(root + "/bodies"))
    files += item.is_regular_file() ? 1 : 0;
  return files;
}

std::uint64_t diskErrors() {
  return ferry::core::snapshotCounters()[static_cast<std::size_t>(
                                             ferry::core::Counter::CacheDiskErrors)]
      .value;
}

} // namespace

TEST_CASE("a disk record decodes to what was encoded, and nothing else decodes", "[cache][disk]") {
  disk::Record record;
  record.key = "http://origin.test/a";
  record.secondary_key = "gzip";
  record.file_id = 0x0102030405060708;
  record.body_size = 123456789;
  record.body_crc = 0xdeadbeef;
  record.tick = 42;
  record.request_time = T0;
  record.response_time = T0 + std::chrono::milliseconds(1500);
  record.content_length = 123456789;
  record.head =
      makeHead({{"Content-Type", "text/plain"}, {"Vary", "Accept-Encoding"}, {"X-Empty", ""}});
  record.head.reason = "Fine";
  const std::string bytes = disk::encode(record);

  auto back = disk::decode(bytes);
  REQUIRE(back);
  CHECK(back->key == record.key);
  CHECK(back->secondary_key == record.secondary_key);
  CHECK(back->file_id == record.file_id);
  CHECK(disk::fileIdOf(bytes) == record.file_id);
  CHECK(back->body_size == record.body_size);
  CHECK(back->body_crc == record.body_crc);
  CHECK(back->tick == record.tick);
  CHECK(back->request_time == record.request_time);
  CHECK(back->response_time == record.response_time);
  CHECK(back->content_length == record.content_length);
  CHECK(back->head.status == 200);
  CHECK(back->head.reason == "Fine");
  REQUIRE(back->head.headers.size() == 3);
  CHECK(back->head.headers.get("Vary") == "Accept-Encoding");
  CHECK(back->head.headers.get("X-Empty") == "");

  for (std::size_t cut = 0; cut < bytes.size(); ++cut)
    CHECK_FALSE(disk::decode(std::string_view(bytes).substr(0, cut)));
  CHECK_FALSE(disk::decode(bytes + "x"));
  std::string other_version = bytes;
  other_version[0] ^= 1;
  CHECK_FALSE(disk::decode(other_version));
}

TEST_CASE("index keys: fixed size whatever the URL, a Key's variants together, ticks in order",
          "[cache][disk]") {
  const std::string a = disk::indexKey("http://h/a", "gzip");
  CHECK(a.size() == 2 * disk::PrefixBytes);
  CHECK(a.substr(0, disk::PrefixBytes) == disk::variantPrefix("http://h/a"));
  CHECK(disk::indexKey("http://h/a", "br").substr(0, disk::PrefixBytes) ==
        disk::variantPrefix("http://h/a"));
  CHECK(disk::indexKey("http://h/a", "br") != a);
  CHECK(disk::variantPrefix("http://h/ab") != disk::variantPrefix("http://h/a"));
  CHECK(disk::indexKey("http://h/" + std::string(100000, 'x'), std::string(5000, 'v')).size() ==
        2 * disk::PrefixBytes);
  CHECK(disk::tickKey(255) < disk::tickKey(256));
  CHECK(disk::tickKey(1) < disk::tickKey(1ull << 40));
  CHECK(disk::tickOf(disk::tickKey(0x123456789a)) == 0x123456789a);
}

TEST_CASE("a stored response is read back byte for byte after the directory is reopened",
          "[cache][disk]") {
  TempDir dir;
  const std::string body = bodyOfSize(3 * MemoryStore::MinChunkBytes + 17, 'a');
  {
    Tiers tiers(diskAt(dir.path()));
    auto init = makeInit("http://origin.test/file", "", {{"Content-Type", "x/y"}});
    init.content_length = body.size();
    REQUIRE(storeComplete(*tiers.store, std::move(init), {body}));
    tiers.disk->settleForTest();
    CHECK(tiers.disk->stats().entries == 1);
  }
  Tiers tiers(diskAt(dir.path()));
  CHECK(tiers.disk->stats().entries == 1);
  CHECK(tiers.store->lookup("http://origin.test/file", {}) == nullptr); // memory starts empty
  auto loaded = tiers.load("http://origin.test/file");
  REQUIRE(loaded);
  CHECK(loaded->state() == EntryState::Complete);
  CHECK(bodyOf(*loaded) == body);
  CHECK(loaded->head().headers.get("Content-Type") == "x/y");
  CHECK(loaded->requestTime() == T0);
  CHECK(loaded->responseTime() == T0 + std::chrono::seconds(1));
  CHECK(loaded->contentLength() == body.size());
  // Put back in memory: the next lookup needs no disk.
  auto again = tiers.store->lookup("http://origin.test/file", {});
  REQUIRE(again);
  CHECK(bodyOf(*again) == body);
  CHECK(tiers.load("http://origin.test/other") == nullptr);
}

TEST_CASE("variants, new heads and removals persist", "[cache][disk]") {
  TempDir dir;
  {
    Tiers tiers(diskAt(dir.path()));
    REQUIRE(
        storeComplete(*tiers.store, makeInit("http://o/v", "gzip", {{"Vary", "A"}}), {"zipped"}));
    REQUIRE(storeComplete(*tiers.store, makeInit("http://o/v", "br", {{"Vary", "A"}}), {"brotli"}));
    auto old = storeComplete(*tiers.store, makeInit("http://o/h", "", {{"ETag", "\"1\""}}), {"h"});
    REQUIRE(storeComplete(*tiers.store, makeInit("http://o/gone"), {"gone"}));
    REQUIRE(storeComplete(*tiers.store, makeInit("http://o/erased"), {"erased"}));
    REQUIRE(old);
    auto head = old->head();
    head.headers.set("ETag", "\"2\"");
    tiers.store->updateHead(old, head, T0 + std::chrono::seconds(10),
                            T0 + std::chrono::seconds(11));
    CHECK(tiers.store->remove("http://o/gone") == 1);
    auto erased = tiers.store->lookup("http://o/erased", {});
    REQUIRE(erased);
    CHECK(tiers.store->erase(*erased));
    tiers.disk->settleForTest();
  }
  Tiers tiers(diskAt(dir.path()));
  auto gzip = tiers.load("http://o/v", secondaryIs("gzip"));
  auto br = tiers.load("http://o/v", secondaryIs("br"));
  REQUIRE(gzip);
  REQUIRE(br);
  CHECK(bodyOf(*gzip) == "zipped");
  CHECK(bodyOf(*br) == "brotli");
  CHECK(tiers.load("http://o/v", secondaryIs("identity")) == nullptr);
  auto updated = tiers.load("http://o/h");
  REQUIRE(updated);
  CHECK(updated->head().headers.get("ETag") == "\"2\"");
  CHECK(updated->responseTime() == T0 + std::chrono::seconds(11));
  CHECK(bodyOf(*updated) == "h");
  CHECK(tiers.load("http://o/gone") == nullptr);
  CHECK(tiers.load("http://o/erased") == nullptr);
}

TEST_CASE("a body that no longer matches its record is dropped, never returned", "[cache][disk]") {
  TempDir dir;
  const std::string body = bodyOfSize(100000, 'q');
  {
    Tiers tiers(diskAt(dir.path()));
    REQUIRE(storeComplete(*tiers.store, makeInit("http://o/damaged"), {body}));
    tiers.disk->settleForTest();
  }
  const std::string file = onlyBodyFile(dir.path());
  SECTION("a flipped byte") {
    std::fstream out(file, std::ios::in | std::ios::out | std::ios::binary);
    out.seekp(50000);
    out.put('\x01');
  }
  SECTION("cut short") {
    fs::resize_file(file, body.size() - 1);
  }
  SECTION("gone") {
    fs::remove(file);
  }

  Tiers tiers(diskAt(dir.path()));
  const std::uint64_t errors = diskErrors();
  CHECK(tiers.load("http://o/damaged") == nullptr);
  CHECK(diskErrors() > errors);
  tiers.disk->settleForTest();
  CHECK(tiers.disk->stats().entries == 0);
  CHECK(tiers.load("http://o/damaged") == nullptr);
}

TEST_CASE("a response not stored whole never reaches the disk", "[cache][disk]") {
  TempDir dir;
  Tiers tiers(diskAt(dir.path()));
  auto init = makeInit("http://o/truncated");
  init.content_length = 100;
  auto writer = tiers.store->insert(std::move(init));
  REQUIRE(writer);
  REQUIRE(writer->append(std::string(50, 't')));
  CHECK_FALSE(writer->complete()); // 50 of 100 bytes
  auto abandoned = tiers.store->insert(makeInit("http://o/abandoned"));
  REQUIRE(abandoned->append("part"));
  abandoned.reset();
  tiers.disk->settleForTest();
  CHECK(tiers.disk->stats().entries == 0);
  CHECK(tiers.load("http://o/truncated") == nullptr);
  CHECK(tiers.load("http://o/abandoned") == nullptr);
}

TEST_CASE("the disk tier evicts the least recently used within its size", "[cache][disk]") {
  TempDir dir;
  const std::uint64_t size = 16ull << 20;
  const std::string body = bodyOfSize(1 << 20, 'e');
  Tiers tiers(diskAt(dir.path(), size));
  for (int i = 0; i < 40; ++i) {
    const std::string key = "http://o/big/" + std::to_string(i);
    REQUIRE(storeComplete(*tiers.store, makeInit(key), {body}));
    tiers.disk->settleForTest();
    if (i >= 1) // keep object 0 in use: it is read back after every write
      REQUIRE(tiers.load("http://o/big/0"));
    tiers.memory->remove(key); // the next loads must come from disk
    tiers.memory->remove("http://o/big/0");
    tiers.disk->settleForTest();
    CHECK(tiers.disk->stats().used_bytes <= size);
  }
  const DiskStats stats = tiers.disk->stats();
  CHECK(stats.entries < 16);
  CHECK(stats.entries >= 10);
  CHECK(tiers.load("http://o/big/0") != nullptr); // recently used
  CHECK(tiers.load("http://o/big/1") == nullptr); // least recently used
  CHECK(tiers.load("http://o/big/39") != nullptr);
  CHECK(bodyFileCount(dir.path()) == stats.entries);
}

TEST_CASE("bodies no record names are swept at start; the directory is one process's",
          "[cache][disk]") {
  TempDir dir;
  {
    Tiers tiers(diskAt(dir.path()));
    REQUIRE(storeComplete(*tiers.store, makeInit("http://o/kept"), {"kept"}));
    tiers.disk->settleForTest();
  }
  const std::string orphan = dir.path() + "/bodies/00/0000000000000000";
  std::ofstream(orphan) << "left by a crash";
  const std::string stranger = dir.path() + "/bodies/00/notes.txt";
  std::ofstream(stranger) << "not ours";
  auto disk = openDisk(diskAt(dir.path()));
  disk->settleForTest();
  CHECK_FALSE(fs::exists(orphan));
  CHECK(fs::exists(stranger));
  CHECK(disk->stats().entries == 1);

  auto second = DiskStore::open(diskAt(dir.path()), 32);
  REQUIRE(std::holds_alternative<std::string>(second));
  CHECK_THAT(std::get<std::string>(second), Catch::Contains("in use by another process"));
}

TEST_CASE("max_variants holds on disk", "[cache][disk]") {
  TempDir dir;
  Tiers tiers(diskAt(dir.path()), 2);
  for (const char* variant : {"a", "b", "c"}) {
    REQUIRE(storeComplete(*tiers.store, makeInit("http://o/many", variant, {{"Vary", "X"}}),
                          {variant}));
    tiers.disk->settleForTest();
  }
  CHECK(tiers.disk->stats().entries == 2);
  tiers.memory->remove("http://o/many");
  CHECK(tiers.load("http://o/many", secondaryIs("a")) == nullptr);
  CHECK(tiers.load("http://o/many", secondaryIs("c")) != nullptr);
}

namespace {

// The bytes of a body in a file that readers may send.
std::string fileContents(const Entry& entry) {
  const FileRead read = entry.readFile();
  REQUIRE(entry.isInFile());
  if (read.size == 0)
    return {};
  REQUIRE(read.file);
  std::string out(read.size, '\0');
  REQUIRE(::pread(read.file->fd(), out.data(), out.size(), 0) == static_cast<ssize_t>(out.size()));
  return out;
}

} // namespace

TEST_CASE("a response larger than memory takes is streamed to disk and sent from its file",
          "[cache][disk]") {
  TempDir dir;
  const std::string body = bodyOfSize(300 * 1024 + 5, 's');
  const std::size_t memory_max = 64 * 1024;
  {
    Tiers tiers(diskAt(dir.path()), 32, memory_max);
    auto init = makeInit("http://o/large", "", {{"Content-Type", "x/iso"}});
    init.content_length = body.size();
    auto writer = tiers.store->insert(std::move(init));
    REQUIRE(writer);
    // The writer's own client reads the pieces as they are written, and lets them go.
    std::string seen;
    std::size_t next = 0;
    for (std::size_t at = 0; at < body.size(); at += 10000) {
      REQUIRE(writer->append(std::string_view(body).substr(at, 10000)));
      for (const Chunk& chunk : writer->read(next, 100).chunks) {
        seen += *chunk;
        ++next;
      }
    }
    REQUIRE(writer->complete());
    for (const Chunk& chunk : writer->read(next, 100).chunks)
      seen += *chunk;
    CHECK(seen == body);
    CHECK(writer->read(next, 100).state == EntryState::Complete);
    tiers.disk->settleForTest();
    CHECK(writer->entry()->state() == EntryState::Complete);
    CHECK(tiers.store->lookup("http://o/large", {}) == nullptr); // never in memory
    auto loaded = tiers.load("http://o/large");
    REQUIRE(loaded);
    CHECK(loaded->bodySize() == body.size());
    CHECK(loaded->read(0).chunks.empty());
    CHECK(fileContents(*loaded) == body);
    CHECK(tiers.store->lookup("http://o/large", {}) == nullptr); // not put back in memory
    // A 304's new head keeps the file.
    auto freshened = withHead(*loaded, loaded->head(), T0, T0);
    REQUIRE(freshened);
    CHECK(freshened->readFile().file == loaded->readFile().file);
  }
  Tiers tiers(diskAt(dir.path()), 32, memory_max);
  for (int pass = 0; pass < 2; ++pass) { // checked once, then trusted for the run
    auto loaded = tiers.load("http://o/large");
    REQUIRE(loaded);
    CHECK(fileContents(*loaded) == body);
    CHECK(loaded->head().headers.get("Content-Type") == "x/iso");
  }
  // Damaged on disk before a run reads it: dropped.
  tiers.disk.reset();
  tiers.store.reset();
  {
    std::fstream out(onlyBodyFile(dir.path()), std::ios::in | std::ios::out | std::ios::binary);
    out.seekp(1000);
    out.put('\x01');
  }
  Tiers again(diskAt(dir.path()), 32, memory_max);
  CHECK(again.load("http://o/large") == nullptr);
}

TEST_CASE("a streamed response cut short, too large or left behind is not stored",
          "[cache][disk]") {
  TempDir dir;
  Tiers tiers(diskAt(dir.path(), 64ull << 20), 32, 1024);
  auto init = makeInit("http://o/short");
  init.content_length = 5000;
  auto writer = tiers.store->insert(std::move(init));
  REQUIRE(writer);
  REQUIRE(writer->append(std::string(4000, 'x')));
  CHECK_FALSE(writer->complete()); // 4000 of 5000
  // What this client was given stays readable once the Entry is abandoned.
  std::string seen;
  for (const Chunk& chunk : writer->read(0, 100).chunks)
    seen += *chunk;
  CHECK(seen == std::string(4000, 'x'));

  auto too_large = makeInit("http://o/huge");
  too_large.content_length = 2ull << 30; // over cache.disk.max_object_size
  CHECK(tiers.store->insert(std::move(too_large)) == nullptr);

  auto left = makeInit("http://o/left");
  left.content_length = 200000;
  auto dropped = tiers.store->insert(std::move(left));
  REQUIRE(dropped);
  REQUIRE(dropped->append(std::string(100000, 'y')));
  dropped.reset(); // its client went away
  tiers.disk->settleForTest();
  CHECK(tiers.disk->stats().entries == 0);
  CHECK(tiers.load("http://o/short") == nullptr);
  CHECK(tiers.load("http://o/left") == nullptr);
  CHECK(bodyFileCount(dir.path()) == 0);
}

TEST_CASE("#12 a URL or Vary value longer than LMDB's key limit is stored and found",
          "[cache][disk]") {
  TempDir dir;
  const std::string url = "http://o/" + std::string(3000, 'u');
  const std::string secondary(2000, 'v');
  {
    Tiers tiers(diskAt(dir.path()));
    REQUIRE(storeComplete(*tiers.store, makeInit(url, secondary, {{"Vary", "X"}}), {"long"}));
    REQUIRE(storeComplete(*tiers.store, makeInit("http://o/short"), {"short"}));
    tiers.disk->settleForTest();
    CHECK(tiers.disk->stats().entries == 2);
  }
  Tiers tiers(diskAt(dir.path()));
  auto loaded = tiers.load(url, secondaryIs(secondary));
  REQUIRE(loaded);
  CHECK(bodyOf(*loaded) == "long");
  CHECK(loaded->key() == url);
  CHECK(tiers.load(url, secondaryIs(secondary + "w")) == nullptr);
  CHECK(tiers.load("http://o/short") != nullptr);
}

TEST_CASE("#12 a purge is done once the disk has removed the response, and says how many",
          "[cache][disk]") {
  TempDir dir;
  {
    Tiers tiers(diskAt(dir.path()));
    REQUIRE(storeComplete(*tiers.store, makeInit("http://o/p", "a", {{"Vary", "X"}}), {"a"}));
    REQUIRE(storeComplete(*tiers.store, makeInit("http://o/p", "b", {{"Vary", "X"}}), {"b"}));
    tiers.disk->settleForTest();
  }
  {
    Tiers tiers(diskAt(dir.path())); // on disk only
    auto purged = await(tiers.store->purge("http://o/p"));
    CHECK(purged == nullptr);
    auto task = tiers.store->purge("http://o/p");
    await(task);
    CHECK(task->removed() == 0); // the first purge took both
    CHECK(tiers.load("http://o/p", secondaryIs("a")) == nullptr);
  }
  Tiers tiers(diskAt(dir.path()));
  CHECK(tiers.disk->stats().entries == 0);
  CHECK(tiers.load("http://o/p", secondaryIs("b")) == nullptr);
}

TEST_CASE("#12 a purge counts the responses it removed from disk", "[cache][disk]") {
  TempDir dir;
  {
    Tiers tiers(diskAt(dir.path()));
    REQUIRE(storeComplete(*tiers.store, makeInit("http://o/q", "a", {{"Vary", "X"}}), {"a"}));
    REQUIRE(storeComplete(*tiers.store, makeInit("http://o/q", "b", {{"Vary", "X"}}), {"b"}));
    tiers.disk->settleForTest();
  }
  Tiers tiers(diskAt(dir.path()));
  auto task = tiers.store->purge("http://o/q");
  await(task);
  CHECK(task->removed() == 2);
}

TEST_CASE("#12 a new head for a response the disk no longer holds changes nothing there",
          "[cache][disk]") {
  TempDir dir;
  {
    Tiers tiers(diskAt(dir.path()));
    auto v1 = storeComplete(*tiers.store, makeInit("http://o/r", "", {{"ETag", "\"1\""}}), {"v1"});
    REQUIRE(v1);
    auto v2_init = makeInit("http://o/r", "", {{"ETag", "\"2\""}});
    v2_init.response_time = T0 + std::chrono::seconds(5);
    REQUIRE(storeComplete(*tiers.store, std::move(v2_init), {"v2"}));
    tiers.disk->settleForTest();
    // A 304 for v1 that arrives after v2 replaced it.
    auto head = v1->head();
    head.headers.set("X-From-304", "v1");
    tiers.store->updateHead(v1, head, T0 + std::chrono::seconds(9), T0 + std::chrono::seconds(9));
    tiers.disk->settleForTest();
  }
  Tiers tiers(diskAt(dir.path()));
  auto loaded = tiers.load("http://o/r");
  REQUIRE(loaded);
  CHECK(bodyOf(*loaded) == "v2");
  CHECK(loaded->head().headers.get("ETag") == "\"2\"");
  CHECK_FALSE(loaded->head().headers.has("X-From-304"));
}

TEST_CASE("#12 a client far behind a streamed response reads the rest from its file",
          "[cache][disk]") {
  TempDir dir;
  Tiers tiers(diskAt(dir.path()), 32, 1024);
  const std::string body = bodyOfSize(3 << 20, 'd');
  auto init = makeInit("http://o/slow-client");
  init.content_length = body.size();
  auto writer = tiers.store->insert(std::move(init));
  REQUIRE(writer);
  // A client that reads one piece, then nothing while the response arrives.
  std::string seen;
  for (std::size_t at = 0; at < body.size(); at += 10000) {
    REQUIRE(writer->append(std::string_view(body).substr(at, 10000)));
    if (at == 100000)
      for (const Chunk& chunk : writer->read(0, 1).chunks)
        seen += *chunk;
  }
  REQUIRE(seen.size() >= DiskStore::SpoolPieceBytes);
  CHECK(seen == body.substr(0, seen.size()));
  const BodyRead rest = writer->read(1, 1000);
  CHECK(rest.chunks.empty());
  CHECK(rest.rest_in_file); // kept no more than 1 MiB for it: the rest is in the file
  REQUIRE(writer->complete());
  CHECK(writer->read(1, 1000).state == EntryState::Complete);
  tiers.disk->settleForTest();
  CHECK(writer->entry()->state() == EntryState::Complete);
  CHECK(fileContents(*writer->entry()) == body);
  writer.reset();
  CHECK(tiers.disk->stats().entries == 1);
}

TEST_CASE("#12 other clients find a streamed response while it is written and follow its file",
          "[cache][disk]") {
  TempDir dir;
  Tiers tiers(diskAt(dir.path()), 32, 1024);
  const std::string body = bodyOfSize(1 << 20, 'f');
  auto init = makeInit("http://o/iso", "en", {{"Vary", "Accept-Language"}});
  init.content_length = body.size();
  auto writer = tiers.store->insert(std::move(init));
  REQUIRE(writer);
  CHECK(tiers.store->lookup("http://o/iso", secondaryIs("fr")) == nullptr);
  const auto follower = tiers.store->lookup("http://o/iso", secondaryIs("en"));
  REQUIRE(follower == writer->entry());
  CHECK(follower->isInFile());
  int woken = 0;
  const Subscription subscription = follower->subscribe([&woken] { ++woken; });
  REQUIRE(writer->append(std::string_view(body).substr(0, 300000)));
  REQUIRE(writer->append(std::string_view(body).substr(300000, 100)));
  tiers.disk->settleForTest();
  // Written piece by piece: the last 100 bytes wait for more.
  CHECK(follower->state() == EntryState::Filling);
  CHECK(fileContents(*follower) == body.substr(0, 300000));
  CHECK(woken > 0);
  REQUIRE(writer->append(std::string_view(body).substr(300100)));
  REQUIRE(writer->complete());
  tiers.disk->settleForTest();
  CHECK(follower->state() == EntryState::Complete);
  CHECK(fileContents(*follower) == body);
  // Once it is whole and indexed, lookups load it from disk like any other.
  CHECK(tiers.store->lookup("http://o/iso", secondaryIs("en")) == nullptr);
  CHECK(fileContents(*tiers.load("http://o/iso", secondaryIs("en"))) == body);

  // A purge while a response is written: no longer found, never indexed, and its followers
  // still get it whole.
  auto again = makeInit("http://o/iso", "en", {{"Vary", "Accept-Language"}});
  again.content_length = body.size();
  auto second = tiers.store->insert(std::move(again));
  REQUIRE(second);
  REQUIRE(second->append(std::string_view(body).substr(0, 100000)));
  const auto purge = tiers.store->purge("http://o/iso");
  CHECK(tiers.store->lookup("http://o/iso", secondaryIs("en")) == nullptr);
  REQUIRE(second->append(std::string_view(body).substr(100000)));
  CHECK_FALSE(second->complete());
  tiers.disk->settleForTest();
  CHECK(second->entry()->state() == EntryState::Complete);
  CHECK(fileContents(*second->entry()) == body);
  CHECK(tiers.load("http://o/iso", secondaryIs("en")) == nullptr);
  CHECK(tiers.disk->stats().entries == 0);

  // One cut short by its origin: its followers are told, and nothing is kept.
  auto cut = makeInit("http://o/cut");
  cut.content_length = body.size();
  auto third = tiers.store->insert(std::move(cut));
  REQUIRE(third);
  const auto third_follower = tiers.store->lookup("http://o/cut", {});
  REQUIRE(third_follower);
  REQUIRE(third->append(std::string_view(body).substr(0, 200000)));
  third->abandon();
  CHECK(third_follower->state() == EntryState::Abandoned);
  CHECK(tiers.store->lookup("http://o/cut", {}) == nullptr);
  third.reset();
  tiers.disk->settleForTest();
  CHECK(bodyFileCount(dir.path()) == 0);
}

TEST_CASE("#12 a body of unannounced length that outgrows memory moves to disk whole",
          "[cache][disk]") {
  TempDir dir;
  Tiers tiers(diskAt(dir.path()), 32, 256 * 1024);
  const std::string body = bodyOfSize(2 << 20, 'c');
  auto writer = tiers.store->insert(makeInit("http://o/chunked")); // no content_length
  REQUIRE(writer);
  const auto in_memory = writer->entry();
  CHECK_FALSE(in_memory->isInFile());
  // Its client reads as the body arrives, 10000 bytes at a time.
  std::string seen;
  std::size_t next = 0;
  bool in_file = false;
  for (std::size_t at = 0; at < body.size(); at += 10000) {
    REQUIRE(writer->append(std::string_view(body).substr(at, 10000)));
    const BodyRead read = writer->read(next, 100);
    for (const Chunk& chunk : read.chunks)
      seen += *chunk;
    next += read.chunks.size();
    in_file = in_file || read.rest_in_file;
  }
  // Past 256 KiB it moved: the memory Entry is abandoned, the spool's is found instead.
  CHECK(in_memory->state() == EntryState::Abandoned);
  CHECK(in_file);
  CHECK(seen.size() > 200 * 1024); // what memory took before the move
  CHECK(seen == body.substr(0, seen.size()));
  const auto follower = tiers.store->lookup("http://o/chunked", {});
  REQUIRE(follower);
  CHECK(follower == writer->entry());
  CHECK(follower->isInFile());
  REQUIRE(writer->complete());
  tiers.disk->settleForTest();
  CHECK(follower->state() == EntryState::Complete);
  CHECK(fileContents(*follower) == body); // what the client reads on from, after `seen`
  writer.reset();
  auto loaded = tiers.load("http://o/chunked");
  REQUIRE(loaded);
  CHECK(fileContents(*loaded) == body);
  CHECK(tiers.disk->stats().entries == 1);
}

TEST_CASE("#12 a damaged index costs the cache, not the start", "[cache][disk]") {
  TempDir dir;
  {
    Tiers tiers(diskAt(dir.path()));
    REQUIRE(storeComplete(*tiers.store, makeInit("http://o/old"), {"old"}));
    tiers.disk->settleForTest();
  }
  {
    // Both of LMDB's meta pages overwritten: the file is no index any more.
    std::fstream index(dir.path() + "/index/data.mdb",
                       std::ios::in | std::ios::out | std::ios::binary);
    REQUIRE(index);
    const std::string garbage(8192, '\x5a');
    index.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  const auto errors = diskErrors();
  Tiers tiers(diskAt(dir.path()));
  tiers.disk->settleForTest(); // the old index and bodies are removed in the background
  CHECK(diskErrors() > errors);
  CHECK(tiers.disk->stats().entries == 0);
  CHECK(tiers.load("http://o/old") == nullptr);
  REQUIRE(storeComplete(*tiers.store, makeInit("http://o/new"), {"new"}));
  tiers.disk->settleForTest();
  tiers.memory->remove("http://o/new");
  auto loaded = tiers.load("http://o/new");
  REQUIRE(loaded);
  CHECK(bodyOf(*loaded) == "new");
  for (const auto& item : fs::directory_iterator(dir.path()))
    CHECK(item.path().filename().string().rfind("damaged.", 0) == std::string::npos);
}

namespace {

std::string bodyOfFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

} // namespace

TEST_CASE("#12 a body that cannot be opened for want of descriptors keeps its record",
          "[cache][disk]") {
  TempDir dir;
  Tiers tiers(diskAt(dir.path()));
  REQUIRE(storeComplete(*tiers.store, makeInit("http://o/fd"), {"kept"}));
  tiers.disk->settleForTest();
  tiers.memory->remove("http://o/fd");
  // One load and one complaint first (a missing body), so that what they need once — a
  // sanitizer's type checks want descriptors of their own — is in place before none is left;
  // the complaint below then falls within the same 10 s and is only counted.
  REQUIRE(tiers.load("http://o/fd"));
  tiers.memory->remove("http://o/fd");
  REQUIRE(storeComplete(*tiers.store, makeInit("http://o/gone"), {"gone"}));
  tiers.disk->settleForTest();
  tiers.memory->remove("http://o/gone");
  for (const auto& item : fs::recursive_directory_iterator(dir.path() + "/bodies"))
    if (item.is_regular_file() && bodyOfFile(item.path()) == "gone")
      fs::remove(item.path());
  CHECK(tiers.load("http://o/gone") == nullptr);
  tiers.disk->settleForTest();
  rlimit limit{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
  // A new descriptor takes the lowest free number, which must be below the limit.
  const int lowest_free = ::dup(0);
  REQUIRE(lowest_free >= 0);
  ::close(lowest_free);
  rlimit none = limit;
  none.rlim_cur = static_cast<rlim_t>(lowest_free); // no descriptor left for the body
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &none) == 0);
  auto missed = tiers.load("http://o/fd");
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &limit) == 0);
  CHECK(missed == nullptr);
  tiers.disk->settleForTest();
  CHECK(tiers.disk->stats().entries == 1); // "gone" was dropped, "fd" kept
  auto loaded = tiers.load("http://o/fd");
  REQUIRE(loaded);
  CHECK(bodyOf(*loaded) == "kept");
}
