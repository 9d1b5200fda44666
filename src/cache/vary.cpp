// The Vary secondary key (RFC 9111 §4.1). Normalisation is limited to what has the same
// semantics: combining field lines (RFC 9110 §5.3) and optional whitespace for any field, so
// "gzip,deflate" and "gzip, deflate" select the same stored response, and case for the fields
// whose values are case-insensitive throughout. Member order is kept: with equal weights it
// may still say which the client prefers (RFC 9110 §12.5.4), so "en, de" is not "de, en".
#include "ferry/cache/policy.h"

#include "field_values.h"

#include <algorithm>

namespace ferry::cache::policy {

namespace {

// Fields made of case-insensitive tokens and weights only: language ranges (RFC 4647 §2),
// content codings (RFC 9110 §8.4.1), charsets (§8.3.2), and "q" (§12.4.2).
bool isCaseInsensitive(std::string_view name) {
  return name == "accept-language" || name == "accept-encoding" || name == "accept-charset";
}

// Outside quoted strings: no whitespace around commas, runs of spaces and tabs as one space,
// none at the ends, letters lower case when `fold_case`. Inside quoted strings every byte is
// kept.
void appendNormalized(std::string& out, std::string_view value, bool fold_case) {
  value = detail::trimmed(value);
  bool quoted = false;
  bool pendingSpace = false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (quoted) {
      out += c;
      if (c == '\\' && i + 1 < value.size())
        out += value[++i];
      else if (c == '"')
        quoted = false;
      continue;
    }
    if (c == ' ' || c == '\t') {
      pendingSpace = true;
      continue;
    }
    if (c == ',') {
      pendingSpace = false;
      out += c;
      // Skip whitespace after the comma.
      while (i + 1 < value.size() && (value[i + 1] == ' ' || value[i + 1] == '\t'))
        ++i;
      continue;
    }
    if (pendingSpace)
      out += ' ';
    pendingSpace = false;
    if (c == '"')
      quoted = true;
    out += fold_case && c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  }
}

} // namespace

std::optional<std::string> varyKey(const http::Headers& response, const http::Headers& request) {
  std::vector<std::string> names;
  bool any = false;
  for (std::string_view line : response.getAll("Vary"))
    http::forEachListMember(line, [&](std::string_view member) {
      if (member == "*")
        any = true;
      else
        names.push_back(detail::lowerCase(member));
    });
  if (any)
    return std::nullopt;
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string key;
  for (const std::string& name : names) {
    key += name;
    const auto lines = request.getAll(name);
    if (!lines.empty()) {
      key += ':';
      for (std::size_t i = 0; i < lines.size(); ++i) {
        if (i > 0)
          key += ',';
        appendNormalized(key, lines[i], isCaseInsensitive(name));
      }
    }
    key += '\n';
  }
  return key;
}

} // namespace ferry::cache::policy
