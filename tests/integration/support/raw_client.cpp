// Raw-socket client and minimal response reader for tests.
#include "raw_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace ferry::test {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

int msLeft(std::chrono::steady_clock::time_point until) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      until - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<long long>(0, left.count()));
}

int connectTo(const std::string& host, int port, std::chrono::milliseconds deadline) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(*v4);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof(*v6);
  } else {
    throw std::runtime_error("bad test address " + host);
  }
  const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  pollfd p{fd, POLLOUT, 0};
  int err = 0;
  socklen_t errlen = sizeof(err);
  if (::poll(&p, 1, static_cast<int>(deadline.count())) != 1 ||
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) != 0 || err != 0) {
    ::close(fd);
    return -1;
  }
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  return fd;
}

} // namespace

std::optional<std::string> Response::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  if (it == headers.end())
    return std::nullopt;
  return it->second;
}

RawClient::RawClient(const std::string& host, int port, std::chrono::milliseconds deadline)
    : fd_(connectTo(host, port, deadline)) {
  if (fd_ < 0)
    throw std::runtime_error("cannot connect to " + host + ":" + std::to_string(port));
}

RawClient::~RawClient() {
  if (fd_ >= 0)
    ::close(fd_);
}

bool RawClient::canConnect(const std::string& host, int port) {
  const int fd = connectTo(host, port, 2s);
  if (fd < 0)
    return false;
  ::close(fd);
  return true;
}

void RawClient::send(const std::string& bytes) {
  std::size_t off = 0;
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (off < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN)
      throw std::runtime_error(std::string("send: ") + std::strerror(errno));
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, msLeft(until)) != 1)
      throw std::runtime_error("send: timed out");
  }
}

void RawClient::shutdownWrite() {
  ::shutdown(fd_, SHUT_WR);
}

bool RawClient::fill(std::chrono::steady_clock::time_point until) {
  if (eof_)
    return false;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n > 0) {
      buffer_.append(buf, static_cast<std::size_t>(n));
      return true;
    }
    if (n == 0 || errno != EAGAIN) {
      eof_ = true;
      return false;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, msLeft(until)) != 1)
      return false;
  }
}

std::optional<Response> RawClient::readResponse(bool head_request,
                                                std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  std::size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
    if (!fill(until))
      return std::nullopt;

  Response r;
  r.head = buffer_.substr(0, end + 4);
  buffer_.erase(0, end + 4);
  const auto first_eol = r.head.find("\r\n");
  const std::string status_line = r.head.substr(0, first_eol);
  r.version = status_line.substr(0, status_line.find(' '));
  r.status = std::atoi(status_line.c_str() + r.version.size() + 1);
  std::size_t pos = first_eol + 2;
  while (pos < r.head.size() - 2) {
    const auto eol = r.head.find("\r\n", pos);
    const std::string line = r.head.substr(pos, eol - pos);
    const auto colon = line.find(':');
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t") + 1);
    r.headers.emplace(lower(line.substr(0, colon)), value);
    pos = eol + 2;
  }

  const bool no_body = head_request || r.status / 100 == 1 || r.status == 204 || r.status == 304;
  if (no_body)
    return r;
  if (auto te = r.header("transfer-encoding");
      te && lower(*te).find("chunked") != std::string::npos) {
    for (;;) {
      std::size_t eol;
      while ((eol = buffer_.find("\r\n")) == std::string::npos)
        if (!fill(until))
          return std::nullopt;
      const std::size_t size = std::stoul(buffer_.substr(0, eol), nullptr, 16);
      buffer_.erase(0, eol + 2);
      if (size == 0) {
        // Skip trailers up to the empty line.
        while ((eol = buffer_.find("\r\n")) != 0) {
          if (eol == std::string::npos) {
            if (!fill(until))
              return std::nullopt;
            continue;
          }
          buffer_.erase(0, eol + 2);
        }
        buffer_.erase(0, 2);
        return r;
      }
      while (buffer_.size() < size + 2)
        if (!fill(until))
          return std::nullopt;
      r.body.append(buffer_, 0, size);
      buffer_.erase(0, size + 2);
    }
  }
  if (auto cl = r.header("content-length")) {
    const std::size_t size = std::stoul(*cl);
    while (buffer_.size() < size)
      if (!fill(until))
        return std::nullopt;
    r.body = buffer_.substr(0, size);
    buffer_.erase(0, size);
    return r;
  }
  while (fill(until)) {
  }
  if (!eof_)
    return std::nullopt;
  r.body = std::move(buffer_);
  buffer_.clear();
  return r;
}

bool RawClient::waitClosed(std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (fill(until))
    buffer_.clear();
  return eof_;
}

std::string RawClient::readAll(std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (fill(until)) {
  }
  return std::exchange(buffer_, {});
}

} // namespace ferry::test
