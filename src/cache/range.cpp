// Single byte ranges from a stored 200 (RFC 9110 §14). Anything this does not serve as one
// range (several ranges, other units, bad syntax) is answered with the full 200, which §14.2
// allows: a server MAY ignore Range.
#include "ferry/cache/range.h"

#include "ferry/cache/policy.h"

#include "field_values.h"

#include <limits>

namespace ferry::cache::policy {

namespace {

constexpr std::uint64_t Max = std::numeric_limits<std::uint64_t>::max();

// 1*DIGIT, saturating (a first-pos past any length is simply unsatisfiable).
std::optional<std::uint64_t> parseNumber(std::string_view text) {
  if (text.empty())
    return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    value = value > (Max - digit) / 10 ? Max : value * 10 + digit;
  }
  return value;
}

RangeDecision partial(std::uint64_t offset, std::uint64_t length) {
  return {RangeOutcome::Partial, {offset, length}};
}

} // namespace

RangeDecision parseRange(std::string_view range, std::uint64_t full_length) {
  const RangeDecision full;
  const RangeDecision unsatisfiable{RangeOutcome::Unsatisfiable, {}};
  const auto eq = range.find('=');
  if (eq == std::string_view::npos ||
      !http::equalsIgnoreCase(detail::trimmed(range.substr(0, eq)), "bytes"))
    return full; // §14.1: an unknown range unit is ignored
  std::vector<std::string_view> specs;
  http::forEachListMember(range.substr(eq + 1),
                          [&](std::string_view spec) { specs.push_back(spec); });
  if (specs.size() != 1 || full_length == 0)
    return full;
  const std::string_view spec = specs.front();
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos)
    return full;
  if (dash == 0) { // suffix-range = "-" suffix-length
    const auto suffix = parseNumber(spec.substr(1));
    if (!suffix)
      return full;
    if (*suffix == 0)
      return unsatisfiable; // §14.1.1: a zero suffix-length is unsatisfiable
    const std::uint64_t length = std::min(*suffix, full_length);
    return partial(full_length - length, length);
  }
  // int-range = first-pos "-" [ last-pos ]
  const auto first = parseNumber(spec.substr(0, dash));
  const std::string_view lastText = spec.substr(dash + 1);
  const auto last = lastText.empty() ? std::optional<std::uint64_t>(Max) : parseNumber(lastText);
  if (!first || !last || *last < *first)
    return full; // invalid: ignored
  if (*first >= full_length)
    return unsatisfiable;
  const std::uint64_t end = std::min(*last, full_length - 1);
  return partial(*first, end - *first + 1);
}

RangeDecision evaluateRange(const http::RequestHead& request, const http::ResponseHead& stored,
                            std::uint64_t full_length, TimePoint now) {
  const RangeDecision full;
  if (!request.isMethod("GET") || stored.status != 200 || request.headers.count("Range") != 1)
    return full;
  if (const auto ifRange = request.headers.get("If-Range")) {
    // RFC 9110 §13.1.5: an entity-tag compares strongly; a date must equal Last-Modified.
    const std::string_view validator = detail::trimmed(*ifRange);
    if (!validator.empty() && (validator.front() == '"' || validator.substr(0, 2) == "W/")) {
      const auto etag = stored.headers.get("ETag");
      if (!etag || !strongMatch(validator, *etag))
        return full;
    } else {
      const auto date = parseHttpDate(validator, now);
      const auto lastModified = detail::dateField(stored.headers, "Last-Modified", now);
      if (!date || !lastModified || detail::epochSeconds(*date) != *lastModified)
        return full;
    }
  }
  return parseRange(*request.headers.get("Range"), full_length);
}

std::string contentRange(const ByteRange& range, std::uint64_t full_length) {
  return "bytes " + std::to_string(range.offset) + "-" +
         std::to_string(range.offset + range.length - 1) + "/" + std::to_string(full_length);
}

std::string unsatisfiedRange(std::uint64_t full_length) {
  return "bytes */" + std::to_string(full_length);
}

} // namespace ferry::cache::policy
