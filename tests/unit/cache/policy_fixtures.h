// Builders shared by the cache policy tests: header fields written as text lines, with "@+N"
// and "@-N" standing for the HTTP-date N seconds after or before T0, so a table row reads like
// the message it describes.
#pragma once

#include <chrono>
#include <ostream>
#include <string>
#include <string_view>

#include "ferry/cache/http_date.h"
#include "ferry/cache/policy.h"
#include "ferry/cache/range.h"

namespace ferry::cache::policy_test {

using namespace std::chrono_literals;

// 2026-01-01 12:00:00 UTC: a Thursday.
inline const TimePoint T0 = std::chrono::sys_days{std::chrono::year{2026} / 1 / 1} + 12h;

inline TimePoint at(long long seconds) {
  return T0 + std::chrono::seconds(seconds);
}

// Replaces each "@+N", "@-N" or "@0" with formatHttpDate(T0 ± N s).
inline std::string withDates(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '@') {
      out += text[i];
      continue;
    }
    std::size_t j = i + 1;
    long long sign = 1;
    if (j < text.size() && (text[j] == '+' || text[j] == '-')) {
      sign = text[j] == '-' ? -1 : 1;
      ++j;
    }
    long long value = 0;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9')
      value = value * 10 + (text[j++] - '0');
    out += formatHttpDate(at(sign * value));
    i = j - 1;
  }
  return out;
}

// "Name: value" lines separated by '\n'.
inline http::Headers fields(std::string_view lines) {
  http::Headers headers;
  const std::string text = withDates(lines);
  std::string_view rest = text;
  while (!rest.empty()) {
    const auto end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (line.empty())
      continue;
    const auto colon = line.find(':');
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ')
      value.remove_prefix(1);
    headers.add(line.substr(0, colon), value);
  }
  return headers;
}

inline http::RequestHead request(std::string_view lines, std::string method = "GET") {
  http::RequestHead head;
  head.method = std::move(method);
  head.target = "http://example.com/a";
  head.headers = fields(lines);
  return head;
}

inline http::ResponseHead response(int status, std::string_view lines) {
  http::ResponseHead head;
  head.status = status;
  head.headers = fields(lines);
  return head;
}

// Settings under which cookie fields are stored like any other (set_cookie: store), for tests
// of other rules that use Set-Cookie as their example field.
inline Settings storeCookies() {
  Settings settings;
  settings.set_cookie = SetCookie::Store;
  return settings;
}

// "name: value\n" for every field, in order: compares whole header sections.
inline std::string dump(const http::Headers& headers) {
  std::string out;
  for (const http::Field field : headers) {
    out.append(field.name);
    out += ": ";
    out.append(field.value);
    out += '\n';
  }
  return out;
}

} // namespace ferry::cache::policy_test

namespace ferry::cache::policy {

inline std::ostream& operator<<(std::ostream& out, Verdict verdict) {
  switch (verdict) {
  case Verdict::Fresh:
    return out << "Fresh";
  case Verdict::StaleAllowed:
    return out << "StaleAllowed";
  case Verdict::StaleWhileRevalidate:
    return out << "StaleWhileRevalidate";
  case Verdict::Revalidate:
    return out << "Revalidate";
  case Verdict::Unavailable:
    return out << "Unavailable";
  }
  return out << "?";
}

inline std::ostream& operator<<(std::ostream& out, StoreDecision decision) {
  return out << describe(decision) << '(' << static_cast<int>(decision) << ')';
}

inline std::ostream& operator<<(std::ostream& out, FreshenOutcome outcome) {
  switch (outcome) {
  case FreshenOutcome::Update:
    return out << "Update";
  case FreshenOutcome::Remove:
    return out << "Remove";
  case FreshenOutcome::ServeOnly:
    return out << "ServeOnly";
  }
  return out << "?";
}

inline std::ostream& operator<<(std::ostream& out, RangeOutcome outcome) {
  switch (outcome) {
  case RangeOutcome::Full:
    return out << "Full";
  case RangeOutcome::Partial:
    return out << "Partial";
  case RangeOutcome::Unsatisfiable:
    return out << "Unsatisfiable";
  }
  return out << "?";
}

} // namespace ferry::cache::policy
