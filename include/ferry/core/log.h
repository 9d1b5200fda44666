// The daemon log: spdlog to stderr, journald-friendly (no colours unless stderr is a TTY).
// The access log is not here; it belongs to the proxy module.
#pragma once

#include <spdlog/spdlog.h>

namespace ferry::core {

enum class LogLevel { Trace, Debug, Info, Warn, Error, Critical, Off };

// Installs the stderr logger as spdlog's default. Call once from main before threads start.
void initLogging(LogLevel level);

// Changes the level of the default logger; safe from any thread.
void setLogLevel(LogLevel level);

} // namespace ferry::core
