// The soak: the real ferry binary for N seconds between clients and an origin that misbehave
// at random (resets mid-body, stalls, garbage, 1xx, half requests, pipelined bursts, CONNECT).
// It fails on a crash, a sanitizer report, a leaked fd, a wrong, malformed or missing response
// (a well-behaved origin path answered but the client got nothing whole), a failed final
// request, or an unclean SIGTERM exit. Then a second ferry meets hostile peers for some seconds
// (junk after responses, 1xx floods, thousands of pipelined requests left unread); it fails
// when an answer is not its own request's, byte for byte, or when ferry's RSS grows past a
// bound. It never asserts on timing.
//
//   soak --seconds 60          the full soak, run by hand (e.g. build/asan/tests/soak/soak)
//   soak --seconds 15          what ctest runs as soak.short (label soak)
//   options: --clients N (16)  --seed S (random)  --ferry PATH (the ferry built beside it)
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// ferry's timeouts in the soak config; the checks at the end are derived from them.
constexpr auto ClientHeader = 2s;
constexpr auto ClientIdle = 5s;
constexpr auto OriginResponse = 3s;
constexpr auto OriginIdle = 5s;
constexpr auto ShutdownGrace = 3s;

constexpr auto ReadIdle = 15s;              // a client waits this long for a byte, then gives up
constexpr auto OriginKeepIdle = 30s;        // longer than ferry's origin_idle: ferry closes first
constexpr auto AfterRun = 25s;              // hard bound on in-flight actions after the run ends
constexpr std::size_t MaxHead = 128 * 1024; // bytes of a message head we accept
constexpr std::size_t MaxBody = 4 * 1024 * 1024;
constexpr std::size_t MaxOriginThreads = 512;
constexpr std::size_t PathCount = 200; // /p/0 .. /p/199, repeated so the cache is exercised
const std::string LastModified = "Mon, 01 Jan 2024 00:00:00 GMT";

std::atomic<bool> stopClients{false};
std::atomic<Clock::time_point> hardDeadline{Clock::time_point::max()};

// --- random numbers --------------------------------------------------------------------------

struct Rng {
  std::mt19937_64 gen;
  explicit Rng(std::uint64_t seed) : gen(seed) {}
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : gen() % n; }
  std::size_t between(std::size_t lo, std::size_t hi) { return lo + below(hi - lo + 1); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(gen) < p; }
  template <class T> const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }
  // Index drawn with the given weights.
  std::size_t weighted(const std::vector<unsigned>& weights) {
    unsigned total = 0;
    for (auto w : weights)
      total += w;
    auto r = below(total);
    for (std::size_t i = 0; i < weights.size(); ++i) {
      if (r < weights[i])
        return i;
      r -= weights[i];
    }
    return weights.size() - 1;
  }
  std::string bytes(std::size_t n) {
    std::string s(n, '\0');
    for (auto& c : s)
      c = static_cast<char>(gen());
    return s;
  }
};

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s)
    h = (h ^ c) * 1099511628211ull;
  return h;
}

// Byte i of the body served for a path: position-dependent, so a shifted, mixed or truncated
// body never matches.
char bodyByte(std::uint64_t seed, std::size_t i) {
  std::uint64_t x = seed + i * 0x9E3779B97F4A7C15ull;
  x ^= x >> 29;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 32;
  return static_cast<char>('a' + x % 26);
}

std::string expectedBody(std::string_view path, std::size_t from, std::size_t to) {
  const auto seed = fnv1a(path);
  std::string s;
  s.reserve(to - from);
  for (auto i = from; i < to; ++i)
    s += bodyByte(seed, i);
  return s;
}

std::string etagOf(std::string_view path) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(fnv1a(path)));
  return buf;
}

// --- what each origin path does --------------------------------------------------------------

enum class Mode {
  OkLength,      // Content-Length
  OkChunked,     // chunked, random chunk sizes, sometimes a trailer
  OkClose,       // close-delimited
  OkInterim,     // 100 or 103 first, then a Content-Length response
  OkStallShort,  // a pause shorter than origin_response before the head or mid-body
  ResetMidBody,  // part of the body, then RST (SO_LINGER 0)
  CloseMidBody,  // part of the body, then FIN
  StallHeadLong, // no head for longer than origin_response
  StallBodyLong, // part of the body, then a pause longer than origin_response
  Garbage,       // bytes that are not a valid response
  NoAnswer,      // close without a byte
  ResetNoAnswer, // RST without a byte
  Random,        // any of the above, drawn per request
};
constexpr std::size_t ModeCount = 13;
const char* const ModeNames[ModeCount] = {
    "ok-length",      "ok-chunked",      "ok-close",        "ok-interim",      "ok-stall-short",
    "reset-mid-body", "close-mid-body",  "stall-head-long", "stall-body-long", "garbage",
    "no-answer",      "reset-no-answer", "random"};

struct Behaviour {
  Mode mode = Mode::OkLength;
  std::size_t size = 0;
  int max_age = -1; // -1: no Cache-Control, -2: no-store, -3: private, else max-age seconds
  bool last_modified = false;
  bool honour_range = false;
};

std::size_t randomSize(Rng& rng) {
  const auto r = rng.below(10);
  if (r < 3)
    return rng.between(0, 1024);
  if (r < 8)
    return rng.between(1024, 32 * 1024);
  return rng.between(32 * 1024, 200 * 1024);
}

std::vector<Behaviour> makeTable(std::uint64_t seed) {
  Rng rng(seed);
  const std::vector<unsigned> weights = {20, 12, 6, 5, 5, 8, 8, 3, 3, 8, 5, 4, 8};
  std::vector<Behaviour> table(PathCount);
  for (auto& b : table) {
    b.mode = static_cast<Mode>(rng.weighted(weights));
    b.size = randomSize(rng);
    const auto r = rng.below(20);
    b.max_age = r < 7 ? -1 : r < 16 ? static_cast<int>(rng.between(1, 30)) : r < 18 ? -2 : -3;
    b.last_modified = rng.chance(0.5);
    b.honour_range = rng.chance(0.5);
  }
  return table;
}

std::vector<Behaviour> pathTable;

// The behaviour of an origin path: /p/<n>[?...] from the table, /w/<size>[?...] always well
// behaved and uncached; anything else a small well-behaved 404-free answer.
Behaviour behaviourOf(std::string_view path) {
  const auto q = path.find('?');
  const auto bare = path.substr(0, q);
  Behaviour b;
  if (bare.rfind("/p/", 0) == 0) {
    const auto n = std::strtoul(std::string(bare.substr(3)).c_str(), nullptr, 10);
    if (n < pathTable.size())
      return pathTable[n];
  }
  if (bare.rfind("/w/", 0) == 0)
    b.size = std::min<std::size_t>(std::strtoul(std::string(bare.substr(3)).c_str(), nullptr, 10),
                                   1024 * 1024);
  else
    b.size = 16;
  return b;
}

// The origin answers these paths properly (perhaps after a pause shorter than ferry's
// origin_response): ferry must relay a complete response.
bool isWellBehaved(Mode m) {
  return m == Mode::OkLength || m == Mode::OkChunked || m == Mode::OkClose ||
         m == Mode::OkInterim || m == Mode::OkStallShort;
}

// A complete 200/206 for these paths must carry exactly the expected body.
bool isVerifiable(Mode m) {
  return m != Mode::Garbage && m != Mode::Random;
}

// --- sockets ---------------------------------------------------------------------------------

enum class Io { Ok, Closed, Reset, Timeout, Overflow };

Io waitFor(int fd, short events, Clock::time_point deadline, const std::atomic<bool>* stop) {
  for (;;) {
    const auto now = Clock::now();
    if (now >= deadline || (stop && stop->load()))
      return Io::Timeout;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count() + 1, 100)));
    if (r < 0 && errno != EINTR)
      return Io::Reset;
    if (r > 0)
      return Io::Ok; // errors and hang-ups show on the next send/recv
  }
}

// A non-blocking TCP socket with a read buffer; every operation is bounded by `idle` per step,
// by `hard` overall and (origin side) by a stop flag.
class Socket {
public:
  Socket() = default;
  explicit Socket(int fd, const std::atomic<bool>* stop = nullptr) : fd_(fd), stop_(stop) {}
  ~Socket() { close(); }
  Socket(Socket&& o) noexcept
      : in(std::move(o.in)), fd_(std::exchange(o.fd_, -1)), stop_(o.stop_), idle_(o.idle_) {}
  Socket& operator=(Socket&&) = delete;
  Socket(const Socket&) = delete;

  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void setIdle(Clock::duration idle) { idle_ = idle; }

  void close() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }
  // RST instead of FIN.
  void reset() {
    if (fd_ < 0)
      return;
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close();
  }
  // FIN, then read and discard briefly so the peer's last bytes do not turn it into a RST.
  void closeGracefully() {
    if (fd_ < 0)
      return;
    ::shutdown(fd_, SHUT_WR);
    const auto until = std::min(Clock::now() + 500ms, hardDeadline.load());
    for (std::size_t i = 0; i < 64 && fill(until) == Io::Ok; ++i)
      in.clear();
    close();
  }

  Io send(std::string_view data) {
    const auto deadline = std::min(Clock::now() + idle_, hardDeadline.load());
    while (!data.empty()) {
      const auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        data.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (auto w = waitFor(fd_, POLLOUT, deadline, stop_); w != Io::Ok)
          return w;
        continue;
      }
      return Io::Reset;
    }
    return Io::Ok;
  }

  // Appends what arrives to `in`.
  Io fill() { return fill(std::min(Clock::now() + idle_, hardDeadline.load())); }
  Io fill(Clock::time_point deadline) {
    char tmp[65536];
    for (;;) {
      const auto n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n > 0) {
        in.append(tmp, static_cast<std::size_t>(n));
        return Io::Ok;
      }
      if (n == 0)
        return Io::Closed;
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (auto w = waitFor(fd_, POLLIN, deadline, stop_); w != Io::Ok)
          return w;
        continue;
      }
      return Io::Reset;
    }
  }

  // Until `delim` is in `in`; `at` is its offset.
  Io readUntil(std::string_view delim, std::size_t cap, std::size_t& at) {
    std::size_t from = 0;
    for (;;) {
      if (auto p = in.find(delim, from); p != std::string::npos) {
        at = p;
        return Io::Ok;
      }
      if (in.size() > cap)
        return Io::Overflow;
      from = in.size() >= delim.size() ? in.size() - delim.size() + 1 : 0;
      if (auto io = fill(); io != Io::Ok)
        return io;
    }
  }

  Io readAtLeast(std::size_t n) {
    while (in.size() < n)
      if (auto io = fill(); io != Io::Ok)
        return io;
    return Io::Ok;
  }

  // Waits up to `d` doing nothing; false when the peer closed or reset meanwhile.
  bool pause(Clock::duration d) {
    const auto until = std::min(Clock::now() + d, hardDeadline.load());
    while (Clock::now() < until) {
      if (stop_ && stop_->load())
        return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0) {
        if (p.revents & (POLLERR | POLLHUP))
          return false;
        char c;
        const auto n = ::recv(fd_, &c, 1, MSG_PEEK);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
          return false;
        std::this_thread::sleep_for(50ms); // data waiting: leave it, keep pausing
      }
    }
    return true;
  }

  std::string in;

private:
  int fd_ = -1;
  const std::atomic<bool>* stop_ = nullptr;
  Clock::duration idle_ = ReadIdle;
};

void setNoDelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// Connected socket, or an invalid one when the connect failed or timed out.
Socket connectTo(std::uint16_t port, Clock::duration timeout = 5s) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return Socket();
  Socket s(fd);
  setNoDelay(fd);
  const auto addr = loopback(port);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0)
    return s;
  if (errno != EINPROGRESS)
    return Socket();
  if (waitFor(fd, POLLOUT, std::min(Clock::now() + timeout, hardDeadline.load()), nullptr) !=
      Io::Ok)
    return Socket();
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  return err == 0 ? std::move(s) : Socket();
}

// --- message heads ---------------------------------------------------------------------------

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool isTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("!#$%&'*+-.^_`|~", c);
}

struct Head {
  std::string start;
  std::vector<std::pair<std::string, std::string>> fields;

  std::optional<std::string> get(std::string_view name) const {
    for (const auto& [n, v] : fields)
      if (iequals(n, name))
        return v;
    return std::nullopt;
  }
  std::size_t count(std::string_view name) const {
    return static_cast<std::size_t>(std::count_if(
        fields.begin(), fields.end(), [&](const auto& f) { return iequals(f.first, name); }));
  }
  bool hasToken(std::string_view name, std::string_view token) const {
    for (const auto& [n, v] : fields) {
      if (!iequals(n, name))
        continue;
      std::stringstream ss(v);
      std::string item;
      while (std::getline(ss, item, ',')) {
        const auto b = item.find_first_not_of(" \t");
        const auto e = item.find_last_not_of(" \t");
        if (b != std::string::npos && iequals(item.substr(b, e - b + 1), token))
          return true;
      }
    }
    return false;
  }
};

// Strict: CRLF lines, `name: value`, token names, no obs-fold, no control bytes.
bool parseHead(std::string_view text, Head& out) {
  std::size_t pos = text.find("\r\n");
  out.start = std::string(text.substr(0, pos));
  while (pos != std::string_view::npos) {
    pos += 2;
    auto end = text.find("\r\n", pos);
    auto line = text.substr(pos, end == std::string_view::npos ? text.size() - pos : end - pos);
    pos = end;
    if (line.empty())
      continue;
    const auto colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos)
      return false;
    auto name = line.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), isTokenChar))
      return false;
    auto value = line.substr(colon + 1);
    for (char c : value)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
        return false;
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
      value.remove_suffix(1);
    out.fields.emplace_back(std::string(name), std::string(value));
  }
  for (char c : out.start)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return false;
  return true;
}

std::optional<std::size_t> parseSize(std::string_view s, int base = 10) {
  if (s.empty() || s.size() > 15)
    return std::nullopt;
  std::size_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return std::nullopt;
    v = v * static_cast<std::size_t>(base) + static_cast<std::size_t>(d);
  }
  return v;
}

// --- reading a response (client side) --------------------------------------------------------

enum class Got { Complete, Timeout, Closed, Reset, Truncated, Malformed };
const char* gotName(Got g) {
  switch (g) {
  case Got::Complete:
    return "complete";
  case Got::Timeout:
    return "timeout";
  case Got::Closed:
    return "closed-before-response";
  case Got::Reset:
    return "reset-before-response";
  case Got::Truncated:
    return "truncated";
  case Got::Malformed:
    return "malformed";
  }
  return "?";
}

struct Response {
  int status = 0;
  Head head;
  std::string body;
  bool keep_alive = false;
  bool close_delimited = false; // the body ended with the connection
  std::string why;              // what was malformed
};

Got fromIo(Io io, bool started) {
  switch (io) {
  case Io::Timeout:
    return Got::Timeout;
  case Io::Overflow:
    return Got::Malformed;
  case Io::Closed:
    return started ? Got::Truncated : Got::Closed;
  default:
    return started ? Got::Truncated : Got::Reset;
  }
}

Got malformed(Response& r, std::string why) {
  r.why = std::move(why);
  return Got::Malformed;
}

Got readChunked(Socket& s, Response& r) {
  for (;;) {
    std::size_t at = 0;
    if (auto io = s.readUntil("\r\n", 4096, at); io != Io::Ok)
      return io == Io::Overflow ? malformed(r, "chunk-size line too long") : fromIo(io, true);
    std::string line = s.in.substr(0, at);
    s.in.erase(0, at + 2);
    const auto size = parseSize(line.substr(0, line.find(';')), 16);
    if (!size)
      return malformed(r, "bad chunk size '" + line + "'");
    if (*size == 0) {
      for (;;) { // trailer section
        if (auto io = s.readUntil("\r\n", MaxHead, at); io != Io::Ok)
          return io == Io::Overflow ? malformed(r, "trailers too long") : fromIo(io, true);
        const bool last = at == 0;
        s.in.erase(0, at + 2);
        if (last)
          return Got::Complete;
      }
    }
    if (r.body.size() + *size > MaxBody)
      return malformed(r, "chunked body too large");
    if (auto io = s.readAtLeast(*size + 2); io != Io::Ok)
      return fromIo(io, true);
    if (s.in.compare(*size, 2, "\r\n") != 0)
      return malformed(r, "chunk data not followed by CRLF");
    r.body.append(s.in, 0, *size);
    s.in.erase(0, *size + 2);
  }
}

// One response, skipping interim (1xx) ones, which an HTTP/1.0 request must not get.
// `head_request`: no body whatever the head says.
Got readResponse(Socket& s, bool head_request, bool http10_request, Response& r) {
  for (;;) {
    std::size_t at = 0;
    if (auto io = s.readUntil("\r\n\r\n", MaxHead, at); io != Io::Ok)
      return io == Io::Overflow ? malformed(r, "head too large") : fromIo(io, !s.in.empty());
    r = Response();
    if (!parseHead(std::string_view(s.in).substr(0, at + 2), r.head))
      return malformed(r, "bad head: " + s.in.substr(0, std::min<std::size_t>(at, 200)));
    s.in.erase(0, at + 4);
    const auto& line = r.head.start;
    if (line.size() < 12 || line.compare(0, 7, "HTTP/1.") != 0 ||
        (line[7] != '0' && line[7] != '1') || line[8] != ' ' ||
        !std::isdigit(static_cast<unsigned char>(line[9])) ||
        !std::isdigit(static_cast<unsigned char>(line[10])) ||
        !std::isdigit(static_cast<unsigned char>(line[11])) ||
        (line.size() > 12 && line[12] != ' '))
      return malformed(r, "bad status line: " + line);
    r.status = std::stoi(line.substr(9, 3));
    if (r.status < 100)
      return malformed(r, "status < 100");
    if (r.status == 101)
      return malformed(r, "101 without an upgrade request");
    if (r.status < 200) {
      // RFC 9110 §15.2: HTTP/1.0 has no 1xx; a server must not send one to an HTTP/1.0 client.
      if (http10_request)
        return malformed(r, "interim " + std::to_string(r.status) + " to an HTTP/1.0 request");
      continue;
    }
    const bool http11 = line[7] == '1';
    const bool close = r.head.hasToken("Connection", "close");
    r.keep_alive = !close && (http11 || r.head.hasToken("Connection", "keep-alive"));
    const auto te = r.head.get("Transfer-Encoding");
    const auto cls = r.head.count("Content-Length");
    if (te && cls)
      return malformed(r, "both Transfer-Encoding and Content-Length");
    if (cls > 1)
      return malformed(r, "several Content-Length fields");
    if (te && http10_request)
      return malformed(r, "Transfer-Encoding in a response to HTTP/1.0");
    if (head_request || r.status == 204 || r.status == 304)
      return Got::Complete;
    if (te) {
      if (!iequals(*te, "chunked"))
        return malformed(r, "Transfer-Encoding: " + *te);
      return readChunked(s, r);
    }
    if (cls) {
      const auto len = parseSize(*r.head.get("Content-Length"));
      if (!len || *len > MaxBody)
        return malformed(r, "bad Content-Length");
      const auto io = s.readAtLeast(*len);
      const auto take = std::min(*len, s.in.size());
      r.body.assign(s.in, 0, take);
      s.in.erase(0, take);
      return io == Io::Ok ? Got::Complete : fromIo(io, true);
    }
    r.keep_alive = false;
    r.close_delimited = true;
    for (;;) {
      const auto io = s.fill();
      if (s.in.size() > MaxBody)
        return malformed(r, "close-delimited body too large");
      if (io == Io::Closed) {
        r.body = std::move(s.in);
        s.in.clear();
        return Got::Complete;
      }
      if (io != Io::Ok)
        return fromIo(io, true);
    }
  }
}

// --- results ---------------------------------------------------------------------------------

struct Stats {
  std::mutex mutex;
  std::map<std::string, std::uint64_t> outcomes;
  // Integrity failures (wrong bodies, malformed or missing responses): kind -> examples.
  std::map<std::string, std::vector<std::string>> problems;
  std::map<std::string, std::uint64_t> problem_counts;
  std::uint64_t problem_count = 0;
  std::vector<std::string> stuck; // no byte from ferry for ReadIdle
  std::uint64_t stuck_count = 0;
  std::atomic<std::uint64_t> requests{0};

  void count(const std::string& what) {
    std::lock_guard lock(mutex);
    ++outcomes[what];
  }
  void problem(const std::string& kind, const std::string& example) {
    std::lock_guard lock(mutex);
    if (auto& examples = problems[kind]; examples.size() < 5)
      examples.push_back(example);
    ++problem_counts[kind];
    ++problem_count;
  }
  void stuckOne(const std::string& what) {
    std::lock_guard lock(mutex);
    if (stuck.size() < 20)
      stuck.push_back(what);
    ++stuck_count;
  }
};

Stats stats;
std::uint16_t originPort = 0;
std::uint16_t ferryPort = 0;

// --- the origin ------------------------------------------------------------------------------

struct OriginRequest {
  std::string method;
  std::string path;
  bool http10 = false;
  Head head;
  std::size_t body_bytes = 0;
};

enum class ReqRead { Ok, Gone, Bad };

ReqRead readRequest(Socket& s, OriginRequest& req) {
  std::size_t at = 0;
  if (auto io = s.readUntil("\r\n\r\n", 64 * 1024, at); io != Io::Ok)
    return io == Io::Overflow ? ReqRead::Bad : ReqRead::Gone;
  req = OriginRequest();
  if (!parseHead(std::string_view(s.in).substr(0, at + 2), req.head))
    return ReqRead::Bad;
  s.in.erase(0, at + 4);
  const auto& line = req.head.start;
  const auto sp1 = line.find(' ');
  const auto sp2 = line.rfind(' ');
  if (sp1 == std::string::npos || sp2 == sp1)
    return ReqRead::Bad;
  req.method = line.substr(0, sp1);
  req.path = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const auto version = line.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0")
    return ReqRead::Bad;
  req.http10 = version == "HTTP/1.0";
  if (req.path.rfind("http://", 0) == 0) {
    const auto slash = req.path.find('/', 7);
    req.path = slash == std::string::npos ? "/" : req.path.substr(slash);
  }
  if (req.path.empty() || req.path[0] != '/')
    return ReqRead::Bad;
  // RFC 9110 §10.1.1: answer an expectation before waiting for the body.
  if (req.head.hasToken("Expect", "100-continue") &&
      s.send("HTTP/1.1 100 Continue\r\n\r\n") != Io::Ok)
    return ReqRead::Gone;
  if (const auto te = req.head.get("Transfer-Encoding")) {
    if (!iequals(*te, "chunked") || req.head.count("Content-Length"))
      return ReqRead::Bad;
    Response sink;
    const auto got = readChunked(s, sink);
    req.body_bytes = sink.body.size();
    return got == Got::Complete    ? ReqRead::Ok
           : got == Got::Malformed ? ReqRead::Bad
                                   : ReqRead::Gone;
  }
  if (const auto cl = req.head.get("Content-Length")) {
    const auto len = parseSize(*cl);
    if (!len || *len > MaxBody || req.head.count("Content-Length") > 1)
      return ReqRead::Bad;
    if (s.readAtLeast(*len) != Io::Ok)
      return ReqRead::Gone;
    s.in.erase(0, *len);
    req.body_bytes = *len;
  }
  return ReqRead::Ok;
}

std::string chunkedBody(Rng& rng, std::string_view body) {
  std::string out;
  while (!body.empty()) {
    const auto n = std::min<std::size_t>(body.size(), rng.between(1, 16 * 1024));
    char size[32];
    std::snprintf(size, sizeof size, "%zx", n);
    out += size;
    if (rng.chance(0.05))
      out += ";ext=1";
    out += "\r\n";
    out.append(body.substr(0, n));
    out += "\r\n";
    body.remove_prefix(n);
  }
  out += rng.chance(0.2) ? "0\r\nX-Trailer: t\r\n\r\n" : "0\r\n\r\n";
  return out;
}

// A response that is not one: what Garbage sends.
std::string garbageResponse(Rng& rng) {
  switch (rng.below(12)) {
  case 0:
    return rng.bytes(rng.between(1, 2048));
  case 1:
    return "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!";
  case 2:
    return "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: "
           "chunked\r\n\r\n5\r\nhello\r\n0"
           "\r\n\r\n";
  case 3:
    return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n";
  case 4:
    return "HTTP/1.1 abc Nope\r\nContent-Length: 0\r\n\r\n";
  case 5:
    return "HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\nhi";
  case 6:
    return "HTTP/1.1 200 OK\nContent-Length: 2\n\nhi";
  case 7:
    return std::string("HTTP/1.1 200 OK\r\nX-Nul: a\0b\r\nContent-Length: 2\r\n\r\nhi", 49);
  case 8:
    return "HTTP/1.1 200 OK\r\nX-Big: " + std::string(100 * 1024, 'x') + "\r\n\r\n";
  case 9:
    return "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nhello";
  case 10:
    return "ICY 200 OK\r\n\r\nhello";
  default:
    return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
           std::string("ffffffffffffffffff") + "\r\nhello\r\n";
  }
}

// Answers one request per `mode`; returns whether the connection stays open.
bool respond(Socket& s, const OriginRequest& req, Rng& rng) {
  auto b = behaviourOf(req.path);
  if (b.mode == Mode::Random)
    b.mode = static_cast<Mode>(rng.below(ModeCount - 1));
  const bool head = req.method == "HEAD";
  const bool close_requested = req.head.hasToken("Connection", "close") ||
                               (req.http10 && !req.head.hasToken("Connection", "keep-alive"));
  const auto etag = etagOf(req.path);

  switch (b.mode) {
  case Mode::Garbage:
    s.send(garbageResponse(rng));
    s.closeGracefully();
    return false;
  case Mode::NoAnswer:
    s.closeGracefully();
    return false;
  case Mode::ResetNoAnswer:
    s.reset();
    return false;
  case Mode::StallHeadLong:
    if (!s.pause(OriginResponse + std::chrono::milliseconds(rng.between(500, 3000)))) {
      s.close();
      return false;
    }
    b.mode = Mode::OkLength;
    break;
  default:
    break;
  }

  std::string fields = "ETag: " + etag + "\r\n";
  if (b.last_modified)
    fields += "Last-Modified: " + LastModified + "\r\n";
  if (b.max_age >= 0)
    fields += "Cache-Control: max-age=" + std::to_string(b.max_age) + "\r\n";
  else if (b.max_age == -2)
    fields += "Cache-Control: no-store\r\n";
  else if (b.max_age == -3)
    fields += "Cache-Control: private\r\n";
  if (req.method == "POST")
    fields += "X-Got: " + std::to_string(req.body_bytes) + "\r\n";

  // Conditionals and ranges, only on the well-behaved framings.
  const bool plain = b.mode == Mode::OkLength || b.mode == Mode::OkChunked ||
                     b.mode == Mode::OkInterim || b.mode == Mode::OkStallShort;
  if (plain && (req.method == "GET" || head)) {
    const auto inm = req.head.get("If-None-Match");
    const auto ims = req.head.get("If-Modified-Since");
    if ((inm && *inm == etag) || (!inm && ims && b.last_modified && *ims == LastModified)) {
      if (s.send("HTTP/1.1 304 Not Modified\r\n" + fields + "\r\n") != Io::Ok)
        return false;
      return !close_requested;
    }
  }
  std::size_t from = 0;
  std::size_t to = b.size;
  std::string status = "200 OK";
  if (plain && b.mode != Mode::OkChunked && b.honour_range && req.method == "GET") {
    if (auto range = req.head.get("Range"); range && range->rfind("bytes=", 0) == 0) {
      const auto dash = range->find('-');
      const auto first = parseSize(range->substr(6, dash - 6));
      const auto last =
          dash == std::string::npos ? std::nullopt : parseSize(range->substr(dash + 1));
      if (first && last && *first <= *last && *last < b.size &&
          range->find(',') == std::string::npos) {
        from = *first;
        to = *last + 1;
        status = "206 Partial Content";
        fields += "Content-Range: bytes " + std::to_string(from) + "-" + std::to_string(*last) +
                  "/" + std::to_string(b.size) + "\r\n";
      }
    }
  }
  const auto body = head ? std::string() : expectedBody(req.path, from, to);
  const bool chunked =
      b.mode == Mode::OkChunked || ((b.mode == Mode::ResetMidBody || b.mode == Mode::CloseMidBody ||
                                     b.mode == Mode::StallBodyLong) &&
                                    rng.chance(0.5));
  const bool close_delimited = b.mode == Mode::OkClose;
  std::string out = "HTTP/1.1 " + status + "\r\n" + fields;
  if (close_delimited)
    out += "Connection: close\r\n";
  else if (chunked && !req.http10)
    out += "Transfer-Encoding: chunked\r\n";
  else
    out += "Content-Length: " + std::to_string(to - from) + "\r\n";
  if (close_requested)
    out += "Connection: close\r\n";
  out += "\r\n";
  const auto wire = (chunked && !req.http10 && !head) ? chunkedBody(rng, body) : body;

  if (b.mode == Mode::OkInterim) {
    const auto interim =
        rng.chance(0.5)
            ? std::string("HTTP/1.1 100 Continue\r\n\r\n")
            : std::string("HTTP/1.1 103 Early Hints\r\nLink: </x.css>; rel=preload\r\n\r\n");
    out = interim + out;
  }
  const bool stall_before = b.mode == Mode::OkStallShort && rng.chance(0.5);
  if (stall_before && !s.pause(std::chrono::milliseconds(rng.between(100, 1500))))
    return false;

  const bool breaks = b.mode == Mode::ResetMidBody || b.mode == Mode::CloseMidBody;
  const bool stalls =
      b.mode == Mode::StallBodyLong || (b.mode == Mode::OkStallShort && !stall_before);
  if (!breaks && !stalls) {
    if (s.send(out + wire) != Io::Ok)
      return false;
  } else {
    const auto cut = wire.empty() ? 0 : rng.below(wire.size());
    if (s.send(out + wire.substr(0, cut)) != Io::Ok)
      return false;
    if (b.mode == Mode::ResetMidBody) {
      std::this_thread::sleep_for(std::chrono::milliseconds(rng.below(20)));
      s.reset();
      return false;
    }
    if (b.mode == Mode::CloseMidBody) {
      s.closeGracefully();
      return false;
    }
    const auto pause = b.mode == Mode::StallBodyLong
                           ? OriginResponse + std::chrono::milliseconds(rng.between(500, 3000))
                           : std::chrono::milliseconds(rng.between(100, 1500));
    if (!s.pause(pause))
      return false;
    if (s.send(wire.substr(cut)) != Io::Ok)
      return false;
  }
  if (close_delimited || close_requested) {
    s.closeGracefully();
    return false;
  }
  return true;
}

// Answers one request; returns whether the connection stays open.
using Responder = bool (*)(Socket&, const OriginRequest&, Rng&);

void serveOriginConnection(int fd, std::uint64_t seed, const std::atomic<bool>* stop,
                           Responder respond) {
  Socket s(fd, stop);
  setNoDelay(fd);
  Rng rng(seed);
  s.setIdle(OriginKeepIdle);
  for (;;) {
    OriginRequest req;
    const auto got = readRequest(s, req);
    if (got == ReqRead::Gone)
      return;
    if (got == ReqRead::Bad) {
      s.send("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      s.closeGracefully();
      return;
    }
    if (!respond(s, req, rng) || !s.valid())
      return;
  }
}

class Origin {
public:
  // Binds 127.0.0.1:0; start() runs the accept loop on its own thread, each connection
  // answered by `respond` on a thread of its own.
  Origin() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    auto addr = loopback(0);
    socklen_t len = sizeof addr;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listener_, 512) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      std::perror("origin: bind/listen");
      std::exit(2);
    }
    port_ = ntohs(addr.sin_port);
  }
  ~Origin() { stop(); }

  std::uint16_t port() const { return port_; }
  std::uint64_t connections() const { return accepted_; }

  void start(std::uint64_t seed, Responder respond) {
    acceptor_ = std::thread([this, seed, respond] { acceptLoop(seed, respond); });
  }

  void stop() {
    stop_ = true;
    if (acceptor_.joinable())
      acceptor_.join();
    for (auto& w : workers_)
      w.thread.join();
    workers_.clear();
    if (listener_ >= 0)
      ::close(listener_);
    listener_ = -1;
  }

private:
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  void acceptLoop(std::uint64_t seed, Responder respond) {
    Rng rng(seed);
    while (!stop_) {
      workers_.remove_if([](Worker& w) {
        if (!w.done->load())
          return false;
        w.thread.join();
        return true;
      });
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0)
        continue;
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0)
        continue;
      ++accepted_;
      if (workers_.size() >= MaxOriginThreads) {
        ::close(fd); // overloaded: one more way for an origin to misbehave
        continue;
      }
      auto done = std::make_shared<std::atomic<bool>>(false);
      const auto conn_seed = rng.gen();
      workers_.push_back(Worker{std::thread([this, fd, done, conn_seed, respond] {
                                  serveOriginConnection(fd, conn_seed, &stop_, respond);
                                  *done = true;
                                }),
                                done});
    }
  }

  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::thread acceptor_;
  std::list<Worker> workers_;
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<bool> stop_{false};
};

// --- the clients -----------------------------------------------------------------------------

struct ClientRequest {
  std::string method = "GET";
  std::string path;
  std::vector<std::string> extra; // "Name: value"
  std::size_t body_size = 0;
  bool chunked_body = false;
  bool http10 = false;

  std::string wire(Rng& rng) const {
    const auto host = "127.0.0.1:" + std::to_string(originPort);
    std::string out =
        method + " http://" + host + path + (http10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
    out += "Host: " + host + "\r\nUser-Agent: ferry-soak\r\n";
    for (const auto& e : extra)
      out += e + "\r\n";
    if (method == "POST" || body_size > 0) {
      const auto body = std::string(body_size, 'q');
      if (chunked_body && !http10)
        return out + "Transfer-Encoding: chunked\r\n\r\n" + chunkedBody(rng, body);
      return out + "Content-Length: " + std::to_string(body_size) + "\r\n\r\n" + body;
    }
    return out + "\r\n";
  }
};

std::string randomPath(Rng& rng) {
  if (rng.chance(0.15))
    return "/w/" + std::to_string(randomSize(rng)) + "?q=" + std::to_string(rng.gen() % 1000000);
  auto path = "/p/" + std::to_string(rng.below(PathCount));
  if (rng.chance(0.2))
    path += "?q=" + std::to_string(rng.gen() % 1000000);
  return path;
}

ClientRequest randomRequest(Rng& rng, bool idempotent_only = false) {
  ClientRequest r;
  r.path = randomPath(rng);
  const auto kind = rng.below(idempotent_only ? 8 : 10);
  if (kind < 4) {
    r.method = "GET";
  } else if (kind == 4) {
    r.method = "HEAD";
  } else if (kind == 5) {
    const auto size = behaviourOf(r.path).size;
    const auto a = rng.below(size + 10);
    r.extra.push_back("Range: bytes=" + std::to_string(a) + "-" +
                      (rng.chance(0.2) ? "" : std::to_string(a + rng.below(size + 10))));
  } else if (kind == 6) {
    r.extra.push_back("If-None-Match: " + (rng.chance(0.8) ? etagOf(r.path) : "\"nope\""));
  } else if (kind == 7) {
    r.extra.push_back("If-Modified-Since: " + LastModified);
  } else {
    r.method = "POST";
    r.body_size = rng.chance(0.3) ? rng.below(64) : rng.below(64 * 1024);
    r.chunked_body = rng.chance(0.4);
    if (rng.chance(0.15))
      r.extra.push_back("Expect: 100-continue");
  }
  if (rng.chance(0.05)) {
    r.http10 = true;
    if (rng.chance(0.5))
      r.extra.push_back("Connection: keep-alive");
  }
  return r;
}

bool keepsAlive(const ClientRequest& r) {
  if (!r.http10)
    return true;
  return std::find(r.extra.begin(), r.extra.end(), "Connection: keep-alive") != r.extra.end();
}

// Checks a complete response against what the origin sends for that path; empty when fine.
std::string verify(const ClientRequest& req, const Response& r) {
  const auto b = behaviourOf(req.path);
  if (r.status == 304) {
    const bool conditional = std::any_of(req.extra.begin(), req.extra.end(),
                                         [](const auto& e) { return e.rfind("If-", 0) == 0; });
    return conditional ? "" : "304 to an unconditional request";
  }
  if (!isVerifiable(b.mode) || (r.status != 200 && r.status != 206))
    return "";
  if (req.method == "HEAD") {
    if (auto cl = r.head.get("Content-Length"); cl && parseSize(*cl) != b.size && r.status == 200)
      return "HEAD Content-Length " + *cl + ", expected " + std::to_string(b.size);
    return "";
  }
  if (req.method == "POST") {
    const auto got = r.head.get("X-Got");
    if (!got || parseSize(*got) != req.body_size)
      return "POST body of " + std::to_string(req.body_size) + " bytes reached the origin as " +
             got.value_or("(no X-Got)");
  }
  std::size_t from = 0;
  std::size_t to = b.size;
  if (r.status == 206) {
    const auto cr = r.head.get("Content-Range");
    unsigned long long first = 0, last = 0, total = 0;
    if (!cr || std::sscanf(cr->c_str(), "bytes %llu-%llu/%llu", &first, &last, &total) != 3)
      return "206 without a single-range Content-Range (multipart not expected)";
    if (total != b.size || last < first || last >= total)
      return "206 Content-Range " + *cr + " for a " + std::to_string(b.size) + "-byte body";
    from = first;
    to = last + 1;
  }
  // A close-delimited body cut off by the origin looks complete (RFC 9112 §6.3 item 8): only
  // what arrived can be checked.
  if (r.close_delimited && r.body.size() < to - from)
    to = from + r.body.size();
  if (r.body.size() != to - from)
    return std::to_string(r.status) + " body of " + std::to_string(r.body.size()) +
           " bytes, expected " + std::to_string(to - from);
  if (r.body != expectedBody(req.path, from, to))
    return std::to_string(r.status) + " body content differs from the origin's";
  return "";
}

std::string describe(const ClientRequest& req) {
  const auto b = behaviourOf(req.path);
  std::string s = req.method + " " + req.path + " [" + ModeNames[static_cast<int>(b.mode)] + ", " +
                  std::to_string(b.size) + " B]";
  for (const auto& e : req.extra)
    s += " {" + e + "}";
  if (req.http10)
    s += " HTTP/1.0";
  return s;
}

// Reads one response to `req`, records the outcome; returns whether the connection can carry
// another request. `via` names the path the response took ("" through the proxy, "tunnel").
bool readAndRecord(Socket& s, const ClientRequest& req, const std::string& via) {
  Response r;
  const auto got = readResponse(s, req.method == "HEAD", req.http10, r);
  stats.requests++;
  const auto label = (via.empty() ? "" : via + " ") + req.method + " ";
  if (got == Got::Complete) {
    const bool cut = r.close_delimited && req.method != "HEAD" && r.status == 200 &&
                     r.body.size() < behaviourOf(req.path).size;
    stats.count(label + std::to_string(r.status) + (cut ? " close-delimited, cut short" : ""));
    if (auto wrong = verify(req, r); !wrong.empty())
      stats.problem("wrong response" + (via.empty() ? "" : " via " + via),
                    describe(req) + ": " + wrong);
    return r.keep_alive && keepsAlive(req);
  }
  stats.count(label + gotName(got));
  if ((got == Got::Closed || got == Got::Reset || got == Got::Truncated) &&
      isWellBehaved(behaviourOf(req.path).mode))
    stats.problem("well-behaved origin, client got " + std::string(gotName(got)) +
                      (via.empty() ? "" : " via " + via),
                  describe(req));
  // Through a tunnel the origin speaks for itself: its garbage is not ferry's fault.
  if (got == Got::Malformed && via.empty())
    stats.problem("malformed response from ferry", describe(req) + ": " + r.why);
  if (got == Got::Timeout && Clock::now() < hardDeadline.load())
    stats.stuckOne(describe(req) + (via.empty() ? "" : " via " + via) + ": no byte for " +
                   std::to_string(ReadIdle.count()) + " s");
  return false;
}

// A few requests on one keep-alive connection, one after the other.
void actSequence(Rng& rng) {
  auto s = connectTo(ferryPort);
  if (!s.valid())
    return stats.count("connect failed");
  const auto n = rng.between(1, 6);
  for (std::size_t i = 0; i < n && !stopClients; ++i) {
    const auto req = randomRequest(rng);
    if (s.send(req.wire(rng)) != Io::Ok) {
      stats.count("send failed");
      return;
    }
    if (!readAndRecord(s, req, ""))
      return;
  }
  if (rng.chance(0.5))
    s.closeGracefully();
}

// Several idempotent requests in one write, answered in order.
void actPipeline(Rng& rng) {
  auto s = connectTo(ferryPort);
  if (!s.valid())
    return stats.count("connect failed");
  std::vector<ClientRequest> reqs(rng.between(2, 6));
  std::string burst;
  for (auto& r : reqs) {
    r = randomRequest(rng, true);
    r.http10 = false;
    burst += r.wire(rng);
  }
  if (s.send(burst) != Io::Ok)
    return stats.count("pipeline send failed");
  for (const auto& r : reqs)
    if (!readAndRecord(s, r, "pipelined"))
      return;
}

// CONNECT to the origin port, then a request through the tunnel, or garbage, or a reset.
void actConnect(Rng& rng) {
  auto s = connectTo(ferryPort);
  if (!s.valid())
    return stats.count("connect failed");
  const bool forbidden = rng.chance(0.1);
  const auto target = "127.0.0.1:" + std::to_string(forbidden ? 25 : originPort);
  if (s.send("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n") != Io::Ok)
    return stats.count("CONNECT send failed");
  std::size_t at = 0;
  if (auto io = s.readUntil("\r\n\r\n", MaxHead, at); io != Io::Ok)
    return stats.count(std::string("CONNECT ") + gotName(fromIo(io, !s.in.empty())));
  const auto status = s.in.size() >= 12 ? s.in.substr(9, 3) : std::string("???");
  s.in.erase(0, at + 4);
  stats.count("CONNECT " + status + (forbidden ? " (port 25)" : ""));
  if (status != "200")
    return;
  switch (rng.below(4)) {
  case 0:
  case 1: { // a real request to the origin through the tunnel
    auto req = randomRequest(rng);
    req.http10 = false;
    auto wire = req.wire(rng);
    const auto host = "http://127.0.0.1:" + std::to_string(originPort);
    wire.erase(wire.find(host), host.size()); // origin-form inside the tunnel
    if (s.send(wire) != Io::Ok)
      return stats.count("tunnel send failed");
    readAndRecord(s, req, "tunnel");
    return;
  }
  case 2:
    s.send(rng.bytes(rng.between(1, 4096)));
    if (rng.chance(0.5))
      s.pause(std::chrono::milliseconds(rng.below(500)));
    return;
  default:
    s.send("GET /p/1 HT");
    s.reset();
    return;
  }
}

std::string garbageRequest(Rng& rng) {
  const auto host = "127.0.0.1:" + std::to_string(originPort);
  const auto start = "GET http://" + host + "/p/" + std::to_string(rng.below(PathCount)) +
                     " HTTP/1.1\r\nHost: " + host + "\r\n";
  switch (rng.below(13)) {
  case 0:
    return rng.bytes(rng.between(1, 2048));
  case 1:
    return start + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
  case 2:
    return "POST http://" + host + "/p/1 HTTP/1.1\r\nHost: " + host +
           "\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd";
  case 3:
    return "GET http://" + host + "/" + std::string(10 * 1024, 'a') + " HTTP/1.1\r\nHost: " + host +
           "\r\n\r\n";
  case 4: {
    std::string many = start;
    for (int i = 0; i < 200; ++i)
      many += "X-H" + std::to_string(i) + ": v\r\n";
    return many + "\r\n";
  }
  case 5:
    return start + "X-Folded: a\r\n b\r\n\r\n";
  case 6:
    return start + std::string("X-Nul: a\0b\r\n\r\n", 13);
  case 7:
    return "POST http://" + host + "/p/1 HTTP/1.1\r\nHost: " + host +
           "\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n";
  case 8:
    return "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  case 9:
    return "GET /p/1 HTTP/1.1\r\nHost: " + host + "\r\n\r\n"; // origin-form to a proxy
  case 10:
    return std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + rng.bytes(200);
  case 11:
    return start + "X-Big: " + std::string(70 * 1024, 'b') + "\r\n\r\n";
  default:
    return "G@T http://" + host + "/ HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
  }
}

// Bytes that are not a valid request; reads whatever ferry answers.
void actGarbage(Rng& rng) {
  auto s = connectTo(ferryPort);
  if (!s.valid())
    return stats.count("connect failed");
  if (s.send(garbageRequest(rng)) != Io::Ok)
    return stats.count("garbage: send failed");
  Response r;
  const auto got = readResponse(s, false, false, r);
  stats.count(got == Got::Complete ? "garbage -> " + std::to_string(r.status)
                                   : std::string("garbage -> ") + gotName(got));
  if (got == Got::Malformed)
    stats.problem("malformed response from ferry", "answer to a garbage request: " + r.why);
}

// The head one byte (or a few) at a time, sometimes finishing within client_header, sometimes not.
void actTrickle(Rng& rng) {
  auto s = connectTo(ferryPort);
  if (!s.valid())
    return stats.count("connect failed");
  ClientRequest req;
  req.path = randomPath(rng);
  const auto wire = req.wire(rng);
  const bool slow = rng.chance(0.5);
  const auto per_byte = slow ? 60ms : 5ms;
  const auto until = Clock::now() + ClientHeader + 2s;
  for (std::size_t i = 0; i < wire.size(); i += 2) {
    if (Clock::now() > until || s.send(wire.substr(i, 2)) != Io::Ok) {
      stats.count(std::string("trickle ") + (slow ? "slow" : "fast") + " cut off by ferry");
      return;
    }
    std::this_thread::sleep_for(per_byte);
  }
  Response r;
  const auto got = readResponse(s, false, false, r);
  stats.count(std::string("trickle ") + (slow ? "slow -> " : "fast -> ") +
              (got == Got::Complete ? std::to_string(r.status) : gotName(got)));
  if (got == Got::Complete)
    if (auto wrong = verify(req, r); !wrong.empty())
      stats.problem("wrong response via trickle", describe(req) + ": " + wrong);
}

// Part of a request, then FIN or RST.
void actHalfRequest(Rng& rng) {
  auto s = connectTo(ferryPort);
  if (!s.valid())
    return stats.count("connect failed");
  auto req = randomRequest(rng);
  if (rng.chance(0.3)) {
    req.method = "POST";
    req.body_size = rng.between(100, 20000);
  }
  const auto wire = req.wire(rng);
  s.send(wire.substr(0, rng.below(wire.size())));
  if (rng.chance(0.5))
    std::this_thread::sleep_for(std::chrono::milliseconds(rng.below(300)));
  if (rng.chance(0.5))
    s.reset();
  stats.count("half request");
}

// A request for a large body, part of the response, then RST.
void actResetMidResponse(Rng& rng) {
  auto s = connectTo(ferryPort);
  if (!s.valid())
    return stats.count("connect failed");
  ClientRequest req;
  req.path = rng.chance(0.5) ? "/w/" + std::to_string(rng.between(64 * 1024, 200 * 1024)) +
                                   (rng.chance(0.5) ? "?q=" + std::to_string(rng.below(1000)) : "")
                             : randomPath(rng);
  if (s.send(req.wire(rng)) != Io::Ok)
    return stats.count("reset mid-response: send failed");
  const auto want = rng.between(1, 32 * 1024);
  const auto until = std::min(Clock::now() + 5s, hardDeadline.load());
  while (s.in.size() < want && Clock::now() < until)
    if (s.fill(until) != Io::Ok)
      break;
  s.reset();
  stats.count("reset mid-response");
}

// Connect and close at once, or send a request and close without reading a byte.
void actDrop(Rng& rng) {
  auto s = connectTo(ferryPort);
  if (!s.valid())
    return stats.count("connect failed");
  if (rng.chance(0.5)) {
    auto req = randomRequest(rng);
    s.send(req.wire(rng));
  }
  stats.count("drop without reading");
}

// Connect and say nothing; ferry closes after client_header.
void actIdle(Rng& rng) {
  auto s = connectTo(ferryPort);
  if (!s.valid())
    return stats.count("connect failed");
  const auto until = std::min(Clock::now() + std::chrono::milliseconds(rng.between(500, 3000)),
                              hardDeadline.load());
  Io io = Io::Ok;
  while (io == Io::Ok)
    io = s.fill(until);
  stats.count(io == Io::Timeout
                  ? "idle, client closed"
                  : "idle, ferry closed" + std::string(s.in.empty() ? "" : " after an answer"));
}

// A request, then shutdown(SHUT_WR); the response must still come.
void actHalfClose(Rng& rng) {
  auto s = connectTo(ferryPort);
  if (!s.valid())
    return stats.count("connect failed");
  auto req = randomRequest(rng, true);
  req.http10 = false;
  if (s.send(req.wire(rng)) != Io::Ok)
    return stats.count("half-close: send failed");
  ::shutdown(s.fd(), SHUT_WR);
  readAndRecord(s, req, "half-closed");
}

// A request to a port nobody listens on.
void actRefused(Rng& /*rng*/) {
  auto s = connectTo(ferryPort);
  if (!s.valid())
    return stats.count("connect failed");
  const std::string wire = "GET http://127.0.0.1:1/x HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n";
  if (s.send(wire) != Io::Ok)
    return stats.count("refused: send failed");
  Response r;
  const auto got = readResponse(s, false, false, r);
  stats.count(got == Got::Complete ? "origin refused -> " + std::to_string(r.status)
                                   : std::string("origin refused -> ") + gotName(got));
}

void clientLoop(std::uint64_t seed, Clock::time_point end) {
  Rng rng(seed);
  using Action = void (*)(Rng&);
  const std::vector<Action> actions = {actSequence, actPipeline,    actConnect,          actGarbage,
                                       actTrickle,  actHalfRequest, actResetMidResponse, actDrop,
                                       actIdle,     actHalfClose,   actRefused};
  const std::vector<unsigned> weights = {40, 12, 8, 6, 3, 5, 6, 4, 2, 3, 1};
  while (!stopClients && Clock::now() < end)
    actions[rng.weighted(weights)](rng);
}

// --- the hostile peers -----------------------------------------------------------------------
// A second ferry between clients that pipeline thousands of requests ferry answers itself
// without reading them, and an origin that answers every request exactly but appends a forged
// response after some answers and floods others with interim responses. Every path carries an
// id, so each answer shows whose it is.

constexpr std::size_t InjectClients = 4;
constexpr std::size_t InjectRounds = 100; // each: an answer with junk after it, then a plain one
constexpr std::size_t FloodClients = 2;
constexpr std::size_t FloodRounds = 8;
constexpr std::size_t FloodInterim = 5000; // 1xx before each final response
constexpr std::size_t CachedPaths = 16;    // /c/0 .. /c/15, stored before the pipelined HEADs
constexpr std::size_t TracePad = 4000;     // bytes of X-Pad in each TRACE, which ferry reflects
constexpr auto LateRead = 2s;              // a late reader's pause before it reads
constexpr auto UnreadLimit = 4s;           // the longest a client here reads nothing: within
                                           // client_idle, after which ferry may drop it
constexpr auto SlowReadPause = 2ms;        // a slow reader's pause after each answer
constexpr auto HostileDeadline = 60s;      // hard bound on the phase's exchanges
// How much ferry's RSS may grow over the phase, in either build (under AddressSanitizer this
// phase's ferry runs without the quarantine: see hostilePhase). ferry holds, per connection,
// what its high-water marks allow (256 KiB of client input, 256 KiB of output, 256 KiB towards
// the origin) plus the message in hand: under 10 MiB for the phase's 13 connections, small
// cache entries, redzones and allocator slack included (a few MiB in practice). A ferry that
// does not push back holds the unread pipelines' answers instead: most of their 100 MB.
constexpr long HostileRssGrowthKiB = 16 * 1024;

// What the hostile origin appends after a complete answer; no client may ever get it.
const std::string Forged =
    "HTTP/1.1 200 OK\r\nCache-Control: max-age=999\r\nContent-Length: 4\r\n\r\nEVIL";

// The hostile origin's paths:
//   /e/<id>           200, the echo of its path (X-Echo and body), no-store
//   /c/<n>            the same, cacheable: ferry answers HEADs for it from the cache
//   /j/<status>/<id>  200 (HEAD: the head only), 204 or 304, then Forged in the same write
//   /f/<n>/<id>       n interim responses, 100 Continue and 103 Early Hints in turn, then 200
int hostileStatus(std::string_view path) {
  return path.rfind("/j/", 0) == 0 ? std::atoi(std::string(path.substr(3, 3)).c_str()) : 200;
}

std::string echoBody(std::string_view path) {
  return "echo " + std::string(path) + "\n";
}

bool respondHostile(Socket& s, const OriginRequest& req, Rng& /*rng*/) {
  const auto& path = req.path;
  std::string out;
  if (path.rfind("/f/", 0) == 0) {
    const auto n = std::strtoul(path.c_str() + 3, nullptr, 10);
    for (std::size_t i = 0; i < n; ++i)
      out += i % 2 == 0 ? std::string("HTTP/1.1 100 Continue\r\n\r\n")
                        : "HTTP/1.1 103 Early Hints\r\nLink: </hint/" + std::to_string(i) +
                              ".css>; rel=preload\r\n\r\n";
  }
  const int status = hostileStatus(path);
  const auto body = echoBody(path);
  out += "HTTP/1.1 " + std::to_string(status) +
         (status == 204   ? " No Content"
          : status == 304 ? " Not Modified"
                          : " OK") +
         "\r\nX-Echo: " + path +
         "\r\nCache-Control: " + (path.rfind("/c/", 0) == 0 ? "max-age=600" : "no-store") + "\r\n";
  if (status == 200)
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
           (req.method == "HEAD" ? "" : body);
  else
    out += "\r\n";
  if (path.rfind("/j/", 0) == 0)
    out += Forged;
  return s.send(out) == Io::Ok;
}

std::string describeHostile(const ClientRequest& req) {
  std::string s = req.method + " " + req.path + (req.http10 ? " HTTP/1.0" : "");
  for (const auto& e : req.extra)
    if (e.rfind("X-Pad:", 0) != 0)
      s += " {" + e + "}";
  return s;
}

std::string shown(int status, const std::optional<std::string>& echo, std::string_view body) {
  std::string text;
  for (char c : body.substr(0, 48))
    text += c == '\n' ? std::string("\\n") : c == '\r' ? std::string("\\r") : std::string(1, c);
  return std::to_string(status) + " X-Echo " + echo.value_or("(none)") + " body \"" + text +
         (body.size() > 48 ? "...\"" : "\"") + (body == "EVIL" ? " (the forged response)" : "");
}

// Empty when `r` is exactly the answer to `req`: the origin's echo of its path, or for a TRACE
// ferry's reflection of it.
std::string verifyHostile(const ClientRequest& req, const Response& r) {
  if (req.method == "TRACE") {
    Head reflected;
    const bool parsed = parseHead(r.body, reflected);
    if (r.status == 200 && parsed && reflected.get("X-Id") == req.path)
      return "";
    return "got " + std::to_string(r.status) + " reflecting X-Id " +
           (parsed ? reflected.get("X-Id").value_or("(none)") : "(unparsable)") +
           ", expected 200 reflecting X-Id " + req.path;
  }
  const int status = hostileStatus(req.path);
  const auto body = req.method == "HEAD" || status != 200 ? std::string() : echoBody(req.path);
  if (r.status == status && r.head.get("X-Echo") == req.path && r.body == body)
    return "";
  return "got " + shown(r.status, r.head.get("X-Echo"), r.body) + ", expected " +
         shown(status, req.path, body);
}

// Reads the answer to `req` and records whether it is exactly right; returns whether the
// connection can carry another request. Every request of this phase deserves a whole answer.
bool readHostile(Stats& st, Socket& s, const std::string& scenario, const ClientRequest& req) {
  Response r;
  const auto got = readResponse(s, req.method == "HEAD", req.http10, r);
  st.requests++;
  if (got != Got::Complete) {
    st.count(scenario + ": " + gotName(got));
    if (got == Got::Malformed)
      st.problem("malformed response from ferry",
                 scenario + ": " + describeHostile(req) + ": " + r.why);
    else
      st.problem(scenario + ": no whole answer", describeHostile(req) + ": " + gotName(got));
    return false;
  }
  st.count(scenario + ": " + req.method + " " + std::to_string(r.status));
  if (auto wrong = verifyHostile(req, r); !wrong.empty())
    st.problem(scenario + ": an answer that is not its request's",
               describeHostile(req) + ": " + wrong);
  return r.keep_alive && keepsAlive(req);
}

bool sendHostile(Stats& st, Socket& s, const std::string& scenario, const ClientRequest& req,
                 Rng& rng) {
  if (s.send(req.wire(rng)) == Io::Ok)
    return true;
  st.problem(scenario + ": ferry did not take the request", describeHostile(req));
  return false;
}

std::string hostileId(std::size_t client, std::size_t n) {
  return std::to_string(client) + "-" + std::to_string(n);
}

// Junk after answers: each round asks for an answer the origin follows, in the same write, with
// Forged (after a 200, a HEAD answer, a 204 or a 304), then for a plain answer on the same
// client connection, which an origin connection pooled with Forged still in it would give.
void injectClient(Stats& st, std::uint64_t seed, std::size_t index) {
  Rng rng(seed);
  for (std::size_t round = 0; round < InjectRounds;) {
    auto s = connectTo(ferryPort);
    if (!s.valid())
      return st.problem("junk after an answer: cannot connect to ferry", "");
    for (bool open = true; open && round < InjectRounds; ++round) {
      static const int Statuses[] = {200, 200, 204, 304};
      const auto id = hostileId(index, round);
      ClientRequest junk;
      junk.path = "/j/" + std::to_string(Statuses[round % 4]) + "/" + id;
      if (round % 4 == 1)
        junk.method = "HEAD";
      if (round % 4 == 3)
        junk.extra.push_back("If-None-Match: \"stale\"");
      ClientRequest plain;
      plain.path = "/e/" + id;
      open = sendHostile(st, s, "junk after an answer", junk, rng) &&
             readHostile(st, s, "junk after an answer", junk) &&
             sendHostile(st, s, "the request after junk", plain, rng) &&
             readHostile(st, s, "the request after junk", plain);
    }
  }
}

// Interim floods: FloodInterim 1xx before each final answer, to a GET and to a POST that
// expects 100-continue (read late: what ferry relays must wait in it), and to both as
// HTTP/1.0, which must get no 1xx at all.
void floodClient(Stats& st, std::uint64_t seed, std::size_t index) {
  Rng rng(seed);
  for (std::size_t round = 0; round < FloodRounds; ++round) {
    ClientRequest req;
    req.path = "/f/" + std::to_string(FloodInterim) + "/" + hostileId(index, round);
    req.http10 = round % 4 >= 2;
    if (round % 2 == 1) {
      req.method = "POST";
      req.body_size = 16;
      req.extra.push_back("Expect: 100-continue");
    }
    auto s = connectTo(ferryPort);
    if (!s.valid()) {
      st.problem("1xx flood: cannot connect to ferry", describeHostile(req));
      continue;
    }
    if (!sendHostile(st, s, "1xx flood", req, rng))
      continue;
    if (round % 4 == 1)
      std::this_thread::sleep_for(LateRead);
    readHostile(st, s, "1xx flood", req);
  }
}

struct Pipelining {
  const char* scenario;
  bool trace; // TRACE with Max-Forwards: 0, else HEAD of a cached path
  std::size_t count;
  bool slow; // read slowly from the start, else not at all until the unread ones settled
};
const Pipelining PipelineClients[] = {
    {"pipelined TRACE, unread", true, 8000, false},
    {"pipelined TRACE, unread", true, 8000, false},
    {"pipelined TRACE, unread", true, 8000, false},
    {"pipelined cached HEAD, unread", false, 20000, false},
    {"pipelined cached HEAD, unread", false, 20000, false},
    {"pipelined TRACE, read slowly", true, 1000, true},
    {"pipelined cached HEAD, read slowly", false, 1000, true},
};

// How many of the unread pipelines have sent all, or seen ferry take nothing for LateRead.
struct Settled {
  std::atomic<std::size_t> count{0};
  std::size_t of = 0;
};

// Requests ferry answers itself, all in one stream, then every answer read in order. The unread
// pipelines read nothing until all of them have settled (or UnreadLimit): a ferry that does not
// push back then holds all their answers at once.
void pipelineClient(Stats& st, const Pipelining& p, Settled& settled, std::uint64_t seed,
                    std::size_t index) {
  Rng rng(seed);
  const auto pad = "X-Pad: " + std::string(TracePad, 'p');
  std::vector<ClientRequest> reqs(p.count);
  std::string burst;
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    auto& r = reqs[i];
    if (p.trace) {
      r.method = "TRACE";
      r.path = "/t/" + hostileId(index, i);
      r.extra = {"Max-Forwards: 0", "X-Id: " + r.path, pad};
    } else {
      r.method = "HEAD";
      r.path = "/c/" + std::to_string(rng.below(CachedPaths));
    }
    burst += r.wire(rng);
  }
  // Connected only once the burst is ready: building it can take longer than client_idle,
  // and a client that connects and says nothing that long is rightly closed as idle.
  auto s = connectTo(ferryPort);
  if (!s.valid())
    return st.problem(std::string(p.scenario) + ": cannot connect to ferry", "");
  std::atomic<std::size_t> sent{0};
  std::thread writer([&] {
    constexpr std::size_t Slice = 64 * 1024;
    const std::string_view all(burst);
    for (std::size_t at = 0; at < all.size() && s.send(all.substr(at, Slice)) == Io::Ok;)
      sent = at = std::min(at + Slice, all.size());
  });
  if (!p.slow) {
    const auto until = Clock::now() + UnreadLimit;
    auto progress = Clock::now();
    bool done = false;
    for (std::size_t last = 0; Clock::now() < until && !(done && settled.count == settled.of);) {
      if (!done && (sent == burst.size() || Clock::now() - progress >= LateRead)) {
        done = true;
        ++settled.count;
      }
      std::this_thread::sleep_for(20ms);
      if (sent != last)
        last = sent, progress = Clock::now();
    }
  }
  std::size_t read = 0;
  for (bool open = true; open && read < reqs.size();) {
    open = readHostile(st, s, p.scenario, reqs[read++]);
    if (p.slow)
      std::this_thread::sleep_for(SlowReadPause);
  }
  if (read < reqs.size())
    st.problem(std::string(p.scenario) + ": the connection ended early",
               std::to_string(read) + " of " + std::to_string(reqs.size()) + " answers read");
  ::shutdown(s.fd(), SHUT_RDWR); // a writer still blocked in send gives up
  writer.join();
}

// --- the ferry process -----------------------------------------------------------------------

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::size_t countFds(int pid) {
  std::size_t n = 0;
  if (DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
    while (auto* e = ::readdir(d))
      if (e->d_name[0] != '.')
        ++n;
    ::closedir(d);
  }
  return n;
}

// fd number -> what it points at ("socket:[123]", "/dev/null", "anon_inode:[eventfd]", ...).
std::map<int, std::string> listFds(int pid) {
  std::map<int, std::string> out;
  const auto dir = "/proc/" + std::to_string(pid) + "/fd";
  if (DIR* d = ::opendir(dir.c_str())) {
    while (auto* e = ::readdir(d)) {
      if (e->d_name[0] == '.')
        continue;
      char buf[256];
      const auto n = ::readlink((dir + "/" + e->d_name).c_str(), buf, sizeof buf - 1);
      out[std::atoi(e->d_name)] = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "?";
    }
    ::closedir(d);
  }
  return out;
}

// socket inode -> "local -> remote STATE" from /proc/<pid>/net/tcp.
std::map<std::string, std::string> tcpSockets(int pid) {
  static const std::map<std::string, std::string> states = {
      {"01", "ESTABLISHED"}, {"02", "SYN_SENT"},  {"03", "SYN_RECV"}, {"04", "FIN_WAIT1"},
      {"05", "FIN_WAIT2"},   {"06", "TIME_WAIT"}, {"07", "CLOSE"},    {"08", "CLOSE_WAIT"},
      {"09", "LAST_ACK"},    {"0A", "LISTEN"},    {"0B", "CLOSING"}};
  std::map<std::string, std::string> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/net/tcp");
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string sl, local, remote, st, queues, timer, retr, uid, timeout, inode;
    ls >> sl >> local >> remote >> st >> queues >> timer >> retr >> uid >> timeout >> inode;
    auto port = [](const std::string& a) {
      return std::to_string(std::stoul(a.substr(a.find(':') + 1), nullptr, 16));
    };
    auto it = states.find(st);
    out["socket:[" + inode + "]"] = ":" + port(local) + " -> :" + port(remote) + " " +
                                    (it == states.end() ? st : it->second) + " queues " + queues;
  }
  return out;
}

std::optional<long> rssKiB(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::atol(line.c_str() + 6);
  return std::nullopt;
}

class Ferry {
public:
  // `env` is set over this process's environment for ferry.
  Ferry(const std::string& binary, const std::string& yaml,
        const std::vector<std::pair<std::string, std::string>>& env) {
    std::string templ = (std::filesystem::temp_directory_path() / "ferry-soak-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) {
      std::perror("mkdtemp");
      std::exit(2);
    }
    dir_ = templ;
    config_ = dir_ + "/ferry.yaml";
    log_ = dir_ + "/stderr.log";
    std::ofstream(config_) << yaml;
    // Built before the fork: the child of a threaded process may only make async-signal-safe
    // calls until it execs.
    std::vector<std::string> vars;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string_view var(*e);
      const auto name = var.substr(0, var.find('='));
      if (std::none_of(env.begin(), env.end(), [&](const auto& kv) { return kv.first == name; }))
        vars.emplace_back(var);
    }
    for (const auto& [name, value] : env)
      vars.push_back(name + "=" + value);
    std::vector<char*> envp;
    for (auto& v : vars)
      envp.push_back(v.data());
    envp.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) {
      std::perror("fork");
      std::exit(2);
    }
    if (pid_ == 0) {
      const int err = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int out = ::open((dir_ + "/stdout.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int null = ::open("/dev/null", O_RDONLY);
      ::dup2(null, 0);
      ::dup2(out, 1);
      ::dup2(err, 2);
      ::execle(binary.c_str(), binary.c_str(), "--config", config_.c_str(), nullptr, envp.data());
      std::perror("exec ferry");
      ::_exit(127);
    }
  }
  ~Ferry() {
    if (!status_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  int pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  std::string log() const { return readFile(log_); }

  // The exit status once exited: the code, or 128 + signal.
  std::optional<int> exited() {
    if (!status_) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_)
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    return status_;
  }
  std::optional<int> waitExit(Clock::duration d) {
    const auto until = Clock::now() + d;
    while (!exited() && Clock::now() < until)
      std::this_thread::sleep_for(20ms);
    return status_;
  }

  std::optional<std::uint16_t> waitListening(Clock::duration d) {
    const auto until = Clock::now() + d;
    while (Clock::now() < until && !exited()) {
      const auto text = log();
      const std::string marker = "listening on 127.0.0.1:";
      if (auto p = text.find(marker); p != std::string::npos)
        if (auto port = std::atoi(text.c_str() + p + marker.size()); port > 0)
          return static_cast<std::uint16_t>(port);
      std::this_thread::sleep_for(20ms);
    }
    return std::nullopt;
  }

  // The first sanitizer report in stderr, with what follows it.
  std::optional<std::string> sanitizerReport() const {
    const auto text = log();
    std::size_t first = std::string::npos;
    for (const char* marker : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                               "runtime error:", "WARNING: AddressSanitizer"})
      first = std::min(first, text.find(marker));
    if (first == std::string::npos)
      return std::nullopt;
    const auto from = text.rfind('\n', first);
    return text.substr(from == std::string::npos ? 0 : from + 1, 12000);
  }

  std::string tail(std::size_t lines) const {
    const auto text = log();
    std::size_t pos = text.size();
    for (std::size_t i = 0; i <= lines && pos != std::string::npos && pos > 0; ++i)
      pos = text.rfind('\n', pos - 1);
    return text.substr(pos == std::string::npos ? 0 : pos + 1);
  }

private:
  std::string dir_;
  std::string config_;
  std::string log_;
  int pid_ = -1;
  std::optional<int> status_;
};

std::string configYaml(std::uint16_t origin_port) {
  return "listen: [\"127.0.0.1:0\"]\n"
         "workers: 2\n"
         "timeouts:\n"
         "  client_header: 2s\n"
         "  client_idle: 5s\n"
         "  origin_connect: 2s\n"
         "  origin_response: 3s\n"
         "  origin_idle: 5s\n"
         "  tunnel_idle: 5s\n"
         "  shutdown_grace: 3s\n"
         "access:\n"
         "  allow: [127.0.0.0/8]\n"
         "  allow_destinations: [127.0.0.0/8]\n" // the origins are on loopback
         "  http_ports: [1, \"1025-65535\"]\n"   // 1: actRefused's port nobody listens on
         "  connect_ports: [" +
         std::to_string(origin_port) +
         "]\n"
         "cache:\n"
         "  memory: 8MiB\n"
         "  max_object_size: 1MiB\n";
}

// A plain GET through ferry to a well-behaved, uncached origin path.
std::string finalRequest(Rng& rng) {
  hardDeadline = Clock::now() + 20s;
  auto s = connectTo(ferryPort);
  if (!s.valid())
    return "cannot connect to ferry";
  ClientRequest req;
  req.path = "/w/4096?final=" + std::to_string(rng.gen() % 1000000);
  if (s.send(req.wire(rng)) != Io::Ok)
    return "cannot send the request";
  Response r;
  const auto got = readResponse(s, false, false, r);
  if (got != Got::Complete)
    return std::string("response ") + gotName(got) + (r.why.empty() ? "" : ": " + r.why);
  if (r.status != 200)
    return "status " + std::to_string(r.status) + ", expected 200";
  if (auto wrong = verify(req, r); !wrong.empty())
    return wrong;
  return "";
}

struct Options {
  int seconds = 60;
  int clients = 16;
  std::uint64_t seed = std::random_device{}();
  std::string ferry = FERRY_BINARY;
};

Options parseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--seconds" && v)
      o.seconds = std::atoi(argv[++i]);
    else if (a == "--clients" && v)
      o.clients = std::atoi(argv[++i]);
    else if (a == "--seed" && v)
      o.seed = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--ferry" && v)
      o.ferry = argv[++i];
    else {
      std::fprintf(stderr, "usage: soak [--seconds N] [--clients N] [--seed S] [--ferry PATH]\n");
      std::exit(2);
    }
  }
  if (o.seconds < 1 || o.clients < 1) {
    std::fprintf(stderr, "soak: --seconds and --clients must be positive\n");
    std::exit(2);
  }
  return o;
}

using Failures = std::vector<std::string>;

// Waits for ferry's "listening" line and points the clients at it.
bool awaitListening(Ferry& ferry, Failures& failures) {
  const auto port = ferry.waitListening(30s);
  if (!port) {
    failures.push_back("ferry did not report 'listening on 127.0.0.1:PORT'");
    return false;
  }
  ferryPort = *port;
  return true;
}

std::string exitedHow(int status, const std::string& during) {
  return status > 128 ? "ferry died during " + during + ": signal " + std::to_string(status - 128) +
                            " (" + strsignal(status - 128) + ")"
                      : "ferry exited during " + during + " with status " + std::to_string(status);
}

struct Stopped {
  std::optional<int> status;
  double seconds = 0;
};

// SIGTERM: exit status 0 within the grace period (plus time for the sanitizers' exit), and no
// sanitizer report in ferry's stderr.
Stopped terminate(Ferry& ferry, Failures& failures) {
  Stopped out;
  if (!ferry.exited()) {
    const auto t0 = Clock::now();
    ::kill(ferry.pid(), SIGTERM);
    out.status = ferry.waitExit(ShutdownGrace + 5s);
    out.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!out.status)
      failures.push_back("ferry did not exit within " +
                         std::to_string((ShutdownGrace + 5s).count()) + " s of SIGTERM");
    else if (*out.status != 0)
      failures.push_back("ferry exited with status " + std::to_string(*out.status) +
                         " after SIGTERM");
  }
  if (ferry.sanitizerReport())
    failures.push_back("sanitizer report in ferry's stderr");
  return out;
}

void printStopped(const Stopped& stopped) {
  if (stopped.status)
    std::printf("SIGTERM: exit status %d after %.2f s\n", *stopped.status, stopped.seconds);
}

void printOutcomes(Stats& st) {
  for (const auto& [what, n] : st.outcomes)
    std::printf("  %8llu  %s\n", static_cast<unsigned long long>(n), what.c_str());
}

void printProblems(Stats& st) {
  for (const auto& [kind, examples] : st.problems) {
    std::printf("%llu x %s, e.g.:\n", static_cast<unsigned long long>(st.problem_counts[kind]),
                kind.c_str());
    for (const auto& e : examples)
      std::printf("    %s\n", e.c_str());
  }
}

// After a phase: what there is to read when it failed, else ferry's directory goes.
void reportFerry(const Ferry& ferry, const Failures& failures) {
  if (failures.empty()) {
    std::filesystem::remove_all(ferry.dir());
    return;
  }
  if (auto report = ferry.sanitizerReport())
    std::printf("--- sanitizer report\n%s\n", report->c_str());
  std::printf("--- ferry stderr (tail; whole log in %s/stderr.log)\n%s\n", ferry.dir().c_str(),
              ferry.tail(60).c_str());
}

// The clients and the origin that misbehave at random, for --seconds.
Failures randomPhase(const Options& opt) {
  pathTable = makeTable(opt.seed);
  Origin origin;
  originPort = origin.port();
  origin.start(opt.seed ^ 0x5eed, respond);

  Ferry ferry(opt.ferry, configYaml(originPort), {});
  Failures failures;
  auto fail = [&](const std::string& why) { failures.push_back(why); };
  if (!awaitListening(ferry, failures)) {
    reportFerry(ferry, failures);
    return failures;
  }

  // Baseline: once the fd count has been steady for half a second.
  std::size_t fds_before = countFds(ferry.pid());
  for (auto steady_since = Clock::now(), until = Clock::now() + 5s;
       Clock::now() < until && Clock::now() - steady_since < 500ms;) {
    std::this_thread::sleep_for(50ms);
    if (const auto n = countFds(ferry.pid()); n != fds_before)
      fds_before = n, steady_since = Clock::now();
  }
  const auto fd_list_before = listFds(ferry.pid());
  const auto rss_before = rssKiB(ferry.pid());

  const auto start = Clock::now();
  const auto end = start + std::chrono::seconds(opt.seconds);
  hardDeadline = end + AfterRun;
  std::vector<std::thread> clients;
  for (int i = 0; i < opt.clients; ++i)
    clients.emplace_back(clientLoop, opt.seed * 1000003 + static_cast<std::uint64_t>(i), end);

  std::size_t fds_peak = fds_before;
  long rss_peak = rss_before.value_or(0);
  while (Clock::now() < end) {
    if (ferry.exited())
      break;
    fds_peak = std::max(fds_peak, countFds(ferry.pid()));
    rss_peak = std::max(rss_peak, rssKiB(ferry.pid()).value_or(0));
    std::this_thread::sleep_for(100ms);
  }
  stopClients = true;
  for (auto& t : clients)
    t.join();
  const auto ran = std::chrono::duration<double>(Clock::now() - start).count();

  // 1. Still alive, and a plain request still works.
  if (auto st = ferry.exited()) {
    fail(exitedHow(*st, "the soak"));
  } else {
    Rng rng(opt.seed ^ 0xf1a1);
    if (auto wrong = finalRequest(rng); !wrong.empty())
      fail("final plain GET through ferry failed: " + wrong);
  }

  // 2. fds back to the baseline once ferry's idle timeouts have passed.
  std::size_t fds_after = 0;
  std::optional<long> rss_after;
  double drain_s = 0;
  if (!ferry.exited()) {
    const auto drain_start = Clock::now();
    const auto drain_until = drain_start + ClientIdle + OriginIdle + 5s;
    while ((fds_after = countFds(ferry.pid())) > fds_before && Clock::now() < drain_until &&
           !ferry.exited())
      std::this_thread::sleep_for(200ms);
    drain_s = std::chrono::duration<double>(Clock::now() - drain_start).count();
    rss_after = rssKiB(ferry.pid());
    if (fds_after > fds_before) {
      const auto now = listFds(ferry.pid());
      const auto tcp = tcpSockets(ferry.pid());
      std::string detail;
      for (const auto& [fd, what] : now) {
        auto it = fd_list_before.find(fd);
        if (it != fd_list_before.end() && it->second == what)
          continue;
        auto t = tcp.find(what);
        detail += "\n    fd " + std::to_string(fd) + " -> " + what +
                  (t == tcp.end() ? "" : "  " + t->second);
      }
      fail("fd leak: ferry has " + std::to_string(fds_after) + " fds, " +
           std::to_string(fds_before) + " right after start (waited " +
           std::to_string(static_cast<int>(drain_s)) +
           " s for idle timeouts; ferry :" + std::to_string(ferryPort) +
           ", origin :" + std::to_string(originPort) + "); new since start:" + detail);
    }
  }

  // 3. SIGTERM and sanitizers.
  const auto stopped = terminate(ferry, failures);
  origin.stop();

  // 4. Integrity.
  if (stats.problem_count > 0)
    fail(std::to_string(stats.problem_count) +
         " wrong, malformed or missing responses from ferry (listed above)");

  std::printf("\n=== soak summary (%.1f s, %d clients, seed %llu) ===\n", ran, opt.clients,
              static_cast<unsigned long long>(opt.seed));
  std::printf("client exchanges: %llu, origin connections accepted: %llu\n",
              static_cast<unsigned long long>(stats.requests.load()),
              static_cast<unsigned long long>(origin.connections()));
  printOutcomes(stats);
  std::printf("ferry fds: %zu after start, peak %zu", fds_before, fds_peak);
  if (drain_s > 0)
    std::printf(", %zu at the end (after %.1f s of idle timeouts)", fds_after, drain_s);
  std::printf("\nferry RSS: %ld KiB after start, peak %ld KiB", rss_before.value_or(-1), rss_peak);
  if (rss_after)
    std::printf(", %ld KiB at the end", *rss_after);
  std::printf("\n");
  printStopped(stopped);
  if (stats.stuck_count > 0) {
    std::printf("WARNING: %llu exchanges got no byte from ferry for %lld s (not a failure; "
                "timing is not asserted):\n",
                static_cast<unsigned long long>(stats.stuck_count),
                static_cast<long long>(ReadIdle.count()));
    for (const auto& s : stats.stuck)
      std::printf("    %s\n", s.c_str());
  }
  printProblems(stats);
  reportFerry(ferry, failures);
  return failures;
}

// Junk after answers, 1xx floods and unread pipelines, all at once, against a ferry of its own.
Failures hostilePhase(const Options& opt) {
  Origin origin;
  originPort = origin.port();
  origin.start(opt.seed ^ 0x4057, respondHostile);
  // Under AddressSanitizer freed memory waits in a quarantine (256 MiB by default) that would
  // count as ferry's RSS; without it VmRSS is what ferry holds, and one bound serves both builds.
  const char* asan = std::getenv("ASAN_OPTIONS");
  Ferry ferry(opt.ferry, configYaml(originPort),
              {{"ASAN_OPTIONS", (asan ? std::string(asan) + ":" : std::string()) +
                                    "quarantine_size_mb=0:thread_local_quarantine_size_kb=0"}});
  Failures failures;
  if (!awaitListening(ferry, failures)) {
    reportFerry(ferry, failures);
    return failures;
  }
  const auto start = Clock::now();
  hardDeadline = start + HostileDeadline;
  Stats st;
  Rng rng(opt.seed ^ 0x4057c);
  {
    auto s = connectTo(ferryPort);
    for (std::size_t n = 0; n < CachedPaths; ++n) {
      ClientRequest req;
      req.path = "/c/" + std::to_string(n);
      if (!sendHostile(st, s, "storing the HEADs' paths", req, rng) ||
          !readHostile(st, s, "storing the HEADs' paths", req))
        break;
    }
  }
  const long rss_before = rssKiB(ferry.pid()).value_or(0);

  std::vector<std::thread> clients;
  std::atomic<std::size_t> running{0};
  auto spawn = [&](auto body) {
    ++running;
    clients.emplace_back([&running, body] {
      body();
      --running;
    });
  };
  for (std::size_t i = 0; i < InjectClients; ++i)
    spawn([&st, seed = rng.gen(), i] { injectClient(st, seed, i); });
  for (std::size_t i = 0; i < FloodClients; ++i)
    spawn([&st, seed = rng.gen(), i] { floodClient(st, seed, i); });
  Settled settled;
  settled.of =
      static_cast<std::size_t>(std::count_if(std::begin(PipelineClients), std::end(PipelineClients),
                                             [](const auto& p) { return !p.slow; }));
  for (std::size_t i = 0; i < std::size(PipelineClients); ++i)
    spawn([&st, &settled, seed = rng.gen(), i] {
      pipelineClient(st, PipelineClients[i], settled, seed, i);
    });
  long rss_peak = rss_before;
  while (running > 0 && !ferry.exited()) {
    rss_peak = std::max(rss_peak, rssKiB(ferry.pid()).value_or(0));
    std::this_thread::sleep_for(20ms);
  }
  for (auto& t : clients)
    t.join();
  const auto ran = std::chrono::duration<double>(Clock::now() - start).count();

  if (auto status = ferry.exited())
    failures.push_back(exitedHow(*status, "the phase"));
  if (rss_peak - rss_before > HostileRssGrowthKiB)
    failures.push_back("ferry's VmRSS grew by " + std::to_string(rss_peak - rss_before) +
                       " KiB (from " + std::to_string(rss_before) + " to a peak of " +
                       std::to_string(rss_peak) + " KiB), more than the " +
                       std::to_string(HostileRssGrowthKiB) +
                       " KiB allowed: it holds what peers send instead of pushing back");
  if (st.problem_count > 0)
    failures.push_back(std::to_string(st.problem_count) +
                       " answers not their own request's, malformed or missing (listed above)");
  const auto stopped = terminate(ferry, failures);
  origin.stop();

  std::printf("\n=== hostile peers summary (%.1f s) ===\n", ran);
  std::printf("client exchanges: %llu, origin connections accepted: %llu\n",
              static_cast<unsigned long long>(st.requests.load()),
              static_cast<unsigned long long>(origin.connections()));
  printOutcomes(st);
  std::printf("ferry RSS: %ld KiB once the HEADs' paths were stored, peak %ld KiB (%ld KiB more, "
              "%ld KiB allowed)\n",
              rss_before, rss_peak, rss_peak - rss_before, HostileRssGrowthKiB);
  printStopped(stopped);
  printProblems(st);
  reportFerry(ferry, failures);
  return failures;
}

} // namespace

int main(int argc, char** argv) {
  const auto opt = parseArgs(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);
  if (!std::getenv("UBSAN_OPTIONS"))
    ::setenv("UBSAN_OPTIONS", "print_stacktrace=1", 1);
  std::printf("soak: %d s, %d clients, seed %llu, ferry %s\n", opt.seconds, opt.clients,
              static_cast<unsigned long long>(opt.seed), opt.ferry.c_str());
  std::fflush(stdout);

  auto failures = randomPhase(opt);
  for (const auto& f : hostilePhase(opt))
    failures.push_back("hostile peers: " + f);
  if (failures.empty()) {
    std::printf("PASS\n");
    return 0;
  }
  for (const auto& f : failures)
    std::printf("FAIL: %s\n", f.c_str());
  return 1;
}
