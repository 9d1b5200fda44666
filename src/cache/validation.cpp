// Validation (RFC 9111 §4.3): the conditional request that revalidates a stored response, the
// update of a stored response from a 304, and the client's own conditionals answered from
// the cache (RFC 9110 §13).
#include "ferry/cache/policy.h"

#include "field_values.h"

#include <algorithm>
#include <array>

namespace ferry::cache::policy {

namespace {

struct EntityTag {
  bool weak = false;
  std::string_view opaque; // with its quotes
};

// RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE. An unquoted value (some servers
// send one) is taken whole as its own opaque part.
EntityTag parseEntityTag(std::string_view text) {
  text = detail::trimmed(text);
  EntityTag tag;
  if (text.substr(0, 2) == "W/") {
    tag.weak = true;
    text.remove_prefix(2);
  }
  tag.opaque = text;
  return tag;
}

// Fields a 304 must not change in a stored response: the stored body's framing and coding
// (§3.2 allows omitting those the stored response depends on) and hop-by-hop fields.
bool keepsStoredValue(std::string_view name, const http::Headers& not_modified) {
  constexpr std::array<std::string_view, 12> Kept = {
      "Content-Length", "Transfer-Encoding", "Content-Range",      "Content-Encoding",
      "Connection",     "Keep-Alive",        "Proxy-Connection",   "TE",
      "Trailer",        "Upgrade",           "Proxy-Authenticate", "Proxy-Authorization"};
  if (std::any_of(Kept.begin(), Kept.end(),
                  [&](std::string_view kept) { return http::equalsIgnoreCase(kept, name); }))
    return true;
  return not_modified.hasToken("Connection", name);
}

// Replaces, for every field name of `from` that `replaced` accepts, the field lines of `into`
// with those of `from`; a single line keeps the position of the first one it replaces.
template <class Pred>
void replaceFields(http::Headers& into, const http::Headers& from, Pred&& replaced) {
  std::vector<std::string> done;
  for (const http::Field field : from) {
    if (!replaced(field.name))
      continue;
    const std::string name = detail::lowerCase(field.name);
    if (std::find(done.begin(), done.end(), name) != done.end())
      continue;
    done.push_back(name);
    const auto values = from.getAll(field.name);
    if (values.size() == 1) {
      into.set(field.name, values.front());
    } else {
      into.remove(field.name);
      for (std::string_view value : values)
        into.add(field.name, value);
    }
  }
}

} // namespace

bool weakMatch(std::string_view a, std::string_view b) noexcept {
  const EntityTag x = parseEntityTag(a);
  const EntityTag y = parseEntityTag(b);
  return !x.opaque.empty() && x.opaque == y.opaque;
}

bool strongMatch(std::string_view a, std::string_view b) noexcept {
  const EntityTag x = parseEntityTag(a);
  const EntityTag y = parseEntityTag(b);
  return !x.weak && !y.weak && !x.opaque.empty() && x.opaque == y.opaque;
}

bool prepareRevalidation(http::Headers& origin_request, const http::ResponseHead& stored) {
  origin_request.remove("If-None-Match");
  origin_request.remove("If-Modified-Since");
  origin_request.remove("If-Range");
  origin_request.remove("Range");
  bool conditional = false;
  if (const auto etag = stored.headers.get("ETag")) {
    origin_request.add("If-None-Match", *etag);
    conditional = true;
  }
  if (const auto lastModified = stored.headers.get("Last-Modified")) {
    origin_request.add("If-Modified-Since", *lastModified);
    conditional = true;
  }
  return conditional;
}

http::RequestHead backgroundRevalidation(const http::RequestHead& client,
                                         const http::ResponseHead& stored) {
  http::RequestHead request = client;
  request.method = "GET";
  request.headers.removeIf([](const http::Field& field) {
    const std::string_view name = field.name;
    return http::equalsIgnoreCase(name.substr(0, 8), "Content-") ||
           http::equalsIgnoreCase(name, "Transfer-Encoding") ||
           http::equalsIgnoreCase(name, "Expect") || http::equalsIgnoreCase(name, "If-Match") ||
           http::equalsIgnoreCase(name, "If-Unmodified-Since");
  });
  prepareRevalidation(request.headers, stored);
  return request;
}

bool canFreshen(const http::ResponseHead& stored, const http::ResponseHead& not_modified) {
  if (const auto etag = not_modified.headers.get("ETag")) {
    const auto storedEtag = stored.headers.get("ETag");
    if (!storedEtag)
      return false;
    return parseEntityTag(*etag).weak ? weakMatch(*etag, *storedEtag)
                                      : strongMatch(*etag, *storedEtag);
  }
  if (const auto lastModified = not_modified.headers.get("Last-Modified")) {
    const auto storedLastModified = stored.headers.get("Last-Modified");
    return storedLastModified &&
           detail::trimmed(*storedLastModified) == detail::trimmed(*lastModified);
  }
  return true;
}

bool headUpdates(const http::ResponseHead& stored, std::uint64_t stored_length,
                 const http::ResponseHead& head_response) {
  const http::Headers& fields = head_response.headers;
  if (const auto etag = fields.get("ETag")) {
    const auto stored_etag = stored.headers.get("ETag");
    if (!stored_etag || parseEntityTag(*etag).weak != parseEntityTag(*stored_etag).weak ||
        !weakMatch(*etag, *stored_etag))
      return false;
  }
  if (const auto modified = fields.get("Last-Modified")) {
    const auto stored_modified = stored.headers.get("Last-Modified");
    if (!stored_modified || detail::trimmed(*stored_modified) != detail::trimmed(*modified))
      return false;
  }
  if (const auto length = fields.get("Content-Length"))
    return detail::trimmed(*length) == std::to_string(stored_length);
  return true;
}

void freshen(http::ResponseHead& stored, const http::ResponseHead& not_modified, TimePoint received,
             const Settings& settings) {
  const http::Headers& fresh = not_modified.headers;
  // §3.2: each field of the 304 replaces the stored field lines of the same name.
  replaceFields(stored.headers, fresh, [&](std::string_view name) {
    return !keepsStoredValue(name, fresh) && !isPerClientField(name);
  });
  // Age and Date describe the exchange that brought the 304, not the first one.
  if (!fresh.has("Age"))
    stored.headers.remove("Age");
  if (!fresh.has("Date"))
    stored.headers.set("Date", formatHttpDate(received)); // RFC 9110 §6.6.1
  removeUnstorableFields(stored.headers, settings);
}

http::ResponseHead withClientFields(const http::ResponseHead& freshened,
                                    const http::ResponseHead& not_modified) {
  http::ResponseHead answer = freshened;
  replaceFields(answer.headers, not_modified.headers, isPerClientField);
  return answer;
}

bool isPerClientField(std::string_view name) noexcept {
  return isCookieField(name) || http::equalsIgnoreCase(name, "Authentication-Info") ||
         http::equalsIgnoreCase(name, "Proxy-Authentication-Info");
}

bool isNotModified(const http::RequestHead& request, const Stored& stored) {
  if (!isCacheableMethod(request.method))
    return false;
  const http::Headers& fields = request.headers;
  // RFC 9110 §13.2.2 step 3: If-None-Match decides whenever it is present.
  if (fields.has("If-None-Match")) {
    const auto etag = stored.head.headers.get("ETag");
    bool match = false;
    for (std::string_view line : fields.getAll("If-None-Match"))
      http::forEachListMember(line, [&](std::string_view member) {
        match = match || member == "*" || (etag && weakMatch(member, *etag));
      });
    return match;
  }
  // Step 4, RFC 9110 §13.1.3: one valid date, else ignored.
  if (fields.count("If-Modified-Since") != 1)
    return false;
  const auto since = detail::dateField(fields, "If-Modified-Since", stored.response_time);
  if (!since)
    return false;
  // RFC 9111 §4.3.2: without Last-Modified, the stored Date, else when it was received.
  const std::int64_t modified =
      detail::dateField(stored.head.headers, "Last-Modified", stored.response_time)
          .value_or(detail::dateField(stored.head.headers, "Date", stored.response_time)
                        .value_or(detail::epochSeconds(stored.response_time)));
  return modified <= *since;
}

http::ResponseHead notModifiedResponse(const http::ResponseHead& stored) {
  http::ResponseHead out;
  out.status = 304;
  out.reason = "Not Modified";
  const bool hasEtag = stored.headers.has("ETag");
  constexpr std::array<std::string_view, 6> Sent = {"Cache-Control", "Content-Location", "Date",
                                                    "ETag",          "Expires",          "Vary"};
  for (const http::Field field : stored.headers) {
    const auto same = [&](std::string_view name) {
      return http::equalsIgnoreCase(name, field.name);
    };
    // §15.4.5: Last-Modified only helps a cache that has no ETag to go by.
    if (std::any_of(Sent.begin(), Sent.end(), same) || (!hasEtag && same("Last-Modified")))
      out.headers.add(field.name, field.value);
  }
  return out;
}

} // namespace ferry::cache::policy
