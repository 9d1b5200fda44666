// The Prometheus text exposition format (0.0.4) pieces shared by counters, gauges and
// histograms. It knows nothing of where the values come from.
#pragma once

#include <string>
#include <string_view>

namespace ferry::core::prometheus {

// "# HELP ferry_<name> <help>\n# TYPE ferry_<name> <type>\n", help escaped as the format
// asks (backslash and line feed).
void appendHeader(std::string& out, std::string_view name, std::string_view help,
                  std::string_view type);

// One metric with a single sample: its header, then "ferry_<name> <value>\n".
void appendMetric(std::string& out, std::string_view name, std::string_view help,
                  std::string_view type, std::string_view value);

} // namespace ferry::core::prometheus
