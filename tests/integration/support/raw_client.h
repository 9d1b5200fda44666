// A raw TCP client for integration tests, with its own tiny HTTP/1.1 response reader
// (independent of ferry's http module, so a parser bug cannot hide on both sides).
// Every call has a deadline.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace ferry::test {

using namespace std::chrono_literals;

struct Response {
  int status = 0;
  std::string version;                             // "HTTP/1.1"
  std::string head;                                // status line + fields, as received
  std::multimap<std::string, std::string> headers; // names lower-cased
  std::string body;
  std::optional<std::string> header(const std::string& lower_name) const;
};

class RawClient {
public:
  // Connects to host:port (numeric IPv4 or IPv6), or throws on failure/timeout.
  RawClient(const std::string& host, int port, std::chrono::milliseconds deadline = 5s);
  ~RawClient();

  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  RawClient(RawClient&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)), buffer_(std::move(other.buffer_)), eof_(other.eof_) {}

  static bool canConnect(const std::string& host, int port);

  void send(const std::string& bytes);
  // Reads one response (Content-Length, chunked or until close; no body for HEAD,
  // 1xx, 204, 304). nullopt if the connection closed or the deadline passed first.
  std::optional<Response> readResponse(bool head_request = false,
                                       std::chrono::milliseconds deadline = 10s);
  // True when the peer closed (EOF) within the deadline; unread bytes are discarded.
  bool waitClosed(std::chrono::milliseconds deadline = 10s);
  // Whatever arrives until EOF or the deadline.
  std::string readAll(std::chrono::milliseconds deadline = 10s);
  void shutdownWrite();
  int fd() const { return fd_; }

private:
  // Appends to buffer_ what arrives within the deadline; false on EOF/error/timeout.
  bool fill(std::chrono::steady_clock::time_point until);

  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

} // namespace ferry::test
