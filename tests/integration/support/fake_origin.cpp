// Scripted fake origin: an accept thread, a thread per connection, non-blocking sockets
// waited on with poll() together with a shutdown pipe, so every wait has a deadline and
// ends when the origin is destroyed.
#include "support/fake_origin.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <exception>
#include <iostream>
#include <stdexcept>
#include <system_error>

namespace ferry::test {
namespace {

using Clock = std::chrono::steady_clock;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos)
    return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

int msLeft(Clock::time_point until) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
  return static_cast<int>(std::clamp<long long>(left.count(), 0, INT_MAX));
}

Clock::time_point deadlineFrom(std::chrono::milliseconds d) {
  // Keeps "effectively forever" deadlines from overflowing the clock.
  return Clock::now() + std::min<std::chrono::milliseconds>(d, std::chrono::hours(24 * 365));
}

std::string errnoText(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

std::size_t parseSize(const std::string& text, int base, const char* what) {
  const std::string digits = trim(text);
  const char* allowed = base == 16 ? "0123456789abcdefABCDEF" : "0123456789";
  if (digits.empty() || digits.size() > 15 ||
      digits.find_first_not_of(allowed) != std::string::npos)
    throw std::runtime_error(std::string("FakeOrigin: bad ") + what + ": '" + text + "'");
  return std::stoull(digits, nullptr, base);
}

const char* reasonPhrase(int status) {
  switch (status) {
  case 100:
    return "Continue";
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 204:
    return "No Content";
  case 206:
    return "Partial Content";
  case 301:
    return "Moved Permanently";
  case 302:
    return "Found";
  case 304:
    return "Not Modified";
  case 400:
    return "Bad Request";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 416:
    return "Range Not Satisfiable";
  case 500:
    return "Internal Server Error";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  default:
    return "Status";
  }
}

} // namespace

std::optional<std::string> ReceivedRequest::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  if (it == headers.end())
    return std::nullopt;
  return it->second;
}

// ---- OriginConnection ----

OriginConnection::OriginConnection(FakeOrigin& origin, int fd, int index)
    : origin_(origin), fd_(fd), index_(index) {}

OriginConnection::~OriginConnection() {
  close();
}

OriginConnection::Wait OriginConnection::waitFor(short events, Clock::time_point until) const {
  pollfd fds[2] = {{fd_, events, 0}, {origin_.wakeFd(), POLLIN, 0}};
  for (;;) {
    const int n = ::poll(fds, 2, msLeft(until)); // a negative fd_ is ignored
    if (n < 0 && errno == EINTR)
      continue;
    if (fds[1].revents != 0 || n < 0)
      return Wait::Stopped;
    return n == 0 ? Wait::Timeout : Wait::Ready;
  }
}

bool OriginConnection::fill(Clock::time_point until) {
  if (fd_ < 0 || eof_)
    return false;
  char buf[16384];
  for (;;) {
    if (origin_.stopping()) {
      eof_ = true; // so polling loops like `while (!waitClosed(50ms))` end too
      return false;
    }
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n > 0) {
      buffer_.append(buf, static_cast<std::size_t>(n));
      return true;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
      eof_ = true; // EOF or reset: either way the peer is gone
      return false;
    }
    if (waitFor(POLLIN, until) != Wait::Ready)
      return false;
  }
}

std::optional<ReceivedRequest> OriginConnection::readRequest(std::chrono::milliseconds deadline) {
  const auto until = deadlineFrom(deadline);
  // RFC 9112 §2.2: ignore empty lines before the request-line.
  std::size_t end;
  for (;;) {
    while (buffer_.rfind("\r\n", 0) == 0)
      buffer_.erase(0, 2);
    if ((end = buffer_.find("\r\n\r\n")) != std::string::npos)
      break;
    if (!fill(until))
      return std::nullopt;
  }

  ReceivedRequest r;
  r.connection = index_;
  r.head = buffer_.substr(0, end + 4);
  const std::string& head = r.head;
  buffer_.erase(0, end + 4);

  const auto line_end = head.find("\r\n");
  const std::string line = head.substr(0, line_end);
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string::npos)
    throw std::runtime_error("FakeOrigin: malformed request line: '" + line + "'");
  r.method = line.substr(0, sp1);
  r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  r.version = line.substr(sp2 + 1);
  for (std::size_t pos = line_end + 2; pos < head.size() - 2;) {
    const auto eol = head.find("\r\n", pos);
    const std::string field = head.substr(pos, eol - pos);
    const auto colon = field.find(':');
    if (colon == std::string::npos || colon == 0)
      throw std::runtime_error("FakeOrigin: malformed header field: '" + field + "'");
    r.headers.emplace(lower(field.substr(0, colon)), trim(field.substr(colon + 1)));
    pos = eol + 2;
  }

  const auto te = r.header("transfer-encoding");
  if (te && lower(*te).find("chunked") != std::string::npos) {
    for (;;) {
      std::size_t eol;
      while ((eol = buffer_.find("\r\n")) == std::string::npos)
        if (!fill(until))
          return std::nullopt;
      const std::string size_line = buffer_.substr(0, eol);
      const std::size_t size =
          parseSize(size_line.substr(0, size_line.find(';')), 16, "chunk size");
      buffer_.erase(0, eol + 2);
      if (size == 0)
        break;
      while (buffer_.size() < size + 2)
        if (!fill(until))
          return std::nullopt;
      if (buffer_.compare(size, 2, "\r\n") != 0)
        throw std::runtime_error("FakeOrigin: chunk data not followed by CRLF");
      r.body.append(buffer_, 0, size);
      buffer_.erase(0, size + 2);
    }
    // Trailer fields, ignored, up to the empty line.
    for (;;) {
      std::size_t eol;
      while ((eol = buffer_.find("\r\n")) == std::string::npos)
        if (!fill(until))
          return std::nullopt;
      buffer_.erase(0, eol + 2);
      if (eol == 0)
        break;
    }
  } else if (const auto cl = r.header("content-length")) {
    const std::size_t size = parseSize(*cl, 10, "Content-Length");
    while (buffer_.size() < size)
      if (!fill(until))
        return std::nullopt;
    r.body = buffer_.substr(0, size);
    buffer_.erase(0, size);
  }
  origin_.record(r);
  return r;
}

bool OriginConnection::send(const std::string& bytes, std::chrono::milliseconds deadline) {
  const auto until = deadlineFrom(deadline);
  std::size_t off = 0;
  while (off < bytes.size()) {
    if (fd_ < 0 || origin_.stopping())
      return false;
    const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
      return false;
    if (waitFor(POLLOUT, until) != Wait::Ready)
      return false;
  }
  return true;
}

bool OriginConnection::respond(int status, const std::string& body,
                               std::vector<std::pair<std::string, std::string>> headers) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reasonPhrase(status) + "\r\n";
  bool framed = status / 100 == 1 || status == 204 || status == 304;
  for (const auto& [name, value] : headers) {
    const std::string n = lower(name);
    framed = framed || n == "content-length" || n == "transfer-encoding";
    out += name + ": " + value + "\r\n";
  }
  if (!framed)
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "\r\n";
  out += body;
  return send(out);
}

void OriginConnection::close() {
  if (fd_ < 0)
    return;
  ::shutdown(fd_, SHUT_WR);
  // Closing with unread received bytes makes the kernel send RST instead of FIN.
  char buf[16384];
  while (::recv(fd_, buf, sizeof(buf), 0) > 0) {
  }
  ::close(fd_);
  fd_ = -1;
}

void OriginConnection::reset() {
  if (fd_ < 0)
    return;
  const linger l{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  ::close(fd_);
  fd_ = -1;
}

std::string OriginConnection::readBytes(std::size_t n, std::chrono::milliseconds deadline) {
  const auto until = deadlineFrom(deadline);
  while (buffer_.size() < n && fill(until)) {
  }
  std::string out = buffer_.substr(0, n);
  buffer_.erase(0, out.size());
  return out;
}

bool OriginConnection::waitClosed(std::chrono::milliseconds deadline) {
  const auto until = deadlineFrom(deadline);
  while (fill(until))
    buffer_.clear();
  buffer_.clear();
  return eof_;
}

void OriginConnection::stall(std::chrono::milliseconds d) {
  const auto until = deadlineFrom(d);
  pollfd p{origin_.wakeFd(), POLLIN, 0};
  while (Clock::now() < until && !origin_.stopping()) {
    ::poll(&p, 1, msLeft(until));
  }
}

bool OriginConnection::isShuttingDown() const {
  return origin_.stopping();
}

// ---- FakeOrigin ----

FakeOrigin::FakeOrigin(Script script, std::string host)
    : script_(std::move(script)), host_(std::move(host)) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host_.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    len = sizeof(*v4);
  } else if (inet_pton(AF_INET6, host_.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    len = sizeof(*v6);
  } else {
    throw std::runtime_error("FakeOrigin: bad address " + host_);
  }

  auto fail = [this](const char* what) {
    const std::string text = errnoText(what);
    for (int fd : {listen_fd_, wake_[0], wake_[1]})
      if (fd >= 0)
        ::close(fd);
    throw std::runtime_error("FakeOrigin on " + host_ + ": " + text);
  };
  listen_fd_ = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0)
    fail("socket");
  if (ss.ss_family == AF_INET6) {
    const int on = 1;
    ::setsockopt(listen_fd_, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
  }
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0)
    fail("bind");
  if (::listen(listen_fd_, SOMAXCONN) != 0)
    fail("listen");
  socklen_t got = sizeof(ss);
  if (::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &got) != 0)
    fail("getsockname");
  port_ = ntohs(ss.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0)
    fail("pipe2");
  acceptor_ = std::thread([this] { acceptLoop(); });
}

FakeOrigin::~FakeOrigin() noexcept(false) {
  stopping_.store(true);
  const char byte = 1;
  while (::write(wake_[1], &byte, 1) < 0 && errno == EINTR) {
  }
  acceptor_.join();
  for (auto& w : workers_)
    w.thread.join();
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);

  std::vector<std::string> errors = takeErrors();
  if (errors.empty())
    return;
  std::string text = "FakeOrigin on " + authority() + ":";
  for (const auto& e : errors)
    text += "\n  " + e;
  if (std::uncaught_exceptions() > 0) {
    std::cerr << text << '\n';
    return;
  }
  throw std::runtime_error(text);
}

std::string FakeOrigin::authority() const {
  const bool v6 = host_.find(':') != std::string::npos;
  return (v6 ? "[" + host_ + "]" : host_) + ":" + std::to_string(port_);
}

void FakeOrigin::acceptLoop() {
  pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
  while (!stopping()) {
    // Joins the threads of finished connections so long tests do not pile them up.
    std::erase_if(workers_, [](Worker& w) {
      if (!w.done->load())
        return false;
      w.thread.join();
      return true;
    });
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) {
      recordError(errnoText("FakeOrigin poll"));
      return;
    }
    if (fds[1].revents != 0)
      return;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED)
        continue;
      recordError(errnoText("FakeOrigin accept"));
      return;
    }
    const int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    const int index = accepts_.load();
    {
      // Counted before the script runs, so whatever a script did implies it was counted.
      std::lock_guard lock(mutex_);
      accepts_.store(index + 1);
    }
    changed_.notify_all();
    auto done = std::make_shared<std::atomic<bool>>(false);
    try {
      workers_.push_back({std::thread([this, fd, index, done] { serve(fd, index, done); }), done});
    } catch (const std::system_error& e) {
      ::close(fd);
      recordError(std::string("FakeOrigin: cannot start a connection thread: ") + e.what());
      return;
    }
  }
}

void FakeOrigin::serve(int fd, int index, const std::shared_ptr<std::atomic<bool>>& done) {
  {
    OriginConnection connection(*this, fd, index);
    try {
      script_(connection);
    } catch (const std::exception& e) {
      recordError("connection " + std::to_string(index) + ": script threw: " + e.what());
    } catch (...) {
      recordError("connection " + std::to_string(index) + ": script threw a non-exception");
    }
  }
  done->store(true);
}

void FakeOrigin::record(ReceivedRequest request) {
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(std::move(request));
  }
  changed_.notify_all();
}

void FakeOrigin::recordError(std::string error) {
  std::lock_guard lock(mutex_);
  errors_.push_back(std::move(error));
}

bool FakeOrigin::waitAccepts(int n, std::chrono::milliseconds deadline) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, deadline, [&] { return accepts_.load() >= n; });
}

std::vector<ReceivedRequest> FakeOrigin::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

bool FakeOrigin::waitRequests(std::size_t n, std::chrono::milliseconds deadline) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, deadline, [&] { return requests_.size() >= n; });
}

std::vector<std::string> FakeOrigin::takeErrors() {
  std::lock_guard lock(mutex_);
  return std::exchange(errors_, {});
}

FakeOrigin::Script FakeOrigin::serveForever(Handler handler) {
  return [handler = std::move(handler)](OriginConnection& c) {
    while (auto request = c.readRequest(std::chrono::hours(24)))
      handler(c, *request);
  };
}

} // namespace ferry::test
