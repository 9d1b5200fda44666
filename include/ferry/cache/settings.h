// Settings of the cache module, filled by config from the `cache` key.
#pragma once

#include <cstddef>

namespace ferry::cache {

struct Settings {
  std::size_t memory_bytes = 256 * 1024 * 1024;     // budget for entries, headers and index
  std::size_t max_object_bytes = 16 * 1024 * 1024; // larger responses are not stored
};

} // namespace ferry::cache
