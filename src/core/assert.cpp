// Out-of-line failure path of FERRY_ASSERT, kept free of spdlog so it works before
// logging is set up and from any thread.
#include "ferry/core/assert.h"

#include <cstdio>
#include <cstdlib>

namespace ferry::core {

void assertFailed(const char* expr, const char* file, int line) noexcept {
  std::fprintf(stderr, "ferry: assertion failed at %s:%d: %s\n", file, line, expr);
  std::fflush(stderr);
  std::abort();
}

} // namespace ferry::core
