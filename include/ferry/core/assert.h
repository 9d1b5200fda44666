// FERRY_ASSERT: an always-on check for ferry's own bugs. It logs file:line and the
// failed condition to stderr and aborts; it is never used for peer or config faults.
#pragma once

namespace ferry::core {
[[noreturn]] void assertFailed(const char* expr, const char* file, int line) noexcept;
} // namespace ferry::core

#define FERRY_ASSERT(cond)                                                                         \
  ((cond) ? static_cast<void>(0) : ::ferry::core::assertFailed(#cond, __FILE__, __LINE__))
