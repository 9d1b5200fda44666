// Byte ranges served from a stored full response (RFC 9110 §14): one `bytes=` range at most.
// Several ranges are answered with the whole 200 (allowed by §14.2), so no multipart bodies.
// Pure; the body itself is the caller's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ferry/cache/http_date.h"
#include "ferry/http/message.h"

namespace ferry::cache::policy {

struct ByteRange {
  std::uint64_t offset = 0; // first byte
  std::uint64_t length = 0; // bytes, ≥ 1
};

enum class RangeOutcome {
  Full,          // ignore Range: 200 with the whole body
  Partial,       // 206 with `range` and Content-Range: contentRange(range, full_length)
  Unsatisfiable, // 416 with Content-Range: unsatisfiedRange(full_length) (RFC 9110 §15.5.17)
};

struct RangeDecision {
  RangeOutcome outcome = RangeOutcome::Full;
  ByteRange range; // meaningful for Partial
};

// RFC 9110 §14.1.1-§14.1.2: a Range field value against a representation of `full_length`
// bytes. One int-range ("first-last", "first-") or suffix-range ("-suffix"), last clamped to the
// end; Full for another unit, several ranges, bad syntax (first > last, junk) or an empty
// representation; Unsatisfiable when first ≥ full_length or the suffix is 0.
RangeDecision parseRange(std::string_view range, std::uint64_t full_length);

// RFC 9110 §14.2, §13.1.5: the range answer to `request` from a stored 200: Full unless the
// method is GET, the stored status is 200 and Range is present; with If-Range, Full unless it
// is a strong entity-tag equal to the stored ETag (strong comparison) or an HTTP-date equal to
// the stored Last-Modified. `now` reads two-digit years (http_date.h).
RangeDecision evaluateRange(const http::RequestHead& request, const http::ResponseHead& stored,
                            std::uint64_t full_length, TimePoint now);

// "bytes first-last/full_length" (RFC 9110 §14.4).
std::string contentRange(const ByteRange& range, std::uint64_t full_length);
// "bytes */full_length", for a 416.
std::string unsatisfiedRange(std::uint64_t full_length);

} // namespace ferry::cache::policy
