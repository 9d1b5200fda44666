// Transaction: the steps, routing, relaying the origin's answer with re-framing, and the
// answers ferry gives itself (DESIGN.md, "The rules the product is built on").
#include "transaction.h"

#include "cache_fill.h"
#include "origin_request.h"
#include "worker.h"

#include "ferry/access/authenticator.h"
#include "ferry/cache/policy.h"
#include "ferry/core/assert.h"
#include "ferry/core/counters.h"
#include "ferry/core/histograms.h"
#include "ferry/core/traffic_stats.h"
#include "ferry/http/error_response.h"
#include "ferry/http/framing.h"
#include "ferry/http/hop_by_hop.h"
#include "ferry/http/serializer.h"
#include "ferry/net/socket.h"
#include "ferry/pac/pac.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace ferry::proxy {
namespace {

// A body not stored, of at least this length, moves by splice(2): below it, making a pipe
// costs more than reading the body through user space.
constexpr std::uint64_t SpliceFrom = 64 * 1024;

void countStatus(int status) {
  using core::Counter;
  static constexpr Counter ByClass[] = {Counter::Responses1xx, Counter::Responses2xx,
                                        Counter::Responses3xx, Counter::Responses4xx,
                                        Counter::Responses5xx};
  const int cls = status / 100;
  if (cls >= 1 && cls <= 5)
    core::count(ByClass[cls - 1]);
}

// Time from `start` to `now`, for the latency histograms.
std::chrono::microseconds since(std::chrono::system_clock::time_point start,
                                std::chrono::system_clock::time_point now) {
  return std::chrono::duration_cast<std::chrono::microseconds>(now - start);
}

} // namespace

Transaction::Transaction(ClientSink& client, Worker& worker, const Settings& settings,
                         http::RequestHead request, http::Target target,
                         http::Framing request_framing, bool request_complete,
                         std::vector<std::string> upgrade, std::optional<std::string> credentials)
    : client_(client), worker_(worker), settings_(settings), request_(std::move(request)),
      target_(std::move(target)), request_framing_(request_framing), upgrade_(std::move(upgrade)),
      credentials_(std::move(credentials)), request_done_(request_complete),
      started_(worker_.clock().wall()), room_(worker_.base(), [this] { onStoreRoom(); }) {}

// The client left (its connection closed) while the response was still being stored: the
// fill goes on without it if other clients stream the Entry, else it stops here.
Transaction::~Transaction() {
  if (step_ != Step::Relay || !writer_ || origin_end_ != OriginEnd::Receiving ||
      !backlog_.empty() || !request_done_ ||
      writer_->entry()->state() != cache::EntryState::Filling)
    return;
  reader_.reset(); // this client streams it no more
  if (writer_->entry()->hasSubscribers()) {
    core::count(core::Counter::CacheFillsContinued);
    worker_.continueFill(std::move(exchange_), std::move(writer_));
    return;
  }
  core::count(core::Counter::CacheFillsStopped);
}

const char* Transaction::name(Step step) {
  switch (step) {
  case Step::Route:
    return "route";
  case Step::Load:
    return "load";
  case Step::Purge:
    return "purge";
  case Step::Collapse:
    return "collapse";
  case Step::Connect:
    return "connect";
  case Step::Fetch:
    return "fetch";
  case Step::Revalidate:
    return "revalidate";
  case Step::Refreshed:
    return "refreshed";
  case Step::Relay:
    return "relay";
  case Step::Serve:
    return "serve";
  case Step::Switch:
    return "switch";
  case Step::Tunnel:
    return "tunnel";
  case Step::Finish:
    return "finish";
  }
  return "?";
}

// Every change of step goes through here; the moves allowed are the diagram's.
void Transaction::transition(Step next) {
  const auto allowed = [this](Step to) {
    switch (step_) {
    case Step::Route:
      return to != Step::Route && to != Step::Refreshed && to != Step::Relay &&
             to != Step::Switch && to != Step::Tunnel;
    case Step::Load:
      return to == Step::Serve || to == Step::Collapse || to == Step::Fetch ||
             to == Step::Revalidate || to == Step::Finish;
    case Step::Purge:
      return to == Step::Finish;
    case Step::Collapse:
      return to == Step::Serve || to == Step::Fetch || to == Step::Finish;
    case Step::Connect:
      return to == Step::Tunnel || to == Step::Finish;
    case Step::Fetch:
      return to == Step::Relay || to == Step::Switch || to == Step::Finish;
    case Step::Revalidate:
      return to == Step::Relay || to == Step::Refreshed || to == Step::Serve || to == Step::Fetch ||
             to == Step::Finish;
    case Step::Refreshed:
      return to == Step::Serve || to == Step::Finish;
    case Step::Relay:
    case Step::Serve:
      return to == Step::Finish;
    case Step::Switch:
      return to == Step::Tunnel || to == Step::Finish;
    case Step::Tunnel:
    case Step::Finish:
      return false;
    }
    return false;
  };
  FERRY_ASSERT(allowed(next) && "a Transaction step the diagram does not have");
  if (spdlog::should_log(spdlog::level::trace)) // not even the call, on every step of every request
    spdlog::trace("{} {}: {} -> {}", request_.method, request_.target, name(step_), name(next));
  step_ = next;
}

void Transaction::start() {
  route();
}

// RFC 9112 §3.2: a forward proxy serves absolute-form http:// targets and CONNECT; an
// origin-form request means the client took ferry for an origin server.
void Transaction::route() {
  core::traffic::hostRequested(target_.host);
  if (request_.isMethod("CONNECT")) {
    cache_status_.outcome = cache::Outcome::Tunnel;
  } else if (target_.form == http::TargetForm::Origin && pac::isScriptPath(target_.path) &&
             (request_.isMethod("GET") || request_.isMethod("HEAD"))) {
    servePac();
    return;
  } else if (target_.form == http::TargetForm::Origin ||
             target_.form == http::TargetForm::Asterisk) {
    cache_status_.outcome = cache::Outcome::Error;
    answer(400, "ferry is a forward proxy: send the absolute URI (http://host/path)");
    return;
  } else if (target_.scheme != "http") {
    cache_status_.outcome = cache::Outcome::Error;
    answer(501, "https:// URIs go through a CONNECT tunnel, not a plain request");
    return;
  }
  if (!admit())
    return;
  if (by_address_) {
    judgeAddresses();
    return;
  }
  routeAdmitted();
}

// Rules that name destinations judge the host's addresses before anything is served, from
// the cache too (a stored response must not reach a client the rules keep from its origin).
// The request body waits meanwhile; the Connector judges the addresses it connects to
// again, so an answer that changes between the two lookups gains nothing.
void Transaction::judgeAddresses() {
  client_.pauseReading();
  resolving_ = worker_.resolver().resolve(
      target_.host, [this](std::vector<net::Address> addresses, std::string error) {
        resolving_ = {};
        if (!error.empty()) {
          cache_status_.outcome = cache::Outcome::Error;
          answer(502, error);
          return;
        }
        std::string refused;
        for (net::Address& address : addresses) {
          address.setPort(target_.port);
          std::string why = refusalFor(address);
          if (why.empty()) {
            client_.resumeReading(); // parsed from the loop, after routeAdmitted() below
            routeAdmitted();
            return;
          }
          if (refused.empty())
            refused = std::move(why);
        }
        if (challenged_)
          challenge(refused);
        else
          refuse(refused);
      });
}

// The request may go where it asks: answered here, from the cache or by the origin.
void Transaction::routeAdmitted() {
  if (request_.isMethod("CONNECT")) {
    fetch(Step::Connect);
    return;
  }
  if (request_.headers.has("Expect")) {
    // RFC 9110 §10.1.1: 100-continue is the only expectation there is.
    if (!request_.expectsContinue()) {
      cache_status_.outcome = cache::Outcome::Error;
      answer(417, "the only expectation ferry knows is 100-continue");
      return;
    }
    if (settings_.expect_continue == ExpectContinue::Reject) {
      cache_status_.outcome = cache::Outcome::Error;
      answer(417, "send the body without waiting for 100 Continue (expect_continue: reject)");
      return;
    }
  }
  if (http::checkMaxForwards(request_.method, request_.headers) == http::MaxForwards::AnswerHere) {
    answerHere();
    return;
  }
  if (request_.isMethod("PURGE")) {
    purge();
    return;
  }
  key_ = http::cacheKey(target_);
  if (cache::policy::isCacheableMethod(request_.method) && upgrade_.empty()) {
    lookupCache();
    return;
  }
  cache_status_.outcome = cache::Outcome::Bypass;
  fetch(Step::Fetch);
}

// Authentication (when auth.basic is on and the client sent credentials), then the access
// rules before resolving; false when the request is answered here (403, 407). Rules that
// depend on the resolved address are left to refusalFor(), called for each address.
bool Transaction::admit() {
  const access::BasicAuth& basic = accessSettings().basic;
  if (basic.enabled() && credentials_) {
    using Outcome = access::Authenticator::Outcome;
    const auto result = worker_.authenticator().check(basic, *credentials_, client_.peer(),
                                                      worker_.clock().steady());
    if (result.outcome != Outcome::Verified) {
      challenge(result.outcome == Outcome::Throttled
                    ? "too many failed attempts from your address: try again later"
                    : "wrong proxy user name or password");
      return false;
    }
    user_ = result.user;
  }
  const access::Decision decision = access::decide(accessSettings(), accessRequest());
  switch (decision.verdict) {
  case access::Verdict::Allow:
    // Where a rule opens destinations to some, what this request may reach is known only
    // from the addresses: judged before the cache answers and for pooled connections too,
    // so nothing fetched under that rule reaches anyone else.
    by_address_ = access::namesDestinations(accessSettings());
    return true;
  case access::Verdict::Undecided:
    by_address_ = true;
    return true;
  case access::Verdict::Challenge:
    challenge(decision.why);
    return false;
  case access::Verdict::Deny:
    if (!decision.by_rule) {
      refuse(decision.why);
      return false;
    }
    core::count(core::Counter::AccessDenied);
    cache_status_.outcome = cache::Outcome::Denied;
    answer(403, decision.why);
    return false;
  }
  return false;
}

// The running configuration's, not the one the client connection started with: a reload
// applies to connections already open, so a user removed from the htpasswd file is refused
// at once. Read afresh at each use: a reload may replace it while the Transaction waits.
const access::Settings& Transaction::accessSettings() const {
  return worker_.settings().access;
}

access::Request Transaction::accessRequest() const {
  return {client_.peer(), user_, request_.method, target_.host, target_.port};
}

// Why the origin may not be reached at `destination` (empty: it may): the access rules when
// they depend on the address, then the destination policy unless an allow rule named
// destinations itself (ferry's own addresses are refused whatever the rules say).
std::string Transaction::refusalFor(const net::Address& destination) {
  const net::DestinationPolicy& policy = worker_.connector().policy();
  if (!by_address_)
    return policy.refusal(destination);
  access::Decision decision = access::decide(accessSettings(), accessRequest(), destination);
  switch (decision.verdict) {
  case access::Verdict::Allow:
    return decision.check_destination ? policy.refusal(destination)
                                      : policy.ownRefusal(destination);
  case access::Verdict::Challenge:
    challenged_ = true;
    return decision.why;
  case access::Verdict::Deny:
  case access::Verdict::Undecided:
    break;
  }
  return decision.why.empty() ? "denied" : decision.why;
}

// Connect (CONNECT), Fetch or Revalidate (stale_ is the stored response): one exchange with
// the origin, whose answer comes back through the Owner callbacks.
void Transaction::fetch(Step step) {
  transition(step);
  OriginExchange::Request request;
  request.target = target_;
  request.hops =
      nextHops(settings_.upstream, target_.host, worker_.parentHealth(), worker_.clock().steady());
  if (request.hops.empty()) {
    const auto& parents = settings_.upstream.parents;
    const bool served = std::any_of(parents.begin(), parents.end(),
                                    [&](const Parent& p) { return serves(p, target_.host); });
    answer(502, (served ? "every parent proxy for " + target_.host + " is down"
                        : "no parent proxy serves " + target_.host) +
                    " (upstream.never_direct)");
    return;
  }
  if (!request.hops.front().isDirect()) {
    // Through a parent ferry resolves nothing, but a host that is an address (in any form
    // the parent's resolver would read as one) is judged as ever.
    if (const auto literal = net::Address::ofHost(target_.host, target_.port)) {
      if (const std::string why = refusalFor(*literal); !why.empty()) {
        if (challenged_)
          challenge(why);
        else
          refuse(why);
        return;
      }
    }
  }
  request.connect_timeout = settings_.timeouts.origin_connect;
  if (by_address_)
    request.refusal = [this](const net::Address& destination) { return refusalFor(destination); };
  const OriginRequestPlan plan{request_framing_, upgrade_,
                               step == Step::Revalidate ? &stale_->head() : nullptr,
                               settings_.http.via_pseudonym};
  request.head = originRequest(request_, plan);
  request.body_framing = request_framing_;
  request.body_done = request_done_;
  request.upgrade = !upgrade_.empty();
  exchange_ = std::make_unique<OriginExchange>(worker_, settings_, static_cast<Owner&>(*this),
                                               std::move(request));
  exchange_->start();
}

void Transaction::onRequestBody(std::string_view data) {
  if (!exchange_ || step_ == Step::Serve || step_ == Step::Finish)
    return; // answered already (403, from the cache): the body is read and dropped
  if (!exchange_->sendBody(data))
    client_.pauseReading();
}

void Transaction::onRequestEnd() {
  request_done_ = true;
  if (exchange_ && step_ != Step::Serve && step_ != Step::Finish)
    exchange_->endBody();
}

void Transaction::onRequestDrained() {
  client_.resumeReading();
}

void Transaction::onClientDrained() {
  if (reader_ && !reader_->isFinished())
    reader_->onClientDrained();
  else if (exchange_)
    exchange_->resumeResponse();
}

void Transaction::holdOriginWhileClientFull() {
  if (client_.isFull())
    exchange_->pauseResponse();
}

// RFC 9110 §15.2: a proxy forwards 1xx responses, to HTTP/1.1 clients only (an HTTP/1.0
// client cannot expect them). Like a body, they wait for a client that reads slowly.
void Transaction::onInterim(http::ResponseHead& head) {
  if (!request_.isHttp11())
    return;
  http::appendVia(head.headers, head.version_major, head.version_minor,
                  settings_.http.via_pseudonym);
  countStatus(head.status);
  sendToClient(http::serializeResponseHead(head));
  holdOriginWhileClientFull();
}

void Transaction::onHead(http::ResponseHead& head, http::Framing framing,
                         const http::ConnectionOptions& options) {
  cache_status_.fwd_status = head.status;
  if (!cache::policy::isSafeMethod(request_.method)) {
    for (const std::string& key : cache::policy::invalidatedKeys(request_, target_, head))
      worker_.store().remove(key);
  }
  if (step_ == Step::Revalidate && answeredByRevalidation(head))
    return; // the stored response answers the client
  if (head.status == 101) {
    switchProtocols(head, options);
    return;
  }
  if (!framing.codings.empty() && !request_.isHttp11()) {
    // RFC 9112 §6.1: no Transfer-Encoding to an HTTP/1.0 client, and ferry does not decode.
    answer(502, "the origin's transfer coding (" + framing.codings +
                    ") cannot be relayed to an HTTP/1.0 client");
    return;
  }
  startStoring(head, framing);
  relayHead(head, framing);
}

// RFC 9110 §15.2.2: the origin switched protocols; the 101 goes to the client with the
// Upgrade it chose, then both connections are relayed as they are (onTunnel()).
void Transaction::switchProtocols(http::ResponseHead& head,
                                  const http::ConnectionOptions& options) {
  transition(Step::Switch);
  http::setUpgrade(head.headers, options.upgrade_protocols);
  http::appendVia(head.headers, head.version_major, head.version_minor,
                  settings_.http.via_pseudonym);
  status_ = head.status;
  countStatus(head.status);
  sendToClient(http::serializeResponseHead(head));
}

void Transaction::relayHead(http::ResponseHead& head, http::Framing framing) {
  transition(Step::Relay);
  http::appendVia(head.headers, head.version_major, head.version_minor,
                  settings_.http.via_pseudonym);
  // RFC 9112 §6, §7: chunked and close-delimited bodies go chunked to an HTTP/1.1
  // client (its connection stays persistent), and raw until close to HTTP/1.0.
  const bool http11_client = request_.isHttp11();
  http::Framing client_framing = framing;
  // A request body not read whole yet: the connection ends with this response (the
  // rest of the body cannot be told from a next request), and the head says so.
  client_close_ = !client_.keepAlive() || !request_done_;
  if (framing.kind == http::Framing::Chunked || framing.kind == http::Framing::UntilClose) {
    if (http11_client) {
      client_framing.kind = http::Framing::Chunked;
    } else {
      client_framing.kind = http::Framing::UntilClose;
      client_close_ = true;
    }
  }
  close_delimited_ = client_framing.kind == http::Framing::UntilClose;
  client_chunked_ = client_framing.kind == http::Framing::Chunked;
  http::setFraming(head.headers, client_framing);
  if (head.status == 204)
    head.headers.remove("Content-Length"); // RFC 9110 §8.6: a 204 never has one
  if (client_close_)
    head.headers.set("Connection", "close");
  else if (!http11_client)
    head.headers.set("Connection", "keep-alive");
  head.headers.set("Cache-Status",
                   cache::cacheStatusValue(settings_.http.via_pseudonym, cache_status_));

  status_ = head.status;
  content_type_ = head.headers.get("Content-Type").value_or("");
  countStatus(head.status);
  if (writer_) {
    // The Entry is the buffer: the client reads the body from it at its own pace.
    reader_ = std::make_unique<EntryReader>(worker_.base(), client_.output(), writer_->entry(),
                                            writer_.get(), 0, std::nullopt, client_chunked_,
                                            [this](EntryReader::End end) { onFillSent(end); });
    reader_->start(); // before the head: see EntryReader::start
  }
  sendToClient(http::serializeResponseHead(head));
  if (!writer_ && settings_.splice && framing.kind == http::Framing::Length &&
      framing.length >= SpliceFrom) {
    // Relayed as it comes, framed as it came: the kernel can move it.
    exchange_->lendBody(
        [this](int origin_fd, std::uint64_t left) { return spliceBody(origin_fd, left); });
  }
}

bool Transaction::spliceBody(int origin_fd, std::uint64_t left) {
  if (step_ != Step::Relay)
    return false;
  const int client_fd = client_.lendSocket();
  if (client_fd < 0)
    return false;
  splice_ = BodySplice::start(worker_.base(), worker_.pipes(), origin_fd, client_fd,
                              client_.output(), left, settings_.timeouts,
                              [this](BodySplice::End end) { onSpliceEnd(end); });
  if (!splice_)
    client_.returnSocket();
  return splice_ != nullptr;
}

void Transaction::onSpliceEnd(BodySplice::End end) {
  client_.returnSocket();
  if (end == BodySplice::End::Unsupported) {
    exchange_->endLoan(OriginExchange::LoanEnd::Unused, 0); // the body goes on to onBody
    return;
  }
  const std::uint64_t delivered = splice_->bodyBytesOut();
  body_bytes_sent_ += delivered;
  bytes_sent_ += delivered;
  core::count(core::Counter::ClientBytesOut, delivered);
  exchange_->endLoan(end == BodySplice::End::Whole ? OriginExchange::LoanEnd::Whole
                                                   : OriginExchange::LoanEnd::Cut,
                     splice_->bytesIn());
  switch (end) {
  case BodySplice::End::Whole:
    finish(core::CloseReason::ClientConnectionClose);
    return;
  case BodySplice::End::OriginCut:
  case BodySplice::End::OriginTimeout:
    spdlog::warn("{} {}: response truncated: {}", request_.method, request_.target,
                 end == BodySplice::End::OriginCut
                     ? "origin closed the connection"
                     : "origin did not answer within timeouts.origin_response");
    finish(core::CloseReason::OriginTruncated);
    return;
  case BodySplice::End::ClientGone:
    finish(core::CloseReason::ClientReset);
    return;
  case BodySplice::End::ClientTimeout:
    finish(core::CloseReason::ClientIdleTimeout);
    return;
  case BodySplice::End::Unsupported:
    break;
  }
}

void Transaction::onBody(std::string_view data) {
  if (step_ != Step::Relay)
    return; // the body of a 304 or of an error answered from the cache
  if (writer_) {
    if (backlog_.empty() && writer_->append(data)) {
      room_.holdIfFull(*writer_, *exchange_); // the disk is behind: wait rather than stop storing
      return;                                 // the reader sends it when the client takes it
    }
    // The Entry was abandoned (too large, evicted, no room): the client gets the rest from
    // the origin once it has what was stored, with back-pressure from now on.
    backlog_.append(data);
    exchange_->pauseResponse();
    return;
  }
  relayBody(data);
}

// The client has all the body the Entry got (Whole: all of it). An abandoned Entry leaves
// the rest to the origin exchange, unless the client cannot be given what came before.
void Transaction::onFillSent(EntryReader::End end) {
  body_bytes_sent_ += reader_->bytesSent();
  bytes_sent_ += reader_->bytesSent();
  writer_.reset(); // releases the chunks kept for this client
  if (end == EntryReader::End::Cut) {
    finish(origin_end_ == OriginEnd::Truncated ? core::CloseReason::OriginTruncated
                                               : core::CloseReason::StoreFailed);
    return;
  }
  const bool whole = end == EntryReader::End::Whole;
  if (!backlog_.empty()) {
    relayBody(backlog_);
    backlog_ = std::string();
  }
  if (whole || origin_end_ == OriginEnd::Ended) {
    if (!whole && client_chunked_)
      sendToClient(http::LastChunk);
    finish(close_delimited_ ? core::CloseReason::CloseDelimitedResponse
                            : core::CloseReason::ClientConnectionClose);
  } else if (origin_end_ == OriginEnd::Truncated) {
    finish(core::CloseReason::OriginTruncated);
  } else if (!client_.isFull()) {
    exchange_->resumeResponse(); // else onClientDrained() resumes it
  }
}

// The store may take more of the body: read on from the origin, unless it is still full.
void Transaction::onStoreRoom() {
  if (step_ == Step::Relay && writer_ && origin_end_ == OriginEnd::Receiving && backlog_.empty())
    room_.resumeOrWait(*writer_, *exchange_);
}

void Transaction::relayBody(std::string_view data) {
  body_bytes_sent_ += data.size();
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

void Transaction::onEnd() {
  if (step_ == Step::Refreshed) {
    serveEntry(std::move(refresh_), cache::Outcome::RefreshUnmodified);
    return;
  }
  if (step_ == Step::Revalidate) {
    // A 304 that selected no stored response (answeredByRevalidation): ask again,
    // unconditionally; the stored response is left for the answer to replace.
    stale_.reset();
    fetch(Step::Fetch);
    return;
  }
  if (step_ != Step::Relay)
    return; // answered from the cache already
  if (writer_) {
    origin_end_ = OriginEnd::Ended;
    writer_->complete(); // abandons the Entry itself if the body length is wrong
    return;              // onFillSent() finishes once the client has it all
  }
  if (client_chunked_)
    sendToClient(http::LastChunk);
  finish(close_delimited_ ? core::CloseReason::CloseDelimitedResponse
                          : core::CloseReason::ClientConnectionClose);
}

void Transaction::onTunnel() {
  if (step_ == Step::Connect) {
    core::count(core::Counter::TunnelsOpened);
    static constexpr std::string_view Established = "HTTP/1.1 200 Connection established\r\n\r\n";
    status_ = 200;
    countStatus(200);
    sendToClient(Established);
  }
  transition(Step::Tunnel);
  client_.beginTunnel(exchange_->takeConnection()); // destroys this Transaction later
}

void Transaction::onFailed(const OriginExchange::Failure& failure) {
  if (step_ == Step::Relay || step_ == Step::Switch) {
    // Truncated: the client gets what came and then sees the connection close, so it
    // can tell; nothing is padded.
    spdlog::warn("{} {}: response truncated: {}", request_.method, request_.target, failure.why);
    if (writer_) {
      origin_end_ = OriginEnd::Truncated;
      writer_->abandon(); // never stored; onFillSent() closes once the client has what came
      return;
    }
    finish(core::CloseReason::OriginTruncated);
    return;
  }
  if (step_ != Step::Connect && step_ != Step::Fetch && step_ != Step::Revalidate &&
      step_ != Step::Refreshed)
    return; // answered from the cache already
  spdlog::info("{} {}: {}", request_.method, request_.target, failure.why);
  if (stale_ && serveStaleOnError())
    return;
  if (failure.status == 403 && challenged_) {
    challenge(failure.why);
    return;
  }
  if (failure.status == 403)
    cache_status_.outcome = cache::Outcome::Denied;
  else if (stale_)
    cache_status_.outcome = cache::Outcome::RefreshFailed;
  answer(failure.status, failure.why);
}

void Transaction::answer(int status, std::string_view detail, std::string_view proxy_authenticate) {
  // After a CONNECT that is not answered with 200, what the client sent behind it (often
  // a TLS hello) is not a request: the connection ends.
  const bool close = !client_.keepAlive() || !request_done_ || request_.isMethod("CONNECT");
  const std::string bytes =
      http::errorResponse(status, detail, close, request_.isMethod("HEAD"), proxy_authenticate);
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
  finish(reason);
}

void Transaction::refuse(std::string_view why) {
  core::count(core::Counter::DestinationsDenied);
  cache_status_.outcome = cache::Outcome::Denied;
  answer(403, why);
}

// RFC 9110 §15.5.8: 407, with the Basic challenge the client answers with Proxy-Authorization.
void Transaction::challenge(std::string_view why) {
  core::count(core::Counter::AuthChallenges);
  cache_status_.outcome = cache::Outcome::Denied;
  answer(407, why, access::basicChallenge(accessSettings().basic.realm));
}

// RFC 9110 §7.6.2: OPTIONS or TRACE whose Max-Forwards reached 0 is answered by ferry.
void Transaction::answerHere() {
  http::ResponseHead head;
  std::string body;
  if (request_.isMethod("TRACE")) {
    body = http::serializeRequestHead(request_, target_);
    head.headers.add("Content-Type", "message/http");
  } else {
    head.headers.add("Allow", "GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, CONNECT");
  }
  head.headers.add("Content-Length", std::to_string(body.size()));
  client_close_ = !client_.keepAlive() || !request_done_;
  if (client_close_)
    head.headers.add("Connection", "close");
  countStatus(200);
  status_ = 200;
  cache_status_.outcome = cache::Outcome::Error;
  sendToClient(http::serializeResponseHead(head) + body);
  finish(core::CloseReason::ClientConnectionClose);
}

// A client that asks ferry itself for the PAC file (a browser's WPAD or a PAC URL naming
// the proxy port) gets it, announcing the address it reached ferry on.
void Transaction::servePac() {
  const net::Address local = client_.localAddress();
  const std::string body =
      pac::script(settings_.pac, pac::announcedProxy(settings_.pac, local, local));
  client_close_ = !client_.keepAlive() || !request_done_;
  countStatus(200);
  status_ = 200;
  cache_status_.outcome = cache::Outcome::Error;
  content_type_ = pac::ContentType;
  sendToClient(
      http::ownResponse(200, pac::ContentType, body, client_close_, request_.isMethod("HEAD")));
  finish(core::CloseReason::ClientConnectionClose);
}

void Transaction::finish(core::CloseReason reason) {
  transition(Step::Finish);
  if (exchange_)
    exchange_->abandon(); // a no-op once its response ended
  writer_.reset();        // abandons an Entry that did not complete: never stored truncated
  ticket_ = {};           // a leader that published nothing gives up: followers fetch themselves
  wake_subscription_.reset();
  // The client got less than the response announced: the connection must close.
  const bool truncated =
      reason == core::CloseReason::OriginTruncated || reason == core::CloseReason::StoreFailed ||
      reason == core::CloseReason::ClientReset || reason == core::CloseReason::ClientIdleTimeout;
  core::observe(core::Histogram::RequestDuration, since(started_, worker_.clock().wall()));
  logAccess(truncated ? std::optional(reason) : std::nullopt);
  client_.transactionDone(!client_close_ && !truncated && request_done_, reason);
}

void Transaction::sendToClient(std::string_view bytes) {
  if (bytes_sent_ == 0)
    core::observe(core::Histogram::TimeToFirstByte, since(started_, worker_.clock().wall()));
  bytes_sent_ += bytes.size();
  core::count(core::Counter::ClientBytesOut, bytes.size());
  client_.write(bytes);
}

void Transaction::logTunnel(std::uint64_t bytes_to_client, core::CloseReason reason) {
  bytes_sent_ += bytes_to_client;
  body_bytes_sent_ += bytes_to_client;
  logAccess(reason == core::CloseReason::TunnelDone ? std::nullopt : std::optional(reason));
}

void Transaction::logAccess(std::optional<core::CloseReason> cut_short) {
  core::count(cache::statusCounter(cache_status_.outcome));
  AccessLogWriter& log = worker_.accessLog();
  if (!log.isEnabled())
    return;
  const std::string client = client_.peer().host();
  const std::string peer = exchange_ ? exchange_->peerHost() : std::string();
  // Squid's hierarchy codes: the parent is always the first one up that serves the host.
  const bool parent = exchange_ && exchange_->parent();
  AccessRecord record = accessRecord(client, &request_, cache_status_.outcome);
  record.started = started_;
  record.duration =
      std::chrono::duration_cast<std::chrono::milliseconds>(worker_.clock().wall() - started_);
  record.status = status_;
  record.bytes_sent = bytes_sent_;
  record.body_bytes_sent = body_bytes_sent_;
  record.hierarchy = peer.empty() ? "HIER_NONE" : parent ? "FIRSTUP_PARENT" : "HIER_DIRECT";
  record.peer = peer;
  record.content_type = content_type_;
  record.user = user_;
  record.cut_short = cut_short;
  log.write(record);
}

} // namespace ferry::proxy
