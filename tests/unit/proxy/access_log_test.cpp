// Access log: both line formats byte for byte, escaping, and the writer thread (file
// contents, flush on destruction, reopen after rotation, dropped lines when full).
#include "ferry/proxy/access_log.h"

#include "ferry/core/counters.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

using namespace ferry;
using namespace std::chrono_literals;
using proxy::AccessLogFormat;
using proxy::AccessLogWriter;
using proxy::AccessRecord;

namespace {

// 26 Nov 2026 15:45:00.123 UTC.
const auto kStart = std::chrono::system_clock::time_point(1795707900s + 123ms);

AccessRecord sampleRecord() {
  AccessRecord r;
  r.started = kStart;
  r.duration = 1500ms;
  r.client = "192.0.2.7";
  r.method = "GET";
  r.url = "http://example.com/a?b=c";
  r.status = 200;
  r.bytes_sent = 1534;
  r.body_bytes_sent = 1234;
  r.cache_result = "TCP_MISS";
  r.hierarchy = "HIER_DIRECT";
  r.peer = "198.51.100.1";
  r.content_type = "text/html; charset=utf-8";
  r.referer = "http://example.com/";
  r.user_agent = "curl/8.0.1";
  return r;
}

std::uint64_t droppedLines() {
  for (const core::CounterValue& v : core::snapshotCounters())
    if (v.name == "access_log_dropped")
      return v.value;
  FAIL("no access_log_dropped counter");
  return 0;
}

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ferry-log-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

proxy::AccessLog settingsFor(const std::filesystem::path& path, AccessLogFormat format) {
  return {path.string(), format};
}

} // namespace

TEST_CASE("squid native format", "[proxy]") {
  CHECK(proxy::formatSquid(sampleRecord()) ==
        "1795707901.623   1500 192.0.2.7 TCP_MISS/200 1534 GET http://example.com/a?b=c - "
        "HIER_DIRECT/198.51.100.1 text/html");
}

TEST_CASE("squid format of a tunnel, a refusal and unset fields", "[proxy]") {
  AccessRecord tunnel = sampleRecord();
  tunnel.method = "CONNECT";
  tunnel.url = "example.com:443";
  tunnel.cache_result = "TCP_TUNNEL";
  tunnel.content_type = "";
  tunnel.duration = 1234567ms;
  tunnel.bytes_sent = 987654321;
  CHECK(proxy::formatSquid(tunnel) ==
        "1795709134.690 1234567 192.0.2.7 TCP_TUNNEL/200 987654321 CONNECT example.com:443 - "
        "HIER_DIRECT/198.51.100.1 -");

  AccessRecord empty;
  empty.started = kStart;
  CHECK(proxy::formatSquid(empty) == "1795707900.123      0 - NONE/000 0 NONE - - HIER_NONE/- -");
}

TEST_CASE("squid format marks exchanges cut short", "[proxy]") {
  AccessRecord r = sampleRecord();
  r.cut_short = core::CloseReason::OriginTruncated;
  CHECK(proxy::formatSquid(r).find(" TCP_MISS_ABORTED/200 ") != std::string::npos);
  r.cut_short = core::CloseReason::OriginTimeout;
  r.status = 504;
  CHECK(proxy::formatSquid(r).find(" TCP_MISS_TIMEDOUT/504 ") != std::string::npos);
}

TEST_CASE("squid format keeps one field per token", "[proxy]") {
  AccessRecord r = sampleRecord();
  r.url = "http://example.com/a b\r\n\x7f";
  r.method = "G\tT";
  r.content_type = "application/json;charset=utf-8";
  CHECK(proxy::formatSquid(r) ==
        "1795707901.623   1500 192.0.2.7 TCP_MISS/200 1534 G%09T "
        "http://example.com/a%20b%0D%0A%7F - HIER_DIRECT/198.51.100.1 application/json");
}

TEST_CASE("combined format", "[proxy]") {
  CHECK(proxy::formatCombined(sampleRecord()) ==
        "192.0.2.7 - - [26/Nov/2026:15:45:00 +0000] \"GET http://example.com/a?b=c HTTP/1.1\" "
        "200 1234 \"http://example.com/\" \"curl/8.0.1\"");
}

TEST_CASE("combined format of unset fields", "[proxy]") {
  AccessRecord r;
  r.started = std::chrono::system_clock::time_point(951782400s); // 29 Feb 2000 00:00:00
  r.version_minor = 0;
  CHECK(proxy::formatCombined(r) == "- - - [29/Feb/2000:00:00:00 +0000] \"NONE - HTTP/1.0\" - - "
                                    "\"-\" \"-\"");
}

TEST_CASE("combined format escapes quotes, backslashes and control bytes", "[proxy]") {
  AccessRecord r = sampleRecord();
  r.user_agent = "a\"b\\c\nd\te\x01\xff";
  r.referer = "say \"hi\"";
  r.url = "http://example.com/\r";
  CHECK(proxy::formatCombined(r) ==
        "192.0.2.7 - - [26/Nov/2026:15:45:00 +0000] \"GET http://example.com/\\r HTTP/1.1\" "
        "200 1234 \"say \\\"hi\\\"\" \"a\\\"b\\\\c\\nd\\te\\x01\\xff\"");
}

TEST_CASE("#14 the user column carries the proxy user in both formats", "[proxy]") {
  AccessRecord r = sampleRecord();
  r.user = "alice";
  CHECK(proxy::formatSquid(r) ==
        "1795707901.623   1500 192.0.2.7 TCP_MISS/200 1534 GET http://example.com/a?b=c alice "
        "HIER_DIRECT/198.51.100.1 text/html");
  CHECK(proxy::formatCombined(r).rfind("192.0.2.7 - alice [26/Nov/2026:15:45:00 +0000] ", 0) == 0);
  r.user = "bob smith\n";
  CHECK(proxy::formatSquid(r).find(" bob%20smith%0A HIER_DIRECT/") != std::string::npos);
  CHECK(proxy::formatCombined(r).rfind("192.0.2.7 - bob smith\\n [", 0) == 0);
}

TEST_CASE("the writer appends formatted lines and flushes them on destruction", "[proxy]") {
  TempDir dir;
  const auto path = dir.path / "access.log";
  AccessRecord second = sampleRecord();
  second.status = 304;
  for (AccessLogFormat format : {AccessLogFormat::Squid, AccessLogFormat::Combined}) {
    std::filesystem::remove(path);
    std::ofstream(path) << "earlier line\n";
    {
      AccessLogWriter log(settingsFor(path, format));
      REQUIRE(log.isEnabled());
      log.write(sampleRecord());
      log.write(second);
    }
    const auto fmt = format == AccessLogFormat::Squid ? proxy::formatSquid : proxy::formatCombined;
    CHECK(readFile(path) == "earlier line\n" + fmt(sampleRecord()) + "\n" + fmt(second) + "\n");
  }
}

TEST_CASE("a writer with no path is off", "[proxy]") {
  AccessLogWriter log(proxy::AccessLog{"", AccessLogFormat::Squid});
  CHECK_FALSE(log.isEnabled());
  log.write(sampleRecord());
  log.reopen();
}

TEST_CASE("a log file that cannot be opened is an error", "[proxy]") {
  TempDir dir;
  CHECK_THROWS_AS(
      AccessLogWriter(settingsFor(dir.path / "missing" / "access.log", AccessLogFormat::Squid)),
      std::system_error);
}

TEST_CASE("lines that do not fit in the queue are dropped and counted", "[proxy]") {
  TempDir dir;
  const auto path = dir.path / "access.log";
  const std::string line = proxy::formatSquid(sampleRecord()) + "\n";
  const std::uint64_t dropped = droppedLines();
  {
    AccessLogWriter log(settingsFor(path, AccessLogFormat::Squid), 2 * line.size());
    log.pauseForTest();
    for (int i = 0; i < 5; ++i)
      log.write(sampleRecord());
    CHECK(droppedLines() - dropped == 3);
    log.resumeForTest();
  }
  CHECK(readFile(path) == line + line);
  CHECK(droppedLines() - dropped == 3);
}

TEST_CASE("reopen sends later lines to a new file after rotation", "[proxy]") {
  TempDir dir;
  const auto path = dir.path / "access.log";
  const auto rotated = dir.path / "access.log.1";
  AccessRecord before = sampleRecord();
  AccessRecord after = sampleRecord();
  after.status = 404;
  const bool paused = GENERATE(false, true);
  {
    AccessLogWriter log(settingsFor(path, AccessLogFormat::Squid));
    if (paused)
      log.pauseForTest(); // the reopen then happens between queued lines
    log.write(before);
    std::filesystem::rename(path, rotated);
    log.reopen();
    log.write(after);
    log.resumeForTest();
  }
  CHECK(readFile(rotated) == proxy::formatSquid(before) + "\n");
  CHECK(readFile(path) == proxy::formatSquid(after) + "\n");
}
