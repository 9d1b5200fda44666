// What filling the cache costs ferry in memory (#11): many responses stored at once, each
// read from its origin at the origin's pace while its client reads nothing, under a cache
// budget far smaller than their sum. ferry's peak RSS (VmHWM in /proc) must stay within what
// the budget and the per-connection water marks allow, not grow with the bodies in flight.
#include "support/fake_origin.h"
#include "support/ferry_process.h"
#include "support/raw_client.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace ferry::test;

namespace {

// A field of /proc/<pid>/status in KiB (VmRSS, VmHWM), or -1.
long statusKiB(int pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(field + ":", 0) == 0)
      return std::atol(line.c_str() + field.size() + 1);
  return -1;
}

} // namespace

TEST_CASE("#11 1000 concurrent fills of 1 MiB under a 64 MiB budget keep ferry's RSS bounded",
          "[integration][cache][memory]") {
  constexpr int Fills = 1000;
  constexpr long BudgetKiB = 64 * 1024;
  // Per client connection, at most: 256 KiB queued towards the client (water_marks.h), one
  // origin read (64 KiB, OriginExchange) that went on arriving after the store stopped
  // taking the body, and one chunk being coalesced (16 KiB) beyond the bytes charged to the
  // budget; socket, parser and session state besides. A ferry whose fills outran the budget
  // would hold the bodies themselves: 1000 MiB.
  constexpr long PerConnectionKiB = 256 + 64 + 64;
  constexpr long BaseKiB = 64 * 1024; // the process before any request, and allocator slack
  constexpr long BoundKiB = BaseKiB + BudgetKiB + Fills * PerConnectionKiB;

  const std::string body(1024 * 1024, 'm');
  std::atomic<int> sent{0};
  FakeOrigin origin(FakeOrigin::serveForever([&](OriginConnection& c, const ReceivedRequest& r) {
    c.send("HTTP/1.1 200 OK\r\nCache-Control: max-age=600\r\nX-Path: " + r.target +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n");
    if (c.send(body, 50s))
      ++sent;
  }));
  // Under AddressSanitizer freed memory waits in a quarantine that would count as ferry's RSS.
  const char* asan = std::getenv("ASAN_OPTIONS");
  FerryProcess ferry("listen: [\"127.0.0.1:0\"]\nworkers: 2\n"
                     "access:\n  allow_destinations: [127.0.0.0/8]\n"
                     "cache:\n  memory: 64MiB\n  max_object_size: 16MiB\n",
                     {"ASAN_OPTIONS=" + (asan ? std::string(asan) + ":" : std::string()) +
                      "quarantine_size_mb=0:thread_local_quarantine_size_kb=0"});
  const auto port = ferry.waitListening();
  REQUIRE(port);
  const long start_kib = statusKiB(ferry.pid(), "VmRSS");

  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < Fills; ++i) {
    // It reads nothing yet. Its receive buffer stays the kernel's (it grows only as the
    // client reads): a small fixed SO_RCVBUF makes loopback drop segments once it is full,
    // and ferry's retransmissions then back off for tens of seconds.
    auto client = std::make_unique<RawClient>("127.0.0.1", *port);
    client->send("GET http://" + origin.authority() + "/fill/" + std::to_string(i) +
                 " HTTP/1.1\r\nHost: " + origin.authority() + "\r\n\r\n");
    clients.push_back(std::move(client));
  }
  REQUIRE(origin.waitRequests(Fills, 30s));
  // The fills run while nobody reads: until every origin has sent its whole body, or ferry
  // pushes back on the ones past the budget (their sends wait for the clients).
  const auto until = std::chrono::steady_clock::now() + 10s;
  int last = -1;
  while (std::chrono::steady_clock::now() < until && sent < Fills) {
    const int now = sent;
    if (now == last)
      break; // no progress over the last interval: the rest waits for the clients
    last = now;
    std::this_thread::sleep_for(1s);
  }
  const long filled_kib = statusKiB(ferry.pid(), "VmRSS");

  // Every 50th client reads its response now, in parallel; the others leave without.
  constexpr int Checked = Fills / 50;
  std::atomic<int> whole{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < Checked; ++r)
    readers.emplace_back([&, r] {
      const auto response = clients[static_cast<std::size_t>(r) * 50]->readResponse(false, 40s);
      whole += response && response->status == 200 && response->body == body;
    });
  for (auto& reader : readers)
    reader.join();
  CHECK(whole == Checked);
  const long peak_kib = statusKiB(ferry.pid(), "VmHWM");
  WARN("ferry RSS: " << start_kib << " KiB at start, " << filled_kib << " KiB with " << sent
                     << " origin bodies sent before any client read, peak " << peak_kib
                     << " KiB; bound " << BoundKiB << " KiB");
  CHECK(peak_kib > 0);
  CHECK(peak_kib <= BoundKiB);
}
