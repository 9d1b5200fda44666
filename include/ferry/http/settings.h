// Settings of the http module, filled by config from the `limits` and `via` keys.
#pragma once

#include <cstddef>
#include <string>

namespace ferry::http {

struct Limits {
  std::size_t request_line_bytes = 8 * 1024; // longer → 414
  std::size_t header_bytes = 64 * 1024;      // whole header section; larger → 431
  std::size_t header_count = 100;            // more fields → 431
};

struct Settings {
  Limits limits;
  std::string via_pseudonym = "ferry"; // Via: 1.1 <pseudonym>
};

} // namespace ferry::http
