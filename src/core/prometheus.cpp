// Prometheus text format: metric family headers.
#include "prometheus.h"

namespace ferry::core::prometheus {

void appendHeader(std::string& out, std::string_view name, std::string_view help,
                  std::string_view type) {
  out += "# HELP ferry_";
  out += name;
  out += ' ';
  // Exposition format: in HELP, backslash and line feed are the only escapes.
  for (char c : help) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  out += "\n# TYPE ferry_";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void appendMetric(std::string& out, std::string_view name, std::string_view help,
                  std::string_view type, std::string_view value) {
  appendHeader(out, name, help, type);
  out += "ferry_";
  out += name;
  out += ' ';
  out += value;
  out += '\n';
}

} // namespace ferry::core::prometheus
