// Daemon logger setup. The pattern has no timestamp when stderr is not a TTY, since
// journald and docker logs add their own.
#include "ferry/core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <unistd.h>

namespace ferry::core {
namespace {

spdlog::level::level_enum toSpdlog(LogLevel level) {
  switch (level) {
  case LogLevel::Trace:
    return spdlog::level::trace;
  case LogLevel::Debug:
    return spdlog::level::debug;
  case LogLevel::Info:
    return spdlog::level::info;
  case LogLevel::Warn:
    return spdlog::level::warn;
  case LogLevel::Error:
    return spdlog::level::err;
  case LogLevel::Critical:
    return spdlog::level::critical;
  case LogLevel::Off:
    return spdlog::level::off;
  }
  return spdlog::level::info;
}

} // namespace

void initLogging(LogLevel level) {
  const bool tty = isatty(STDERR_FILENO) == 1;
  auto logger = spdlog::stderr_color_mt("ferry", tty ? spdlog::color_mode::automatic
                                                     : spdlog::color_mode::never);
  logger->set_pattern(tty ? "%Y-%m-%d %H:%M:%S.%e %^%l%$ %v" : "%l %v");
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  setLogLevel(level);
}

void setLogLevel(LogLevel level) {
  spdlog::set_level(toSpdlog(level));
}

} // namespace ferry::core
