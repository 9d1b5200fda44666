// Small readers shared by the cache policy files: delta-seconds, dates from header fields,
// whole-second clock arithmetic, ASCII lower case. Private to src/cache.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/cache/http_date.h"
#include "ferry/http/headers.h"

namespace ferry::cache::detail {

// RFC 9111 §1.2.2: 1*DIGIT; values past 2^31 read as 2^31. nullopt when not all digits.
std::optional<std::int64_t> parseDeltaSeconds(std::string_view text) noexcept;

// Whole seconds since the epoch, floored. Every clock difference is taken in these units so
// dates clamped to the ends of TimePoint's range never overflow.
std::int64_t epochSeconds(TimePoint time) noexcept;

// The first `name` field as an HTTP-date, in epochSeconds; nullopt when absent or invalid.
std::optional<std::int64_t> dateField(const http::Headers& headers, std::string_view name,
                                      TimePoint reference);

std::string lowerCase(std::string_view text);

std::string_view trimmed(std::string_view text) noexcept;

} // namespace ferry::cache::detail
