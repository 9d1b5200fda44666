// Tunnel driven by hand: two loopback connections, the loop turned by the test. What the
// integration tests cannot reach: a kernel that refuses splice in the middle of a tunnel,
// with bytes held in a pipe.
#include "tunnel.h"

#include "ferry/net/event_ptr.h"
#include "ferry/net/splice_pipe.h"

#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <string>
#include <utility>

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

} // namespace

TEST_CASE("#13 a spliced tunnel the kernel stops splicing goes on through the buffers, in order",
          "[proxy]") {
  net::EventBasePtr base(event_base_new());
  auto [client, client_ours] = connectionPair();
  auto [origin, origin_ours] = connectionPair();
  net::BuffereventPtr client_bev(
      bufferevent_socket_new(base.get(), client_ours, BEV_OPT_CLOSE_ON_FREE));
  net::BuffereventPtr origin_bev(
      bufferevent_socket_new(base.get(), origin_ours, BEV_OPT_CLOSE_ON_FREE));
  bufferevent_write(client_bev.get(), "answer\n", 7); // queued before the tunnel starts
  bool done = false;
  bool idle = true;
  proxy::Tunnel tunnel(std::move(client_bev), std::move(origin_bev), std::chrono::seconds(30), true,
                       [&](bool idle_timeout) {
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
  ::close(client);
  ::close(origin);
}
