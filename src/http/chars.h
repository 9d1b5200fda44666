// Character classes of RFC 9110 §5.6.2 and RFC 3986 used by the http module's own checks.
// Private to src/http.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace ferry::http::chars {

// tchar: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" /
// "~" / DIGIT / ALPHA (RFC 9110 §5.6.2).
inline constexpr std::array<bool, 256> TokenTable = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) {
    t[c] = true;
  }
  for (int c = 'a'; c <= 'z'; ++c) {
    t[c] = true;
    t[c - 'a' + 'A'] = true;
  }
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) {
    t[static_cast<unsigned char>(c)] = true;
  }
  return t;
}();

inline bool isToken(std::string_view s) noexcept {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (!TokenTable[static_cast<unsigned char>(c)]) {
      return false;
    }
  }
  return true;
}

inline bool isDigit(char c) noexcept {
  return c >= '0' && c <= '9';
}

inline char toLower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string_view trimOws(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// 1*DIGIT without sign or spaces, at most `max`. False on empty input, other bytes, overflow.
inline bool parseDecimal(std::string_view s, std::uint64_t max, std::uint64_t& out) noexcept {
  if (s.empty()) {
    return false;
  }
  std::uint64_t v = 0;
  for (char c : s) {
    if (!isDigit(c)) {
      return false;
    }
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (max - d) / 10) {
      return false;
    }
    v = v * 10 + d;
  }
  out = v;
  return true;
}

} // namespace ferry::http::chars
