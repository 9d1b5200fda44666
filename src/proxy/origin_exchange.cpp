// OriginExchange: connect or reuse, send with back-pressure, retry once, parse, pool back
// (DESIGN.md, "The rules the product is built on").
#include "origin_exchange.h"

#include "parse_pump.h"
#include "water_marks.h"
#include "worker.h"

#include "ferry/core/assert.h"
#include "ferry/core/counters.h"
#include "ferry/http/message.h"
#include "ferry/http/serializer.h"

#include <event2/buffer.h>
#include <spdlog/spdlog.h>

namespace ferry::proxy {
namespace {

// A request up to this size (head and body) is kept so an idempotent request can be sent
// again on a fresh connection (RFC 9112 §9.3.1); larger ones stream without a copy.
constexpr std::size_t ReplayLimit = 64 * 1024;

} // namespace

std::string poolKey(const http::Target& target, const Hop& hop) {
  if (!hop.isDirect())
    return "parent://" + hop.parent->name();
  constexpr std::string_view Scheme = "http://";
  std::string key;
  key.reserve(Scheme.size() + target.host.size() + 8); // and "[", "]", ":" and the port
  key += Scheme;
  target.appendAuthority(key);
  return key;
}

OriginExchange::OriginExchange(Worker& worker, const Settings& settings, Owner& owner,
                               Request request)
    : worker_(worker), settings_(&settings), owner_(&owner), request_(std::move(request)) {
  FERRY_ASSERT(!request_.hops.empty());
}

OriginExchange::~OriginExchange() {
  release(false);
}

void OriginExchange::transition(State next) {
  FERRY_ASSERT(state_ != State::Done && state_ != State::Tunnel);
  state_ = next;
  if (next == State::Done || next == State::Tunnel)
    connect_ = {};
}

void OriginExchange::start() {
  FERRY_ASSERT(state_ == State::Idle);
  pool_key_ = poolKey(request_.target, request_.hops[hop_]);
  if (http::isIdempotent(request_.head.method) && !request_.head.isMethod("CONNECT")) {
    auto pooled = worker_.pool().take(pool_key_);
    // One the access rules refuse for this request stays for others; connect() answers.
    if (pooled && request_.refusal && request_.hops[hop_].isDirect() &&
        !request_.refusal(pooled->peer()).empty())
      worker_.pool().put(std::move(pooled), *settings_);
    if (pooled) {
      core::count(core::Counter::OriginConnectionsReused);
      attach(std::move(pooled));
      return;
    }
  }
  connect();
}

void OriginExchange::connect() {
  transition(State::Connecting);
  const Parent* parent = request_.hops[hop_].parent;
  pool_key_ = poolKey(request_.target, request_.hops[hop_]);
  connect_ = worker_.connector().connect(
      parent ? std::string_view(parent->host) : std::string_view(request_.target.host),
      parent ? parent->port : request_.target.port, request_.connect_timeout,
      [this](net::ConnectResult result) { onConnected(std::move(result)); },
      parent ? net::Connector::Judge::Trusted : net::Connector::Judge::Destination,
      request_.refusal);
}

// A parent that cannot be reached, or that drops a fresh connection before answering, is
// skipped for upstream.parent_down. True when the request goes on to the next
// hop, which it does only if `resend` allows it (nothing was sent yet, or the request may be sent
// again).
bool OriginExchange::skipParent(const std::string& why, bool resend) {
  const Parent* parent = request_.hops[hop_].parent;
  spdlog::warn("parent proxy {} is down for {} ms: {}", parent->name(),
               settings_->upstream.parent_down.count(), why);
  worker_.parentHealth().markDown(*parent,
                                  worker_.clock().steady() + settings_->upstream.parent_down);
  if (!resend || hop_ + 1 >= request_.hops.size())
    return false;
  ++hop_;
  if (origin_) { // what was written on it goes again; otherwise pending_ still holds it all
    release(false);
    parser_.reset();
    pending_ = replay_;
  }
  connect();
  return true;
}

void OriginExchange::onConnected(net::ConnectResult result) {
  // Nothing was sent yet: the request may go on to the next hop whatever it is.
  if (request_.hops[hop_].parent && result.fd < 0 && skipParent(result.error, true))
    return;
  if (result.denied) {
    core::count(core::Counter::DestinationsDenied);
    fail(403, core::CloseReason::ConnectNotAllowed, result.error);
    return;
  }
  if (result.fd < 0) {
    fail(result.timed_out ? 504 : 502,
         result.timed_out ? core::CloseReason::OriginTimeout : core::CloseReason::OriginError,
         result.error);
    return;
  }
  core::count(core::Counter::OriginConnectionsOpened);
  attach(std::make_unique<OriginConnection>(worker_.base(), result.fd, pool_key_, result.peer));
}

void OriginExchange::attach(std::unique_ptr<OriginConnection> origin) {
  origin_ = std::move(origin);
  origin_->beginUse();
  peer_ = origin_->peer();
  request_time_ = worker_.clock().wall();
  response_bytes_ = false;
  const Hop& hop = request_.hops[hop_];
  if (request_.head.isMethod("CONNECT") && hop.isDirect()) {
    transition(State::Tunnel);
    owner_->onTunnel();
    return;
  }
  transition(State::Waiting);
  parser_ = std::make_unique<http::ResponseParser>(settings_->http.limits);
  parser_->expect(request_.head.method, request_.upgrade);

  bufferevent* bev = origin_->bev();
  bufferevent_setcb(bev, nullptr, &OriginExchange::onWrite, &OriginExchange::onEvent, this);
  bufferevent_setwatermark(bev, EV_WRITE, LowWater, 0);
  // The pool hands out only quiet connections, and a fresh one has not been read yet:
  // every byte parsed from here on was sent after this request.
  FERRY_ASSERT(evbuffer_get_length(bufferevent_get_input(bev)) == 0);
  bufferevent_disable(bev, EV_WRITE); // enabled in a new bufferevent: see flush()
  origin_->setReader(this);
  reading_ = true;
  armTimeouts();
  write(headFor(hop));
  write(std::exchange(pending_, {}));
  flush();
  // What queued while connecting may have made sendBody() ask the owner to wait; when the
  // first write took it all, no onWrite follows to say it drained.
  if (!(bufferevent_get_enabled(bev) & EV_WRITE))
    owner_->onRequestDrained();
}

// The request head as `hop` gets it: origin-form for the origin; absolute-form (or the
// CONNECT authority) and the parent's credentials for a parent (RFC 9112 §3.2.2).
std::string OriginExchange::headFor(const Hop& hop) const {
  if (hop.isDirect())
    return http::serializeRequestHead(request_.head, request_.target);
  http::RequestHead head = request_.head;
  if (!hop.parent->authorization.empty())
    head.headers.set("Proxy-Authorization", hop.parent->authorization);
  return http::serializeRequestHead(head, request_.target, http::Recipient::Proxy);
}

// timeouts.origin_response bounds the wait for the response once the request is sent
// whole, and each wait between its reads. While the body is still being uploaded only the
// idle timeouts apply: the origin must keep taking bytes (write timeout here), the client
// must keep sending them (ClientSession's read timeout); the origin owes no answer yet.
void OriginExchange::armTimeouts() {
  origin_->setWriteTimeout(settings_->timeouts.origin_response);
  if (reading_)
    watchReads(true);
}

// Reading on (re-arming the wait for the answer, once it is due) or paused.
void OriginExchange::watchReads(bool on) {
  reading_ = on;
  if (!on) {
    origin_->stopReads();
    return;
  }
  const timeval wait = net::toTimeval(settings_->timeouts.origin_response.count());
  const bool answer_due = request_.body_done || state_ == State::Receiving;
  origin_->watchReads(answer_due ? &wait : nullptr);
}

void OriginExchange::write(std::string_view bytes) {
  if (bytes.empty())
    return;
  core::count(core::Counter::OriginBytesOut, bytes.size());
  if (state_ == State::Waiting || state_ == State::Receiving)
    bufferevent_write(origin_->bev(), bytes.data(), bytes.size());
  else
    pending_.append(bytes);
}

// What write() queued goes to the socket at once, in one writev; the bufferevent's write
// event (and with it the write timeout) is enabled only for what the socket does not take,
// or after an error, which libevent's own write then reports (onEvent). Most requests leave
// in that one call, with no epoll_ctl turning EPOLLOUT on and off around it.
void OriginExchange::flush() {
  if (state_ != State::Waiting && state_ != State::Receiving)
    return;
  bufferevent* bev = origin_->bev();
  evbuffer* out = bufferevent_get_output(bev);
  if ((bufferevent_get_enabled(bev) & EV_WRITE) || evbuffer_get_length(out) == 0)
    return; // the bufferevent writes what an earlier flush left, or there is nothing
  net::writeOutput(bev, evbuffer_get_length(out));
  if (evbuffer_get_length(out) > 0)
    bufferevent_enable(bev, EV_WRITE);
}

bool OriginExchange::sendBody(std::string_view data) {
  if (state_ == State::Done)
    return true;
  const bool chunked = request_.body_framing.kind == http::Framing::Chunked;
  std::string bytes;
  if (chunked)
    http::encodeChunk(bytes, data);
  const std::string_view wire = chunked ? std::string_view(bytes) : data;
  if (replayable_) {
    if (replay_.size() + wire.size() <= ReplayLimit) {
      replay_.append(wire);
    } else {
      replayable_ = false;
      replay_.clear();
      replay_.shrink_to_fit();
    }
  }
  write(wire);
  flush();
  const std::size_t queued = origin_ && state_ != State::Connecting
                                 ? evbuffer_get_length(bufferevent_get_output(origin_->bev()))
                                 : pending_.size();
  return queued < HighWater;
}

void OriginExchange::endBody() {
  if (state_ == State::Done)
    return;
  request_.body_done = true;
  if (request_.body_framing.kind == http::Framing::Chunked) {
    if (replayable_)
      replay_.append(http::LastChunk);
    write(http::LastChunk);
    flush();
  }
  if (state_ == State::Waiting)
    armTimeouts();
}

void OriginExchange::lendBody(std::function<bool(int, std::uint64_t)> take) {
  lend_ = std::move(take);
}

// Between two reads, all parsed and the request sent whole (its last bytes gone from the
// output, which the loan stops): the socket holds the next body byte. Its bufferevent stops
// first, so the owner's events are the only ones on it.
void OriginExchange::lend() {
  if (!lend_ || state_ != State::Receiving || body_left_ == 0 || !request_.body_done)
    return;
  bufferevent* bev = origin_->bev();
  if (evbuffer_get_length(bufferevent_get_output(bev)) > 0 ||
      evbuffer_get_length(bufferevent_get_input(bev)) > 0)
    return;
  auto take = std::exchange(lend_, {});
  reading_before_loan_ = reading_;
  watchReads(false);
  transition(State::Lent);
  if (!take(bufferevent_getfd(bev), body_left_))
    endLoan(LoanEnd::Unused, 0);
}

void OriginExchange::endLoan(LoanEnd end, std::uint64_t bytes_read) {
  FERRY_ASSERT(state_ == State::Lent);
  core::count(core::Counter::OriginBytesIn, bytes_read);
  if (end == LoanEnd::Unused) {
    transition(State::Receiving);
    watchReads(reading_before_loan_);
    return;
  }
  transition(State::Done);
  release(end == LoanEnd::Whole && keep_);
}

void OriginExchange::pauseResponse() {
  if (origin_ && (state_ == State::Waiting || state_ == State::Receiving))
    watchReads(false);
}

void OriginExchange::resumeResponse() {
  if (origin_ && (state_ == State::Waiting || state_ == State::Receiving) && !reading_)
    watchReads(true);
}

void OriginExchange::handOver(Owner& owner, const Settings& settings) {
  owner_ = &owner;
  settings_ = &settings;
}

void OriginExchange::abandon() {
  if (state_ == State::Done || state_ == State::Tunnel)
    return;
  transition(State::Done);
  release(false);
}

std::unique_ptr<OriginConnection> OriginExchange::takeConnection() {
  FERRY_ASSERT(state_ == State::Tunnel && origin_);
  bufferevent_setcb(origin_->bev(), nullptr, nullptr, nullptr, nullptr);
  origin_->stopReads();
  origin_->setReader(nullptr);
  return std::move(origin_);
}

void OriginExchange::onReadable(short what) {
  if (what & EV_TIMEOUT) {
    fail(504, core::CloseReason::OriginTimeout,
         "origin did not answer within timeouts.origin_response");
    return;
  }
  const long got = net::readInput(origin_->bev(), ReadSize);
  if (got > 0) {
    if (parse())
      lend();
  } else if (got == 0 || (errno != EAGAIN && errno != EINTR))
    closed(got == 0);
}

void OriginExchange::onWrite(bufferevent* bev, void* arg) noexcept {
  auto* self = static_cast<OriginExchange*>(arg);
  if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
    bufferevent_disable(bev, EV_WRITE); // the next bytes go out through flush() again
  self->owner_->onRequestDrained();
  self->lend(); // the body may wait for the last request bytes to leave
}

void OriginExchange::onEvent(bufferevent*, short what, void* arg) noexcept {
  auto* self = static_cast<OriginExchange*>(arg);
  if (what & BEV_EVENT_TIMEOUT) {
    self->fail(504, core::CloseReason::OriginTimeout,
               "origin took no request bytes within timeouts.origin_response");
    return;
  }
  self->closed((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR));
}

// The connection ended (`eof`) or failed: what arrived is parsed first, then the parser
// judges the end.
void OriginExchange::closed(bool eof) {
  if (!parse() || (state_ != State::Waiting && state_ != State::Receiving))
    return;
  if (eof && parser_->finish().event == http::Event::MessageEnd) {
    keep_ = false;
    handle({http::Event::MessageEnd, 0, {}});
    return;
  }
  fail(502, core::CloseReason::OriginError,
       eof ? "origin closed the connection" : "origin connection failed");
}

bool OriginExchange::parse() {
  evbuffer* in = bufferevent_get_input(origin_->bev());
  if (evbuffer_get_length(in) > 0)
    response_bytes_ = true;
  bool going = true;
  pumpParser(in, *parser_, [this, &going](const http::Step& step) {
    core::count(core::Counter::OriginBytesIn, step.consumed);
    going = handle(step);
    return going;
  });
  return going;
}

// One parser event; false once the exchange is over (nothing more is parsed).
bool OriginExchange::handle(const http::Step& step) {
  switch (step.event) {
  case http::Event::NeedMore:
    return true;
  case http::Event::Head:
    // A 101 reaches us only as the answer to an upgrade (the parser refuses it otherwise):
    // a final response, not an interim one.
    if (parser_->head().isInterim() && parser_->head().status != 101) {
      http::stripHopByHop(parser_->head().headers);
      owner_->onInterim(parser_->head());
      return state_ == State::Waiting;
    }
    onHeadParsed();
    return state_ == State::Receiving;
  case http::Event::Body:
    body_left_ -= std::min<std::uint64_t>(body_left_, step.body.size());
    owner_->onBody(step.body);
    return state_ == State::Receiving;
  case http::Event::MessageEnd:
    if (isTunnelAnswer(parser_->head())) {
      transition(State::Tunnel);
      owner_->onTunnel();
      return false;
    }
    transition(State::Done);
    // The connection can carry another request only if this one was sent whole.
    release(keep_ && request_.body_done);
    owner_->onEnd();
    return false;
  case http::Event::Error:
    fail(502, core::CloseReason::OriginError, parser_->error().reason);
    return false;
  }
  return false;
}

void OriginExchange::onHeadParsed() {
  transition(State::Receiving);
  http::ResponseHead& head = parser_->head();
  if (request_.head.isMethod("CONNECT")) {
    // A parent's answer to the chained CONNECT: 2xx opens the tunnel at its end; anything
    // else is the parent refusing, which the client cannot fix.
    if (!isTunnelAnswer(head))
      fail(502, core::CloseReason::OriginError,
           "answered CONNECT with " + std::to_string(head.status));
    return;
  }
  const http::Framing framing = parser_->framing();
  const bool stray_body = http::announcesForbiddenBody(request_.head.method, head);
  const http::ConnectionOptions options = http::stripHopByHop(head.headers);
  keep_ = http::wantsPersistent(options, head.version_major, head.version_minor) &&
          framing.kind != http::Framing::UntilClose && !stray_body;
  body_left_ = framing.kind == http::Framing::Length ? framing.length : 0;
  // The head came: the body reads are timed, even mid-upload. A request sent whole had its
  // reads timed already (armTimeouts), and setting them again costs a re-arm of both events.
  if (!request_.body_done)
    armTimeouts();
  owner_->onHead(head, framing, options);
}

bool OriginExchange::isTunnelAnswer(const http::ResponseHead& head) const {
  return head.status == 101 ||
         (request_.head.isMethod("CONNECT") && head.status >= 200 && head.status < 300);
}

bool OriginExchange::retryable() const {
  return origin_ && origin_->isReused() && !response_bytes_ && !retried_ && replayable_ &&
         http::isIdempotent(request_.head.method);
}

void OriginExchange::fail(int status, core::CloseReason reason, std::string why) {
  if (state_ == State::Done || state_ == State::Tunnel)
    return;
  if (reason == core::CloseReason::OriginError && retryable()) {
    // RFC 9112 §9.3.1: the reused connection died before any response byte; the request
    // is idempotent and held whole, so it goes again, once, on a fresh connection.
    spdlog::debug("origin {}: reused connection failed ({}); retrying once", pool_key_, why);
    core::count(core::Counter::OriginRetries);
    retried_ = true;
    release(false);
    parser_.reset();
    pending_ = replay_;
    connect();
    return;
  }
  if (const Parent* parent = request_.hops[hop_].parent) {
    // Nothing came back on a fresh connection: the parent, not the origin, failed. The
    // request moves on only if it could have been retried (idempotent, held whole).
    const bool before_any_byte = origin_ && !origin_->isReused() && !response_bytes_ &&
                                 reason == core::CloseReason::OriginError;
    if (before_any_byte && skipParent(why, replayable_ && http::isIdempotent(request_.head.method)))
      return;
    why = "parent proxy " + parent->name() + ": " + why;
  }
  transition(State::Done);
  release(false);
  owner_->onFailed({status, reason, std::move(why)});
}

void OriginExchange::release(bool reusable) {
  if (!origin_)
    return;
  bufferevent_setcb(origin_->bev(), nullptr, nullptr, nullptr, nullptr);
  origin_->setReader(nullptr);
  reading_ = false;
  // Request bytes still queued would go out ahead of the next request.
  if (reusable && evbuffer_get_length(bufferevent_get_output(origin_->bev())) == 0)
    worker_.pool().put(std::move(origin_), *settings_);
  origin_.reset();
}

} // namespace ferry::proxy
