// What the kernel alone costs to send a 1 MiB body over loopback TCP: the floor under any
// proxy's CPU per 1 MiB hit in bench/run's row 2. A reader thread takes everything; the
// sending thread sends the same 1 MiB body again and again, with write(2) of a given size
// (what a proxy serving from memory does) or with sendfile(2) from a memfd (a zero-copy
// send from pages in memory), and its own user+system CPU per MiB is printed. As in
// bench/run, the sender (the proxy) runs on cpu 0 and the reader (the client) on cpu 1.
//
//   bench_loopback_send [GiB]      (4 by default)
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr std::size_t Body = 1 << 20;

// Keeps the calling thread on one CPU (where the machine has it).
void pinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

double threadCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// A connected loopback pair: {sender, receiver}.
std::pair<int, int> connectedPair() {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
      listen(listener, 1) != 0) {
    std::perror("listen");
    std::exit(1);
  }
  const int sender = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(sender, reinterpret_cast<sockaddr*>(&address), length) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  const int receiver = accept(listener, nullptr, nullptr);
  close(listener);
  return {sender, receiver};
}

// Sends `total` bytes as repeats of the body, `step` bytes per call; prints MB/s and the
// sending thread's CPU per MiB.
void run(const char* how, bool use_sendfile, std::size_t step, std::size_t total) {
  const auto [sender, receiver] = connectedPair();
  std::thread reader([receiver = receiver] {
    pinTo(1);
    std::vector<char> sink(Body);
    while (read(receiver, sink.data(), sink.size()) > 0) {
    }
    close(receiver);
  });
  const std::string body(Body, 'x');
  const int memfd = memfd_create("body", 0);
  if (memfd < 0 || write(memfd, body.data(), body.size()) != static_cast<ssize_t>(Body)) {
    std::perror("memfd");
    std::exit(1);
  }
  const double cpu0 = threadCpuSeconds();
  const auto wall0 = std::chrono::steady_clock::now();
  for (std::size_t sent = 0; sent < total;) {
    for (std::size_t at = 0; at < Body;) {
      const std::size_t want = std::min(step, Body - at);
      off_t offset = static_cast<off_t>(at);
      const ssize_t n = use_sendfile ? sendfile(sender, memfd, &offset, want)
                                     : write(sender, body.data() + at, want);
      if (n <= 0) {
        std::perror(how);
        std::exit(1);
      }
      at += static_cast<std::size_t>(n);
      sent += static_cast<std::size_t>(n);
    }
  }
  const double cpu = threadCpuSeconds() - cpu0;
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  shutdown(sender, SHUT_WR);
  reader.join();
  close(sender);
  close(memfd);
  const double mib = static_cast<double>(total) / Body;
  std::printf("| %s, %zu KiB per call | %.0f | %.0f |\n", how, step >> 10,
              static_cast<double>(total) / wall / 1e6, cpu / mib * 1e6);
}

} // namespace

int main(int argc, char** argv) {
  const std::size_t total = (argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 4) << 30;
  pinTo(0);
  std::printf("| send of a 1 MiB body | MB/s | sender CPU µs per MiB |\n|---|---:|---:|\n");
  for (const std::size_t step : {std::size_t{256} << 10, Body}) {
    run("write", false, step, total);
    run("sendfile from a memfd", true, step, total);
  }
  return 0;
}
