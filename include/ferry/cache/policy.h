// The rules of a shared HTTP cache (RFC 9111, RFC 5861) as pure functions of (request,
// response, times, now): what may be stored, how fresh it is, whether a stored response may be
// served, how it is revalidated and what an unsafe request invalidates. No storage, no
// sockets, no clock: the caller passes every time point. Any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/cache/directives.h"
#include "ferry/cache/http_date.h"
#include "ferry/cache/settings.h"
#include "ferry/http/message.h"
#include "ferry/http/target.h"

namespace ferry::cache::policy {

// ---- Methods and statuses ----------------------------------------------------------------

// GET and HEAD may be answered from the cache (a HEAD from a stored GET); anything else is a
// bypass. Only responses to GET are stored.
bool isCacheableMethod(std::string_view method) noexcept;

// RFC 9110 §9.2.1: GET, HEAD, OPTIONS, TRACE. Others (unknown ones too) invalidate (§4.4).
bool isSafeMethod(std::string_view method) noexcept;

// RFC 9110 §15.1 / RFC 9111 §4.2.2: 200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501.
bool isHeuristicallyCacheable(int status) noexcept;

// RFC 5861 §4: the statuses after which stale-if-error may serve a stale response (500, 502,
// 503, 504). A failure to connect or to read a response counts as well: the caller decides.
bool isOriginError(int status) noexcept;

// §5.2.1.7: the request has only-if-cached. With no stored response (or with Verdict
// Unavailable) the cache answers 504 (Gateway Timeout) itself and never contacts the origin.
bool isOnlyIfCached(const http::RequestHead& request);

// ---- Storing (§3) --------------------------------------------------------------------------

enum class StoreDecision {
  Store,
  Method,          // not a GET (HEAD is answered from a stored GET, never stored itself)
  Status,          // not final, 206 or 304, or not heuristically cacheable without explicit
                   // freshness (max-age, s-maxage, Expires, public)
  RequestNoStore,  // §5.2.1.5
  ResponseNoStore, // §5.2.2.5 (unless must-understand with a status this cache knows, §5.2.2.3)
  Private,         // §5.2.2.7 unqualified private
  Authorization,   // §3.5: request had Authorization; response has no public/s-maxage/
                   // must-revalidate
  VaryAny,         // §4.1: Vary: * can never be selected
  MustUnderstand,  // §5.2.2.3 with a status this cache does not know
  SetCookie,       // Set-Cookie or Set-Cookie2 under set_cookie: refuse
  TransferCoded,   // the body still has a transfer coding other than chunked (RFC 9112 §6.1):
                   // it is not the representation; decided where the framing is known
};

// §3: whether a response to `request` may be stored by a shared cache, with settings.set_cookie
// applied. A complete body is the caller's business (an incomplete response is never stored);
// so is max_object_bytes.
StoreDecision storability(const http::RequestHead& request, const http::ResponseHead& response,
                          const Settings& settings);
inline bool isStorable(const http::RequestHead& request, const http::ResponseHead& response,
                       const Settings& settings) {
  return storability(request, response, settings) == StoreDecision::Store;
}
// A token naming the decision, for Cache-Status detail and logs: "stored", "method", "status",
// "no-store", "private", "authorization", "vary-star", "must-understand", "set-cookie",
// "transfer-coded".
std::string_view describe(StoreDecision decision) noexcept;

// Set-Cookie and Set-Cookie2 (RFC 6265 §4.1, RFC 2965): the fields that give a client a cookie.
bool isCookieField(std::string_view name) noexcept;

// §3.1, §5.2.2.4, §5.2.2.7: removes the fields named by qualified no-cache="..." and
// private="..." from a response about to be stored (it is served to other clients, so those
// fields are never reused; the client that received the response still got them), and the
// cookie fields under set_cookie: strip. Everything else is stored as received; hop-by-hop
// fields are expected to be gone already (http::stripHopByHop). Returns how many field lines
// were removed.
std::size_t removeUnstorableFields(http::Headers& response, const Settings& settings);

// ---- Freshness (§4.2) ----------------------------------------------------------------------

// Whether the response carries s-maxage, max-age or Expires (even an invalid one, §5.3). The
// directives are read with settings.targeted_fields (RFC 9213), which make Expires not count.
// Every rule of this file reads response directives that way.
bool hasExplicitFreshness(const http::ResponseHead& response, const Settings& settings);

// §4.2.1: s-maxage, else max-age, else Expires − Date (an invalid Expires is in the past; a
// missing Date is `response_time`, RFC 9110 §6.6.1). Without those, and when the status is
// heuristically cacheable or the response is public (§4.2.2): the first refresh rule matching
// `uri` (the cache key), else heuristic_percent of (Date − Last-Modified) up to heuristic_max;
// 0 without Last-Modified. Never negative. It changes only when the headers do, so it may be
// computed once when the response is stored or freshened.
Seconds freshnessLifetime(const http::ResponseHead& response, TimePoint response_time,
                          std::string_view uri, const Settings& settings);

// §5.1: the response's Age. Its field lines are one list (RFC 9110 §5.3) of which only the
// first member counts (a cache SHOULD use the first member of a list-based value), read as
// delta-seconds (§1.2.2: past 2^31 reads as 2^31). nullopt when there is no Age, or when that
// member is not all digits (a sign, a decimal point, a parameter, a letter): §5.1 says to ignore
// such a field, and never to read a later member instead.
std::optional<Seconds> parseAge(const http::Headers& response);

// §4.2.3, each step exactly as the RFC names it. age_value is parseAge(), 0 without one. Times are
// floored to whole seconds; negative clock differences count as 0.
struct AgeCalculation {
  Seconds apparent_age{0};          // max(0, response_time − date_value)
  Seconds response_delay{0};        // response_time − request_time
  Seconds corrected_age_value{0};   // age_value + response_delay
  Seconds corrected_initial_age{0}; // max(apparent_age, corrected_age_value)
  Seconds resident_time{0};         // now − response_time
  Seconds current_age{0};           // corrected_initial_age + resident_time
};
AgeCalculation calculateAge(const http::ResponseHead& response, TimePoint request_time,
                            TimePoint response_time, TimePoint now);

// §5.1: the Age field value to send for `current_age` (2147483648 at most, §1.2.2).
std::string ageValue(Seconds current_age);

// ---- Serving (§4, §4.2.4, §5.2, RFC 5861) --------------------------------------------------

// A stored response as the serving rules see it. Borrowed for the duration of a call.
struct Stored {
  const http::ResponseHead& head;
  TimePoint request_time;        // when the request that fetched (or last validated) it was sent
  TimePoint response_time;       // when that response head arrived
  Seconds lifetime;              // freshnessLifetime(head, response_time, uri, settings)
  ResponseDirectives directives; // parseResponseDirectives(head.headers, targeted_fields)
  Seconds initial_age;           // calculateAge's corrected_initial_age: its age on arrival
};

// The Stored view of `head`, its lifetime and directives computed under `settings`; `uri` is
// the cache key (refresh rules match it). It changes only with the head or the settings: an
// Entry keeps it (Entry::stored).
Stored storedResponse(const http::ResponseHead& head, TimePoint request_time,
                      TimePoint response_time, std::string_view uri, const Settings& settings);

enum class Verdict {
  Fresh,                // serve it
  StaleAllowed,         // stale, but within the request's max-stale (§5.2.1.2): serve it
  StaleWhileRevalidate, // stale within stale-while-revalidate (RFC 5861 §3): serve it and
                        // revalidate in the background
  Revalidate,           // forward a conditional request (prepareRevalidation); when the
                        // origin fails, mayServeStaleOnError decides
  Unavailable,          // only-if-cached and it cannot be used without the origin: 504
};

struct Decision {
  Verdict verdict = Verdict::Revalidate;
  // Revalidate (or Unavailable) because of the request's no-cache, Pragma, max-age or
  // min-fresh while the stored response is fresh: Cache-Status fwd=request, not fwd=stale.
  bool requested = false;
  Seconds age{0}; // current_age (§4.2.3): send it as Age when serving
  Seconds ttl{0}; // lifetime − age; negative when stale (Cache-Status ttl)
};

// Decides how a GET or HEAD `request` may use `stored` at `now`, in this order:
// request no-cache (§5.2.1.4) or response no-cache (§5.2.2.4) → Revalidate; request max-age
// exceeded (§5.2.1.1) → Revalidate; fresh (§4.2) and min-fresh met (§5.2.1.3) → Fresh; stale
// and must-revalidate, proxy-revalidate or s-maxage (§4.2.4, §5.2.2.2, §5.2.2.8, §5.2.2.10),
// or a request min-fresh → Revalidate; within max-stale → StaleAllowed; within
// stale-while-revalidate → StaleWhileRevalidate; else Revalidate. With only-if-cached (§5.2.1.7),
// Revalidate becomes Unavailable.
Decision decide(const http::RequestHead& request, const Stored& stored, TimePoint now);

// RFC 5861 §4: whether `stored` may be served when revalidating or refetching it failed (an
// origin error status or no response) at `now`: its staleness is within the response's or the
// request's stale-if-error or the request's max-stale, and nothing forbids serving stale
// (must-revalidate, proxy-revalidate, s-maxage, response or request no-cache: then the answer
// is the error, or 504 when there is no response). Without no-cache, a response still fresh
// at `now` may always be served.
bool mayServeStaleOnError(const http::RequestHead& request, const Stored& stored, TimePoint now);

// ---- Validation (§4.3) ---------------------------------------------------------------------

// §4.3.1: turns `origin_request` (the client's fields, being forwarded as a GET for the stored
// response) into a revalidation of `stored`: removes the client's If-None-Match,
// If-Modified-Since, If-Range and Range, then adds If-None-Match with the stored ETag and
// If-Modified-Since with the stored Last-Modified. Returns false when `stored` has neither
// validator: the request is then an unconditional refetch. The client's own conditionals are
// answered afterwards with isNotModified against the validated response.
bool prepareRevalidation(http::Headers& origin_request, const http::ResponseHead& stored);

// The request a background revalidation sends (RFC 5861 §3) when `client` was served
// `stored`: a bodiless conditional GET (prepareRevalidation) with the client's end-to-end
// fields, but none of what belonged to the client's own exchange — Content-Length,
// Transfer-Encoding and the other Content-* fields of a body it does not carry, Expect,
// and the client's If-Match / If-Unmodified-Since. `client` has its hop-by-hop fields
// removed already.
http::RequestHead backgroundRevalidation(const http::RequestHead& client,
                                         const http::ResponseHead& stored);

// §4.3.4: whether a 304 identifies `stored` for update: a strong ETag in the 304 must equal the
// stored one (strong comparison), a weak one must match it (weak comparison); else a
// Last-Modified in the 304 must equal the stored one; a 304 with no validator updates the
// response it revalidated (ferry revalidates one stored response at a time). When false, the
// caller refetches without conditions.
bool canFreshen(const http::ResponseHead& stored, const http::ResponseHead& not_modified);

// §4.3.5: whether a 200 to a HEAD the cache sent may update `stored`, a GET response whose
// body is `stored_length` bytes, as a 304 would: every validator (ETag, Last-Modified) the
// 200 carries matches the stored one, and its Content-Length, if any, is the stored length.
// When false the stored response is no longer what the origin has: the caller removes it.
bool headUpdates(const http::ResponseHead& stored, std::uint64_t stored_length,
                 const http::ResponseHead& head_response);

// Fields of a 304 that belong to the one client whose request it answered: the cookie fields
// and Authentication-Info / Proxy-Authentication-Info (RFC 9110 §11.6.3, §11.7.3), which
// answer that client's credentials.
bool isPerClientField(std::string_view name) noexcept;

// §3.2, §4.3.4: copies every field of the 304 into `stored`, replacing fields of the same name,
// except framing and content-coding fields the stored body depends on (Content-Length,
// Transfer-Encoding, Content-Range, Content-Encoding), hop-by-hop fields and the per-client
// fields (isPerClientField: a 304 answers one client's request, the stored response serves
// everybody). Age and Date describe the exchange, so a stored Age the 304 lacks is removed and
// a missing Date becomes `received` (RFC 9110 §6.6.1). Then removeUnstorableFields applies to
// the result. The caller then stores the new request/response times and recomputes the
// lifetime.
void freshen(http::ResponseHead& stored, const http::ResponseHead& not_modified, TimePoint received,
             const Settings& settings);

// What the client whose request `not_modified` answered is served: `freshened` (the stored
// head after freshen()) with the 304's per-client fields in place of the stored ones.
http::ResponseHead withClientFields(const http::ResponseHead& freshened,
                                    const http::ResponseHead& not_modified);

// §4.3.4 with §3: what a 304 to `request` does to the stored response it freshens, judged on
// `freshened`, the stored head after freshen() (so the 304's directives count).
enum class FreshenOutcome {
  Update,    // the stored response takes the freshened head
  Remove,    // the freshened head may not be stored (no-store, private, Vary: *, must-understand
             // with an unknown status, no longer cacheable...): the stored response is removed
  ServeOnly, // the 304 belongs to this request only (its no-store, §5.2.1.5, or Authorization
             // without public, s-maxage or must-revalidate, §3.5): the client is served the
             // freshened response, the stored one stays as it was
};
FreshenOutcome freshenOutcome(const http::RequestHead& request, const http::ResponseHead& freshened,
                              const Settings& settings);

// RFC 9111 §4.3.2, RFC 9110 §13.1.2, §13.1.3, §13.2.2: whether the client's own conditionals,
// evaluated against a stored response about to be served, call for a 304. If-None-Match (weak
// comparison, "*" matches) decides when present; otherwise If-Modified-Since (a valid date, GET
// or HEAD only) against Last-Modified, else Date, else response_time. If-Match and
// If-Unmodified-Since do not apply to a cache (§4.3.2) and are ignored.
bool isNotModified(const http::RequestHead& request, const Stored& stored);

// RFC 9110 §15.4.5: the 304 sent for `stored`: Cache-Control, Content-Location, Date, ETag,
// Expires and Vary as stored, and Last-Modified when there is no ETag. The caller adds Age,
// Via and Cache-Status.
http::ResponseHead notModifiedResponse(const http::ResponseHead& stored);

// RFC 9110 §8.8.3.2: weak comparison of two entity-tags (W/ ignored, opaque parts equal).
bool weakMatch(std::string_view a, std::string_view b) noexcept;
// Strong comparison: both strong and equal.
bool strongMatch(std::string_view a, std::string_view b) noexcept;

// ---- Invalidation (§4.4) -------------------------------------------------------------------

// After `response` to an unsafe `request` (any method but GET, HEAD, OPTIONS, TRACE) with a
// 2xx or 3xx status: the cache keys to invalidate — the target's, then those of Location and
// Content-Location when they resolve (RFC 3986 §5.2, against the target) to the same origin
// (scheme, host, port). `target` is the request's target with scheme, host and port known
// (absolute form, or origin form completed from Host). Empty otherwise; no duplicates.
std::vector<std::string> invalidatedKeys(const http::RequestHead& request,
                                         const http::Target& target,
                                         const http::ResponseHead& response);

// ---- Vary (§4.1) ---------------------------------------------------------------------------

// The secondary key: for each field the response's Vary nominates (names lower-cased, sorted,
// duplicates dropped), "name:value\n" with the request's field lines combined and whitespace
// normalised (trimmed, none around commas and runs as one space, outside quoted strings), or
// "name\n" when the request lacks the field (absent ≠ empty). "" without Vary. nullopt for Vary: *
// (never matches). A stored response matches a request when both give the same key.
std::optional<std::string> varyKey(const http::Headers& response, const http::Headers& request);

} // namespace ferry::cache::policy
