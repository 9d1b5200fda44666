// Accepting under pressure, seen from outside the real ferry binary: the kernel's accept
// queue as `ss` reports it, and a process out of file descriptors (its limit lowered with
// prlimit while it runs), observed through /proc, the log and /metrics.
#include "support/fake_origin.h"
#include "support/ferry_process.h"
#include "support/raw_client.h"

#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

using namespace ferry::test;

namespace {

// net::Listener::PauseAfterError: how long a listener stops accepting after accept() failed.
constexpr auto AcceptPause = 500ms;
// strerror(EMFILE), in each warning ferry logs when accept() fails for it.
constexpr std::string_view EmfileMessage = "Too many open files";

// The fake origin listens on loopback, which access.deny_destinations refuses by default.
std::string config(int workers, const std::string& extra) {
  return "listen: [\"127.0.0.1:0\"]\nworkers: " + std::to_string(workers) +
         "\naccess:\n  allow_destinations: [127.0.0.0/8]\n" + extra;
}

std::string commandOutput(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe);
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0;)
    out.append(buffer, n);
  REQUIRE(::pclose(pipe) == 0);
  return out;
}

// The accept queue length (Send-Q in `ss -l`) of each socket listening on `port`, sorted.
std::vector<int> listenBacklogs(int port) {
  std::istringstream lines(commandOutput("ss -Hltn 'sport = :" + std::to_string(port) + "'"));
  std::vector<int> backlogs;
  std::string state;
  int queued = 0;
  int backlog = 0;
  std::string rest;
  while (lines >> state >> queued >> backlog && std::getline(lines, rest))
    backlogs.push_back(backlog);
  std::sort(backlogs.begin(), backlogs.end());
  return backlogs;
}

// What the kernel makes of a requested backlog: it caps it at net.core.somaxconn.
int effectiveBacklog(int requested) {
  int somaxconn = 0;
  std::ifstream("/proc/sys/net/core/somaxconn") >> somaxconn;
  REQUIRE(somaxconn > 0);
  return std::min(requested, somaxconn);
}

std::vector<int> openFds(int pid) {
  std::vector<int> fds;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
    fds.push_back(std::stoi(entry.path().filename().string()));
  return fds;
}

// User plus system CPU time of every thread of `pid` so far (proc(5): fields 14 and 15).
std::chrono::milliseconds cpuTime(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2)); // from field 3, the state
  std::string skip;
  for (int field = 3; field < 14; ++field)
    fields >> skip;
  long long utime = 0;
  long long stime = 0;
  fields >> utime >> stime;
  REQUIRE(fields);
  return std::chrono::milliseconds((utime + stime) * 1000 / ::sysconf(_SC_CLK_TCK));
}

std::size_t occurrences(const std::string& text, std::string_view what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

std::string get(const FakeOrigin& origin, const std::string& path) {
  return "GET http://" + origin.authority() + path + " HTTP/1.1\r\nHost: " + origin.authority() +
         "\r\n\r\n";
}

} // namespace

TEST_CASE("#9 each listening socket queues limits.listen_backlog connections, also after SIGHUP",
          "[integration][accept]") {
  // Both above the 128 libevent would set if it called listen() itself.
  FerryProcess ferry(config(2, "limits:\n  listen_backlog: 300\n"));
  const auto port = ferry.waitListening();
  REQUIRE(port);
  CHECK(listenBacklogs(*port) == std::vector<int>(2, effectiveBacklog(300)));

  ferry.rewriteConfig(config(2, "limits:\n  listen_backlog: 700\n"));
  ferry.signal(SIGHUP);
  REQUIRE(ferry.waitLog("configuration reloaded"));
  CHECK(listenBacklogs(*port) == std::vector<int>(2, effectiveBacklog(700)));
}

TEST_CASE("#9 out of file descriptors ferry pauses accepting instead of spinning, then serves",
          "[integration][accept]") {
  FakeOrigin origin(FakeOrigin::serveForever(
      [](OriginConnection& c, const ReceivedRequest& r) { c.respond(200, r.target); }));
  FerryProcess ferry(config(1, "admin:\n  listen: 127.0.0.1:0\n"));
  const auto port = ferry.waitListening();
  const auto admin_port = ferry.waitAdminPort();
  REQUIRE(port);
  REQUIRE(admin_port);

  // A few descriptors to spare: a client, its origin connection and the pipe UBSan opens to
  // check a vptr fit, a crowd does not.
  constexpr long Spare = 6;
  const std::vector<int> fds = openFds(ferry.pid());
  rlimit limit{};
  REQUIRE(::prlimit(ferry.pid(), RLIMIT_NOFILE, nullptr, &limit) == 0);
  limit.rlim_cur = static_cast<rlim_t>(static_cast<long>(fds.size()) + Spare);
  REQUIRE(::prlimit(ferry.pid(), RLIMIT_NOFILE, &limit, nullptr) == 0);
  const auto below = std::count_if(
      fds.begin(), fds.end(), [&](int fd) { return static_cast<rlim_t>(fd) < limit.rlim_cur; });
  const long unused = static_cast<long>(limit.rlim_cur) - below;

  // The kernel completes every handshake; ferry can accept only `unused` of them.
  std::vector<std::unique_ptr<RawClient>> crowd;
  for (long i = 0; i < unused + 8; ++i)
    crowd.push_back(std::make_unique<RawClient>("127.0.0.1", *port));
  REQUIRE(ferry.waitLog(std::string(EmfileMessage)));

  // A fixed window on purpose: what is measured is how ferry spends it. Both log reads
  // fall inside `elapsed`, and pauses start at least AcceptPause apart.
  const auto start = std::chrono::steady_clock::now();
  const std::size_t pauses_before = occurrences(ferry.log(), EmfileMessage);
  const auto cpu_before = cpuTime(ferry.pid());
  std::this_thread::sleep_for(2s);
  const auto cpu_used = cpuTime(ferry.pid()) - cpu_before;
  const std::size_t pauses = occurrences(ferry.log(), EmfileMessage) - pauses_before;
  const auto elapsed = std::chrono::steady_clock::now() - start;
  INFO("CPU " << cpu_used.count() << " ms, " << pauses << " pauses in "
              << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms");
  CHECK(cpu_used < 500ms); // a listener retrying at once would burn the whole window
  CHECK(pauses >= 2);      // still out of descriptors, retried after each pause
  CHECK(pauses <= static_cast<std::size_t>(elapsed / AcceptPause) + 1); // one warning per pause

  // Once ferry has accepted and closed what the crowd left queued, it serves again.
  crowd.clear();
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (openFds(ferry.pid()).size() > fds.size() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  REQUIRE(openFds(ferry.pid()).size() <= fds.size());
  RawClient client("127.0.0.1", *port);
  client.send(get(origin, "/after"));
  const auto served = client.readResponse();
  REQUIRE(served);
  CHECK(served->status == 200);
  CHECK(served->body == "/after");

  RawClient admin("127.0.0.1", *admin_port);
  admin.send("GET /metrics HTTP/1.1\r\nHost: ferry\r\n\r\n");
  const auto metrics = admin.readResponse();
  REQUIRE(metrics);
  const auto at = metrics->body.find("\nferry_accept_pauses ");
  REQUIRE(at != std::string::npos);
  CHECK(std::stoul(metrics->body.substr(at + 21)) >= pauses_before + pauses);
}
