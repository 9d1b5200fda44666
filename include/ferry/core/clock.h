// Time, injected: every "now" of the proxy comes from a Clock passed in, so tests can drive
// time by hand. steady() orders and times events; wall() is the time HTTP speaks of (Date,
// Age, freshness, the access log). The system clock is one Clock; tests make their own.
#pragma once

#include <chrono>

namespace ferry::core {

class Clock {
public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point steady() const = 0;
  virtual std::chrono::system_clock::time_point wall() const = 0;
};

// The real clocks. Thread-safe; lives for the whole program.
const Clock& systemClock();

} // namespace ferry::core
