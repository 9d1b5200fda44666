// Fuzz target: the proxy in one process. The input is a script of steps played against a real
// Worker — its ClientSession, Transactions, OriginExchanges, pool and cache — whose loop runs
// here, between steps, until nothing moves: bytes from the client, bytes from the origin on
// one of its connections, half-closes and resets, in any order and cut anywhere. The client is
// a loopback connection to the worker's listener, the origin a loopback listener of this
// target that answers only what the script says. Checked, besides the sanitizers:
//   - what the client reads is well-formed responses, at most one per request, in request
//     order, and one carrying an X-Echo id answers a request for the path the id names;
//   - nothing follows a response that said Connection: close;
//   - no response body is longer than all the bytes ferry received (no amplification);
//   - an Entry is completed only with the body of a response the origin sent whole;
//   - memory stays bounded while the script runs and is all returned afterwards.
// Inputs whose requests name a host other than an IP literal or localhost are skipped: they
// would be resolved by DNS, off this machine and at its pace.
//
// The script, one step after another until the input or MaxSteps ends:
//   op byte    op % 6 is the step; op / 6 picks one of the origin connections accepted so far
//   ClientSend, OriginSend: then a length byte and that many bytes (fewer at the input's end)
//   ClientShutdown, OriginShutdown: FIN (bytes the socket has not taken yet are dropped);
//   ClientReset, OriginReset: RST.
// In client bytes "{O}" stands for the origin's authority 127.0.0.1:<port> and "{P}" for its
// port alone (other hosts on that port meet the destination policy); in origin bytes
// "{E}" for "X-Echo: <id>", the id naming the path of the last request received on that
// connection. Ids derive from a hash of the whole input, so no input can spell a valid one
// itself: an X-Echo whose value is no id of this run is the origin's own and not checked.
#include "fuzz_driver.h"
#include "worker.h"

#include "ferry/cache/memory_store.h"
#include "ferry/core/clock.h"
#include "ferry/http/hop_by_hop.h"
#include "ferry/net/socket.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define FERRY_FUZZ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FERRY_FUZZ_ASAN 1
#endif
#endif
#ifdef FERRY_FUZZ_ASAN
// From the sanitizer runtime (sanitizer/allocator_interface.h, which gcc does not install).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#endif

using namespace ferry;
using http::fuzz::check;

namespace {

// X-Echo id -> the path of the request the origin was answering when it sent the id.
using Echoes = std::map<std::string, std::string, std::less<>>;

enum class Op { ClientSend, OriginSend, ClientShutdown, ClientReset, OriginShutdown, OriginReset };
constexpr unsigned OpCount = 6;

constexpr std::size_t MaxSteps = 64;
// Loop passes after a step: until QuietPasses in a row moved nothing, at most MaxPasses.
constexpr std::size_t MaxPasses = 64;
constexpr int QuietPasses = 3;
// What ferry may add to a response body of its own (error texts), in bytes.
constexpr std::uint64_t OwnBodyBytes = 4096;
// The store's budget (bytes); a script of a few KiB cannot fill it.
constexpr std::size_t CacheBudget = 1 << 20;
// Heap a script may hold at its peak beyond what it started with: the worker, its loop and
// resolver, and a multiple of the input for what the connections and the store hold (bytes;
// a run of the seed corpus peaks near 25 KiB).
constexpr std::size_t FixedHeap = 1 << 20;
constexpr std::size_t HeapPerInputByte = 64;
// Heap still held once everything of a script is destroyed (bytes).
constexpr std::size_t LeftoverHeap = 16 << 10;

std::size_t heapInUse() {
#ifdef FERRY_FUZZ_ASAN
  return __sanitizer_get_current_allocated_bytes();
#else
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
#endif
}

int loopbackListener() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  check(fd >= 0 && ::bind(fd, reinterpret_cast<const sockaddr*>(&sin), sizeof sin) == 0 &&
        ::listen(fd, 64) == 0);
  return fd;
}

int connectTo(const net::Address& address) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  check(fd >= 0 && ::connect(fd, address.sockaddrPtr(), address.length()) == 0);
  net::setNoDelay(fd);
  check(::fcntl(fd, F_SETFL, O_NONBLOCK) == 0);
  return fd;
}

// Closes with RST: no FIN, no TIME_WAIT left behind by millions of runs.
void closeWithReset(int fd) {
  const linger abort{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
  ::close(fd);
}

void replaceAll(std::string& text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

// Resolved without DNS: what net::Resolver answers from literals and the hosts file.
bool resolvesLocally(const std::string& host) {
  in6_addr address;
  return host == "localhost" || ::inet_pton(AF_INET, host.c_str(), &address) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), &address) == 1;
}

// ferry's time in every run: it never moves, so freshness and Age depend on the input alone
// (timers still run on libevent's clock, but no timeout is short enough to fire).
class FixedClock final : public core::Clock {
public:
  std::chrono::steady_clock::time_point steady() const override {
    return std::chrono::steady_clock::time_point{std::chrono::hours(1)};
  }
  std::chrono::system_clock::time_point wall() const override {
    return std::chrono::system_clock::time_point{std::chrono::seconds(1704110400)};
  } // Mon, 01 Jan 2024 12:00:00 GMT
};

// What the process keeps between runs: the listeners, the settings and the clock. Each run
// builds its own Worker and Store on them.
struct Environment {
  Environment() {
    spdlog::set_level(spdlog::level::off);
    std::signal(SIGPIPE, SIG_IGN); // as main() does: a peer gone is an error value, not a signal
    origin_listener = loopbackListener();
    origin = net::localAddress(origin_listener);
    client_listener = loopbackListener();
    proxy_address = net::localAddress(client_listener);

    auto s = std::make_shared<proxy::Settings>();
    s->workers = 1;
    const proxy::Duration never = std::chrono::hours(1); // no timeout fires within a run
    s->timeouts = {never, never, never, never, never, never, proxy::Duration(0)};
    s->allowed_clients = {*net::Cidr::parse("127.0.0.1")};
    s->purge_allowed = s->allowed_clients;
    // Only the origin's port: any other is refused before it is resolved or connected to.
    s->access.connect_ports = {origin.port()};
    s->access.http_ports = {{origin.port(), origin.port()}};
    s->http.limits = http::fuzz::fuzzLimits();
    settings = s;

    auto c = std::make_shared<cache::Settings>();
    c->memory_bytes = CacheBudget;
    c->max_object_bytes = CacheBudget / 4;
    cache_settings = c;
    access_log = std::make_shared<proxy::AccessLogWriter>(proxy::AccessLog{});
    // Every destination refused but the origin, as access.deny_destinations [0.0.0.0/0, ::/0]
    // with allow_destinations [127.0.0.1] would say; ferry's own listener is its own.
    destinations = std::make_shared<const net::DestinationPolicy>(
        std::vector<net::Cidr>{*net::Cidr::parse("0.0.0.0/0"), *net::Cidr::parse("::/0")},
        std::vector<net::Cidr>{*net::Cidr::parse("127.0.0.1")},
        std::vector<net::Address>{proxy_address}, std::vector<net::Address>{});
  }

  int origin_listener;
  net::Address origin;
  int client_listener;
  net::Address proxy_address;
  std::shared_ptr<const proxy::Settings> settings;
  std::shared_ptr<const cache::Settings> cache_settings;
  std::shared_ptr<proxy::AccessLogWriter> access_log;
  std::shared_ptr<const net::DestinationPolicy> destinations;
  FixedClock clock;
};

Environment& environment() {
  static Environment env;
  return env;
}

// Length and FNV-1a hash of a body or an input, built as its pieces arrive.
struct BodyPrint {
  std::uint64_t size = 0;
  std::uint64_t hash = 14695981039346656037ull;

  void add(std::string_view bytes) {
    size += bytes.size();
    for (unsigned char c : bytes)
      hash = (hash ^ c) * 1099511628211ull;
  }
  bool operator==(const BodyPrint&) const = default;
};

// The worker's Store: a MemoryStore that also notes the body of every Entry it completes.
class RecordingStore final : public cache::Store {
public:
  explicit RecordingStore(const cache::Settings& settings) : memory_(settings) {}

  std::shared_ptr<const cache::Entry> lookup(const cache::Key& key,
                                             const cache::SecondaryKeyFn& secondary) override {
    return memory_.lookup(key, secondary);
  }
  std::unique_ptr<cache::EntryWriter> insert(cache::EntryInit init) override {
    auto writer = memory_.insert(std::move(init));
    if (!writer)
      return nullptr;
    return std::make_unique<Writer>(std::move(writer), completed_);
  }
  std::shared_ptr<const cache::Entry>
  updateHead(const std::shared_ptr<const cache::Entry>& entry, http::ResponseHead head,
             std::chrono::system_clock::time_point request_time,
             std::chrono::system_clock::time_point response_time) override {
    return memory_.updateHead(entry, std::move(head), request_time, response_time);
  }
  bool erase(const cache::Entry& entry) override { return memory_.erase(entry); }
  std::size_t remove(const cache::Key& key) override { return memory_.remove(key); }
  cache::FetchTicket joinFetch(const cache::Key& key) override { return memory_.joinFetch(key); }
  cache::StoreStats stats() const override { return memory_.stats(); }

  const cache::MemoryStore& memory() const { return memory_; }
  const std::vector<BodyPrint>& completed() const { return completed_; }

private:
  class Writer final : public cache::EntryWriter {
  public:
    Writer(std::unique_ptr<cache::EntryWriter> inner, std::vector<BodyPrint>& completed)
        : inner_(std::move(inner)), completed_(completed) {}
    const std::shared_ptr<const cache::Entry>& entry() const noexcept override {
      return inner_->entry();
    }
    bool append(std::string_view bytes) override {
      body_.add(bytes);
      return inner_->append(bytes);
    }
    bool complete() override {
      const bool complete = inner_->complete();
      if (complete)
        completed_.push_back(body_);
      return complete;
    }
    void abandon() override { inner_->abandon(); }
    cache::BodyRead read(std::size_t first_chunk, std::size_t max_chunks) override {
      return inner_->read(first_chunk, max_chunks);
    }

  private:
    std::unique_ptr<cache::EntryWriter> inner_;
    std::vector<BodyPrint>& completed_;
    BodyPrint body_;
  };

  cache::MemoryStore memory_;
  std::vector<BodyPrint> completed_;
};

// A request as a peer of ferry sent it: what its response is parsed and checked against.
struct SentRequest {
  std::string method;
  std::string path;
  bool upgrade = false;   // a 101 may answer it
  bool needs_dns = false; // its target names a host only DNS can resolve
};

// The requests in `bytes`, in order, as a RequestParser with ferry's limits reads them; stops
// at an error (which ferry answers as if to a GET) and after a CONNECT (a tunnel follows).
// `upgrade(options)` says whether a head's Connection options make a 101 acceptable.
template <class Upgrade>
std::vector<SentRequest> parseRequests(std::string_view bytes, Upgrade&& upgrade) {
  std::vector<SentRequest> requests;
  http::RequestParser parser(http::fuzz::fuzzLimits());
  for (;;) {
    const http::Step step = parser.parse(bytes);
    bytes.remove_prefix(step.consumed);
    if (step.event == http::Event::NeedMore)
      return requests;
    if (step.event == http::Event::Error) {
      requests.push_back({"GET", "", false, false});
      return requests;
    }
    if (step.event == http::Event::Head) {
      const http::Target& target = parser.target();
      http::Headers headers = parser.head().headers;
      const bool connects =
          target.form == http::TargetForm::Absolute || target.form == http::TargetForm::Authority;
      requests.push_back({parser.head().method, target.path, upgrade(http::stripHopByHop(headers)),
                          connects && !resolvesLocally(target.host)});
    }
    if (step.event == http::Event::MessageEnd && requests.back().method == "CONNECT")
      return requests;
  }
}

// The requests ferry sent on one origin connection. Connection: upgrade there comes only from
// ferry's own setUpgrade, so it alone makes a 101 acceptable.
std::vector<SentRequest> originRequests(std::string_view received) {
  return parseRequests(received, [](const http::ConnectionOptions& o) { return o.upgrade; });
}

// The client's side of the checks: parses what ferry sends it as the responses to `requests`.
class ClientReader {
public:
  ClientReader(const std::vector<SentRequest>& requests, const Echoes& echoes,
               const std::uint64_t& bytes_in)
      : requests_(requests), echoes_(echoes), bytes_in_(bytes_in) {}

  void feed(std::string_view bytes) {
    while (!tunnel_) {
      check(!closed_ || bytes.empty()); // nothing after Connection: close
      if (!expecting_ && next_ < requests_.size()) {
        parser_.expect(requests_[next_].method, requests_[next_].upgrade);
        expecting_ = true;
      }
      const http::Step step = parser_.parse(bytes);
      bytes.remove_prefix(step.consumed);
      if (step.event == http::Event::NeedMore)
        return;
      handle(step);
    }
  }

  // ferry closed the connection: a response it was sending may be cut short (it closes
  // precisely so that the client can tell).
  void finish() {
    if (!tunnel_ && parser_.finish().event == http::Event::MessageEnd)
      endResponse();
  }

private:
  void handle(const http::Step& step) {
    switch (step.event) {
    case http::Event::Head: {
      // Every response answers a request sent before it, in order.
      check(next_ < requests_.size());
      const SentRequest& request = requests_[next_];
      const http::ResponseHead& head = parser_.head();
      for (std::string_view echo : head.headers.getAll("X-Echo")) {
        const auto found = echoes_.find(echo);
        check(found == echoes_.end() || found->second == request.path);
      }
      if (head.status == 101 || (request.method == "CONNECT" && head.status / 100 == 2))
        tunnel_ = true; // raw bytes from here on
      close_after_ = head.headers.hasToken("Connection", "close");
      body_bytes_ = 0;
      return;
    }
    case http::Event::Body:
      body_bytes_ += step.body.size();
      check(body_bytes_ <= bytes_in_ + OwnBodyBytes);
      return;
    case http::Event::MessageEnd:
      endResponse();
      return;
    case http::Event::Error:
      check(false); // ferry sent something that is not HTTP
      return;
    case http::Event::NeedMore:
      return;
    }
  }

  void endResponse() {
    ++next_;
    expecting_ = false;
    closed_ = close_after_;
  }

  const std::vector<SentRequest>& requests_;
  const Echoes& echoes_;
  const std::uint64_t& bytes_in_; // every byte ferry was sent, by either peer
  http::ResponseParser parser_{http::Limits{}};
  std::size_t next_ = 0; // the request the next final response answers
  bool expecting_ = false;
  bool tunnel_ = false;
  bool close_after_ = false; // the response being read said Connection: close
  bool closed_ = false;      // a response with Connection: close has ended
  std::uint64_t body_bytes_ = 0;
};

// One connection ferry opened to the origin.
struct OriginPeer {
  int fd = -1;
  bool writable = true;      // no FIN or RST sent yet
  bool fin_sent = false;     // half-closed by the script (not reset)
  bool ferry_closed = false; // ferry closed or reset it (EOF or an error on reading)
  std::string received;      // what ferry sent (its requests)
  std::string sent;          // what the script sent
  std::string unsent;        // sent by the script, not yet taken by the socket
};

class Run {
public:
  Run(const Environment& env, std::string_view input)
      : env_(env), input_(input), reader_(client_requests_, echoes_, bytes_in_) {}

  // -1: the script is not played (see the file comment).
  int play() {
    readScript();
    if (std::any_of(client_requests_.begin(), client_requests_.end(),
                    [](const SentRequest& r) { return r.needs_dns; }))
      return -1;
    heap_start_ = peak_heap_ = heapInUse();
    auto store = std::make_shared<RecordingStore>(*env_.cache_settings);
    {
      const proxy::Runtime runtime{.settings = env_.settings,
                                   .cache_settings = env_.cache_settings,
                                   .access_log = env_.access_log,
                                   .store = store,
                                   .clock = &env_.clock,
                                   .other_listeners = {}};
      proxy::Worker worker(0, runtime, env_.destinations, std::make_shared<proxy::ParentHealth>());
      base_ = worker.base();
      const int listener = ::dup(env_.client_listener);
      check(listener >= 0);
      worker.addListener(listener);
      client_ = connectTo(env_.proxy_address);
      settle();
      for (const ScriptStep& step : steps_) {
        perform(step);
        settle();
      }
      check(peak_heap_ - heap_start_ <= FixedHeap + HeapPerInputByte * input_.size());
      tearDown(worker);
    }
    resetOrigins(); // connections ferry opened while it was going away
    checkStore(*store);
    return 0;
  }

private:
  struct ScriptStep {
    Op op;
    unsigned which; // an origin connection, modulo those open
    std::string bytes;
  };

  void readScript() {
    std::string_view in = input_;
    std::string client_bytes;
    while (!in.empty() && steps_.size() < MaxSteps) {
      const auto op = static_cast<unsigned char>(in.front());
      in.remove_prefix(1);
      ScriptStep step{static_cast<Op>(op % OpCount), op / OpCount, {}};
      if ((step.op == Op::ClientSend || step.op == Op::OriginSend) && !in.empty()) {
        const std::size_t length =
            std::min<std::size_t>(static_cast<unsigned char>(in.front()), in.size() - 1);
        step.bytes.assign(in.substr(1, length));
        in.remove_prefix(1 + length);
      }
      if (step.op == Op::ClientSend) {
        replaceAll(step.bytes, "{O}", env_.origin.toString());
        replaceAll(step.bytes, "{P}", std::to_string(env_.origin.port()));
        client_bytes += step.bytes;
      }
      steps_.push_back(std::move(step));
    }
    // ferry forwards an upgrade only with the protocols named (ClientSession::startTransaction).
    client_requests_ = parseRequests(client_bytes, [](const http::ConnectionOptions& options) {
      return options.upgrade && !options.upgrade_protocols.empty();
    });
  }

  void perform(const ScriptStep& step) {
    switch (step.op) {
    case Op::ClientSend:
      if (client_ >= 0 && !client_shut_) {
        client_unsent_ += step.bytes;
        bytes_in_ += step.bytes.size();
        flush(client_, client_unsent_);
      }
      return;
    case Op::ClientShutdown:
      if (client_ >= 0 && !client_shut_) {
        ::shutdown(client_, SHUT_WR);
        client_shut_ = true;
        client_unsent_.clear();
      }
      return;
    case Op::ClientReset:
      if (client_ >= 0) {
        closeWithReset(client_);
        client_ = -1;
      }
      return;
    case Op::OriginSend:
    case Op::OriginShutdown:
    case Op::OriginReset:
      break;
    }
    OriginPeer* peer = pickOrigin(step.which);
    if (!peer)
      return;
    switch (step.op) {
    case Op::OriginSend: {
      std::string bytes = step.bytes;
      if (bytes.find("{E}") != std::string::npos) {
        const auto requests = originRequests(peer->received);
        const std::string id = echoId();
        if (!requests.empty())
          echoes_.emplace(id, requests.back().path);
        replaceAll(bytes, "{E}", "X-Echo: " + id);
      }
      peer->sent += bytes;
      peer->unsent += bytes;
      bytes_in_ += bytes.size();
      flush(peer->fd, peer->unsent);
      return;
    }
    case Op::OriginShutdown:
      ::shutdown(peer->fd, SHUT_WR);
      peer->writable = false;
      peer->fin_sent = true;
      peer->unsent.clear();
      return;
    case Op::OriginReset:
      closeWithReset(peer->fd);
      peer->fd = -1;
      peer->writable = false;
      return;
    case Op::ClientSend:
    case Op::ClientShutdown:
    case Op::ClientReset:
      return;
    }
  }

  // A fresh X-Echo id: 16 hex digits of a hash of the input and of the ids before it.
  std::string echoId() {
    BodyPrint print;
    print.add(input_);
    print.add(std::to_string(echo_count_++));
    static constexpr char Hex[] = "0123456789abcdef";
    std::string id;
    for (int shift = 60; shift >= 0; shift -= 4)
      id += Hex[(print.hash >> shift) & 0xf];
    return id;
  }

  OriginPeer* pickOrigin(unsigned which) {
    std::vector<OriginPeer*> open;
    for (auto& peer : origins_)
      if (peer.writable && !peer.ferry_closed)
        open.push_back(&peer);
    return open.empty() ? nullptr : open[which % open.size()];
  }

  // Sends what the socket takes now; the rest waits for the next pass. An error drops it.
  static bool flush(int fd, std::string& unsent) {
    if (unsent.empty())
      return false;
    const ssize_t n = ::send(fd, unsent.data(), unsent.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
      unsent.clear();
    if (n <= 0)
      return false;
    unsent.erase(0, static_cast<std::size_t>(n));
    return true;
  }

  // Everything readable from fd into `out`; false when nothing came. Sets `eof` on a FIN or
  // an error (a reset from ferry).
  static bool drain(int fd, std::string& out, bool& eof) {
    bool moved = false;
    char buffer[16384];
    for (;;) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n > 0) {
        out.append(buffer, static_cast<std::size_t>(n));
        moved = true;
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        eof = true;
        moved = true;
      }
      return moved;
    }
  }

  // Moves bytes between ferry's sockets and the script's peers; whether anything moved.
  bool pumpPeers() {
    bool moved = false;
    for (;;) {
      const int fd =
          ::accept4(env_.origin_listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0)
        break;
      origins_.push_back(OriginPeer{});
      origins_.back().fd = fd;
      moved = true;
    }
    if (client_ >= 0 && !client_eof_) {
      moved |= flush(client_, client_unsent_);
      std::string bytes;
      moved |= drain(client_, bytes, client_eof_);
      if (!bytes.empty())
        reader_.feed(bytes);
      if (client_eof_)
        reader_.finish();
    }
    for (auto& peer : origins_) {
      if (peer.fd < 0 || peer.ferry_closed)
        continue;
      if (peer.writable)
        moved |= flush(peer.fd, peer.unsent);
      moved |= drain(peer.fd, peer.received, peer.ferry_closed);
    }
    return moved;
  }

  void settle() {
    int quiet = 0;
    for (std::size_t pass = 0; pass < MaxPasses && quiet < QuietPasses; ++pass) {
      event_base_loop(base_, EVLOOP_NONBLOCK);
      const bool moved = pumpPeers();
      const bool busy = event_base_get_num_events(base_, EVENT_BASE_COUNT_ACTIVE) > 0;
      quiet = moved || busy ? 0 : quiet + 1;
      peak_heap_ = std::max(peak_heap_, heapInUse());
    }
  }

  // Resets every connection, lets ferry see it, then drains the worker as a SIGTERM would
  // (shutdown_grace 0: the busy sessions are closed at once).
  void tearDown(proxy::Worker& worker) {
    if (client_ >= 0)
      closeWithReset(client_);
    client_ = -1;
    resetOrigins();
    settle();
    worker.beginDrain();
    settle();
  }

  // Accepts what waits in the origin's accept queue, then resets every origin connection.
  void resetOrigins() {
    pumpPeers();
    for (auto& peer : origins_) {
      if (peer.fd >= 0)
        closeWithReset(peer.fd);
      peer.fd = -1;
      peer.writable = false;
    }
  }

  // Every Entry completed has the body of a response the origin sent whole, as a parser with
  // ferry's limits reads the bytes of each connection (answering its requests in order).
  void checkStore(const RecordingStore& store) {
    std::vector<BodyPrint> whole;
    for (const auto& peer : origins_) {
      const auto requests = originRequests(peer.received);
      http::ResponseParser parser(http::fuzz::fuzzLimits());
      std::size_t next = 0;
      BodyPrint body;
      std::string_view bytes = peer.sent;
      bool done = false;
      const auto expectNext = [&] {
        if (next < requests.size())
          parser.expect(requests[next].method, requests[next].upgrade);
      };
      expectNext();
      while (!done) {
        http::Step step = parser.parse(bytes);
        bytes.remove_prefix(step.consumed);
        if (step.event == http::Event::NeedMore) {
          if (!peer.fin_sent)
            break;
          step = parser.finish();
          done = true;
        }
        if (step.event == http::Event::Body)
          body.add(step.body);
        if (step.event == http::Event::MessageEnd) {
          if (parser.head().status == 101)
            break;
          whole.push_back(body);
          body = {};
          ++next;
          expectNext();
        }
        if (step.event == http::Event::Error)
          break;
      }
    }
    for (const BodyPrint& completed : store.completed())
      check(std::find(whole.begin(), whole.end(), completed) != whole.end());
    store.memory().checkInvariantsForTest();
  }

  const Environment& env_;
  std::string_view input_;
  std::vector<ScriptStep> steps_;
  std::vector<SentRequest> client_requests_;
  Echoes echoes_;
  unsigned echo_count_ = 0;
  std::uint64_t bytes_in_ = 0;
  ClientReader reader_;
  event_base* base_ = nullptr;
  int client_ = -1;
  bool client_shut_ = false;
  bool client_eof_ = false;
  std::string client_unsent_;
  std::vector<OriginPeer> origins_;
  std::size_t heap_start_ = 0;
  std::size_t peak_heap_ = 0;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Environment& env = environment();
  const std::size_t heap_before = heapInUse();
  int verdict = 0;
  {
    Run run(env, std::string_view(reinterpret_cast<const char*>(data), size));
    verdict = run.play();
  }
  check(heapInUse() <= heap_before + LeftoverHeap);
  return verdict;
}
