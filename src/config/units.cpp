// Size and duration units for the config file. Whole numbers only: a fraction such as
// "1.5GiB" is an error rather than a rounding the user did not ask for.
#include "units.h"

#include <array>
#include <charconv>
#include <limits>
#include <optional>

namespace ferry::config::units {

namespace {

struct Unit {
  std::string_view name;
  uint64_t factor;
};

constexpr uint64_t KiB = 1024;
constexpr uint64_t KB = 1000;

constexpr std::size_t FirstBinarySizeUnit = 5; // KiB below

constexpr std::array<Unit, 9> SizeUnits{{
    {"B", 1},
    {"KB", KB},
    {"MB", KB* KB},
    {"GB", KB* KB* KB},
    {"TB", KB* KB* KB* KB},
    {"KiB", KiB},
    {"MiB", KiB* KiB},
    {"GiB", KiB* KiB* KiB},
    {"TiB", KiB* KiB* KiB* KiB},
}};

constexpr std::array<Unit, 5> DurationUnits{{
    {"ms", 1},
    {"s", 1000},
    {"m", 60 * 1000},
    {"h", 60 * 60 * 1000},
    {"d", 24 * 60 * 60 * 1000},
}};

constexpr std::string_view SizeUnitList = "B, KB, MB, GB, TB, KiB, MiB, GiB or TiB";
constexpr std::string_view DurationUnitList = "ms, s, m, h or d";

std::string quoted(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// The number and the unit of "256MiB" or "256 MiB", or an error naming `what`.
struct Split {
  uint64_t number = 0;
  std::string_view unit;
  std::string error;
};

Split split(std::string_view text, std::string_view what) {
  Split out;
  if (text.empty()) {
    out.error = "is empty, expected " + std::string(what);
    return out;
  }
  if (text.front() == '-') {
    out.error = quoted(text) + " is negative";
    return out;
  }
  std::size_t digits = 0;
  while (digits < text.size() && isDigit(text[digits]))
    ++digits;
  if (digits == 0) {
    out.error = quoted(text) + " is not " + std::string(what);
    return out;
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + digits, out.number);
  if (ec == std::errc::result_out_of_range) {
    out.error = quoted(text) + " is too large";
    return out;
  }
  if (digits < text.size() && (text[digits] == '.' || text[digits] == ',')) {
    out.error = quoted(text) + " is not a whole number; use a smaller unit";
    return out;
  }
  std::size_t unit = digits;
  while (unit < text.size() && text[unit] == ' ')
    ++unit;
  out.unit = text.substr(unit);
  if (unit != digits && out.unit.empty()) {
    out.error = quoted(text) + " is not " + std::string(what);
    return out;
  }
  return out;
}

template <std::size_t N>
std::optional<uint64_t> factorOf(const std::array<Unit, N>& units, std::string_view name) {
  for (const auto& u : units)
    if (u.name == name)
      return u.factor;
  return std::nullopt;
}

Parsed scale(std::string_view text, uint64_t number, uint64_t factor) {
  Parsed out;
  if (number > std::numeric_limits<uint64_t>::max() / factor) {
    out.error = quoted(text) + " is too large";
    return out;
  }
  out.value = number * factor;
  return out;
}

// The largest of units[first..] that divides the value exactly, else units[0].
template <std::size_t N>
std::string format(const std::array<Unit, N>& units, uint64_t value, std::size_t first) {
  for (std::size_t i = N; i-- > first;)
    if (value != 0 && value % units[i].factor == 0)
      return std::to_string(value / units[i].factor) + std::string(units[i].name);
  return std::to_string(value) + std::string(units[0].name);
}

} // namespace

Parsed parseSize(std::string_view text) {
  constexpr std::string_view What = "a size like 512B, 64KiB, 256MiB or 1GiB";
  Split parts = split(text, What);
  if (!parts.error.empty())
    return {0, parts.error};
  if (parts.unit.empty())
    return {parts.number, {}};
  auto factor = factorOf(SizeUnits, parts.unit);
  if (!factor)
    return {0, quoted(text) + " has an unknown unit " + quoted(parts.unit) + " (use " +
                   std::string(SizeUnitList) + ")"};
  return scale(text, parts.number, *factor);
}

Parsed parseDuration(std::string_view text) {
  constexpr std::string_view What = "a duration like 250ms, 30s, 5m, 1h or 2d";
  Split parts = split(text, What);
  if (!parts.error.empty())
    return {0, parts.error};
  if (parts.unit.empty())
    return {0, quoted(text) + " has no unit (use " + std::string(DurationUnitList) + ")"};
  auto factor = factorOf(DurationUnits, parts.unit);
  if (!factor)
    return {0, quoted(text) + " has an unknown unit " + quoted(parts.unit) + " (use " +
                   std::string(DurationUnitList) + ")"};
  return scale(text, parts.number, *factor);
}

Parsed parseCount(std::string_view text) {
  Split parts = split(text, "a whole number");
  if (!parts.error.empty())
    return {0, parts.error};
  if (!parts.unit.empty())
    return {0, quoted(text) + " is not a whole number"};
  return {parts.number, {}};
}

std::string formatSize(uint64_t bytes) {
  // Binary units only, the way the defaults are written.
  return format(SizeUnits, bytes, FirstBinarySizeUnit);
}

std::string formatDuration(uint64_t milliseconds) {
  return format(DurationUnits, milliseconds, 1);
}

} // namespace ferry::config::units
