// Relays in the kernel driven by hand — a Tunnel, a BodySplice — on two loopback
// connections, the loop turned by the test. What the integration tests cannot reach: a
// kernel that refuses splice, an exact stop at a body's end with the next bytes waiting.
#include "body_splice.h"
#include "tunnel.h"

#include "ferry/net/event_ptr.h"
#include "ferry/net/splice_pipe.h"

#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

using namespace ferry;

namespace {

using namespace std::chrono_literals;

// A loopback connection: the test's end and ferry's end (non-blocking).
std::pair<int, int> connectionPair() {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(listener, 1) == 0);
  socklen_t length = sizeof address;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  const int peer = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  ::connect(peer, reinterpret_cast<sockaddr*>(&address), sizeof address);
  const int ours = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK);
  ::close(listener);
  REQUIRE(ours >= 0);
  return {peer, ours};
}

// Reads what `fd` has now onto `into`; true at EOF.
bool readSome(int fd, std::string& into) {
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n > 0)
      into.append(buffer, static_cast<std::size_t>(n));
    else
      return n == 0;
  }
}

// Turns the loop until `done` or the deadline; false on the deadline.
bool runUntil(event_base* base, const std::function<bool()>& done) {
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until)
      return false;
    const timeval slice{0, 2000};
    event_base_loopexit(base, &slice);
    event_base_loop(base, EVLOOP_ONCE);
  }
  return true;
}

// A client and an origin on loopback connections, ferry's ends in bufferevents as a
// ClientSession hands them to a Tunnel.
struct TunnelEnds {
  TunnelEnds() {
    int ours = -1;
    std::tie(client, ours) = connectionPair();
    client_bev.reset(bufferevent_socket_new(base.get(), ours, BEV_OPT_CLOSE_ON_FREE));
    std::tie(origin, ours) = connectionPair();
    origin_bev.reset(bufferevent_socket_new(base.get(), ours, BEV_OPT_CLOSE_ON_FREE));
  }
  ~TunnelEnds() {
    ::close(client);
    ::close(origin);
  }

  net::EventBasePtr base{event_base_new()};
  int client = -1, origin = -1;
  net::BuffereventPtr client_bev, origin_bev;
};

} // namespace

TEST_CASE("#13 a spliced tunnel the kernel stops splicing goes on through the buffers, in order",
          "[proxy]") {
  TunnelEnds ends;
  auto& [base, client, origin, client_bev, origin_bev] = ends;
  bufferevent_write(client_bev.get(), "answer\n", 7); // queued before the tunnel starts
  bool done = false;
  bool idle = true;
  net::PipePool pipes(base.get());
  proxy::Tunnel tunnel(std::move(client_bev), std::move(origin_bev), std::chrono::seconds(30),
                       &pipes, [&](bool idle_timeout) {
                         done = true;
                         idle = idle_timeout;
                       });
  tunnel.start();

  // The client reads nothing while the origin sends until every buffer on the way is full,
  // the pipe towards the client among them.
  std::string sent_down = "answer\n";
  std::string chunk(16384, '\0');
  int blocked_turns = 0;
  REQUIRE(runUntil(base.get(), [&] {
    for (char& c : chunk)
      c = static_cast<char>('a' + sent_down.size() % 26);
    const ssize_t n = ::send(origin, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n > 0)
      sent_down.append(chunk, 0, static_cast<std::size_t>(n));
    blocked_turns = n > 0 ? 0 : blocked_turns + 1;
    return blocked_turns > 20;
  }));

  // Then splice stops working: the client's bytes, read next, take the buffered relay.
  net::SplicePipe::refuseForTest(true);
  const std::string up = "up bytes";
  REQUIRE(::send(client, up.data(), up.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(up.size()));
  ::shutdown(client, SHUT_WR);
  // The origin gets them and the FIN while the client still reads nothing: what the pipe
  // towards the client held at the switch waits in the client's bufferevent now.
  std::string got_up;
  const bool up_done = runUntil(base.get(), [&] { return readSome(origin, got_up); });
  ::shutdown(origin, SHUT_WR);
  std::string got_down;
  const bool finished =
      up_done && runUntil(base.get(), [&] { return readSome(client, got_down) && done; });
  net::SplicePipe::refuseForTest(false);
  REQUIRE(finished);
  CHECK_FALSE(idle);
  CHECK(got_up == up);
  CHECK(got_down.size() == sent_down.size());
  CHECK((got_down == sent_down)); // parenthesised: megabytes are not printed on failure
  CHECK(tunnel.bytesToClient() == sent_down.size() - 7);
}

namespace {

// A BodySplice between two loopback connections, started as a Transaction starts one: the
// client's bufferevent stopped, with `queued` in its output.
struct BodyRig {
  explicit BodyRig(std::uint64_t left, const std::string& queued = "HEAD\n") {
    std::tie(client, client_ours) = connectionPair();
    std::tie(origin, origin_ours) = connectionPair();
    client_bev.reset(bufferevent_socket_new(base.get(), client_ours, BEV_OPT_CLOSE_ON_FREE));
    bufferevent_write(client_bev.get(), queued.data(), queued.size());
    bufferevent_disable(client_bev.get(), EV_READ | EV_WRITE);
    splice = proxy::BodySplice::start(base.get(), pipes, origin_ours, client_ours,
                                      bufferevent_get_output(client_bev.get()), left, {},
                                      [this](proxy::BodySplice::End e) { end = e; });
    REQUIRE(splice);
  }
  // Sends `bytes` from the origin while the client reads (onto `got`), until the splice
  // ends; false on the deadline.
  bool sendUntilEnd(const std::string& bytes, std::string& got) {
    std::size_t sent = 0;
    return runUntil(base.get(), [&] {
      if (sent < bytes.size()) {
        const ssize_t n = ::send(origin, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        sent += n > 0 ? static_cast<std::size_t>(n) : 0;
      }
      readSome(client, got);
      return end.has_value();
    });
  }
  ~BodyRig() {
    splice.reset();
    ::close(client);
    ::close(origin);
    ::close(origin_ours);
  }

  net::EventBasePtr base{event_base_new()};
  net::PipePool pipes{base.get()};
  int client = -1, client_ours = -1, origin = -1, origin_ours = -1;
  net::BuffereventPtr client_bev;
  std::unique_ptr<proxy::BodySplice> splice;
  std::optional<proxy::BodySplice::End> end;
};

} // namespace

TEST_CASE("#13 a spliced body moves exactly its length, after what was queued", "[proxy]") {
  constexpr std::size_t Size = 1 << 20;
  BodyRig rig(Size);
  const std::string body(Size, 'b');
  const std::string next = "HTTP/1.1 200 OK\r\n"; // a stray next response: not the client's
  std::string got;
  REQUIRE(rig.sendUntilEnd(body + next, got));
  readSome(rig.client, got);
  CHECK(*rig.end == proxy::BodySplice::End::Whole);
  CHECK(got.size() == 5 + Size);
  CHECK((got == "HEAD\n" + body));
  CHECK(rig.splice->bytesIn() == Size);
  CHECK(rig.splice->bodyBytesOut() == Size); // the queued head was counted by its writer
  std::string left_on_origin;
  readSome(rig.origin_ours, left_on_origin);
  CHECK(left_on_origin == next);
}

TEST_CASE("#13 a spliced body whose client stops reading goes on once it reads again", "[proxy]") {
  constexpr std::size_t Size = 64 << 20; // more than every buffer on the way can hold
  BodyRig rig(Size);
  const std::string chunk(64 << 10, 's');
  std::size_t sent = 0;
  // The client reads nothing until every buffer on the way is full.
  int blocked_turns = 0;
  REQUIRE(runUntil(rig.base.get(), [&] {
    const ssize_t n = ::send(rig.origin, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    sent += n > 0 ? static_cast<std::size_t>(n) : 0;
    blocked_turns = n > 0 ? 0 : blocked_turns + 1;
    return blocked_turns > 20;
  }));
  REQUIRE(sent < Size);
  CHECK_FALSE(rig.end);
  // Then it reads, and the rest of the body follows.
  std::string got;
  REQUIRE(rig.sendUntilEnd(std::string(Size - sent, 's'), got));
  readSome(rig.client, got);
  CHECK(*rig.end == proxy::BodySplice::End::Whole);
  CHECK(got.size() == 5 + Size);
}

TEST_CASE("#13 a spliced body cut short by the origin: what came reaches the client", "[proxy]") {
  BodyRig rig(1 << 20);
  const std::string part(300 << 10, 'p');
  REQUIRE(::send(rig.origin, part.data(), part.size(), MSG_NOSIGNAL) > 0);
  ::shutdown(rig.origin, SHUT_WR);
  std::string got;
  REQUIRE(runUntil(rig.base.get(), [&] {
    readSome(rig.client, got);
    return rig.end.has_value();
  }));
  readSome(rig.client, got);
  CHECK(*rig.end == proxy::BodySplice::End::OriginCut);
  CHECK(got.size() == 5 + part.size());
  CHECK(rig.splice->bodyBytesOut() == part.size());
}

TEST_CASE("#13 a spliced body whose client is gone ends as such", "[proxy]") {
  std::signal(SIGPIPE, SIG_IGN); // as main() does: a peer gone is an error value, not a signal
  BodyRig rig(8 << 20);
  ::close(rig.client);
  rig.client = -1;
  const std::string chunk(64 << 10, 'c');
  REQUIRE(runUntil(rig.base.get(), [&] {
    ::send(rig.origin, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    return rig.end.has_value();
  }));
  CHECK(*rig.end == proxy::BodySplice::End::ClientGone);
}

TEST_CASE("#13 a body the kernel refuses to splice is handed back, nothing of it read", "[proxy]") {
  BodyRig rig(1 << 20, "HEAD and first bytes\n");
  const std::string body = "body bytes";
  REQUIRE(::send(rig.origin, body.data(), body.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(body.size()));
  net::SplicePipe::refuseForTest(true);
  const bool ended = runUntil(rig.base.get(), [&] { return rig.end.has_value(); });
  net::SplicePipe::refuseForTest(false);
  REQUIRE(ended);
  CHECK(*rig.end == proxy::BodySplice::End::Unsupported);
  evbuffer* queue = bufferevent_get_output(rig.client_bev.get());
  std::string queued(evbuffer_get_length(queue), '\0');
  evbuffer_copyout(queue, queued.data(), queued.size());
  std::string sent;
  readSome(rig.client, sent);
  CHECK(sent + queued == "HEAD and first bytes\n"); // in order: what went out, then the rest
  std::string on_origin;
  readSome(rig.origin_ours, on_origin);
  CHECK(on_origin == body);
}

TEST_CASE("#13 a spliced tunnel holds a pipe only while bytes are in it", "[proxy]") {
  TunnelEnds ends;
  auto& [base, client, origin, client_bev, origin_bev] = ends;
  net::PipePool pipes(base.get());
  bool done = false;
  proxy::Tunnel tunnel(std::move(client_bev), std::move(origin_bev), std::chrono::seconds(30),
                       &pipes, [&](bool) { done = true; });
  tunnel.start();

  // The client reads nothing: the origin's bytes fill the sockets and the pipe between them.
  const std::string chunk(16384, 'd');
  std::size_t sent = 0;
  int blocked_turns = 0;
  REQUIRE(runUntil(base.get(), [&] {
    const ssize_t n = ::send(origin, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    sent += n > 0 ? static_cast<std::size_t>(n) : 0;
    blocked_turns = n > 0 ? 0 : blocked_turns + 1;
    return blocked_turns > 20;
  }));
  CHECK(pipes.lentCount() == 1);

  // Once the client has it all, the open tunnel holds no pipe; the pool keeps it for the next.
  std::string got;
  REQUIRE(runUntil(base.get(), [&] {
    readSome(client, got);
    return got.size() == sent;
  }));
  CHECK(runUntil(base.get(), [&] { return pipes.lentCount() == 0; }));
  const std::size_t kept = pipes.idleCount(); // one, or two if both ways needed one at once
  CHECK((kept == 1 || kept == 2));
  CHECK_FALSE(done);

  // And the next bytes take it again, whichever way they go.
  const std::string up = "up";
  REQUIRE(::send(client, up.data(), up.size(), MSG_NOSIGNAL) == 2);
  std::string got_up;
  REQUIRE(runUntil(base.get(), [&] {
    readSome(origin, got_up);
    return got_up == up;
  }));
  CHECK(pipes.lentCount() == 0);
  CHECK(pipes.idleCount() == kept); // taken from the pool, not made
}

TEST_CASE("#13 a splice relay wants its source's bytes only while none wait for the destination",
          "[proxy]") {
  auto [origin, in] = connectionPair();
  auto [client, out] = connectionPair();
  net::EventBasePtr base{event_base_new()};
  net::PipePool pipes(base.get());
  net::SpliceRelay relay(pipes);
  const auto until = std::chrono::steady_clock::now() + 10s;
  const auto inTime = [&] { return std::chrono::steady_clock::now() < until; };

  // Nothing to move: the source is what it waits for.
  net::SpliceRelay::Pass pass = relay.pump(in, out);
  CHECK(pass.read_wanted);

  // The client reads nothing: once its socket is full, bytes wait in the pipe for it, and
  // the source's bytes are no news until they have gone.
  const std::string chunk(65536, 'w');
  std::size_t sent = 0;
  while ((pass.read_wanted || pass.busy) && inTime()) {
    const ssize_t n = ::send(origin, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    sent += n > 0 ? static_cast<std::size_t>(n) : 0;
    pass = relay.pump(in, out);
    REQUIRE(pass.status == net::SpliceRelay::Status::Open);
  }
  CHECK_FALSE(pass.read_wanted);
  CHECK(relay.bytesOut() > 0);
  CHECK(relay.bytesIn() > relay.bytesOut()); // held for the client

  // Once the client takes everything, the relay wants the source again.
  std::string got;
  while (got.size() < sent && inTime()) {
    readSome(client, got);
    pass = relay.pump(in, out);
    REQUIRE(pass.status == net::SpliceRelay::Status::Open);
  }
  CHECK(got.size() == sent);
  CHECK(relay.flushed());
  CHECK(pass.read_wanted);
  for (int fd : {origin, in, client, out})
    ::close(fd);
}

TEST_CASE("#13 pipes are 1 MiB within a quarter of the user's pipe budget, the rest default",
          "[proxy]") {
  std::vector<net::SplicePipe> made;
  for (int i = 0; i < 64; ++i) {
    auto pipe = net::SplicePipe::create();
    REQUIRE(pipe);
    made.push_back(std::move(*pipe));
  }
  std::size_t large = 0;
  for (const auto& pipe : made) {
    CHECK(pipe.capacity() >= 4096);
    large += pipe.capacity() == net::SplicePipe::LargeSize ? 1 : 0;
  }
  CHECK(large <= net::SplicePipe::largeBudget());
  if (::geteuid() == 0) // F_SETPIPE_SZ up to fs.pipe-max-size is never refused to root
    CHECK(large == std::min<std::size_t>(made.size(), net::SplicePipe::largeBudget()));
  // Those given back make room for new large ones.
  made.clear();
  auto again = net::SplicePipe::create();
  REQUIRE(again);
  if (::geteuid() == 0)
    CHECK(again->capacity() == net::SplicePipe::LargeSize);
}

TEST_CASE("#13 a spliced body keeps its pipe to the end, so running out of descriptors cannot "
          "cut it",
          "[proxy]") {
  BodyRig rig(200 << 10);
  const std::string part(100 << 10, 'p');
  REQUIRE(::send(rig.origin, part.data(), part.size(), MSG_NOSIGNAL) > 0);
  std::string got;
  REQUIRE(runUntil(rig.base.get(), [&] {
    readSome(rig.client, got);
    return got.size() == 5 + part.size();
  }));
  CHECK(rig.pipes.lentCount() == 1); // empty now, and still its own
  // The process runs out of descriptors: no pipe could be made now.
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
  const int lowest_free = ::dup(0);
  ::close(lowest_free);
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(lowest_free);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &tight) == 0);
  REQUIRE(!net::SplicePipe::create());
  REQUIRE(::send(rig.origin, part.data(), part.size(), MSG_NOSIGNAL) > 0);
  const bool ended = runUntil(rig.base.get(), [&] {
    readSome(rig.client, got);
    return rig.end.has_value();
  });
  ::setrlimit(RLIMIT_NOFILE, &saved);
  REQUIRE(ended);
  CHECK(*rig.end == proxy::BodySplice::End::Whole);
  CHECK(got.size() == 5 + 2 * part.size());
}
