// Resolver against a hosts file in a temp dir and a scripted DNS server on a loopback UDP
// port; no packet leaves 127.0.0.1. Time moves through setClockForTest, never sleep().
#include "ferry/net/event_ptr.h"
#include "ferry/net/resolver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop_fixtures.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>

using namespace std::chrono_literals;
using ferry::net::Address;
using ferry::net::EventBasePtr;
using ferry::net::EventPtr;
using ferry::net::Handle;
using ferry::net::Resolver;
using ferry::net::ResolverSettings;

using ferry::net::test::runUntil;
using ferry::net::test::TempDir;

namespace {

// Lets every already-active callback run (nothing that waits for I/O).
void drain(event_base* base) {
  event_base_loop(base, EVLOOP_NONBLOCK);
}

// A UDP socket bound to 127.0.0.1:0 (`port()`), optionally never read.
class UdpSocket {
public:
  UdpSocket() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) == 0);
    socklen_t len = sizeof(sin);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sin), &len);
    port_ = ntohs(sin.sin_port);
  }
  ~UdpSocket() { ::close(fd_); }
  int fd() const { return fd_; }
  uint16_t port() const { return port_; }

private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// A minimal authoritative DNS server for A and AAAA: known names answer with their
// records (none of the asked type: NOERROR with no answers), unknown names NXDOMAIN.
class FakeDns {
public:
  static constexpr uint16_t TypeA = 1;
  static constexpr uint16_t TypeAaaa = 28;

  struct Record {
    std::vector<std::string> a;
    std::vector<std::string> aaaa;
    uint32_t ttl = 60; // seconds
  };

  explicit FakeDns(event_base* base) {
    event_.reset(event_new(base, socket_.fd(), EV_READ | EV_PERSIST, &FakeDns::onReadable, this));
    event_add(event_.get(), nullptr);
  }

  uint16_t port() const { return socket_.port(); }
  void add(const std::string& name, Record record) { records_[name] = std::move(record); }
  void dropQueriesOfType(uint16_t type) { dropped_types_.insert(type); }
  int queries(const std::string& name, uint16_t type) const {
    auto it = queries_.find({name, type});
    return it == queries_.end() ? 0 : it->second;
  }
  int totalQueries() const {
    int total = 0;
    for (const auto& [key, count] : queries_)
      total += count;
    return total;
  }

private:
  static void onReadable(evutil_socket_t, short, void* arg) noexcept {
    auto& self = *static_cast<FakeDns*>(arg);
    std::array<uint8_t, 512> packet{};
    sockaddr_storage from{};
    socklen_t from_len = sizeof(from);
    ssize_t n;
    while ((n = ::recvfrom(self.socket_.fd(), packet.data(), packet.size(), 0,
                           reinterpret_cast<sockaddr*>(&from), &from_len)) > 0) {
      self.answer(packet.data(), static_cast<std::size_t>(n), from, from_len);
      from_len = sizeof(from);
    }
  }

  void answer(const uint8_t* query, std::size_t size, const sockaddr_storage& to,
              socklen_t to_len) {
    if (size < 12)
      return;
    std::size_t at = 12;
    std::string name;
    while (at < size && query[at] != 0) {
      const std::size_t len = query[at++];
      if (at + len > size)
        return;
      if (!name.empty())
        name += '.';
      for (std::size_t i = 0; i < len; ++i)
        name += static_cast<char>(std::tolower(query[at + i]));
      at += len;
    }
    at += 1; // the root label
    if (at + 4 > size)
      return;
    const uint16_t type = static_cast<uint16_t>(query[at] << 8 | query[at + 1]);
    const std::size_t question_end = at + 4;
    ++queries_[{name, type}];
    if (dropped_types_.count(type))
      return;

    std::vector<uint8_t> reply(query, query + question_end); // id and question, as asked
    auto it = records_.find(name);
    std::vector<std::vector<uint8_t>> rdata;
    if (it != records_.end()) {
      for (const auto& text : type == TypeA ? it->second.a : it->second.aaaa) {
        std::vector<uint8_t> bytes(type == TypeA ? 4 : 16);
        CHECK(inet_pton(type == TypeA ? AF_INET : AF_INET6, text.c_str(), bytes.data()) == 1);
        rdata.push_back(bytes);
      }
    }
    const uint8_t rcode = it == records_.end() ? 3 : 0;        // NXDOMAIN
    reply[2] = static_cast<uint8_t>(0x84 | (query[2] & 0x01)); // QR, AA, RD echoed
    reply[3] = rcode;
    reply[4] = 0, reply[5] = 1;                                  // QDCOUNT
    reply[6] = 0, reply[7] = static_cast<uint8_t>(rdata.size()); // ANCOUNT
    reply[8] = reply[9] = reply[10] = reply[11] = 0;
    const uint32_t ttl = it == records_.end() ? 0 : it->second.ttl;
    for (const auto& bytes : rdata) {
      const uint8_t rr[] = {0xc0,
                            0x0c, // name: pointer to the question
                            static_cast<uint8_t>(type >> 8),
                            static_cast<uint8_t>(type),
                            0,
                            1, // class IN
                            static_cast<uint8_t>(ttl >> 24),
                            static_cast<uint8_t>(ttl >> 16),
                            static_cast<uint8_t>(ttl >> 8),
                            static_cast<uint8_t>(ttl),
                            0,
                            static_cast<uint8_t>(bytes.size())};
      reply.insert(reply.end(), std::begin(rr), std::end(rr));
      reply.insert(reply.end(), bytes.begin(), bytes.end());
    }
    ::sendto(socket_.fd(), reply.data(), reply.size(), 0, reinterpret_cast<const sockaddr*>(&to),
             to_len);
  }

  UdpSocket socket_;
  EventPtr event_;
  std::map<std::string, Record> records_;
  std::map<std::pair<std::string, uint16_t>, int> queries_;
  std::set<uint16_t> dropped_types_;
};

struct Answer {
  bool called = false;
  std::vector<std::string> addresses; // host() of each, in order
  std::string error;
};

Resolver::Done record(Answer& answer) {
  return [&answer](std::vector<Address> addresses, std::string error) {
    CHECK_FALSE(answer.called); // exactly once
    answer.called = true;
    for (const auto& a : addresses) {
      CHECK(a.port() == 0);
      answer.addresses.push_back(a.host());
    }
    answer.error = std::move(error);
  };
}

// One event loop, a temp dir with a hosts file, a fake DNS server, and a manual clock.
struct Fixture {
  TempDir dir;
  EventBasePtr base{event_base_new()};
  FakeDns dns{base.get()};
  Resolver::Clock::time_point now = Resolver::Clock::now();
  ResolverSettings settings;

  Fixture() {
    settings.hosts_file = dir.write("hosts", "# test hosts\n"
                                             "127.0.0.1 localhost Dual.Test # both families\n"
                                             "::1       localhost dual.test\n"
                                             "\n"
                                             "127.0.0.3 only4.test\n");
    settings.resolv_conf =
        dir.write("resolv.conf", "nameserver 127.0.0.1:" + std::to_string(dns.port()) +
                                     "\noptions timeout:2 attempts:1\n");
  }

  std::unique_ptr<Resolver> resolver;

  // The Resolver goes first, then the loop runs the callbacks evdns owes it (cancels).
  ~Fixture() {
    resolver.reset();
    drain(base.get());
  }

  Resolver& make() {
    resolver = std::make_unique<Resolver>(base.get(), settings);
    resolver->setClockForTest([this] { return now; });
    return *resolver;
  }

  // Resolves and runs the loop until answered; checks the answer was not synchronous.
  Answer resolve(Resolver& r, std::string_view host) {
    Answer answer;
    Handle handle = r.resolve(host, record(answer));
    CHECK_FALSE(answer.called);
    CHECK(runUntil(base.get(), [&] { return answer.called; }));
    return answer;
  }
};

using Addresses = std::vector<std::string>;

} // namespace

TEST_CASE("Resolver answers IP literals without a query, never synchronously", "[net]") {
  Fixture f;
  Resolver& resolver = f.make();
  CHECK(f.resolve(resolver, "127.0.0.1").addresses == Addresses{"127.0.0.1"});
  CHECK(f.resolve(resolver, "::1").addresses == Addresses{"::1"});
  CHECK(f.resolve(resolver, "[2001:db8::1]").addresses == Addresses{"2001:db8::1"});
  CHECK(f.dns.totalQueries() == 0);
}

TEST_CASE("Resolver reads the hosts file, case-insensitively, IPv6 first", "[net]") {
  Fixture f;
  Resolver& resolver = f.make();
  const Answer dual = f.resolve(resolver, "DUAL.test");
  CHECK(dual.error.empty());
  CHECK(dual.addresses == Addresses{"::1", "127.0.0.1"});
  CHECK(f.resolve(resolver, "localhost").addresses == Addresses{"::1", "127.0.0.1"});
  CHECK(f.resolve(resolver, "only4.test").addresses == Addresses{"127.0.0.3"});
  CHECK(f.dns.totalQueries() == 0);
}

TEST_CASE("Resolver asks DNS for A and AAAA and interleaves the families", "[net]") {
  Fixture f;
  f.dns.add("www.example.test", {{"127.0.0.10", "127.0.0.11"}, {"::1", "::2", "::3"}, 60});
  f.dns.add("v4only.example.test", {{"127.0.0.12"}, {}, 60});
  Resolver& resolver = f.make();

  const Answer both = f.resolve(resolver, "www.example.test");
  CHECK(both.error.empty());
  CHECK(both.addresses == Addresses{"::1", "127.0.0.10", "::2", "127.0.0.11", "::3"});
  CHECK(f.dns.queries("www.example.test", FakeDns::TypeA) == 1);
  CHECK(f.dns.queries("www.example.test", FakeDns::TypeAaaa) == 1);

  const Answer v4 = f.resolve(resolver, "v4only.example.test"); // AAAA: no records
  CHECK(v4.error.empty());
  CHECK(v4.addresses == Addresses{"127.0.0.12"});
}

TEST_CASE("Resolver caches answers for their TTL within floor and cap", "[net]") {
  Fixture f;
  f.settings.ttl_floor = 0s;
  f.settings.ttl_cap = 300s;
  f.dns.add("ttl30.test", {{"127.0.0.20"}, {}, 30});
  f.dns.add("ttl1.test", {{"127.0.0.21"}, {}, 1});
  f.dns.add("ttlhuge.test", {{"127.0.0.22"}, {}, 86400});

  SECTION("the DNS TTL is honoured") {
    Resolver& resolver = f.make();
    CHECK(f.resolve(resolver, "ttl30.test").addresses == Addresses{"127.0.0.20"});
    f.now += 29s;
    CHECK(f.resolve(resolver, "ttl30.test").addresses == Addresses{"127.0.0.20"});
    CHECK(f.dns.queries("ttl30.test", FakeDns::TypeA) == 1);
    f.now += 2s;
    CHECK(f.resolve(resolver, "ttl30.test").addresses == Addresses{"127.0.0.20"});
    CHECK(f.dns.queries("ttl30.test", FakeDns::TypeA) == 2);
  }
  SECTION("a short TTL is raised to the floor") {
    f.settings.ttl_floor = 10s;
    Resolver& resolver = f.make();
    f.resolve(resolver, "ttl1.test");
    f.now += 9s;
    f.resolve(resolver, "ttl1.test");
    CHECK(f.dns.queries("ttl1.test", FakeDns::TypeA) == 1);
    f.now += 2s;
    f.resolve(resolver, "ttl1.test");
    CHECK(f.dns.queries("ttl1.test", FakeDns::TypeA) == 2);
  }
  SECTION("a long TTL is cut to the cap") {
    f.settings.ttl_cap = 60s;
    Resolver& resolver = f.make();
    f.resolve(resolver, "ttlhuge.test");
    f.now += 59s;
    f.resolve(resolver, "ttlhuge.test");
    CHECK(f.dns.queries("ttlhuge.test", FakeDns::TypeA) == 1);
    f.now += 2s;
    f.resolve(resolver, "ttlhuge.test");
    CHECK(f.dns.queries("ttlhuge.test", FakeDns::TypeA) == 2);
  }
}

TEST_CASE("Resolver reports NXDOMAIN and remembers it for negative_ttl", "[net]") {
  Fixture f;
  f.settings.negative_ttl = 5s;
  Resolver& resolver = f.make();
  const Answer missing = f.resolve(resolver, "missing.test");
  CHECK(missing.addresses.empty());
  CHECK(missing.error == "cannot resolve missing.test: name does not exist");
  CHECK(f.dns.queries("missing.test", FakeDns::TypeA) == 1);

  f.now += 4s;
  CHECK(f.resolve(resolver, "missing.test").error == missing.error);
  CHECK(f.dns.queries("missing.test", FakeDns::TypeA) == 1);
  f.now += 2s;
  CHECK(f.resolve(resolver, "missing.test").error == missing.error);
  CHECK(f.dns.queries("missing.test", FakeDns::TypeA) == 2);
}

TEST_CASE("Resolver fails within the DNS timeout when no nameserver answers", "[net]") {
  Fixture f;
  UdpSocket silent; // bound, never read
  f.settings.resolv_conf =
      f.dir.write("silent.conf", "nameserver 127.0.0.1:" + std::to_string(silent.port()) +
                                     "\noptions timeout:0.2 attempts:1\n");
  Resolver& resolver = f.make();
  const Answer answer = f.resolve(resolver, "nobody.test");
  CHECK(answer.addresses.empty());
  CHECK(answer.error == "cannot resolve nobody.test: request timed out");
}

TEST_CASE("Resolver without a usable resolv.conf still serves literals and hosts", "[net]") {
  Fixture f;
  f.settings.resolv_conf = f.dir.write("empty.conf", "# no nameserver\n");
  SECTION("no nameserver line") {}
  SECTION("no file") {
    f.settings.resolv_conf += ".missing";
  }
  Resolver& resolver = f.make();
  CHECK(f.resolve(resolver, "127.0.0.1").addresses == Addresses{"127.0.0.1"});
  CHECK(f.resolve(resolver, "dual.test").addresses == Addresses{"::1", "127.0.0.1"});
  const Answer other = f.resolve(resolver, "www.example.test");
  CHECK(other.addresses.empty());
  CHECK(other.error == "cannot resolve www.example.test: no DNS nameservers configured");
  CHECK(f.dns.totalQueries() == 0);
}

TEST_CASE("Resolver shares one query between concurrent lookups of a name", "[net]") {
  Fixture f;
  f.dns.add("shared.test", {{"127.0.0.30"}, {}, 60});
  Resolver& resolver = f.make();
  Answer first;
  Answer second;
  Handle h1 = resolver.resolve("shared.test", record(first));
  Handle h2 = resolver.resolve("Shared.Test", record(second));
  REQUIRE(runUntil(f.base.get(), [&] { return first.called && second.called; }));
  CHECK(first.addresses == Addresses{"127.0.0.30"});
  CHECK(second.addresses == Addresses{"127.0.0.30"});
  CHECK(f.dns.queries("shared.test", FakeDns::TypeA) == 1);
}

TEST_CASE("Resolver never calls back a cancelled lookup", "[net]") {
  Fixture f;
  f.dns.add("cancel.test", {{"127.0.0.40"}, {"::40"}, 60});
  Resolver& resolver = f.make();

  SECTION("cancelled while DNS is in flight; the answer still fills the cache") {
    Answer cancelled;
    Answer other;
    Handle handle = resolver.resolve("cancel.test", record(cancelled));
    Handle keep = resolver.resolve("cancel.test", record(other));
    handle.cancel();
    REQUIRE(runUntil(f.base.get(), [&] { return other.called; }));
    drain(f.base.get());
    CHECK_FALSE(cancelled.called);
    CHECK(f.resolve(resolver, "cancel.test").addresses == Addresses{"::40", "127.0.0.40"});
    CHECK(f.dns.queries("cancel.test", FakeDns::TypeA) == 1);
  }
  SECTION("cancelled by destroying the Handle before a literal's answer runs") {
    Answer cancelled;
    { Handle handle = resolver.resolve("127.0.0.1", record(cancelled)); }
    const Answer after = f.resolve(resolver, "::1");
    CHECK(after.called);
    CHECK_FALSE(cancelled.called);
  }
  SECTION("the Resolver goes away with a lookup in flight") {
    Answer cancelled;
    Handle handle = resolver.resolve("cancel.test", record(cancelled));
    f.resolver.reset();
    drain(f.base.get());
    handle.cancel(); // outliving the Resolver is harmless
    CHECK_FALSE(cancelled.called);
  }
}

TEST_CASE("Resolver answers with one family when the other is slow (RFC 8305 §3)", "[net]") {
  Fixture f;
  f.dns.add("slow6.test", {{"127.0.0.50"}, {"::50"}, 60});
  f.dns.dropQueriesOfType(FakeDns::TypeAaaa); // AAAA would only time out after 2 s
  Resolver& resolver = f.make();
  Answer answer;
  Handle handle = resolver.resolve("slow6.test", record(answer));
  REQUIRE(runUntil(
      f.base.get(), [&] { return answer.called; }, 1000ms));
  CHECK(answer.error.empty());
  CHECK(answer.addresses == Addresses{"127.0.0.50"});
  // Still waiting for AAAA: a new caller gets the same partial answer without a query.
  CHECK(f.resolve(resolver, "slow6.test").addresses == Addresses{"127.0.0.50"});
  CHECK(f.dns.queries("slow6.test", FakeDns::TypeA) == 1);
}
