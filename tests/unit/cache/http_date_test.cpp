// HTTP-date (RFC 9110 §5.6.7): the three formats a recipient accepts, the one a sender uses,
// and what is not a date.
#include "policy_fixtures.h"

#include <catch2/catch.hpp>

using namespace ferry;
using namespace ferry::cache;
using namespace ferry::cache::policy_test;

namespace {

// 1994-11-06 08:49:37 UTC, the RFC's example.
const TimePoint Example =
    std::chrono::sys_days{std::chrono::year{1994} / 11 / 6} + 8h + 49min + 37s;

} // namespace

TEST_CASE("§5.6.7 the three formats of the RFC's example", "[cache]") {
  CHECK(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT", T0) == Example);  // IMF-fixdate
  CHECK(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT", T0) == Example); // rfc850-date
  CHECK(parseHttpDate("Sun Nov  6 08:49:37 1994", T0) == Example);       // asctime-date
  CHECK(parseHttpDate("Sun Nov 16 08:49:37 1994", T0) == Example + 10 * 24h);
  CHECK(parseHttpDate("  Sun, 06 Nov 1994 08:49:37 GMT\t", T0) == Example);
}

TEST_CASE("§5.6.7 a two-digit rfc850 year more than 50 years ahead is in the past", "[cache]") {
  // Read against 2026: 76 would be 2076, exactly 50 years ahead: kept. 77 → 1977.
  const auto year = [](std::string_view text) {
    const auto t = parseHttpDate(text, T0);
    REQUIRE(t);
    return static_cast<int>(
        std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(*t)).year());
  };
  CHECK(year("Thursday, 01-Jan-26 00:00:00 GMT") == 2026);
  CHECK(year("Friday, 01-Jan-76 00:00:00 GMT") == 2076);
  CHECK(year("Saturday, 01-Jan-77 00:00:00 GMT") == 1977);
  CHECK(year("Saturday, 01-Jan-00 00:00:00 GMT") == 2000);
}

TEST_CASE("§5.6.7 IMF-fixdate is what is sent", "[cache]") {
  CHECK(formatHttpDate(Example) == "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(formatHttpDate(T0) == "Thu, 01 Jan 2026 12:00:00 GMT");
  CHECK(formatHttpDate(Example + 999ms) == "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(formatHttpDate(std::chrono::sys_days{std::chrono::year{2024} / 2 / 29}) ==
        "Thu, 29 Feb 2024 00:00:00 GMT");
  CHECK(parseHttpDate(formatHttpDate(T0 + 123456789s), T0) == T0 + 123456789s);
}

TEST_CASE("§5.6.7 dates past what a time point holds are clamped, not wrapped", "[cache]") {
  const auto far = parseHttpDate("Fri, 31 Dec 9999 23:59:59 GMT", T0);
  REQUIRE(far);
  CHECK(*far > T0 + 100 * 365 * 24h);
  const auto early = parseHttpDate("Mon, 01 Jan 0001 00:00:00 GMT", T0);
  REQUIRE(early);
  CHECK(*early < Example);
}

TEST_CASE("§5.6.7 a leap second reads as second 59", "[cache]") {
  CHECK(parseHttpDate("Wed, 31 Dec 2025 23:59:60 GMT", T0) ==
        parseHttpDate("Wed, 31 Dec 2025 23:59:59 GMT", T0));
}

TEST_CASE("§5.6.7 what is not an HTTP-date", "[cache]") {
  const char* invalid[] = {
      "",
      "0",
      "-1",
      "tomorrow",
      "Sun, 06 Nov 1994 08:49:37 UTC",    // GMT only
      "Sun, 06 Nov 1994 08:49:37 gmt",    // case-sensitive
      "sun, 06 Nov 1994 08:49:37 GMT",    // case-sensitive day name
      "Sun, 06 nov 1994 08:49:37 GMT",    // case-sensitive month
      "Sun, 6 Nov 1994 08:49:37 GMT",     // 2DIGIT day
      "Sun, 06 Nov 94 08:49:37 GMT",      // 4DIGIT year
      "Sun, 06 Nov 1994 8:49:37 GMT",     // 2DIGIT hour
      "Sun, 06 Nov 1994 08:49 GMT",       // seconds required
      "Sun, 31 Feb 1994 08:49:37 GMT",    // no such day
      "Sun, 06 Nov 1994 24:00:00 GMT",    // hour 0..23
      "Sun, 06 Nov 1994 08:60:00 GMT",    // minute 0..59
      "Sun, 06 Nov 1994 08:49:61 GMT",    // second 0..60
      "Sun, 06 Nov 1994 08:49:37 GMT x",  // trailing junk
      "Sux, 06 Nov 1994 08:49:37 GMT",    // not a day name
      "Sun,06 Nov 1994 08:49:37 GMT",     // SP required
      "Sunday, 06-Nov-1994 08:49:37 GMT", // rfc850 has a 2-digit year
      "Sun, 06-Nov-94 08:49:37 GMT",      // rfc850 has the long day name
      "Sun Nov 6 08:49:37 1994",          // asctime pads the day with a space
      "Sun Nov  6 08:49:37 94",           // asctime has a 4-digit year
      "2026-01-01T12:00:00Z",             // ISO 8601 is not an HTTP-date
  };
  for (const char* text : invalid) {
    INFO(text);
    CHECK_FALSE(parseHttpDate(text, T0));
  }
}
