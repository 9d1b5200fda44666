// HTTP-date (RFC 9110 §5.6.7): parsing the three formats a recipient must accept and
// formatting the one a sender must use. Pure: the clock is never read; the caller passes the
// time that two-digit rfc850 years are read against.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::cache {

using TimePoint = std::chrono::system_clock::time_point;
using Seconds = std::chrono::seconds;

// Parses IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), and the obsolete rfc850-date
// ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime-date ("Sun Nov  6 08:49:37 1994"). Names and
// "GMT" are case-sensitive, as the grammar says; surrounding spaces and tabs are ignored; the
// day name is checked to be a day name but not against the date. A two-digit rfc850 year more
// than 50 years after `reference` is read as the most recent past year with those digits.
// A second of 60 (leap second) reads as 59. nullopt when the text is none of the three.
std::optional<TimePoint> parseHttpDate(std::string_view text, TimePoint reference);

// IMF-fixdate of `time`, truncated to the second (RFC 9110 §5.6.7), e.g. for Date.
std::string formatHttpDate(TimePoint time);

} // namespace ferry::cache
