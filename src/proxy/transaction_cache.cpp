// Transaction's cache side (RFC 9111): lookup and the serving decision, collapsed
// forwarding, revalidation with 304 and stale-if-error, storing while relaying, serving a
// stored response (conditionals, ranges, Age, Cache-Status) and PURGE.
#include "transaction.h"

#include "cache_fill.h"
#include "worker.h"

#include "ferry/cache/policy.h"
#include "ferry/cache/range.h"
#include "ferry/core/assert.h"
#include "ferry/core/counters.h"
#include "ferry/http/error_response.h"
#include "ferry/http/framing.h"
#include "ferry/http/serializer.h"
#include "ferry/net/cidr.h"

namespace ferry::proxy {
namespace policy = cache::policy;

std::optional<std::string> Transaction::secondaryKey(const cache::Entry& entry) const {
  return policy::varyKey(entry.head().headers, request_.headers);
}

// A fresh hit from what lookup() found: a body in a file is the disk tier's (a response
// being written to disk), any other the memory store's.
cache::Outcome Transaction::hitOutcome(const cache::Entry* entry) {
  return entry && entry->isInFile() ? cache::Outcome::Hit : cache::Outcome::MemoryHit;
}

void Transaction::lookupCache() {
  cache::Store& store = worker_.store();
  auto entry = store.lookup(key_, [this](const cache::Entry& e) { return secondaryKey(e); });
  if (!entry && store.hasSlowerTier()) {
    loadFromSlowerTier();
    return;
  }
  const cache::Outcome hit = hitOutcome(entry.get());
  onLookedUp(std::move(entry), hit);
}

// Not in memory: look on disk, off this thread. The request's fields are copied for the
// secondary key, computed there. A request body still to come (a GET may have one) stays in
// the client's buffer meanwhile: there is no exchange to send it to yet. (A hit is then
// answered before the body is read, and closes the connection, as from memory.)
void Transaction::loadFromSlowerTier() {
  transition(Step::Load);
  if (!request_done_)
    client_.pauseReading();
  waitFor(worker_.store().load(key_, [fields = request_.headers](const cache::Entry& e) {
    return policy::varyKey(e.head().headers, fields);
  }));
}

// Load and Purge: the store's slower tier works on another thread; onWake goes on.
void Transaction::waitFor(std::shared_ptr<cache::TierTask> task) {
  tier_task_ = std::move(task);
  event* wake = armWake();
  wake_subscription_ = tier_task_->subscribe([wake] { event_active(wake, EV_TIMEOUT, 0); });
  if (tier_task_->isDone())
    event_active(wake, EV_TIMEOUT, 0);
}

// What the lookup found decides the next step; `hit` is the outcome of a fresh hit (memory or
// disk).
void Transaction::onLookedUp(std::shared_ptr<const cache::Entry> entry, cache::Outcome hit) {
  cache::Store& store = worker_.store();
  if (!entry) {
    if (policy::isOnlyIfCached(request_)) {
      cache_status_.outcome = cache::Outcome::OnlyIfCached;
      answer(504, "only-if-cached: nothing stored for this URI"); // RFC 9111 §5.2.1.7
      return;
    }
    cache_status_.outcome = cache::Outcome::UriMiss;
    // Collapsed forwarding, for requests whose response may become an Entry others can use
    // (and that have no body, which would have to wait somewhere meanwhile).
    if (request_.isMethod("GET") && !request_.headers.has("Range") && !request_framing_.hasBody()) {
      ticket_ = store.joinFetch(key_);
      if (!ticket_.isLeader()) {
        waitForFetch();
        return;
      }
    }
    fetch(Step::Fetch);
    return;
  }
  if (entry->state() == cache::EntryState::Filling) {
    serveEntry(std::move(entry), hit); // just arrived: fresh
    return;
  }
  const auto stored = entry->stored(worker_.sharedCacheSettings());
  const policy::Decision decision = policy::decide(request_, *stored, worker_.clock().wall());
  switch (decision.verdict) {
  case policy::Verdict::Fresh:
    serveEntry(std::move(entry), hit);
    return;
  case policy::Verdict::StaleAllowed:
    serveEntry(std::move(entry), cache::Outcome::StaleHit);
    return;
  case policy::Verdict::StaleWhileRevalidate:
    // RFC 5861 §3: serve it now, and let one background request bring it up to date.
    worker_.refreshInBackground(request_, target_, key_, entry);
    serveEntry(std::move(entry), cache::Outcome::StaleWhileRevalidate);
    return;
  case policy::Verdict::Unavailable:
    cache_status_.outcome = cache::Outcome::OnlyIfCached;
    answer(504, "only-if-cached: the stored response needs the origin");
    return;
  case policy::Verdict::Revalidate:
    break;
  }
  // RFC 9111 §4.3.1: ask the origin whether the stored response is still good. The
  // client's own conditionals are kept aside and answered from what comes back.
  cache_status_.outcome =
      decision.requested ? cache::Outcome::ClientRefresh : cache::Outcome::RefreshModified;
  stale_ = std::move(entry);
  fetch(Step::Revalidate);
}

// Load, Purge and Collapse wait for another thread, which only activates this event; onWake
// goes on on this loop.
event* Transaction::armWake() {
  wake_.reset(event_new(worker_.base(), -1, 0, &Transaction::onWake, this));
  FERRY_ASSERT(wake_);
  return wake_.get();
}

void Transaction::onWake(evutil_socket_t, short, void* arg) noexcept {
  auto* self = static_cast<Transaction*>(arg);
  if (self->step_ == Step::Collapse) {
    self->onFetchDecided();
    return;
  }
  if (self->step_ != Step::Load && self->step_ != Step::Purge)
    return;
  self->wake_subscription_.reset();
  const auto task = std::move(self->tier_task_);
  if (self->step_ == Step::Load) {
    self->client_.resumeReading(); // parsed from the loop, after onLookedUp() below
    self->onLookedUp(task->entry(), cache::Outcome::Hit);
  } else if (const auto removed = task->removed()) {
    self->answerPurge(*removed);
  } else {
    self->answer(503, "the disk cache could not record the purge; try again");
  }
}

// Another client is fetching this Key: wait for its response head, then stream from the
// Entry it fills, or fetch on our own if it stored nothing usable.
void Transaction::waitForFetch() {
  transition(Step::Collapse);
  event* wake = armWake();
  // Runs on the leader's thread: only wake this loop.
  wake_subscription_ = ticket_.fetch()->subscribe([wake] { event_active(wake, EV_TIMEOUT, 0); });
  if (ticket_.fetch()->outcome() != cache::FetchOutcome::Waiting)
    event_active(wake, EV_TIMEOUT, 0);
}

void Transaction::onFetchDecided() {
  wake_subscription_.reset();
  ticket_ = {};
  auto entry =
      worker_.store().lookup(key_, [this](const cache::Entry& e) { return secondaryKey(e); });
  if (entry) {
    const cache::Outcome hit = hitOutcome(entry.get());
    serveEntry(std::move(entry), hit);
    return;
  }
  cache_status_.outcome = cache::Outcome::Miss;
  fetch(Step::Fetch);
}

// The origin answered a revalidation: a 304 freshens the stored response (served once the
// 304 has ended), an error may let the stale one be served (RFC 5861 §4). Returns true
// when the client is not answered with this response: from the cache, or by a new request.
bool Transaction::answeredByRevalidation(http::ResponseHead& response) {
  if (response.status == 304 && !policy::canFreshen(stale_->head(), response) &&
      !request_framing_.hasBody()) {
    // RFC 9111 §4.3.4: its validator selects no stored response, so nothing is updated, and
    // the 304 answers a condition the client never sent: once it has ended (onEnd), the
    // request goes again without ferry's conditions.
    return true;
  }
  refresh_ = freshenStored(worker_.store(), worker_.cacheSettings(), request_, stale_, response,
                           exchange_->requestTime(), worker_.clock().wall());
  if (refresh_) {
    transition(Step::Refreshed);
    return true;
  }
  if (policy::isOriginError(response.status)) {
    if (serveStaleOnError())
      return true;
    cache_status_.outcome = cache::Outcome::RefreshFailed;
  }
  return false;
}

// RFC 5861 §4: the origin failed or answered with an error; the stored response may stand
// in for it. Returns true when it does.
bool Transaction::serveStaleOnError() {
  const auto stored = stale_->stored(worker_.sharedCacheSettings());
  if (!policy::mayServeStaleOnError(request_, *stored, worker_.clock().wall()))
    return false;
  exchange_->abandon();
  serveEntry(stale_, cache::Outcome::StaleIfError);
  return true;
}

// At the response head: store the response while relaying it when RFC 9111 §3 allows, and
// tell collapsed followers what became of the fetch.
void Transaction::startStoring(const http::ResponseHead& response, http::Framing framing) {
  policy::StoreDecision decision = policy::StoreDecision::Store;
  writer_ = beginStoring(worker_.store(), worker_.cacheSettings(), key_, request_, response,
                         framing, exchange_->requestTime(), worker_.clock().wall(), decision);
  if (decision != policy::StoreDecision::Store)
    cache_status_.detail = policy::describe(decision);
  cache_status_.stored = writer_ != nullptr;
  if (ticket_.isLeader())
    writer_ ? ticket_.publish() : ticket_.giveUp();
  ticket_ = {};
  if (policy::isCacheableMethod(request_.method))
    core::count(core::Counter::CacheMisses);
}

// Answers from a stored response: 304 for a matching client conditional, 206/416 for a
// single range of a complete body, else the whole response, streamed without copies.
void Transaction::serveEntry(std::shared_ptr<const cache::Entry> entry, cache::Outcome outcome) {
  transition(Step::Serve);
  const http::RequestHead& request = request_;
  const auto now = worker_.clock().wall();
  const auto stored = entry->stored(worker_.sharedCacheSettings());
  const policy::Decision decision = policy::decide(request, *stored, now);
  const bool whole = entry->state() == cache::EntryState::Complete;

  // The head sent: the Entry's template when it is the stored response whole, else one made
  // for this answer (304, 206, 416, a body still filling).
  std::optional<cache::HeadTemplate> own;
  int status = entry->head().status;
  http::Framing framing;
  bool send_body = !request.isMethod("HEAD");
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> length;
  if (whole && policy::isNotModified(request, *stored)) {
    http::ResponseHead head = policy::notModifiedResponse(entry->head());
    status = head.status;
    own = cache::makeHeadTemplate(std::move(head), framing);
    send_body = false;
    if (outcome == cache::Outcome::MemoryHit)
      outcome = cache::Outcome::NotModifiedHit;
  } else if (whole) {
    const std::uint64_t total = entry->bodySize();
    const policy::RangeDecision range = policy::evaluateRange(request, entry->head(), total, now);
    framing = {http::Framing::Length, total};
    if (range.outcome != policy::RangeOutcome::Full) {
      http::ResponseHead head = entry->head();
      if (range.outcome == policy::RangeOutcome::Partial) {
        head.status = 206;
        head.reason = "Partial Content";
        head.headers.set("Content-Range", policy::contentRange(range.range, total));
        offset = range.range.offset;
        length = range.range.length;
        framing.length = range.range.length;
      } else {
        head.status = 416;
        head.reason = "Range Not Satisfiable";
        head.headers.set("Content-Range", policy::unsatisfiedRange(total));
        framing.length = 0;
        send_body = false;
      }
      status = head.status;
      own = cache::makeHeadTemplate(std::move(head), framing);
    }
  } else {
    if (auto announced = entry->contentLength()) {
      framing = {http::Framing::Length, *announced};
    } else if (request.isHttp11()) {
      framing = {http::Framing::Chunked, 0};
    } else {
      framing = {http::Framing::UntilClose, 0};
      client_close_ = true;
    }
    own = cache::makeHeadTemplate(entry->head(), framing);
  }
  const cache::HeadTemplate& lines = own ? *own : entry->headTemplate();

  cache_status_.outcome = outcome;
  cache_status_.ttl = decision.ttl;
  core::count(core::Counter::CacheHits);
  client_close_ = client_close_ || !client_.keepAlive() || !request_done_;
  status_ = status;
  content_type_ = entry->head().headers.get("Content-Type").value_or("");
  if (!send_body || framing.kind == http::Framing::None ||
      (framing.kind == http::Framing::Length && framing.length == 0)) {
    sendToClient(hitHead(lines, decision.age));
    finish(core::CloseReason::ClientConnectionClose);
    return;
  }
  client_chunked_ = framing.kind == http::Framing::Chunked;
  const std::string head = hitHead(lines, decision.age); // before the Entry moves on
  reader_ = std::make_unique<EntryReader>(
      worker_.base(), client_.output(), std::move(entry), nullptr, offset, length, client_chunked_,
      [this](EntryReader::End end) {
        body_bytes_sent_ += reader_->bytesSent();
        bytes_sent_ += reader_->bytesSent();
        finish(end == EntryReader::End::Whole ? core::CloseReason::ClientConnectionClose
               : end == EntryReader::End::Cut ? core::CloseReason::StoreFailed
                                              : core::CloseReason::OriginTruncated);
      });
  reader_->start(); // before the head: see EntryReader::start
  sendToClient(head);
}

// A hit's head: the template, then what each send adds — Via (RFC 9110 §7.6.3), Age (RFC
// 9111 §5.1), Cache-Status (RFC 9211), and Connection when the client's connection ends here
// or is an HTTP/1.0 one kept open.
std::string Transaction::hitHead(const cache::HeadTemplate& lines, std::chrono::seconds age) const {
  const std::string& via = settings_.http.via_pseudonym;
  std::string out;
  out.reserve(lines.lines.size() + lines.via.size() + via.size() + 128);
  const auto field = [&out](std::string_view name, std::string_view value,
                            std::string_view more = {}) {
    out.append(name).append(": ").append(value).append(more).append("\r\n");
  };
  out += lines.lines;
  field("Via", lines.via, via);
  field("Age", policy::ageValue(age));
  field("Cache-Status", cache::cacheStatusValue(via, cache_status_));
  if (client_close_)
    field("Connection", "close");
  else if (!request_.isHttp11())
    field("Connection", "keep-alive");
  out += "\r\n";
  return out;
}

// PURGE removes every stored variant of the URI from every tier; only admin networks may send
// it. 200 when something was stored, else 404, answered once the removal is committed to
// disk (with a disk tier), so that a purged response does not come back after a crash.
void Transaction::purge() {
  if (!net::anyContains(settings_.purge_allowed, client_.peer())) {
    cache_status_.outcome = cache::Outcome::Denied;
    answer(403, "PURGE is allowed from admin.allow networks only");
    return;
  }
  transition(Step::Purge);
  key_ = http::cacheKey(target_);
  waitFor(worker_.store().purge(key_));
}

// `removed`: the stored responses the purge removed (from disk: once committed).
void Transaction::answerPurge(std::size_t removed) {
  const int status = removed > 0 ? 200 : 404;
  const bool close = !client_.keepAlive() || !request_done_;
  status_ = status;
  cache_status_.outcome = cache::Outcome::Error;
  sendToClient(http::errorResponse(status,
                                   removed > 0
                                       ? "purged " + std::to_string(removed) + " stored response(s)"
                                       : std::string("nothing stored for this URI"),
                                   close));
  client_close_ = close;
  finish(core::CloseReason::ClientConnectionClose);
}

} // namespace ferry::proxy
