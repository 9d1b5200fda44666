// The system Clock.
#include "ferry/core/clock.h"

namespace ferry::core {
namespace {

class SystemClock final : public Clock {
public:
  std::chrono::steady_clock::time_point steady() const override {
    return std::chrono::steady_clock::now();
  }
  std::chrono::system_clock::time_point wall() const override {
    return std::chrono::system_clock::now();
  }
};

} // namespace

const Clock& systemClock() {
  static const SystemClock clock;
  return clock;
}

} // namespace ferry::core
