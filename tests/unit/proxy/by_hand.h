// Driving the proxy's state machines by hand: a Worker whose loop the test turns itself
// (its thread never starts), a clock the test sets, a ClientSink that records what a
// Transaction does to its client, and a scripted origin peer on a loopback socket that the
// test reads and writes between turns of the loop. Every wait has a deadline.
#pragma once

#include "client_sink.h"
#include "origin_connection.h"
#include "worker.h"

#include "ferry/cache/memory_store.h"
#include "ferry/core/clock.h"
#include "ferry/proxy/access_log.h"

#include <event2/buffer.h>
#include <event2/event.h>

#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <optional>
#include <string>

namespace ferry::proxy::by_hand {

using namespace std::chrono_literals;

class FakeClock final : public core::Clock {
public:
  std::chrono::steady_clock::time_point steady() const override { return steady_; }
  std::chrono::system_clock::time_point wall() const override { return wall_; }
  void advance(std::chrono::seconds by) {
    steady_ += by;
    wall_ += by;
  }

private:
  std::chrono::steady_clock::time_point steady_{std::chrono::hours(1000)};
  std::chrono::system_clock::time_point wall_{std::chrono::seconds(1'800'000'000)};
};

// A Worker on the test thread, with a memory cache, no access log and loopback allowed.
struct Rig {
  explicit Rig(Settings tuned = {}) {
    settings = std::make_shared<Settings>(std::move(tuned));
    Runtime runtime;
    runtime.settings = settings;
    runtime.cache_settings = std::make_shared<cache::Settings>();
    runtime.access_log = std::make_shared<AccessLogWriter>(AccessLog{});
    store = std::make_shared<cache::MemoryStore>(*runtime.cache_settings);
    runtime.store = store;
    runtime.clock = &clock;
    worker = std::make_unique<Worker>(0, runtime, std::make_shared<net::DestinationPolicy>(),
                                      std::make_shared<ParentHealth>());
  }
  ~Rig() { worker.reset(); }

  // Turns the loop until `done` or the deadline; false on the deadline.
  bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds deadline = 5s) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (!done()) {
      if (std::chrono::steady_clock::now() > until)
        return false;
      const timeval slice{0, 2000};
      event_base_loopexit(worker->base(), &slice);
      event_base_loop(worker->base(), EVLOOP_ONCE);
    }
    return true;
  }

  FakeClock clock;
  std::shared_ptr<Settings> settings;
  std::shared_ptr<cache::MemoryStore> store;
  std::unique_ptr<Worker> worker;
};

// A scripted origin: a loopback listener; each accepted connection is read and written by
// the test, between turns of the Rig's loop.
class ScriptedOrigin {
public:
  ScriptedOrigin() {
    listen_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listen_, 16) == 0);
    socklen_t length = sizeof address;
    ::getsockname(listen_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~ScriptedOrigin() {
    for (int fd : accepted_)
      ::close(fd);
    ::close(listen_);
  }
  ScriptedOrigin(const ScriptedOrigin&) = delete;
  ScriptedOrigin& operator=(const ScriptedOrigin&) = delete;

  std::uint16_t port() const { return port_; }
  std::string authority() const { return "127.0.0.1:" + std::to_string(port_); }
  int accepts() const { return static_cast<int>(accepted_.size()); }

  // The next connection's fd once the loop has connected it, or -1.
  int accept(Rig& rig) {
    int fd = -1;
    rig.runUntil([&] {
      fd = ::accept4(listen_, nullptr, nullptr, SOCK_NONBLOCK);
      return fd >= 0;
    });
    if (fd >= 0)
      accepted_.push_back(fd);
    return fd;
  }

  // Reads until `bytes` ends with `end` (a request head: "\r\n\r\n").
  static std::string readUntil(Rig& rig, int fd, const std::string& end = "\r\n\r\n") {
    std::string bytes;
    rig.runUntil([&] {
      char buffer[4096];
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n > 0)
        bytes.append(buffer, static_cast<std::size_t>(n));
      return n == 0 || (bytes.size() >= end.size() && bytes.ends_with(end));
    });
    return bytes;
  }

  static void send(int fd, const std::string& bytes) {
    REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(bytes.size()));
  }

private:
  int listen_ = -1;
  std::uint16_t port_ = 0;
  std::vector<int> accepted_;
};

// A ClientSink that keeps what the Transaction wrote and how the exchange ended.
class RecordingSink final : public ClientSink {
public:
  RecordingSink() : output_(evbuffer_new()) {}
  ~RecordingSink() { evbuffer_free(output_); }
  RecordingSink(const RecordingSink&) = delete;
  RecordingSink& operator=(const RecordingSink&) = delete;

  const net::Address& peer() const override { return peer_; }
  net::Address localAddress() const override { return *net::Address::parse("127.0.0.1:3128"); }
  bool keepAlive() const override { return true; }
  void write(std::string_view bytes) override { evbuffer_add(output_, bytes.data(), bytes.size()); }
  evbuffer* output() override { return output_; }
  bool isFull() const override { return false; }
  int lendSocket() override { return -1; }
  void returnSocket() override {}
  void pauseReading() override {}
  void resumeReading() override {}
  void transactionDone(bool reusable, core::CloseReason reason) override {
    done = {reusable, reason};
  }
  void beginTunnel(std::unique_ptr<OriginConnection>) override { tunnel = true; }

  std::string written() const {
    const auto n = evbuffer_get_length(output_);
    std::string out(n, '\0');
    evbuffer_copyout(output_, out.data(), n);
    return out;
  }

  struct Done {
    bool reusable;
    core::CloseReason reason;
  };
  std::optional<Done> done;
  bool tunnel = false;

private:
  net::Address peer_ = *net::Address::parse("127.0.0.1:50000");
  evbuffer* output_;
};

} // namespace ferry::proxy::by_hand
