// The problems config::parse reports for a YAML text that must be refused; the test fails
// when it is accepted.
#pragma once

#include "ferry/config/config.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

inline std::vector<std::string> problemsOf(const std::string& yaml) {
  try {
    ferry::config::parse(yaml, "t.yaml");
  } catch (const ferry::config::Error& e) {
    return e.problems();
  }
  FAIL("no error for:\n" << yaml);
  return {};
}
