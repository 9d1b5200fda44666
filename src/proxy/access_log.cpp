// Access log formatting and the writer thread. Workers append whole lines to one buffer
// under a mutex held for a memcpy; the writer swaps the buffer out and writes it with one
// write(2), so a busy proxy writes large batches and an idle one writes each line at once.
#include "ferry/proxy/access_log.h"

#include "ferry/core/counters.h"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <fcntl.h>
#include <iterator>
#include <pthread.h>
#include <system_error>
#include <unistd.h>

namespace ferry::proxy {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";
constexpr char kHexLower[] = "0123456789abcdef";

bool isControl(unsigned char c) {
  return c < 0x20 || c >= 0x7f;
}

// Squid native fields are separated by spaces: a field never holds one, nor a control
// byte; such bytes are %-encoded, an empty field is "-".
void appendToken(std::string& out, std::string_view field) {
  if (field.empty()) {
    out += '-';
    return;
  }
  for (char ch : field) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == ' ' || isControl(c)) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += ch;
    }
  }
}

// Apache's ap_escape_logitem: the field sits between double quotes.
void appendQuotedItem(std::string& out, std::string_view field) {
  if (field.empty()) {
    out += '-';
    return;
  }
  for (char ch : field) {
    const auto c = static_cast<unsigned char>(ch);
    switch (ch) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\v':
      out += "\\v";
      break;
    default:
      if (isControl(c)) {
        out += "\\x";
        out += kHexLower[c >> 4];
        out += kHexLower[c & 0xf];
      } else {
        out += ch;
      }
    }
  }
}

// Squid logs the media type only: the Content-Type value up to its parameters.
std::string_view mediaType(std::string_view content_type) {
  return content_type.substr(0, content_type.find_first_of("; \t"));
}

std::string_view cutShortSuffix(const std::optional<core::CloseReason>& cut_short) {
  if (!cut_short)
    return {};
  return core::isTimeout(*cut_short) ? "_TIMEDOUT" : "_ABORTED";
}

void appendSquid(std::string& out, const AccessRecord& r) {
  using namespace std::chrono;
  const auto ended = duration_cast<milliseconds>((r.started + r.duration).time_since_epoch());
  const auto ended_ms = ended.count();
  auto it = std::back_inserter(out);
  fmt::format_to(it, "{:9}.{:03} {:6} ", ended_ms / 1000, ended_ms % 1000, r.duration.count());
  appendToken(out, r.client);
  out += ' ';
  appendToken(out, r.cache_result);
  out += cutShortSuffix(r.cut_short);
  fmt::format_to(it, "/{:03} {} ", r.status, r.bytes_sent);
  appendToken(out, r.method);
  out += ' ';
  appendToken(out, r.url);
  out += ' ';
  appendToken(out, r.user);
  out += ' ';
  appendToken(out, r.hierarchy);
  out += '/';
  appendToken(out, r.peer);
  out += ' ';
  appendToken(out, mediaType(r.content_type));
}

void appendCombined(std::string& out, const AccessRecord& r) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  using namespace std::chrono;
  const std::time_t t = floor<seconds>(r.started.time_since_epoch()).count();
  std::tm tm{};
  gmtime_r(&t, &tm);
  auto it = std::back_inserter(out);
  appendQuotedItem(out, r.client);
  out += " - ";
  appendQuotedItem(out, r.user);
  fmt::format_to(it, " [{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000] \"", tm.tm_mday, kMonths[tm.tm_mon],
                 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  appendQuotedItem(out, r.method);
  out += ' ';
  appendQuotedItem(out, r.url);
  fmt::format_to(it, " HTTP/{}.{}\" ", r.version_major, r.version_minor);
  if (r.status > 0)
    fmt::format_to(it, "{}", r.status);
  else
    out += '-';
  out += ' ';
  if (r.body_bytes_sent > 0)
    fmt::format_to(it, "{}", r.body_bytes_sent);
  else
    out += '-';
  out += " \"";
  appendQuotedItem(out, r.referer);
  out += "\" \"";
  appendQuotedItem(out, r.user_agent);
  out += '"';
}

int openLog(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

} // namespace

std::string formatSquid(const AccessRecord& record) {
  std::string out;
  appendSquid(out, record);
  return out;
}

std::string formatCombined(const AccessRecord& record) {
  std::string out;
  appendCombined(out, record);
  return out;
}

AccessLogWriter::AccessLogWriter(const AccessLog& settings, std::size_t queue_bytes)
    : path_(settings.path), format_(settings.format), queue_bytes_(queue_bytes),
      enabled_(!settings.path.empty()) {
  if (!enabled_)
    return;
  if (path_ == "-") {
    fd_ = STDERR_FILENO;
  } else {
    fd_ = openLog(path_);
    if (fd_ < 0)
      throw std::system_error(errno, std::generic_category(), "cannot open access log " + path_);
  }
  thread_ = std::thread([this] { run(); });
}

AccessLogWriter::~AccessLogWriter() {
  if (!thread_.joinable())
    return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    paused_ = false;
  }
  wake_.notify_one();
  thread_.join();
  if (fd_ != STDERR_FILENO)
    ::close(fd_);
}

void AccessLogWriter::write(const AccessRecord& record) {
  if (!enabled_)
    return;
  // Formatting happens outside the lock, in a buffer each thread reuses.
  thread_local std::string line;
  line.clear();
  if (format_ == AccessLogFormat::Squid)
    appendSquid(line, record);
  else
    appendCombined(line, record);
  line += '\n';

  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (pending_.size() + line.size() > queue_bytes_) {
      core::count(core::Counter::AccessLogDropped);
      return;
    }
    // The writer sleeps only when nothing is pending, so only the first line wakes it.
    wake = pending_.empty();
    pending_ += line;
  }
  if (wake)
    wake_.notify_one();
}

void AccessLogWriter::reopen() {
  if (!enabled_ || path_ == "-")
    return;
  {
    std::lock_guard lock(mutex_);
    if (!reopen_at_)
      reopen_at_ = pending_.size();
  }
  wake_.notify_one();
}

void AccessLogWriter::pauseForTest() {
  std::lock_guard lock(mutex_);
  paused_ = true;
}

void AccessLogWriter::resumeForTest() {
  {
    std::lock_guard lock(mutex_);
    paused_ = false;
  }
  wake_.notify_one();
}

void AccessLogWriter::run() {
  pthread_setname_np(pthread_self(), "ferry-accesslog");
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] {
      return stopping_ || (!paused_ && (!pending_.empty() || reopen_at_.has_value()));
    });
    if (pending_.empty() && !reopen_at_)
      return; // stopping, and everything is written
    const std::optional<std::size_t> reopen_at = std::exchange(reopen_at_, std::nullopt);
    writing_.swap(pending_);
    lock.unlock();
    std::string_view bytes = writing_;
    if (reopen_at) {
      writeOut(bytes.substr(0, *reopen_at));
      reopenFile();
      bytes.remove_prefix(*reopen_at);
    }
    writeOut(bytes);
    writing_.clear();
    lock.lock();
  }
}

void AccessLogWriter::writeOut(std::string_view bytes) {
  if (bytes.empty())
    return;
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n >= 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (errno == EINTR)
      continue;
    const int error = errno;
    // A partial line counts as dropped too.
    core::count(core::Counter::AccessLogDropped,
                static_cast<std::uint64_t>(std::count(bytes.begin(), bytes.end(), '\n')));
    if (!failing_) {
      spdlog::error("access log {}: {}; dropping lines until a write succeeds", path_,
                    std::generic_category().message(error));
      failing_ = true;
    }
    return;
  }
  if (failing_) {
    spdlog::info("access log {}: writing again", path_);
    failing_ = false;
  }
}

void AccessLogWriter::reopenFile() {
  const int fd = openLog(path_);
  if (fd < 0) {
    spdlog::error("access log {}: cannot reopen: {}; still writing to the old file", path_,
                  std::generic_category().message(errno));
    return;
  }
  ::close(fd_);
  fd_ = fd;
}

AccessRecord accessRecord(std::string_view client, const http::RequestHead* request,
                          cache::Outcome outcome) {
  AccessRecord record;
  record.client = client;
  record.cache_result = cache::squidCode(outcome);
  if (request) {
    record.method = request->method;
    record.url = request->target;
    record.version_major = request->version_major;
    record.version_minor = request->version_minor;
    record.referer = request->headers.get("Referer").value_or("");
    record.user_agent = request->headers.get("User-Agent").value_or("");
  }
  return record;
}

} // namespace ferry::proxy
