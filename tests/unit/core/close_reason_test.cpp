// The close-reason table: every row has a usable name and description.
#include "ferry/core/close_reason.h"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using namespace ferry::core;

TEST_CASE("close reasons have unique snake_case names and descriptions", "[core]") {
  REQUIRE(kCloseReasonCount == kAllCloseReasons.size());
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < kCloseReasonCount; ++i) {
    const CloseReason reason = kAllCloseReasons[i];
    INFO("reason #" << i << " " << name(reason));
    CHECK(index(reason) == i);
    CHECK(names.insert(name(reason)).second);
    REQUIRE_FALSE(name(reason).empty());
    for (char c : name(reason))
      CHECK(((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'));
    REQUIRE_FALSE(description(reason).empty());
    CHECK(description(reason).back() != '.');
    CHECK(description(reason).find('\n') == std::string_view::npos);
  }
}

TEST_CASE("close reasons map to their row", "[core]") {
  CHECK(name(CloseReason::ClientEof) == "client_eof");
  CHECK(description(CloseReason::ClientEof) == "client closed the connection");
  CHECK(name(CloseReason::ShutdownForced) == "shutdown_forced");
  CHECK(kAllCloseReasons.front() == CloseReason::ClientEof);
  CHECK(kAllCloseReasons.back() == CloseReason::ShutdownForced);
}

TEST_CASE("timeouts are told apart from other close reasons", "[core]") {
  CHECK(isTimeout(CloseReason::ClientHeaderTimeout));
  CHECK(isTimeout(CloseReason::OriginTimeout));
  CHECK(isTimeout(CloseReason::TunnelIdleTimeout));
  CHECK_FALSE(isTimeout(CloseReason::ClientEof));
  CHECK_FALSE(isTimeout(CloseReason::OriginTruncated));
}
