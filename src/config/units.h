// Human units in the config file: sizes ("64KiB", "1GB", "512") and durations ("250ms",
// "30s", "5m"). Pure text to number and back; no yaml-cpp and no ranges (callers check
// those, so one parser serves every key).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::config::units {

// A parsed number, or why the text is not one.
struct Parsed {
  uint64_t value = 0; // bytes, milliseconds or a plain count, as the parser says
  std::string error;  // empty on success; otherwise a phrase that quotes the text
  bool ok() const { return error.empty(); }
};

// Bytes: a whole number, optionally followed by B; KB, MB, GB, TB (powers of 1000); or
// KiB, MiB, GiB, TiB (powers of 1024). Units are case-sensitive ("Mb" is not "MB").
// Negative values and values past 2^64-1 bytes are errors.
Parsed parseSize(std::string_view text);

// Milliseconds: a whole number followed by ms, s, m, h or d. The unit is required, so
// "30" cannot be read as 30ms by one person and 30s by another.
Parsed parseDuration(std::string_view text);

// A plain whole number without a unit (counts, ports).
Parsed parseCount(std::string_view text);

// The shortest exact spelling in binary units: 1048576 → "1MiB", 1000 → "1000B".
std::string formatSize(uint64_t bytes);

// The shortest exact spelling: 300000 → "5m", 1500 → "1500ms".
std::string formatDuration(uint64_t milliseconds);

} // namespace ferry::config::units
