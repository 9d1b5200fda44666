// Invalidation after unsafe requests (RFC 9111 §4.4), with the reference resolution of RFC 3986
// §5.2 that Location and Content-Location need (both may be relative, RFC 9110 §10.2.2,
// §8.7). Only same-origin URIs are invalidated, so one origin cannot purge another's entries.
#include "ferry/cache/policy.h"

#include "field_values.h"

#include <algorithm>

namespace ferry::cache::policy {

namespace {

// RFC 3986 §5.2.4.
std::string removeDotSegments(std::string_view input) {
  std::string output;
  while (!input.empty()) {
    if (input.substr(0, 3) == "../") {
      input.remove_prefix(3);
    } else if (input.substr(0, 2) == "./") {
      input.remove_prefix(2);
    } else if (input.substr(0, 3) == "/./") {
      input.remove_prefix(2);
    } else if (input == "/.") {
      input = "/";
    } else if (input.substr(0, 4) == "/../" || input == "/..") {
      input = input.size() == 3 ? std::string_view("/") : input.substr(3);
      const auto slash = output.rfind('/');
      output.erase(slash == std::string::npos ? 0 : slash);
    } else if (input == "." || input == "..") {
      input = {};
    } else {
      const auto next = input.find('/', 1);
      output.append(input.substr(0, next));
      input = next == std::string_view::npos ? std::string_view() : input.substr(next);
    }
  }
  return output;
}

// Path and query of `path_and_query` with its dot segments removed from the path.
std::string normalizedPath(std::string_view path_and_query) {
  const auto query = path_and_query.find('?');
  std::string path = removeDotSegments(path_and_query.substr(0, query));
  if (path.empty())
    path = "/";
  if (query != std::string_view::npos)
    path.append(path_and_query.substr(query));
  return path;
}

bool hasScheme(std::string_view reference) {
  // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then ":".
  const auto colon = reference.find(':');
  if (colon == 0 || colon == std::string_view::npos)
    return false;
  const auto isAlpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!isAlpha(reference.front()))
    return false;
  return std::all_of(
      reference.begin(), reference.begin() + static_cast<std::ptrdiff_t>(colon), [&](char c) {
        return isAlpha(c) || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
      });
}

// RFC 3986 §5.2.2 against `base`, an http(s) target with its origin known.
std::optional<http::Target> resolve(const http::Target& base, std::string_view reference) {
  reference = detail::trimmed(reference.substr(0, reference.find('#')));
  if (hasScheme(reference) || reference.substr(0, 2) == "//") {
    const std::string absolute =
        hasScheme(reference) ? std::string(reference) : base.scheme + ":" + std::string(reference);
    http::Target target = http::parseTarget("GET", absolute);
    if (!target.isValid() || target.form != http::TargetForm::Absolute)
      return std::nullopt;
    target.path = normalizedPath(target.path);
    return target;
  }
  http::Target target = base;
  target.form = http::TargetForm::Absolute;
  const std::string_view basePath = std::string_view(base.path).substr(0, base.path.find('?'));
  if (reference.empty()) {
    // The base itself.
  } else if (reference.front() == '/') {
    target.path = normalizedPath(reference);
  } else if (reference.front() == '?') {
    target.path = std::string(basePath) + std::string(reference);
  } else { // §5.2.3: merge with the base path's directory
    const auto slash = basePath.rfind('/');
    const std::string merged =
        (slash == std::string_view::npos ? std::string("/")
                                         : std::string(basePath.substr(0, slash + 1))) +
        std::string(reference);
    target.path = normalizedPath(merged);
  }
  return target;
}

bool sameOrigin(const http::Target& a, const http::Target& b) {
  return a.scheme == b.scheme && a.host == b.host && a.port == b.port;
}

} // namespace

std::vector<std::string> invalidatedKeys(const http::RequestHead& request,
                                         const http::Target& target,
                                         const http::ResponseHead& response) {
  std::vector<std::string> keys;
  if (isSafeMethod(request.method) || response.status < 200 || response.status > 399 ||
      target.scheme.empty() || target.host.empty())
    return keys;
  keys.push_back(http::cacheKey(target));
  for (std::string_view name : {"Location", "Content-Location"}) {
    const auto value = response.headers.get(name);
    if (!value)
      continue;
    const auto resolved = resolve(target, *value);
    if (!resolved || !sameOrigin(*resolved, target))
      continue;
    std::string key = http::cacheKey(*resolved);
    if (std::find(keys.begin(), keys.end(), key) == keys.end())
      keys.push_back(std::move(key));
  }
  return keys;
}

} // namespace ferry::cache::policy
