// Transaction: routing, origin connection, request and response streaming, re-framing,
// retry and truncation handling (DESIGN.md, "The rules the product is built on").
#include "transaction.h"

#include "cache_fill.h"
#include "client_session.h"
#include "water_marks.h"
#include "worker.h"

#include "ferry/cache/policy.h"
#include "ferry/core/assert.h"
#include "ferry/core/counters.h"
#include "ferry/http/error_response.h"
#include "ferry/http/framing.h"
#include "ferry/http/serializer.h"

#include <event2/buffer.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace ferry::proxy {
namespace {

// A request body up to this size is kept so an idempotent request can be sent again on
// a fresh connection (RFC 9112 §9.3.1); larger bodies stream without a copy.
constexpr std::size_t ReplayLimit = 64 * 1024;

void countStatus(int status) {
  using core::Counter;
  static constexpr Counter ByClass[] = {Counter::Responses1xx, Counter::Responses2xx,
                                        Counter::Responses3xx, Counter::Responses4xx,
                                        Counter::Responses5xx};
  const int cls = status / 100;
  if (cls >= 1 && cls <= 5)
    core::count(ByClass[cls - 1]);
}

// Connection: upgrade and Upgrade, which stripHopByHop removed, for the next hop (RFC 9110
// §7.8): the switch was asked for (or granted) end to end, so ferry passes it on.
void setUpgrade(http::Headers& headers, const std::vector<std::string>& protocols) {
  std::string list;
  for (const std::string& p : protocols)
    list += (list.empty() ? "" : ", ") + p;
  headers.set("Connection", "upgrade");
  headers.set("Upgrade", list);
}

} // namespace

Transaction::Transaction(ClientSession& session, http::RequestHead head, http::Target target,
                         http::Framing request_framing, bool request_complete,
                         std::vector<std::string> upgrade)
    : session_(session), head_(std::move(head)), target_(std::move(target)),
      request_framing_(request_framing), upgrade_(std::move(upgrade)),
      request_done_(request_complete) {}

Transaction::~Transaction() = default;

void Transaction::start() {
  route();
}

// RFC 9112 §3.2: a forward proxy serves absolute-form http:// targets and CONNECT; an
// origin-form request means the client took ferry for an origin server.
void Transaction::route() {
  const Settings& settings = session_.settings();
  if (head_.isMethod("CONNECT")) {
    cache_status_.outcome = cache::Outcome::Tunnel;
    const auto& ports = settings.connect_ports;
    if (std::find(ports.begin(), ports.end(), target_.port) == ports.end()) {
      cache_status_.outcome = cache::Outcome::Denied;
      answer(403, "CONNECT to port " + std::to_string(target_.port) + " is not allowed");
      return;
    }
    connectOrigin();
    return;
  }
  if (target_.form == http::TargetForm::Origin || target_.form == http::TargetForm::Asterisk) {
    cache_status_.outcome = cache::Outcome::Error;
    answer(400, "ferry is a forward proxy: send the absolute URI (http://host/path)");
    return;
  }
  if (target_.scheme != "http") {
    cache_status_.outcome = cache::Outcome::Error;
    answer(501, "https:// URIs go through a CONNECT tunnel, not a plain request");
    return;
  }
  if (head_.headers.has("Expect")) {
    // RFC 9110 §10.1.1: 100-continue is the only expectation there is.
    if (!head_.expectsContinue()) {
      cache_status_.outcome = cache::Outcome::Error;
      answer(417, "the only expectation ferry knows is 100-continue");
      return;
    }
    if (settings.expect_continue == ExpectContinue::Reject) {
      cache_status_.outcome = cache::Outcome::Error;
      answer(417, "send the body without waiting for 100 Continue (expect_continue: reject)");
      return;
    }
  }
  if (http::applyMaxForwards(head_.method, head_.headers) == http::MaxForwards::AnswerHere) {
    answerHere();
    return;
  }
  if (head_.isMethod("PURGE")) {
    purge();
    return;
  }
  key_ = http::cacheKey(target_);
  if (cache::policy::isCacheableMethod(head_.method) && upgrade_.empty()) {
    lookupCache();
    return;
  }
  cache_status_.outcome = cache::Outcome::Bypass;
  forward();
}

// Sends the request to the origin: a pooled connection when the request may be retried,
// else a fresh one.
void Transaction::forward() {
  const Settings& settings = session_.settings();
  http::setFraming(head_.headers, request_framing_);
  if (!upgrade_.empty()) {
    setUpgrade(head_.headers, upgrade_);
  }
  http::appendVia(head_.headers, head_.version_major, head_.version_minor,
                  settings.http.via_pseudonym);
  const std::string bytes = http::serializeRequestHead(head_, target_);
  replay_ = bytes;
  pending_ = bytes;
  pool_key_ = "http://" + target_.authority();

  // A non-idempotent request only goes on a fresh connection: it is never retried, so it
  // must not meet a pooled connection the origin may be closing right now.
  if (http::isIdempotent(head_.method)) {
    if (auto pooled = session_.worker().pool().take(pool_key_)) {
      core::count(core::Counter::OriginConnectionsReused);
      origin_ip_ = pooled->peer().host();
      attach(std::move(pooled));
      return;
    }
  }
  connectOrigin();
}

void Transaction::connectOrigin() {
  state_ = State::Connecting;
  const Settings& settings = session_.settings();
  connect_ = session_.worker().connector().connect(
      target_.host, target_.port, settings.timeouts.origin_connect,
      [this](net::ConnectResult result) { onConnected(std::move(result)); });
}

void Transaction::onConnected(net::ConnectResult result) {
  if (result.fd < 0) {
    originFailed(result.timed_out, result.error);
    return;
  }
  core::count(core::Counter::OriginConnectionsOpened);
  origin_ip_ = result.peer.host();
  auto origin = std::make_unique<OriginConnection>(session_.worker().base(), result.fd, pool_key_,
                                                   result.peer);
  if (head_.isMethod("CONNECT")) {
    state_ = State::Finished;
    core::count(core::Counter::TunnelsOpened);
    countStatus(200);
    static constexpr std::string_view Established = "HTTP/1.1 200 Connection established\r\n\r\n";
    status_ = 200;
    sendToClient(Established);
    session_.beginTunnel(std::move(origin)); // destroys this Transaction later
    return;
  }
  attach(std::move(origin));
}

void Transaction::attach(std::unique_ptr<OriginConnection> origin) {
  request_time_ = std::chrono::system_clock::now();
  origin_ = std::move(origin);
  origin_->beginUse();
  state_ = State::Waiting;
  origin_bytes_ = false;
  response_ = std::make_unique<http::ResponseParser>(session_.settings().http.limits);
  response_->expect(head_.method, !upgrade_.empty());

  bufferevent* bev = origin_->bev();
  bufferevent_setcb(bev, &Transaction::onOriginRead, &Transaction::onOriginWrite,
                    &Transaction::onOriginEvent, this);
  bufferevent_setwatermark(bev, EV_WRITE, LowWater, 0);
  // The pool hands out only quiet connections, and a fresh one has not been read yet:
  // every byte parsed from here on was sent after this request.
  FERRY_ASSERT(evbuffer_get_length(bufferevent_get_input(bev)) == 0);
  armOriginTimeouts();
  bufferevent_enable(bev, EV_READ | EV_WRITE);

  std::string bytes = std::move(pending_);
  pending_.clear();
  sendToOrigin(bytes);
}

// timeouts.origin_response bounds the wait for the response once the request is sent
// whole, and each wait between its reads. While the body is still being uploaded only the
// idle timeouts apply: the origin must keep taking bytes (write timeout here), the client
// must keep sending them (ClientSession's read timeout); the origin owes no answer yet.
void Transaction::armOriginTimeouts() {
  const timeval wait = net::toTimeval(session_.settings().timeouts.origin_response.count());
  const bool answer_due = request_done_ || state_ == State::Relaying;
  bufferevent_set_timeouts(origin_->bev(), answer_due ? &wait : nullptr, &wait);
}

void Transaction::sendToOrigin(std::string_view bytes) {
  if (bytes.empty())
    return;
  core::count(core::Counter::OriginBytesOut, bytes.size());
  if (!origin_ || state_ == State::Connecting) {
    pending_.append(bytes);
    if (pending_.size() >= HighWater)
      session_.pauseReading();
    return;
  }
  bufferevent_write(origin_->bev(), bytes.data(), bytes.size());
  if (evbuffer_get_length(bufferevent_get_output(origin_->bev())) >= HighWater)
    session_.pauseReading();
}

void Transaction::onRequestBody(std::string_view data) {
  if (state_ == State::Finished || state_ == State::Serving)
    return; // answered already (403, from the cache): the body is read and dropped
  if (replayable_) {
    if (replay_.size() + data.size() <= ReplayLimit) {
      replay_.append(request_framing_.kind == http::Framing::Chunked
                         ? std::string(http::chunkPrefix(data.size()).view())
                         : std::string());
      replay_.append(data);
      if (request_framing_.kind == http::Framing::Chunked)
        replay_.append(http::ChunkSuffix);
    } else {
      replayable_ = false;
      replay_.clear();
      replay_.shrink_to_fit();
    }
  }
  if (request_framing_.kind == http::Framing::Chunked) {
    std::string chunk;
    http::encodeChunk(chunk, data);
    sendToOrigin(chunk);
  } else {
    sendToOrigin(data);
  }
}

void Transaction::onRequestEnd() {
  request_done_ = true;
  if (state_ == State::Finished || state_ == State::Serving)
    return;
  if (request_framing_.kind == http::Framing::Chunked) {
    if (replayable_)
      replay_.append(http::LastChunk);
    sendToOrigin(http::LastChunk);
  }
  if (origin_ && state_ == State::Waiting)
    armOriginTimeouts();
}

void Transaction::onOriginRead(bufferevent*, void* arg) noexcept {
  static_cast<Transaction*>(arg)->parseResponse();
}

void Transaction::onOriginWrite(bufferevent*, void* arg) noexcept {
  // The origin took enough of the request body: read more from the client.
  static_cast<Transaction*>(arg)->session_.resumeReading();
}

void Transaction::onOriginEvent(bufferevent*, short what, void* arg) noexcept {
  auto* self = static_cast<Transaction*>(arg);
  if (what & BEV_EVENT_TIMEOUT) {
    self->originFailed(true, "origin did not answer within timeouts.origin_response");
    return;
  }
  // EOF or error: what arrived is parsed first, then the parser judges the end.
  self->parseResponse();
  if (self->state_ == State::Finished)
    return;
  if (what & BEV_EVENT_EOF) {
    const http::Step step = self->response_->finish();
    if (step.event == http::Event::MessageEnd) {
      self->origin_keep_ = false;
      self->endResponse();
      return;
    }
  }
  self->originFailed(false, (what & BEV_EVENT_ERROR) ? "origin connection failed"
                                                     : "origin closed the connection");
}

void Transaction::parseResponse() {
  evbuffer* in = bufferevent_get_input(origin_->bev());
  // The parser wants another call after every event, even with no bytes left (a message
  // ends with its last Body event, then MessageEnd); only NeedMore on an empty buffer stops.
  while (state_ == State::Waiting || state_ == State::Relaying) {
    std::string_view input;
    if (evbuffer_get_length(in) > 0) {
      origin_bytes_ = true;
      evbuffer_iovec chunk;
      evbuffer_peek(in, -1, nullptr, &chunk, 1);
      input = {static_cast<const char*>(chunk.iov_base), chunk.iov_len};
    }
    const http::Step step = response_->parse(input);
    core::count(core::Counter::OriginBytesIn, step.consumed);
    if (step.event == http::Event::Body) {
      relayBody(step.body); // step.body points into `in`: drain afterwards
      evbuffer_drain(in, step.consumed);
    } else {
      // Drain first: handling the event may hand the connection back to the pool, which
      // must not find this response's bytes still in it.
      evbuffer_drain(in, step.consumed);
      if (step.event == http::Event::NeedMore && evbuffer_get_length(in) == 0)
        return;
      handleStep(step);
    }
  }
}

void Transaction::handleStep(const http::Step& step) {
  switch (step.event) {
  case http::Event::NeedMore:
    break;
  case http::Event::Head:
    // A 101 reaches us only as the answer to an upgrade (the parser refuses it otherwise):
    // a final response, not an interim one.
    if (response_->head().isInterim() && response_->head().status != 101) {
      relayInterim();
      break;
    }
    startResponse();
    break;
  case http::Event::Body: // relayed by parseResponse(), which owns the bytes
    break;
  case http::Event::MessageEnd:
    endResponse();
    break;
  case http::Event::Error:
    originFailed(false, response_->error().reason);
    break;
  }
}

// RFC 9110 §15.2: a proxy forwards 1xx responses, to HTTP/1.1 clients only (an HTTP/1.0
// client cannot expect them). Like a body, they wait for a client that reads slowly.
void Transaction::relayInterim() {
  if (!head_.isHttp11())
    return;
  http::ResponseHead& head = response_->head();
  http::stripHopByHop(head.headers);
  http::appendVia(head.headers, head.version_major, head.version_minor,
                  session_.settings().http.via_pseudonym);
  countStatus(head.status);
  sendToClient(http::serializeResponseHead(head));
  holdOriginWhileClientFull();
}

void Transaction::holdOriginWhileClientFull() {
  if (evbuffer_get_length(bufferevent_get_output(session_.clientBev())) >= HighWater)
    bufferevent_disable(origin_->bev(), EV_READ);
}

void Transaction::startResponse() {
  state_ = State::Relaying;
  http::ResponseHead& head = response_->head();
  response_framing_ = response_->framing();
  const bool stray_body = http::announcesForbiddenBody(head_.method, head);
  const http::ConnectionOptions origin_options = http::stripHopByHop(head.headers);
  origin_keep_ = http::wantsPersistent(origin_options, head.version_major, head.version_minor) &&
                 response_framing_.kind != http::Framing::UntilClose && !stray_body;
  armOriginTimeouts(); // the head came: the body reads are timed, even mid-upload
  cache_status_.fwd_status = head.status;
  if (!cache::policy::isSafeMethod(head_.method)) {
    for (const std::string& key : cache::policy::invalidatedKeys(head_, target_, head))
      session_.worker().store().remove(key);
  }
  if (revalidated(head))
    return; // the stored response answers the client
  if (head.status == 101) {
    // RFC 9110 §15.2.2: the origin switched protocols; the 101 goes to the client with the
    // Upgrade it chose, then both connections are relayed as they are (endResponse()).
    setUpgrade(head.headers, origin_options.upgrade_protocols);
    http::appendVia(head.headers, head.version_major, head.version_minor,
                    session_.settings().http.via_pseudonym);
    switching_ = true;
    status_ = head.status;
    countStatus(head.status);
    sendToClient(http::serializeResponseHead(head));
    return;
  }
  startStoring(head);
  http::appendVia(head.headers, head.version_major, head.version_minor,
                  session_.settings().http.via_pseudonym);

  // RFC 9112 §6, §7: chunked and close-delimited bodies go chunked to an HTTP/1.1
  // client (its connection stays persistent), and raw until close to HTTP/1.0.
  const bool http11_client = head_.isHttp11();
  http::Framing client_framing = response_framing_;
  // A request body not read whole yet: the connection ends with this response (the
  // rest of the body cannot be told from a next request), and the head says so.
  client_close_ = !session_.keepAlive() || !request_done_;
  if (response_framing_.kind == http::Framing::Chunked ||
      response_framing_.kind == http::Framing::UntilClose) {
    if (http11_client) {
      client_framing.kind = http::Framing::Chunked;
    } else {
      client_framing.kind = http::Framing::UntilClose;
      client_close_ = true;
    }
  }
  client_chunked_ = client_framing.kind == http::Framing::Chunked;
  http::setFraming(head.headers, client_framing);
  if (client_close_)
    head.headers.set("Connection", "close");
  else if (!http11_client)
    head.headers.set("Connection", "keep-alive");
  head.headers.set("Cache-Status",
                   cache::cacheStatusValue(session_.settings().http.via_pseudonym, cache_status_));

  response_started_ = true;
  status_ = head.status;
  content_type_ = head.headers.get("Content-Type").value_or("");
  countStatus(head.status);
  sendToClient(http::serializeResponseHead(head));
}

void Transaction::relayBody(std::string_view data) {
  body_bytes_sent_ += data.size();
  if (writer_ && !writer_->append(data))
    writer_.reset(); // too large for the cache: the client is not disturbed
  if (client_chunked_) {
    sendToClient(http::chunkPrefix(data.size()).view());
    sendToClient(data);
    sendToClient(http::ChunkSuffix);
  } else {
    sendToClient(data);
  }
  // Back-pressure: a slow client must not make ferry hold the whole body.
  holdOriginWhileClientFull();
}

void Transaction::onClientDrained() {
  if (reader_)
    reader_->onClientDrained();
  else if (origin_ && (state_ == State::Waiting || state_ == State::Relaying))
    bufferevent_enable(origin_->bev(), EV_READ);
}

void Transaction::endResponse() {
  if (switching_) {
    state_ = State::Finished;
    bufferevent_setcb(origin_->bev(), nullptr, nullptr, nullptr, nullptr);
    session_.beginTunnel(std::move(origin_)); // destroys this Transaction later
    return;
  }
  if (refresh_) {
    // A 304 freshened the stored response; the origin connection is done with.
    releaseOrigin(origin_keep_ && request_done_);
    serveEntry(std::move(refresh_), cache::Outcome::RefreshUnmodified);
    return;
  }
  if (client_chunked_)
    sendToClient(http::LastChunk);
  if (writer_)
    writer_->complete(); // abandons the Entry itself if the body length is wrong
  // The origin connection can carry another request only if this one was sent whole.
  const bool reusable = origin_keep_ && request_done_;
  const bool close_delimited = response_framing_.kind == http::Framing::UntilClose;
  finish(reusable, close_delimited && client_close_ ? core::CloseReason::CloseDelimitedResponse
                                                    : core::CloseReason::ClientConnectionClose);
}

bool Transaction::retryable() const {
  return origin_ && origin_->isReused() && !origin_bytes_ && !retried_ && replayable_ &&
         http::isIdempotent(head_.method);
}

void Transaction::originFailed(bool timed_out, const std::string& why) {
  if (state_ == State::Finished)
    return;
  if (!timed_out && retryable()) {
    // RFC 9112 §9.3.1: the reused connection died before any response byte; the request
    // is idempotent and held whole, so it goes again, once, on a fresh connection.
    spdlog::debug("origin {}: reused connection failed ({}); retrying once", pool_key_, why);
    core::count(core::Counter::OriginRetries);
    retried_ = true;
    origin_.reset();
    response_.reset();
    pending_ = replay_;
    connectOrigin();
    return;
  }
  if (response_started_) {
    // Truncated: the client gets what came and then sees the connection close, so it
    // can tell; nothing is padded.
    spdlog::warn("{} {}: response truncated: {}", head_.method, head_.target, why);
    finish(false, core::CloseReason::OriginTruncated);
    return;
  }
  spdlog::info("{} {}: {}", head_.method, head_.target, why);
  if (stale_ && cache::policy::mayServeStaleOnError(
                    clientHead(), storedView(*stale_, session_.worker().cacheSettings()),
                    std::chrono::system_clock::now())) {
    releaseOrigin(false);
    serveEntry(stale_, cache::Outcome::StaleIfError); // RFC 5861 §4
    return;
  }
  if (stale_)
    cache_status_.outcome = cache::Outcome::RefreshFailed;
  answer(timed_out ? 504 : 502, why);
}

void Transaction::answer(int status, std::string_view detail) {
  // After a CONNECT that is not answered with 200, what the client sent behind it (often
  // a TLS hello) is not a request: the connection ends.
  const bool close = !session_.keepAlive() || !request_done_ || head_.isMethod("CONNECT");
  const std::string bytes = http::errorResponse(status, detail, close, head_.isMethod("HEAD"));
  countStatus(status);
  status_ = status;
  sendToClient(bytes);
  client_close_ = close;
  core::CloseReason reason = core::CloseReason::OriginError;
  if (status == 504)
    reason = core::CloseReason::OriginTimeout;
  else if (status == 403)
    reason = core::CloseReason::ConnectNotAllowed;
  else if (status < 500)
    reason = core::CloseReason::ClientRequestError;
  finish(false, reason);
}

// RFC 9110 §7.6.2: OPTIONS or TRACE whose Max-Forwards reached 0 is answered by ferry.
void Transaction::answerHere() {
  http::ResponseHead head;
  std::string body;
  if (head_.isMethod("TRACE")) {
    body = http::serializeRequestHead(head_, target_);
    head.headers.add("Content-Type", "message/http");
  } else {
    head.headers.add("Allow", "GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, CONNECT");
  }
  head.headers.add("Content-Length", std::to_string(body.size()));
  client_close_ = !session_.keepAlive() || !request_done_;
  if (client_close_)
    head.headers.add("Connection", "close");
  countStatus(200);
  status_ = 200;
  cache_status_.outcome = cache::Outcome::Error;
  sendToClient(http::serializeResponseHead(head) + body);
  finish(false, core::CloseReason::ClientConnectionClose);
}

void Transaction::releaseOrigin(bool reusable) {
  if (!origin_)
    return;
  bufferevent_setcb(origin_->bev(), nullptr, nullptr, nullptr, nullptr);
  if (reusable)
    session_.worker().pool().put(std::move(origin_), session_.settings());
  origin_.reset();
}

void Transaction::finish(bool origin_reusable, core::CloseReason reason) {
  state_ = State::Finished;
  connect_ = {};
  releaseOrigin(origin_reusable);
  writer_.reset(); // abandons an Entry that did not complete: never stored truncated
  ticket_ = {};    // a leader that published nothing gives up: followers fetch themselves
  fetch_subscription_.reset();
  const bool truncated = reason == core::CloseReason::OriginTruncated;
  logAccess(truncated ? std::optional(reason) : std::nullopt);
  session_.transactionDone(!client_close_ && !truncated && request_done_, reason);
}

void Transaction::sendToClient(std::string_view bytes) {
  bytes_sent_ += bytes.size();
  core::count(core::Counter::ClientBytesOut, bytes.size());
  bufferevent_write(session_.clientBev(), bytes.data(), bytes.size());
}

void Transaction::logTunnel(std::uint64_t bytes_to_client, core::CloseReason reason) {
  bytes_sent_ += bytes_to_client;
  body_bytes_sent_ += bytes_to_client;
  logAccess(reason == core::CloseReason::TunnelDone ? std::nullopt : std::optional(reason));
}

void Transaction::logAccess(std::optional<core::CloseReason> cut_short) {
  AccessLogWriter& log = session_.worker().accessLog();
  if (!log.isEnabled())
    return;
  const std::string client = session_.peer().host();
  AccessRecord record;
  record.started = started_;
  record.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now() - started_);
  record.client = client;
  record.method = head_.method;
  record.url = head_.target;
  record.version_major = head_.version_major;
  record.version_minor = head_.version_minor;
  record.status = status_;
  record.bytes_sent = bytes_sent_;
  record.body_bytes_sent = body_bytes_sent_;
  record.cache_result = cache::squidCode(cache_status_.outcome);
  record.hierarchy = origin_ip_.empty() ? "HIER_NONE" : "HIER_DIRECT";
  record.peer = origin_ip_;
  record.content_type = content_type_;
  record.referer = head_.headers.get("Referer").value_or("");
  record.user_agent = head_.headers.get("User-Agent").value_or("");
  record.cut_short = cut_short;
  log.write(record);
}

} // namespace ferry::proxy
