// Byte ranges from a stored 200 (RFC 9110 §14): one range served as a 206, an unsatisfiable
// one as a 416, anything else as the whole 200; If-Range (RFC 9110 §13.1.5).
#include "policy_fixtures.h"

#include <catch2/catch.hpp>

using namespace ferry;
using namespace ferry::cache;
using namespace ferry::cache::policy;
using namespace ferry::cache::policy_test;

namespace {

struct RangeRow {
  const char* name;
  const char* range;
  std::uint64_t length;
  RangeOutcome outcome;
  std::uint64_t offset = 0;
  std::uint64_t count = 0;
};

// clang-format off
const RangeRow RangeRows[] = {
  {"§14.1.2 first-last", "bytes=0-499", 10000, RangeOutcome::Partial, 0, 500},
  {"§14.1.2 first-last in the middle", "bytes=500-999", 10000, RangeOutcome::Partial, 500, 500},
  {"§14.1.2 first- to the end", "bytes=9500-", 10000, RangeOutcome::Partial, 9500, 500},
  {"§14.1.2 -suffix", "bytes=-500", 10000, RangeOutcome::Partial, 9500, 500},
  {"§14.1.2 a suffix longer than the body is the whole body", "bytes=-20000", 10000,
   RangeOutcome::Partial, 0, 10000},
  {"§14.1.2 last past the end is clamped", "bytes=9000-20000", 10000, RangeOutcome::Partial,
   9000, 1000},
  {"§14.1.2 a single byte", "bytes=0-0", 1, RangeOutcome::Partial, 0, 1},
  {"§14.1.1 the unit is case-insensitive", "Bytes=1-2", 10, RangeOutcome::Partial, 1, 2},
  {"§14.1.1 whitespace around the list member", "bytes= 1-2 ", 10, RangeOutcome::Partial, 1, 2},
  {"§14.1.1 first past the end: 416", "bytes=10000-", 10000, RangeOutcome::Unsatisfiable},
  {"§14.1.1 a zero suffix: 416", "bytes=-0", 10000, RangeOutcome::Unsatisfiable},
  {"§14.1.1 a huge first-pos: 416", "bytes=99999999999999999999999-", 10,
   RangeOutcome::Unsatisfiable},
  {"§14.2 several ranges: the whole 200", "bytes=0-1,5-6", 10000, RangeOutcome::Full},
  {"§14.2 another unit: the whole 200", "items=0-1", 10000, RangeOutcome::Full},
  {"§14.2 last before first is invalid: the whole 200", "bytes=5-1", 10000,
   RangeOutcome::Full},
  {"§14.2 junk: the whole 200", "bytes=a-b", 10000, RangeOutcome::Full},
  {"§14.2 no dash: the whole 200", "bytes=5", 10000, RangeOutcome::Full},
  {"§14.2 no range-set: the whole 200", "bytes=", 10000, RangeOutcome::Full},
  {"§14.2 no unit: the whole 200", "0-1", 10000, RangeOutcome::Full},
  {"§14.2 an empty representation: the whole (empty) 200", "bytes=0-1", 0, RangeOutcome::Full},
};
// clang-format on

} // namespace

TEST_CASE("Range parsing against a known length (RFC 9110 §14)", "[cache]") {
  for (const RangeRow& row : RangeRows) {
    SECTION(row.name) {
      const RangeDecision d = parseRange(row.range, row.length);
      CHECK(d.outcome == row.outcome);
      if (row.outcome == RangeOutcome::Partial) {
        CHECK(d.range.offset == row.offset);
        CHECK(d.range.length == row.count);
      }
    }
  }
}

TEST_CASE("§14.4 Content-Range values", "[cache]") {
  CHECK(contentRange({0, 500}, 10000) == "bytes 0-499/10000");
  CHECK(contentRange({9500, 500}, 10000) == "bytes 9500-9999/10000");
  CHECK(unsatisfiedRange(10000) == "bytes */10000");
}

namespace {

struct IfRangeRow {
  const char* name;
  const char* method;
  const char* request;
  int status;
  const char* stored;
  RangeOutcome outcome;
};

// clang-format off
const IfRangeRow IfRangeRows[] = {
  {"§14.2 Range on a GET", "GET", "Range: bytes=0-9", 200, "ETag: \"a\"", RangeOutcome::Partial},
  {"§14.2 Range is ignored on HEAD", "HEAD", "Range: bytes=0-9", 200, "", RangeOutcome::Full},
  {"§14.2 no Range: the whole 200", "GET", "", 200, "", RangeOutcome::Full},
  {"§14.2 ranges only of a stored 200", "GET", "Range: bytes=0-9", 404, "", RangeOutcome::Full},
  {"§14.2 two Range fields: the whole 200", "GET", "Range: bytes=0-9\nRange: bytes=0-9", 200,
   "", RangeOutcome::Full},
  {"§13.1.5 If-Range with the stored strong ETag", "GET",
   "Range: bytes=0-9\nIf-Range: \"a\"", 200, "ETag: \"a\"", RangeOutcome::Partial},
  {"§13.1.5 If-Range with another ETag: the whole 200", "GET",
   "Range: bytes=0-9\nIf-Range: \"b\"", 200, "ETag: \"a\"", RangeOutcome::Full},
  {"§13.1.5 If-Range with a weak ETag never matches", "GET",
   "Range: bytes=0-9\nIf-Range: W/\"a\"", 200, "ETag: W/\"a\"", RangeOutcome::Full},
  {"§13.1.5 If-Range with the stored Last-Modified", "GET",
   "Range: bytes=0-9\nIf-Range: @-100", 200, "Last-Modified: @-100", RangeOutcome::Partial},
  {"§13.1.5 If-Range with another date: the whole 200", "GET",
   "Range: bytes=0-9\nIf-Range: @-99", 200, "Last-Modified: @-100", RangeOutcome::Full},
  {"§13.1.5 If-Range date without a stored Last-Modified", "GET",
   "Range: bytes=0-9\nIf-Range: @-100", 200, "ETag: \"a\"", RangeOutcome::Full},
  {"§13.1.5 If-Range with an invalid value", "GET",
   "Range: bytes=0-9\nIf-Range: yesterday", 200, "Last-Modified: @-100", RangeOutcome::Full},
  {"§13.1.5 If-Range and an unsatisfiable range: 416", "GET",
   "Range: bytes=100-\nIf-Range: \"a\"", 200, "ETag: \"a\"", RangeOutcome::Unsatisfiable},
};
// clang-format on

} // namespace

TEST_CASE("If-Range and when ranges apply (RFC 9110 §13.1.5, §14.2)", "[cache]") {
  for (const IfRangeRow& row : IfRangeRows) {
    SECTION(row.name) {
      CHECK(
          evaluateRange(request(row.request, row.method), response(row.status, row.stored), 100, T0)
              .outcome == row.outcome);
    }
  }
}
