// Connector against real loopback listeners. An address that neither accepts nor refuses
// is a listener whose accept queue is full (listen backlog 0 plus one queued connection):
// Linux then drops further SYNs, so a connect to it stays pending.
#include "ferry/net/connector.h"
#include "ferry/net/destination_policy.h"
#include "ferry/net/event_ptr.h"
#include "ferry/net/resolver.h"
#include "ferry/net/socket.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop_fixtures.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <optional>

using namespace std::chrono_literals;
using ferry::net::Address;
using ferry::net::Cidr;
using ferry::net::Connector;
using ferry::net::ConnectResult;
using ferry::net::DestinationPolicy;
using ferry::net::EventBasePtr;
using ferry::net::EventPtr;
using ferry::net::Handle;
using ferry::net::Resolver;
using ferry::net::ResolverSettings;

using ferry::net::test::runUntil;
using ferry::net::test::TempDir;

namespace {

class Fd {
public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd& operator=(Fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~Fd() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  int get() const { return fd_; }

private:
  int fd_;
};

Address loopback(int family, uint16_t port) {
  return *Address::parse((family == AF_INET6 ? "[::1]:" : "127.0.0.1:") + std::to_string(port));
}

// A TCP socket on loopback `port` (0: any): listening normally, listening with a full
// accept queue (connects hang), or bound but not listening (connects are refused).
enum class Mode { Accepting, Stalled, Refusing };

struct Endpoint {
  Fd socket;
  Fd filler; // the one connection that fills a Stalled queue
  uint16_t port = 0;
};

std::optional<Endpoint> open(int family, uint16_t port, Mode mode) {
  const Address address = loopback(family, port);
  Fd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int on = 1;
  if (family == AF_INET6)
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
  if (::bind(fd.get(), address.sockaddrPtr(), address.length()) != 0)
    return std::nullopt;
  const uint16_t bound_port = ferry::net::localAddress(fd.get()).port();
  Endpoint endpoint{std::move(fd), Fd(), bound_port};
  if (mode == Mode::Refusing)
    return endpoint;
  REQUIRE(::listen(endpoint.socket.get(), mode == Mode::Stalled ? 0 : 16) == 0);
  if (mode == Mode::Stalled) {
    endpoint.filler = Fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const Address to = loopback(family, endpoint.port);
    REQUIRE(::connect(endpoint.filler.get(), to.sockaddrPtr(), to.length()) == 0);
  }
  return endpoint;
}

// An IPv6 and an IPv4 endpoint on the same port number.
std::pair<Endpoint, Endpoint> openPair(Mode v6, Mode v4) {
  for (int tries = 0; tries < 20; ++tries) {
    auto first = open(AF_INET6, 0, v6);
    REQUIRE(first);
    if (auto second = open(AF_INET, first->port, v4))
      return {std::move(*first), std::move(*second)};
  }
  FAIL("no port free on both ::1 and 127.0.0.1");
  return std::pair<Endpoint, Endpoint>();
}

struct Outcome {
  bool called = false;
  ConnectResult result;
  ~Outcome() {
    if (result.fd >= 0)
      ::close(result.fd);
  }
};

Connector::Done record(Outcome& outcome) {
  return [&outcome](ConnectResult result) {
    CHECK_FALSE(outcome.called); // exactly once
    outcome.called = true;
    outcome.result = std::move(result);
  };
}

struct Fixture {
  TempDir dir;
  EventBasePtr base{event_base_new()};
  ResolverSettings settings;
  std::unique_ptr<Resolver> resolver;
  std::shared_ptr<const DestinationPolicy> policy = std::make_shared<DestinationPolicy>();
  std::unique_ptr<Connector> connector;

  Fixture() {
    settings.hosts_file = dir.write("hosts", "127.0.0.1 v4.test dual.test\n"
                                             "::1 v6.test dual.test\n");
    settings.resolv_conf = dir.write("resolv.conf", "# no nameservers\n");
  }
  ~Fixture() {
    connector.reset();
    resolver.reset();
    event_base_loop(base.get(), EVLOOP_NONBLOCK);
  }

  Connector& make() {
    resolver = std::make_unique<Resolver>(base.get(), settings);
    connector = std::make_unique<Connector>(base.get(), *resolver, policy);
    return *connector;
  }

  void connect(Outcome& outcome, std::string_view host, uint16_t port,
               std::chrono::milliseconds timeout = 2000ms) {
    Handle handle = connector->connect(host, port, timeout, record(outcome));
    CHECK_FALSE(outcome.called);
    CHECK(runUntil(base.get(), [&] { return outcome.called; }));
  }
};

void checkConnected(const ConnectResult& result, const Address& peer) {
  CHECK(result.error.empty());
  CHECK_FALSE(result.timed_out);
  REQUIRE(result.fd >= 0);
  CHECK(result.peer == peer);
  CHECK(ferry::net::localAddress(result.fd).family() == peer.family());
  CHECK((::fcntl(result.fd, F_GETFL) & O_NONBLOCK) != 0);
  int nodelay = 0;
  socklen_t len = sizeof(nodelay);
  ::getsockopt(result.fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len);
  CHECK(nodelay != 0);
}

// A policy that refuses `networks` and allows everything else.
std::shared_ptr<const DestinationPolicy> denying(std::initializer_list<const char*> networks) {
  std::vector<Cidr> deny;
  for (const char* network : networks)
    deny.push_back(*Cidr::parse(network));
  return std::make_shared<DestinationPolicy>(std::move(deny), std::vector<Cidr>{},
                                             std::vector<Address>{}, std::vector<Address>{});
}

// Nothing is waiting to be accepted on a listening socket.
bool noConnection(const Endpoint& endpoint) {
  pollfd p{endpoint.socket.get(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

} // namespace

TEST_CASE("Connector connects to a loopback listener by literal and by hosts name", "[net]") {
  Fixture f;
  f.make();
  auto listener = open(AF_INET, 0, Mode::Accepting);
  REQUIRE(listener);
  const Address expected = loopback(AF_INET, listener->port);
  for (const char* host : {"127.0.0.1", "v4.test"}) {
    INFO(host);
    Outcome outcome;
    f.connect(outcome, host, listener->port);
    checkConnected(outcome.result, expected);
    Fd accepted(::accept(listener->socket.get(), nullptr, nullptr));
    CHECK(accepted.get() >= 0);
  }
}

TEST_CASE("Connector reports a refused connection as an error, not a timeout", "[net]") {
  Fixture f;
  f.make();
  auto closed = open(AF_INET, 0, Mode::Refusing);
  REQUIRE(closed);
  Outcome outcome;
  f.connect(outcome, "127.0.0.1", closed->port);
  CHECK(outcome.result.fd == -1);
  CHECK_FALSE(outcome.result.timed_out);
  CHECK(outcome.result.error == "cannot connect to 127.0.0.1:" + std::to_string(closed->port) +
                                    " (127.0.0.1:" + std::to_string(closed->port) +
                                    ": Connection refused)");
}

TEST_CASE("Connector reports a DNS failure as an error, not a timeout", "[net]") {
  Fixture f;
  f.make();
  Outcome outcome;
  f.connect(outcome, "unknown.test", 80);
  CHECK(outcome.result.fd == -1);
  CHECK_FALSE(outcome.result.timed_out);
  CHECK(outcome.result.error == "cannot resolve unknown.test: no DNS nameservers configured");
}

TEST_CASE("Connector falls back to IPv4 when IPv6 refuses (RFC 8305)", "[net]") {
  Fixture f;
  f.make();
  auto [v6, v4] = openPair(Mode::Refusing, Mode::Accepting);
  Outcome outcome;
  f.connect(outcome, "dual.test", v4.port);
  checkConnected(outcome.result, loopback(AF_INET, v4.port));
}

TEST_CASE("Connector races IPv4 when IPv6 does not answer (RFC 8305)", "[net]") {
  Fixture f;
  f.make();
  auto [v6, v4] = openPair(Mode::Stalled, Mode::Accepting);
  Outcome outcome;
  f.connect(outcome, "dual.test", v4.port, 5000ms);
  checkConnected(outcome.result, loopback(AF_INET, v4.port));
}

TEST_CASE("Connector prefers IPv6 when both families accept", "[net]") {
  Fixture f;
  f.make();
  auto [v6, v4] = openPair(Mode::Accepting, Mode::Accepting);
  Outcome outcome;
  f.connect(outcome, "dual.test", v6.port);
  checkConnected(outcome.result, loopback(AF_INET6, v6.port));
}

TEST_CASE("Connector refuses a name whose every address the policy denies, untried", "[net]") {
  Fixture f;
  f.make();
  auto [v6, v4] = openPair(Mode::Accepting, Mode::Accepting);
  f.connector->setPolicy(denying({"127.0.0.0/8", "::1/128"}));
  Outcome outcome;
  f.connect(outcome, "dual.test", v4.port);
  CHECK(outcome.result.fd == -1);
  CHECK(outcome.result.denied);
  CHECK_FALSE(outcome.result.timed_out);
  // The first address in the Resolver's order is named.
  CHECK(outcome.result.error == "destination ::1 is not allowed (access.deny_destinations)");
  CHECK(noConnection(v6));
  CHECK(noConnection(v4));
}

TEST_CASE("Connector races only the addresses the policy allows", "[net]") {
  Fixture f;
  f.policy = denying({"::1/128"});
  f.make();
  auto [v6, v4] = openPair(Mode::Accepting, Mode::Accepting);
  Outcome outcome;
  f.connect(outcome, "dual.test", v4.port);
  CHECK_FALSE(outcome.result.denied);
  checkConnected(outcome.result, loopback(AF_INET, v4.port)); // IPv6 would have won
  CHECK(noConnection(v6));
}

TEST_CASE("Connector times out when no address answers", "[net]") {
  Fixture f;
  f.make();
  auto stalled = open(AF_INET6, 0, Mode::Stalled);
  REQUIRE(stalled);
  Outcome outcome;
  f.connect(outcome, "v6.test", stalled->port, 100ms);
  CHECK(outcome.result.fd == -1);
  CHECK(outcome.result.timed_out);
  CHECK(outcome.result.error ==
        "connecting to v6.test:" + std::to_string(stalled->port) + " timed out after 100 ms");
}

TEST_CASE("Connector times out while DNS has not answered", "[net]") {
  Fixture f;
  Fd silent(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)); // bound, never read
  const Address any = *Address::parse("127.0.0.1:0");
  REQUIRE(::bind(silent.get(), any.sockaddrPtr(), any.length()) == 0);
  f.settings.resolv_conf = f.dir.write(
      "silent.conf", "nameserver 127.0.0.1:" +
                         std::to_string(ferry::net::localAddress(silent.get()).port()) + "\n");
  f.make();
  Outcome outcome;
  f.connect(outcome, "slow.test", 80, 100ms);
  CHECK(outcome.result.timed_out);
  CHECK(outcome.result.error == "resolving slow.test timed out after 100 ms");
}

TEST_CASE("Connector never calls back a cancelled connect", "[net]") {
  Fixture f;
  f.make();
  auto stalled = open(AF_INET6, 0, Mode::Stalled);
  REQUIRE(stalled);
  Outcome cancelled;
  Outcome later;

  SECTION("cancelled while connecting") {
    Handle handle = f.connector->connect("::1", stalled->port, 50ms, record(cancelled));
    event_base_loop(f.base.get(), EVLOOP_NONBLOCK); // resolved, connect in progress
    handle.cancel();
  }
  SECTION("cancelled before the name is resolved") {
    Handle handle = f.connector->connect("v6.test", stalled->port, 50ms, record(cancelled));
  }
  SECTION("the Connector goes away") {
    Handle handle = f.connector->connect("::1", stalled->port, 50ms, record(cancelled));
    f.connector.reset();
    f.connector = std::make_unique<Connector>(f.base.get(), *f.resolver, f.policy);
  }
  // A later connect that outlasts the cancelled one's timeout.
  f.connect(later, "::1", stalled->port, 100ms);
  CHECK(later.result.timed_out);
  CHECK_FALSE(cancelled.called);
}
