// A scripted fake origin for integration tests: it listens on loopback port 0 and runs a
// test-supplied script for each accepted connection (expect a request, respond, send raw
// bytes, close mid-body, reset, stall). It has its own tiny request reader, independent
// of ferry's http module. It is not an HTTP server: it does only what the script says.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ferry::test {

using namespace std::chrono_literals;

struct ReceivedRequest {
  std::string method;
  std::string target;
  std::string version;                             // "HTTP/1.1"
  std::multimap<std::string, std::string> headers; // names lower-cased, values trimmed
  std::string head;                                // request line + fields + CRLF, as received
  std::string body;                                // decoded (Content-Length or chunked)
  int connection = -1;                             // OriginConnection::index() that read it
  std::optional<std::string> header(const std::string& lower_name) const;
};

class FakeOrigin;

// One accepted connection. Owned by the origin; used only by the script running on this
// connection's own thread. Every blocking call returns early once the origin is being
// destroyed, so a script cannot keep the destructor waiting.
class OriginConnection {
public:
  ~OriginConnection();
  OriginConnection(const OriginConnection&) = delete;
  OriginConnection& operator=(const OriginConnection&) = delete;

  // Reads one request: the head up to CRLFCRLF (leading empty lines skipped), then a
  // chunked or Content-Length body. Bytes after it (pipelined requests) stay buffered for
  // the next call. nullopt on EOF, reset, timeout, origin shutdown or after close().
  // Throws std::runtime_error on bytes it cannot parse (recorded as a script error).
  std::optional<ReceivedRequest> readRequest(std::chrono::milliseconds deadline = 10s);

  // Writes all of `bytes`; false if the peer is gone, the deadline passed or the origin
  // is shutting down. Never throws for network faults.
  bool send(const std::string& bytes, std::chrono::milliseconds deadline = 10s);

  // An HTTP/1.1 response with `headers` in order, then Content-Length unless `headers`
  // already name Content-Length or Transfer-Encoding, or the status has no body
  // (1xx, 204, 304). Same result as send().
  bool respond(int status, const std::string& body,
               std::vector<std::pair<std::string, std::string>> headers = {});

  // Orderly close: FIN. Bytes already received and unread are discarded first so the
  // kernel does not turn the close into a reset. Idempotent.
  void close();
  // Abortive close: SO_LINGER {1, 0}, so the peer sees RST.
  void reset();

  // Raw bytes after an upgrade or in a tunnel: exactly n of them, or fewer when the
  // peer closed or the deadline passed first. Bytes buffered by readRequest come first.
  std::string readBytes(std::size_t n, std::chrono::milliseconds deadline = 10s);

  // True once the peer has closed (EOF or reset) within the deadline, or the origin is
  // shutting down; bytes received meanwhile are discarded. False on timeout or after our
  // own close().
  bool waitClosed(std::chrono::milliseconds deadline = 10s);

  // Does nothing for `d` (a slow origin); returns early when the origin shuts down.
  void stall(std::chrono::milliseconds d);

  int index() const { return index_; } // 0-based accept order
  // True once the origin's destructor has begun; a script that loops on its own should
  // stop then.
  bool isShuttingDown() const;

private:
  friend class FakeOrigin;
  OriginConnection(FakeOrigin& origin, int fd, int index);

  enum class Wait { Ready, Timeout, Stopped };
  Wait waitFor(short events, std::chrono::steady_clock::time_point until) const;
  // Appends what arrives before `until` to buffer_; false on EOF/error/timeout/shutdown.
  bool fill(std::chrono::steady_clock::time_point until);

  FakeOrigin& origin_;
  int fd_ = -1;
  int index_ = 0;
  std::string buffer_;
  bool eof_ = false;
};

// Listens on host:0 ("127.0.0.1" or "::1"). Accepts on its own thread and runs the script
// for each connection on a new thread; when the script returns, the connection is closed.
// Public members are safe to call from the test thread while scripts run.
class FakeOrigin {
public:
  // Runs concurrently on several threads when several connections are open, so state it
  // shares across connections must be synchronised by the test.
  using Script = std::function<void(OriginConnection&)>;
  using Handler = std::function<void(OriginConnection&, const ReceivedRequest&)>;

  // Throws std::runtime_error if it cannot listen (e.g. no IPv6 loopback).
  explicit FakeOrigin(Script script, std::string host = "127.0.0.1");
  // Stops accepting, wakes every script blocked in a call above, joins all threads.
  // Script errors not collected by takeErrors() are then thrown as std::runtime_error,
  // which fails the test (unless an exception is already unwinding; then they are only
  // printed to stderr). Hold it as a local or a member, not in std::optional or a smart
  // pointer, whose noexcept destructors would turn that throw into std::terminate.
  ~FakeOrigin() noexcept(false);

  FakeOrigin(const FakeOrigin&) = delete;
  FakeOrigin& operator=(const FakeOrigin&) = delete;

  int port() const { return port_; }
  const std::string& host() const { return host_; }
  std::string authority() const; // "127.0.0.1:PORT" or "[::1]:PORT"

  int accepts() const { return accepts_.load(); } // connections accepted so far
  bool waitAccepts(int n, std::chrono::milliseconds deadline = 10s) const;

  std::vector<ReceivedRequest> requests() const; // every request read so far, in order
  bool waitRequests(std::size_t n, std::chrono::milliseconds deadline = 10s) const;

  // Exceptions that escaped scripts ("connection N: what"), and accept failures. Returns
  // and forgets them, so the destructor will not throw for these.
  std::vector<std::string> takeErrors();

  // A keep-alive origin: readRequest → handler until EOF, close() or origin shutdown.
  static Script serveForever(Handler handler);

private:
  friend class OriginConnection;
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  void acceptLoop();
  void serve(int fd, int index, const std::shared_ptr<std::atomic<bool>>& done);
  void record(ReceivedRequest request);
  void recordError(std::string error);
  int wakeFd() const { return wake_[0]; }
  bool stopping() const { return stopping_.load(); }

  Script script_;
  std::string host_;
  int listen_fd_ = -1;
  int port_ = 0;
  int wake_[2] = {-1, -1}; // a pipe; written once on shutdown, never read

  std::atomic<bool> stopping_{false};
  std::atomic<int> accepts_{0};
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<ReceivedRequest> requests_;
  std::vector<std::string> errors_;

  std::vector<Worker> workers_; // touched by the accept thread, then by the destructor
  std::thread acceptor_;
};

} // namespace ferry::test
