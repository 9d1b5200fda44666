// Fills a disk cache directory with many small stored responses, through the disk tier
// itself, for bench/disk_start (how soon ferry serves disk hits with that many entries).
// Each is GET http://127.0.0.1:<port>/obj/<n> with a 1 KiB body, fresh for a year.
//
//   bench_disk_fill DIR COUNT PORT
#include "ferry/cache/disk_store.h"
#include "ferry/cache/memory_store.h"
#include "ferry/cache/tiered_store.h"
#include "ferry/http/target.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <variant>

int main(int argc, char** argv) {
  using namespace ferry;
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s DIR COUNT PORT\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const long count = std::atol(argv[2]);
  const std::string port = argv[3];

  cache::DiskSettings disk_settings;
  disk_settings.path = dir;
  disk_settings.size_bytes = 64ull << 30;
  auto opened = cache::DiskStore::open(disk_settings, 32);
  if (auto* error = std::get_if<std::string>(&opened)) {
    std::fprintf(stderr, "%s\n", error->c_str());
    return 1;
  }
  std::shared_ptr<cache::DiskStore> disk =
      std::move(std::get<std::unique_ptr<cache::DiskStore>>(opened));
  cache::Settings memory_settings;
  memory_settings.memory_bytes = 64 << 20; // entries pass through on their way to disk
  auto memory = std::make_shared<cache::MemoryStore>(memory_settings);
  cache::TieredStore store(memory, disk);

  const std::string body(1024, 'b');
  const auto now = std::chrono::system_clock::now();
  const auto started = std::chrono::steady_clock::now();
  for (long n = 0; n < count; ++n) {
    const std::string url = "http://127.0.0.1:" + port + "/obj/" + std::to_string(n);
    cache::EntryInit init;
    init.key = http::cacheKey(http::parseTarget("GET", url));
    init.head.status = 200;
    init.head.reason = "OK";
    init.head.headers.add("Content-Type", "application/octet-stream");
    init.head.headers.add("Content-Length", "1024");
    init.head.headers.add("Cache-Control", "max-age=31536000");
    init.request_time = now;
    init.response_time = now;
    init.content_length = body.size();
    auto writer = store.insert(std::move(init));
    if (!writer || !writer->append(body) || !writer->complete()) {
      std::fprintf(stderr, "entry %ld not stored\n", n);
      return 1;
    }
    if (n % 10000 == 9999)
      disk->settleForTest(); // keeps the write queue within its bound
  }
  disk->settleForTest();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const cache::DiskStats stats = disk->stats();
  std::printf("%llu entries, %llu bytes, written in %.1f s\n",
              static_cast<unsigned long long>(stats.entries),
              static_cast<unsigned long long>(stats.used_bytes), seconds);
  return stats.entries == static_cast<unsigned long long>(count) ? 0 : 1;
}
