// Small readers shared by the cache policy files.
#include "field_values.h"

#include "ferry/cache/directives.h"

#include <chrono>

namespace ferry::cache::detail {

std::optional<std::int64_t> parseDeltaSeconds(std::string_view text) noexcept {
  if (text.empty())
    return std::nullopt;
  const std::int64_t cap = MaxDeltaSeconds.count();
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    if (value < cap)
      value = value * 10 + (c - '0');
  }
  return value < cap ? value : cap;
}

std::int64_t epochSeconds(TimePoint time) noexcept {
  return std::chrono::floor<std::chrono::seconds>(time.time_since_epoch()).count();
}

std::optional<std::int64_t> dateField(const http::Headers& headers, std::string_view name,
                                      TimePoint reference) {
  const auto value = headers.get(name);
  if (!value)
    return std::nullopt;
  const auto date = parseHttpDate(*value, reference);
  if (!date)
    return std::nullopt;
  return epochSeconds(*date);
}

std::string lowerCase(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view trimmed(std::string_view text) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

} // namespace ferry::cache::detail
