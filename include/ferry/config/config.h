// The whole configuration: one YAML file loaded into each module's plain settings
// struct. This module is the only code that includes yaml-cpp. A Config is immutable
// once loaded and is shared between threads as std::shared_ptr<const Config>.
#pragma once

#include "ferry/admin/settings.h"
#include "ferry/cache/settings.h"
#include "ferry/core/log.h"
#include "ferry/proxy/settings.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace ferry::config {

struct Config {
  std::string source; // the file it was loaded from
  core::LogLevel log_level = core::LogLevel::Info;
  proxy::Settings proxy; // includes the http module's limits
  cache::Settings cache;
  admin::Settings admin;
};

// Every problem found in a config file, each "file:line:column: key.path: what is wrong",
// in file order; what() is all of them, one per line.
class Error : public std::runtime_error {
public:
  explicit Error(std::vector<std::string> problems);
  const std::vector<std::string>& problems() const { return problems_; }

private:
  std::vector<std::string> problems_;
};

// Loads and validates `path`. Throws Error listing all problems at once.
Config load(const std::string& path);

// Same, from YAML text; `name` stands in for the file name in messages.
Config parse(const std::string& yaml, const std::string& name);

} // namespace ferry::config
