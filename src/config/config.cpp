// Placeholder loader: defaults only, until the YAML loader lands.
#include "ferry/config/config.h"

#include <thread>

namespace ferry::config {

Error::Error(std::vector<std::string> problems)
    : std::runtime_error(problems.empty() ? "config error" : problems.front()),
      problems_(std::move(problems)) {}

Config parse(const std::string&, const std::string& name) {
  Config c;
  c.source = name;
  c.proxy.listen.push_back(*net::Address::parse("127.0.0.1:3128"));
  c.proxy.workers = std::max(1u, std::thread::hardware_concurrency());
  return c;
}

Config load(const std::string& path) { return parse("", path); }

} // namespace ferry::config
