// Cache-Control parsing (RFC 9111 §5.2): every field line's list members, each a directive
// name with an optional token or quoted-string argument (§5.2: recipients accept both forms).
// The first occurrence of a directive wins (§4.2.1).
#include "ferry/cache/directives.h"

#include "field_values.h"

#include "ferry/http/structured_field.h"

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

// RFC 9213 §2.2: one targeted field, its lines combined (RFC 8941 §4.2), as directives; nullopt
// when it is absent, empty or invalid.
std::optional<ResponseDirectives> parseTargeted(const http::Headers& response,
                                                std::string_view name) {
  std::string combined;
  for (std::string_view line : response.getAll(name))
    combined.append(combined.empty() ? "" : ", ").append(line);
  const auto members = http::parseDictionary(combined);
  if (!members || members->empty())
    return std::nullopt;
  using Type = http::StructuredItem::Type;
  ResponseDirectives r;
  r.targeted = true;
  for (const http::DictionaryMember& m : *members) {
    const http::StructuredItem& v = m.value;
    const bool flag = v.type == Type::Boolean && v.integer == 1;
    // Every known directive with a value of another type makes the field invalid.
    const auto integer = [&](std::optional<seconds>& field) {
      if (v.type != Type::Integer || v.integer < 0)
        return false;
      field = seconds(std::min(v.integer, MaxDeltaSeconds.count())); // RFC 9111 §1.2.2
      return true;
    };
    const auto boolean = [&](bool& field) {
      field = field || flag;
      return v.type == Type::Boolean;
    };
    const auto fieldNames = [&](bool& unqualified, std::vector<std::string>& fields) {
      if (v.type == Type::Boolean)
        return boolean(unqualified);
      if (v.type != Type::String)
        return false;
      qualified(Directive{m.key, v.text, true}, unqualified, fields);
      return true;
    };
    bool valid = true;
    if (m.key == "max-age")
      valid = integer(r.max_age);
    else if (m.key == "s-maxage")
      valid = integer(r.s_maxage);
    else if (m.key == "stale-while-revalidate")
      valid = integer(r.stale_while_revalidate);
    else if (m.key == "stale-if-error")
      valid = integer(r.stale_if_error);
    else if (m.key == "no-cache")
      valid = fieldNames(r.no_cache, r.no_cache_fields);
    else if (m.key == "private")
      valid = fieldNames(r.is_private, r.private_fields);
    else if (m.key == "no-store")
      valid = boolean(r.no_store);
    else if (m.key == "public")
      valid = boolean(r.is_public);
    else if (m.key == "must-revalidate")
      valid = boolean(r.must_revalidate);
    else if (m.key == "proxy-revalidate")
      valid = boolean(r.proxy_revalidate);
    else if (m.key == "must-understand")
      valid = boolean(r.must_understand);
    else if (m.key == "immutable")
      valid = boolean(r.immutable);
    if (!valid)
      return std::nullopt;
  }
  return r;
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

ResponseDirectives parseResponseDirectives(const http::Headers& response,
                                           const std::vector<std::string>& targeted) {
  for (const std::string& name : targeted)
    if (auto directives = parseTargeted(response, name))
      return std::move(*directives);
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
