// Human units: every unit, the boundaries of uint64_t, and the texts that must be refused.
#include "units.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

using namespace ferry::config::units;

namespace {

constexpr uint64_t Max = UINT64_MAX;

struct Good {
  const char* text;
  uint64_t value;
};

struct Bad {
  const char* text;
  const char* reason; // a part of the error
};

} // namespace

TEST_CASE("parseSize reads bytes, decimal and binary units", "[config]") {
  const Good table[] = {
      {"0", 0},
      {"512", 512},
      {"512B", 512},
      {"1KB", 1000},
      {"2MB", 2000000},
      {"3GB", 3000000000},
      {"4TB", 4000000000000},
      {"64KiB", 64 * 1024},
      {"256MiB", 256ull << 20},
      {"1GiB", 1ull << 30},
      {"2TiB", 2ull << 40},
      {"256 MiB", 256ull << 20},
      {"0008KiB", 8 * 1024},
      {"18446744073709551615", Max},
      {"16777215TiB", 16777215ull << 40},
  };
  for (const auto& row : table) {
    INFO(row.text);
    auto parsed = parseSize(row.text);
    CHECK(parsed.error == "");
    CHECK(parsed.ok());
    CHECK(parsed.value == row.value);
  }
}

TEST_CASE("parseSize refuses negatives, overflow, fractions and unknown units", "[config]") {
  const Bad table[] = {
      {"-1", "\"-1\" is negative"},
      {"-1KiB", "\"-1KiB\" is negative"},
      {"18446744073709551616", "\"18446744073709551616\" is too large"},
      {"16777216TiB", "\"16777216TiB\" is too large"},
      {"18446744073709551616B", "is too large"},
      {"1.5GiB", "\"1.5GiB\" is not a whole number"},
      {"1kb", "unknown unit \"kb\" (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)"},
      {"1Mb", "unknown unit \"Mb\""},
      {"1K", "unknown unit \"K\""},
      {"1 KiB B", "unknown unit \"KiB B\""},
      {"abc", "\"abc\" is not a size"},
      {"KiB", "\"KiB\" is not a size"},
      {"+5", "\"+5\" is not a size"},
      {" 5", "\" 5\" is not a size"},
      {"5 ", "\"5 \" is not a size"},
      {"", "is empty"},
  };
  for (const auto& row : table) {
    INFO(row.text);
    auto parsed = parseSize(row.text);
    CHECK_FALSE(parsed.ok());
    CHECK_THAT(parsed.error, Catch::Matchers::Contains(row.reason));
  }
}

TEST_CASE("parseDuration reads ms, s, m, h and d and requires a unit", "[config]") {
  const Good table[] = {
      {"0ms", 0},      {"250ms", 250},
      {"30s", 30000},  {"5m", 300000},
      {"1h", 3600000}, {"2d", 172800000},
      {"10 s", 10000}, {"213503982334d", 213503982334ull * 86400000},
  };
  for (const auto& row : table) {
    INFO(row.text);
    auto parsed = parseDuration(row.text);
    CHECK(parsed.error == "");
    CHECK(parsed.value == row.value);
  }

  const Bad bad[] = {
      {"30", "\"30\" has no unit (use ms, s, m, h or d)"},
      {"30S", "unknown unit \"S\""},
      {"1w", "unknown unit \"w\""},
      {"2us", "unknown unit \"us\""},
      {"1.5s", "not a whole number"},
      {"-1s", "\"-1s\" is negative"},
      {"s", "\"s\" is not a duration"},
      {"", "is empty"},
      {"213503982335d", "\"213503982335d\" is too large"},
      {"99999999999999999999ms", "is too large"},
  };
  for (const auto& row : bad) {
    INFO(row.text);
    auto parsed = parseDuration(row.text);
    CHECK_FALSE(parsed.ok());
    CHECK_THAT(parsed.error, Catch::Matchers::Contains(row.reason));
  }
}

TEST_CASE("parseCount reads plain whole numbers only", "[config]") {
  CHECK(parseCount("0").value == 0);
  CHECK(parseCount("42").value == 42);
  CHECK(parseCount("18446744073709551615").value == Max);
  CHECK(parseCount("42").ok());

  const Bad bad[] = {
      {"4x", "\"4x\" is not a whole number"},     {"1e3", "\"1e3\" is not a whole number"},
      {"2KiB", "\"2KiB\" is not a whole number"}, {"-3", "\"-3\" is negative"},
      {"18446744073709551616", "is too large"},   {"", "is empty"},
  };
  for (const auto& row : bad) {
    INFO(row.text);
    auto parsed = parseCount(row.text);
    CHECK_FALSE(parsed.ok());
    CHECK_THAT(parsed.error, Catch::Matchers::Contains(row.reason));
  }
}

TEST_CASE("formatSize and formatDuration pick the largest exact unit", "[config]") {
  CHECK(formatSize(0) == "0B");
  CHECK(formatSize(256) == "256B");
  CHECK(formatSize(1000) == "1000B");
  CHECK(formatSize(1536) == "1536B");
  CHECK(formatSize(3072) == "3KiB");
  CHECK(formatSize(1ull << 20) == "1MiB");
  CHECK(formatSize(16ull << 30) == "16GiB");
  CHECK(formatSize(5ull << 40) == "5TiB");

  CHECK(formatDuration(0) == "0ms");
  CHECK(formatDuration(1) == "1ms");
  CHECK(formatDuration(1500) == "1500ms");
  CHECK(formatDuration(90000) == "90s");
  CHECK(formatDuration(300000) == "5m");
  CHECK(formatDuration(3600000) == "1h");
  CHECK(formatDuration(7 * 86400000ull) == "7d");
}

TEST_CASE("formatted sizes and durations parse back to the same value", "[config]") {
  for (uint64_t bytes :
       {uint64_t{0}, uint64_t{1}, uint64_t{1023}, uint64_t{1} << 10, uint64_t{3} << 30, Max}) {
    INFO(bytes);
    CHECK(parseSize(formatSize(bytes)).value == bytes);
  }
  for (uint64_t ms : {uint64_t{1}, uint64_t{999}, uint64_t{60000}, uint64_t{86400000} * 3}) {
    INFO(ms);
    CHECK(parseDuration(formatDuration(ms)).value == ms);
  }
}
