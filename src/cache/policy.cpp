// Storing, freshness, age and the serving decision of a shared cache (RFC 9111 §3, §4.2,
// §4.2.4, §5.2; RFC 5861). Validation, invalidation and Vary are in their own files.
// All clock arithmetic is in whole seconds since the epoch (field_values.h).
#include "ferry/cache/policy.h"

#include "field_values.h"

#include <re2/re2.h>

#include <algorithm>
#include <array>

namespace ferry::cache::policy {

namespace {

using detail::epochSeconds;

constexpr std::int64_t MaxDelta = MaxDeltaSeconds.count();

// §5.2.2.3: the statuses whose caching rules this cache implements, for must-understand.
bool isUnderstood(int status) noexcept {
  constexpr std::array<int, 15> Known = {200, 203, 204, 300, 301, 302, 303, 307,
                                         308, 404, 405, 410, 414, 451, 501};
  return std::find(Known.begin(), Known.end(), status) != Known.end();
}

bool hasVaryAny(const http::Headers& response) {
  bool any = false;
  for (std::string_view line : response.getAll("Vary"))
    http::forEachListMember(line, [&](std::string_view member) { any = any || member == "*"; });
  return any;
}

// RFC 9110 §6.6.1: a response without a (valid) Date was dated when it arrived.
std::int64_t dateValue(const http::ResponseHead& response, TimePoint response_time) {
  return detail::dateField(response.headers, "Date", response_time)
      .value_or(epochSeconds(response_time));
}

std::int64_t heuristicLifetime(const http::ResponseHead& response, TimePoint response_time,
                               std::string_view uri, const Settings& settings) {
  const auto lastModified = detail::dateField(response.headers, "Last-Modified", response_time);
  const std::int64_t sinceModified =
      lastModified ? std::max<std::int64_t>(0, dateValue(response, response_time) - *lastModified)
                   : 0;
  for (const RefreshRule& rule : settings.refresh_rules) {
    if (!RE2::PartialMatch(uri, *rule.regex))
      continue;
    if (!lastModified)
      return rule.min.count();
    const std::int64_t lifetime = sinceModified * rule.percent / 100;
    return std::max(std::min(lifetime, rule.max.count()), rule.min.count());
  }
  if (!lastModified)
    return 0;
  return std::min(sinceModified * settings.heuristic_percent / 100,
                  static_cast<std::int64_t>(settings.heuristic_max.count()));
}

// §3 from the response's side (and §3.5, which weighs the request's Authorization against it):
// what storability() checks once the method, status and request no-store have passed.
StoreDecision responseStorability(const http::RequestHead& request,
                                  const http::ResponseHead& response, const Settings& settings) {
  const ResponseDirectives d = parseResponseDirectives(response.headers, settings.targeted_fields);
  if (d.must_understand) {
    // §5.2.2.3: understood status → no-store is overridden; unknown status → not stored.
    if (!isUnderstood(response.status))
      return StoreDecision::MustUnderstand;
  } else if (d.no_store) {
    return StoreDecision::ResponseNoStore;
  }
  if (d.is_private)
    return StoreDecision::Private;
  if (request.headers.has("Authorization") && !d.is_public && !d.s_maxage && !d.must_revalidate)
    return StoreDecision::Authorization;
  if (hasVaryAny(response.headers))
    return StoreDecision::VaryAny;
  if (!hasExplicitFreshness(response, settings) && !d.is_public &&
      !isHeuristicallyCacheable(response.status))
    return StoreDecision::Status;
  if (settings.set_cookie == SetCookie::Refuse &&
      (response.headers.has("Set-Cookie") || response.headers.has("Set-Cookie2")))
    return StoreDecision::SetCookie;
  return StoreDecision::Store;
}

} // namespace

bool isCacheableMethod(std::string_view method) noexcept {
  return method == "GET" || method == "HEAD";
}

bool isSafeMethod(std::string_view method) noexcept {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE";
}

bool isHeuristicallyCacheable(int status) noexcept {
  switch (status) {
  case 200:
  case 203:
  case 204:
  case 206:
  case 300:
  case 301:
  case 308:
  case 404:
  case 405:
  case 410:
  case 414:
  case 501:
    return true;
  default:
    return false;
  }
}

bool isOriginError(int status) noexcept {
  return status == 500 || status == 502 || status == 503 || status == 504;
}

bool isOnlyIfCached(const http::RequestHead& request) {
  return parseRequestDirectives(request.headers).only_if_cached;
}

StoreDecision storability(const http::RequestHead& request, const http::ResponseHead& response,
                          const Settings& settings) {
  if (!request.isMethod("GET"))
    return StoreDecision::Method;
  // §3: a final status; a 206 is never stored whole and a 304 only updates (§4.3.4).
  if (response.status < 200 || response.status == 206 || response.status == 304)
    return StoreDecision::Status;
  if (parseRequestDirectives(request.headers).no_store)
    return StoreDecision::RequestNoStore;
  return responseStorability(request, response, settings);
}

FreshenOutcome freshenOutcome(const http::RequestHead& request, const http::ResponseHead& freshened,
                              const Settings& settings) {
  if (parseRequestDirectives(request.headers).no_store) // §5.2.1.5: no part of it is stored
    return FreshenOutcome::ServeOnly;
  switch (responseStorability(request, freshened, settings)) {
  case StoreDecision::Store:
    return FreshenOutcome::Update;
  case StoreDecision::Authorization: // §3.5: this user's answer, not everybody's
    return FreshenOutcome::ServeOnly;
  default:
    return FreshenOutcome::Remove;
  }
}

std::string_view describe(StoreDecision decision) noexcept {
  switch (decision) {
  case StoreDecision::Store:
    return "stored";
  case StoreDecision::Method:
    return "method";
  case StoreDecision::Status:
    return "status";
  case StoreDecision::RequestNoStore:
  case StoreDecision::ResponseNoStore:
    return "no-store";
  case StoreDecision::Private:
    return "private";
  case StoreDecision::Authorization:
    return "authorization";
  case StoreDecision::VaryAny:
    return "vary-star";
  case StoreDecision::MustUnderstand:
    return "must-understand";
  case StoreDecision::SetCookie:
    return "set-cookie";
  case StoreDecision::TransferCoded:
    return "transfer-coded";
  }
  return "unknown";
}

bool isCookieField(std::string_view name) noexcept {
  return http::equalsIgnoreCase(name, "Set-Cookie") || http::equalsIgnoreCase(name, "Set-Cookie2");
}

std::size_t removeUnstorableFields(http::Headers& response, const Settings& settings) {
  const ResponseDirectives d = parseResponseDirectives(response, settings.targeted_fields);
  const bool strip_cookies = settings.set_cookie == SetCookie::Strip;
  if (d.no_cache_fields.empty() && d.private_fields.empty() && !strip_cookies)
    return 0;
  const auto unstorable = [&](const http::Field& field) {
    const auto same = [&](const std::string& name) {
      return http::equalsIgnoreCase(name, field.name);
    };
    return (strip_cookies && isCookieField(field.name)) ||
           std::any_of(d.no_cache_fields.begin(), d.no_cache_fields.end(), same) ||
           std::any_of(d.private_fields.begin(), d.private_fields.end(), same);
  };
  return response.removeIf(unstorable);
}

bool hasExplicitFreshness(const http::ResponseHead& response, const Settings& settings) {
  const ResponseDirectives d = parseResponseDirectives(response.headers, settings.targeted_fields);
  return d.s_maxage || d.max_age || (!d.targeted && response.headers.has("Expires"));
}

namespace {

// freshnessLifetime with the response's directives parsed already.
Seconds lifetimeOf(const http::ResponseHead& response, const ResponseDirectives& d,
                   TimePoint response_time, std::string_view uri, const Settings& settings) {
  std::int64_t lifetime = 0;
  if (d.s_maxage) { // §5.2.2.10: a shared cache prefers s-maxage
    lifetime = d.s_maxage->count();
  } else if (d.max_age) {
    lifetime = d.max_age->count();
  } else if (!d.targeted && response.headers.has("Expires")) { // RFC 9213 §2.1
    // §5.3: an invalid Expires (e.g. "0") is a time in the past.
    const auto expires = detail::dateField(response.headers, "Expires", response_time);
    lifetime = expires ? *expires - dateValue(response, response_time) : 0;
  } else if (d.is_public || isHeuristicallyCacheable(response.status)) {
    lifetime = heuristicLifetime(response, response_time, uri, settings); // §4.2.2
  }
  return Seconds(std::clamp<std::int64_t>(lifetime, 0, MaxDelta));
}

} // namespace

Seconds freshnessLifetime(const http::ResponseHead& response, TimePoint response_time,
                          std::string_view uri, const Settings& settings) {
  return lifetimeOf(response, parseResponseDirectives(response.headers, settings.targeted_fields),
                    response_time, uri, settings);
}

std::optional<Seconds> parseAge(const http::Headers& response) {
  std::optional<std::string_view> first;
  for (std::string_view line : response.getAll("Age"))
    http::forEachListMember(line, [&](std::string_view member) {
      if (!first)
        first = member;
    });
  if (!first)
    return std::nullopt;
  const auto value = detail::parseDeltaSeconds(*first);
  if (!value)
    return std::nullopt;
  return Seconds(*value);
}

AgeCalculation calculateAge(const http::ResponseHead& response, TimePoint request_time,
                            TimePoint response_time, TimePoint now) {
  const std::int64_t responseTime = epochSeconds(response_time);
  // §4.2.3: 0 when not available; an invalid Age is ignored (§5.1).
  const std::int64_t ageValue = parseAge(response.headers).value_or(Seconds(0)).count();
  const auto positive = [](std::int64_t value) {
    return Seconds(std::max<std::int64_t>(0, value));
  };
  AgeCalculation a;
  a.apparent_age = positive(responseTime - dateValue(response, response_time));
  a.response_delay = positive(responseTime - epochSeconds(request_time));
  a.corrected_age_value = Seconds(ageValue) + a.response_delay;
  a.corrected_initial_age = std::max(a.apparent_age, a.corrected_age_value);
  a.resident_time = positive(epochSeconds(now) - responseTime);
  a.current_age = a.corrected_initial_age + a.resident_time;
  return a;
}

std::string ageValue(Seconds current_age) {
  return std::to_string(std::clamp<std::int64_t>(current_age.count(), 0, MaxDelta));
}

Stored storedResponse(const http::ResponseHead& head, TimePoint request_time,
                      TimePoint response_time, std::string_view uri, const Settings& settings) {
  ResponseDirectives directives = parseResponseDirectives(head.headers, settings.targeted_fields);
  const Seconds lifetime = lifetimeOf(head, directives, response_time, uri, settings);
  const Seconds initial_age =
      calculateAge(head, request_time, response_time, response_time).corrected_initial_age;
  return Stored{head, request_time, response_time, lifetime, std::move(directives), initial_age};
}

namespace {

// §4.2.3 current_age at `now`: what calculateAge finds, from the age kept on arrival.
Seconds currentAge(const Stored& stored, TimePoint now) {
  return stored.initial_age +
         Seconds(std::max<std::int64_t>(0, epochSeconds(now) - epochSeconds(stored.response_time)));
}

} // namespace

Decision decide(const http::RequestHead& request, const Stored& stored, TimePoint now) {
  const RequestDirectives r = parseRequestDirectives(request.headers);
  const ResponseDirectives& d = stored.directives;
  Decision decision;
  decision.age = currentAge(stored, now);
  decision.ttl = stored.lifetime - decision.age;
  const bool fresh = stored.lifetime > decision.age; // §4.2
  const auto revalidate = [&](bool requested) {
    // §5.2.1.7: only-if-cached never reaches the origin.
    decision.verdict = r.only_if_cached ? Verdict::Unavailable : Verdict::Revalidate;
    decision.requested = requested && fresh;
    return decision;
  };
  if (r.no_cache) // §5.2.1.4, §5.4
    return revalidate(true);
  if (d.no_cache) // §5.2.2.4
    return revalidate(false);
  if (r.max_age && decision.age > *r.max_age) // §5.2.1.1
    return revalidate(true);
  if (fresh) {
    if (r.min_fresh && decision.ttl < *r.min_fresh) // §5.2.1.3
      return revalidate(true);
    decision.verdict = Verdict::Fresh;
    return decision;
  }
  // Stale. §4.2.4, §5.2.2.2, §5.2.2.8, §5.2.2.10: never served stale by a shared cache.
  if (d.must_revalidate || d.proxy_revalidate || d.s_maxage || r.min_fresh)
    return revalidate(false);
  const Seconds staleness = decision.age - stored.lifetime;
  if (r.max_stale && staleness <= *r.max_stale) { // §5.2.1.2
    decision.verdict = Verdict::StaleAllowed;
    return decision;
  }
  if (d.stale_while_revalidate && staleness <= *d.stale_while_revalidate) { // RFC 5861 §3
    decision.verdict = Verdict::StaleWhileRevalidate;
    return decision;
  }
  return revalidate(false);
}

bool mayServeStaleOnError(const http::RequestHead& request, const Stored& stored, TimePoint now) {
  const RequestDirectives r = parseRequestDirectives(request.headers);
  const ResponseDirectives& d = stored.directives;
  if (r.no_cache || d.no_cache) // the client or the origin demanded a validated response
    return false;
  const Seconds age = currentAge(stored, now);
  if (stored.lifetime > age)
    return true;
  if (d.must_revalidate || d.proxy_revalidate || d.s_maxage) // §4.2.4: 504, never stale
    return false;
  const Seconds staleness = age - stored.lifetime;
  const auto within = [&](const std::optional<Seconds>& window) {
    return window && staleness <= *window;
  };
  return within(d.stale_if_error) || within(r.stale_if_error) || within(r.max_stale);
}

} // namespace ferry::cache::policy
