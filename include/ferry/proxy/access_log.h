// The access log: one line per exchange, in Squid's native format or Apache's combined
// format. Lines are formatted on the worker that calls write() and handed to one writer
// thread, so a worker never waits on the disk; when the queue is full the line is dropped
// and counted (access_log_dropped). It does not rotate files itself: logrotate renames the
// file and the daemon calls reopen() on SIGHUP or SIGUSR1.
#pragma once

#include "ferry/cache/cache_status.h"
#include "ferry/core/close_reason.h"
#include "ferry/http/message.h"
#include "ferry/proxy/settings.h"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace ferry::proxy {

// What one exchange looked like, as logged. The views are borrowed: they must stay valid
// for the duration of write() or of a format call, which copy what they need.
struct AccessRecord {
  std::chrono::system_clock::time_point started; // first byte of the request head
  std::chrono::milliseconds duration{0};         // from `started` to the last byte sent
  std::string_view client;                       // client IP address, no port ("" logs "-")
  std::string_view method = "NONE";              // as received; NONE when none was parsed
  std::string_view url;  // absolute form as requested; host:port for CONNECT
  std::string_view user; // the authenticated proxy user ("" logs "-")
  int version_major = 1; // HTTP version of the request
  int version_minor = 1;
  int status = 0;                           // final status sent to the client; 0 when none was
  std::uint64_t bytes_sent = 0;             // bytes sent to the client, head and body
  std::uint64_t body_bytes_sent = 0;        // the body part of bytes_sent
  std::string_view cache_result = "NONE";   // Squid result code: TCP_MISS, TCP_HIT, TCP_TUNNEL...
  std::string_view hierarchy = "HIER_NONE"; // Squid hierarchy: HIER_DIRECT, FIRSTUP_PARENT
  std::string_view peer;                    // origin or parent address ("" logs "-")
  std::string_view content_type;            // response Content-Type value ("" logs "-")
  std::string_view referer;                 // request Referer ("" logs "-")
  std::string_view user_agent;              // request User-Agent ("" logs "-")
  // Why the exchange ended before its response was completely sent; nullopt when it
  // completed. Squid's format marks such a line _ABORTED or _TIMEDOUT.
  std::optional<core::CloseReason> cut_short;
};

// The record of one exchange with what every line has: the client, the request (null when
// none was parsed) and the Squid result code of `outcome`, from the Cache-Status table.
// The views point into `client` and `request`; the caller adds what was sent.
AccessRecord accessRecord(std::string_view client, const http::RequestHead* request,
                          cache::Outcome outcome);

// Squid native format, without the line feed:
//   time.ms elapsed client result/status bytes method URL user hierarchy/peer type
// `time` is when the exchange ended (started + duration), as Squid logs it. Fields that
// would hold a space or a control byte have those bytes %-encoded. Pure.
std::string formatSquid(const AccessRecord& record);

// Apache combined format, without the line feed:
//   client - user [26/Nov/2026:15:45:00 +0000] "GET http://a/ HTTP/1.1" 200 1234 "ref" "agent"
// The time is when the request started, always in UTC; the size is body bytes ("-" if
// none). Quotes, backslashes and control bytes are escaped as Apache does. Pure.
std::string formatCombined(const AccessRecord& record);

// Owns the log file and its writer thread.
class AccessLogWriter {
public:
  static constexpr std::size_t kDefaultQueueBytes = std::size_t{4} << 20;

  // An empty path makes a writer that is off (write() returns at once); "-" writes to
  // stderr; any other path is opened for appending (created 0640). Throws
  // std::system_error when the file cannot be opened. queue_bytes bounds the lines waiting
  // for the writer thread.
  explicit AccessLogWriter(const AccessLog& settings, std::size_t queue_bytes = kDefaultQueueBytes);
  // Writes every queued line, then joins the writer thread.
  ~AccessLogWriter();

  AccessLogWriter(const AccessLogWriter&) = delete;
  AccessLogWriter& operator=(const AccessLogWriter&) = delete;

  bool isEnabled() const noexcept { return enabled_; }

  // Formats the record and queues the line. Any thread; never waits for I/O, only for a
  // short mutex. Drops the line and counts access_log_dropped when the queue is full.
  void write(const AccessRecord& record);

  // Lines queued before this call go to the file as it was, later ones to a file newly
  // opened at the same path (after logrotate renamed the old one). Asynchronous; any
  // thread, not from a signal handler. No effect for stderr or when off.
  void reopen();

  // Test hooks: while paused the writer thread takes no lines, so the queue fills up.
  void pauseForTest();
  void resumeForTest();

private:
  void run();
  void writeOut(std::string_view bytes);
  void reopenFile();

  const std::string path_;
  const AccessLogFormat format_;
  const std::size_t queue_bytes_;
  const bool enabled_;
  int fd_ = -1; // after construction, used by the writer thread only

  std::mutex mutex_;
  std::condition_variable wake_;
  std::string pending_;                  // whole lines, guarded by mutex_
  std::optional<std::size_t> reopen_at_; // offset in pending_ of the reopen, guarded
  bool paused_ = false;                  // guarded
  bool stopping_ = false;                // guarded

  std::string writing_;  // writer thread only
  bool failing_ = false; // writer thread only: last write failed, already reported
  std::thread thread_;
};

} // namespace ferry::proxy
