// Cache-Control parsing (RFC 9111 §5.2): every field line's list members, each a directive
// name with an optional token or quoted-string argument (§5.2: recipients accept both forms).
// The first occurrence of a directive wins (§4.2.1).
#include "ferry/cache/directives.h"

#include "field_values.h"

namespace ferry::cache {

namespace {

using std::chrono::seconds;

struct Directive {
  std::string_view name;
  std::string value; // unquoted
  bool has_value = false;
};

Directive split(std::string_view member) {
  Directive d;
  const auto eq = member.find('=');
  d.name = detail::trimmed(member.substr(0, eq));
  if (eq == std::string_view::npos)
    return d;
  d.has_value = true;
  std::string_view raw = detail::trimmed(member.substr(eq + 1));
  if (raw.size() >= 2 && raw.front() == '"' && raw.back() == '"') {
    raw = raw.substr(1, raw.size() - 2);
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 1 < raw.size())
        ++i; // quoted-pair
      d.value += raw[i];
    }
  } else {
    d.value = std::string(raw);
  }
  return d;
}

template <class F> void forEachDirective(const http::Headers& headers, F&& f) {
  for (std::string_view line : headers.getAll("Cache-Control"))
    http::forEachListMember(line, [&](std::string_view member) { f(split(member)); });
}

bool is(const Directive& d, std::string_view name) {
  return http::equalsIgnoreCase(d.name, name);
}

std::optional<seconds> delta(const Directive& d) {
  if (!d.has_value)
    return std::nullopt;
  const auto value = detail::parseDeltaSeconds(d.value);
  if (!value)
    return std::nullopt;
  return seconds(*value);
}

// First occurrence wins; an invalid value reads as `invalid` (nullopt: ignored).
void setOnce(std::optional<seconds>& field, const Directive& d, std::optional<seconds> invalid) {
  if (field)
    return;
  if (auto value = delta(d))
    field = value;
  else
    field = invalid;
}

// no-cache / private: unqualified, or a quoted list of field names (§5.2.2.4, §5.2.2.7).
void qualified(const Directive& d, bool& unqualified, std::vector<std::string>& fields) {
  std::vector<std::string> names;
  if (d.has_value)
    http::forEachListMember(
        d.value, [&](std::string_view name) { names.push_back(detail::lowerCase(name)); });
  if (names.empty()) { // no argument, or an empty one: the most restrictive reading
    unqualified = true;
    return;
  }
  for (auto& name : names)
    fields.push_back(std::move(name));
}

} // namespace

RequestDirectives parseRequestDirectives(const http::Headers& request) {
  RequestDirectives r;
  forEachDirective(request, [&](const Directive& d) {
    if (is(d, "max-age"))
      setOnce(r.max_age, d, seconds(0));
    else if (is(d, "max-stale")) {
      if (!r.max_stale)
        r.max_stale = d.has_value ? delta(d) : std::optional<seconds>(MaxDeltaSeconds);
    } else if (is(d, "min-fresh"))
      setOnce(r.min_fresh, d, std::nullopt);
    else if (is(d, "stale-if-error"))
      setOnce(r.stale_if_error, d, std::nullopt);
    else if (is(d, "no-cache"))
      r.no_cache = true;
    else if (is(d, "no-store"))
      r.no_store = true;
    else if (is(d, "only-if-cached"))
      r.only_if_cached = true;
  });
  // RFC 9111 §5.4: Pragma: no-cache counts only when there is no Cache-Control.
  if (!request.has("Cache-Control") && request.hasToken("Pragma", "no-cache"))
    r.no_cache = true;
  return r;
}

ResponseDirectives parseResponseDirectives(const http::Headers& response) {
  ResponseDirectives r;
  forEachDirective(response, [&](const Directive& d) {
    if (is(d, "max-age"))
      setOnce(r.max_age, d, seconds(0)); // §4.2.1: invalid freshness information → stale
    else if (is(d, "s-maxage"))
      setOnce(r.s_maxage, d, seconds(0));
    else if (is(d, "stale-while-revalidate"))
      setOnce(r.stale_while_revalidate, d, std::nullopt);
    else if (is(d, "stale-if-error"))
      setOnce(r.stale_if_error, d, std::nullopt);
    else if (is(d, "no-cache"))
      qualified(d, r.no_cache, r.no_cache_fields);
    else if (is(d, "private"))
      qualified(d, r.is_private, r.private_fields);
    else if (is(d, "no-store"))
      r.no_store = true;
    else if (is(d, "public"))
      r.is_public = true;
    else if (is(d, "must-revalidate"))
      r.must_revalidate = true;
    else if (is(d, "proxy-revalidate"))
      r.proxy_revalidate = true;
    else if (is(d, "must-understand"))
      r.must_understand = true;
    else if (is(d, "immutable"))
      r.immutable = true;
  });
  return r;
}

} // namespace ferry::cache
