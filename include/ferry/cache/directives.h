// Cache-Control (RFC 9111 §5.2), Pragma (§5.4) and targeted cache-control fields (RFC 9213)
// read into plain structs, one for requests and one for responses. Only reading: what the
// directives mean for storing and serving is in policy.h. Unknown directives (cache
// extensions, §5.2.3) are ignored.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "ferry/http/headers.h"

namespace ferry::cache {

// RFC 9111 §1.2.2: delta-seconds past what a cache can represent count as 2^31 seconds.
inline constexpr std::chrono::seconds MaxDeltaSeconds{2147483648LL};

// The request directives of RFC 9111 §5.2.1 and RFC 5861 §4. Field values of every
// Cache-Control line are combined; a directive given twice counts once, with its first value.
struct RequestDirectives {
  std::optional<std::chrono::seconds> max_age;   // §5.2.1.1; invalid value: 0 (most restrictive)
  std::optional<std::chrono::seconds> max_stale; // §5.2.1.2; without a value: MaxDeltaSeconds;
                                                 // invalid value: ignored (no stale allowed)
  std::optional<std::chrono::seconds> min_fresh; // §5.2.1.3; invalid value: ignored
  std::optional<std::chrono::seconds> stale_if_error; // RFC 5861 §4; invalid value: ignored
  bool no_cache = false;       // §5.2.1.4, or Pragma: no-cache without Cache-Control (§5.4)
  bool no_store = false;       // §5.2.1.5
  bool only_if_cached = false; // §5.2.1.7
};

// The response directives of RFC 9111 §5.2.2 and RFC 5861.
struct ResponseDirectives {
  // §5.2.2.1 / §5.2.2.10; an invalid value reads as 0, so the response is stale (§4.2.1).
  std::optional<std::chrono::seconds> max_age;
  std::optional<std::chrono::seconds> s_maxage;
  std::optional<std::chrono::seconds> stale_while_revalidate; // RFC 5861 §3; invalid: ignored
  std::optional<std::chrono::seconds> stale_if_error;         // RFC 5861 §4; invalid: ignored
  bool no_cache = false;         // §5.2.2.4 unqualified: stored, never used without validation
  bool no_store = false;         // §5.2.2.5
  bool is_private = false;       // §5.2.2.7 unqualified: a shared cache does not store it
  bool is_public = false;        // §5.2.2.9
  bool must_revalidate = false;  // §5.2.2.2
  bool proxy_revalidate = false; // §5.2.2.8
  bool must_understand = false;  // §5.2.2.3
  bool immutable = false;        // RFC 8246; read, not acted on
  // §5.2.2.4 / §5.2.2.7 qualified forms, e.g. no-cache="Set-Cookie": field names, lower case.
  std::vector<std::string> no_cache_fields;
  std::vector<std::string> private_fields;
  // Read from a targeted field (RFC 9213 §2.1), so Expires does not count either.
  bool targeted = false;
};

// Reads Cache-Control, and Pragma when the request has no Cache-Control field (§5.4).
RequestDirectives parseRequestDirectives(const http::Headers& request);

// RFC 9213 §2.1: the first field of `targeted` (field names, e.g. CDN-Cache-Control) that the
// response carries with a valid, non-empty value — a Dictionary (RFC 8941) whose known
// directives have the expected types (§2.2: Integers for max-age, s-maxage,
// stale-while-revalidate and stale-if-error, Booleans for the others, a String of field names
// for qualified no-cache and private) — replaces Cache-Control; an invalid one is ignored.
// Otherwise Cache-Control is read. Pragma in a response means nothing (§5.4).
ResponseDirectives parseResponseDirectives(const http::Headers& response,
                                           const std::vector<std::string>& targeted);

} // namespace ferry::cache
