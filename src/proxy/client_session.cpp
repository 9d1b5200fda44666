// ClientSession: request parsing and sequencing, client-side timeouts, allow-list, the
// hand-over to a Tunnel, and the graceful close of DESIGN.md (flush, shutdown(SHUT_WR),
// read and discard until EOF or a short linger, close).
#include "client_session.h"

#include "origin_connection.h"
#include "parse_pump.h"
#include "transaction.h"
#include "tunnel.h"
#include "water_marks.h"
#include "worker.h"

#include "ferry/core/assert.h"
#include "ferry/core/counters.h"
#include "ferry/http/error_response.h"
#include "ferry/http/hop_by_hop.h"
#include "ferry/net/socket.h"

#include <event2/buffer.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <utility>

namespace ferry::proxy {
namespace {

// How long a closing connection keeps reading after shutdown(SHUT_WR), so that a
// client's unread pipelined bytes do not turn our close into a reset.
constexpr long long LingerMs = 2000;

} // namespace

ClientSession::ClientSession(Worker& worker, int fd, net::Address peer,
                             std::shared_ptr<const Settings> settings)
    : worker_(worker), peer_(std::move(peer)), settings_(std::move(settings)),
      bev_(bufferevent_socket_new(worker.base(), fd, BEV_OPT_CLOSE_ON_FREE)),
      timer_(evtimer_new(worker.base(), &ClientSession::onTimer, this)),
      resume_(event_new(worker.base(), -1, 0, &ClientSession::onResume, this)),
      parser_(settings_->http.limits) {
  FERRY_ASSERT(bev_ && timer_ && resume_);
}

ClientSession::~ClientSession() = default;

void ClientSession::start() {
  core::count(core::Counter::ClientConnectionsAccepted);
  bufferevent_setcb(bev_.get(), &ClientSession::onRead, &ClientSession::onWrite,
                    &ClientSession::onEvent, this);
  bufferevent_setwatermark(bev_.get(), EV_READ, 0, ReadHighWater);
  bufferevent_setwatermark(bev_.get(), EV_WRITE, LowWater, 0);
  // libevent writes at most 16 KiB a call by default: one writev (or sendfile) may take what
  // the output holds, up to its high water mark.
  bufferevent_set_max_single_write(bev_.get(), HighWater);
  // A client that stops reading a response for this long is gone.
  const timeval stalled = net::toTimeval(settings_->timeouts.client_idle.count());
  bufferevent_set_timeouts(bev_.get(), nullptr, &stalled);
  bufferevent_enable(bev_.get(), EV_READ | EV_WRITE);
  if (!net::anyContains(settings_->allowed_clients, peer_)) {
    spdlog::info("client {} refused: not in access.allow", peer_.toString());
    core::count(core::Counter::ClientConnectionsRefused);
    refuse(403, "your address may not use this proxy", core::CloseReason::ClientNotAllowed);
    return;
  }
  armIdleTimer();
}

void ClientSession::armIdleTimer() {
  head_timer_armed_ = false;
  const timeval idle = net::toTimeval(settings_->timeouts.client_idle.count());
  evtimer_add(timer_.get(), &idle);
}

void ClientSession::drain() {
  draining_ = true;
  keep_alive_ = false;
  if (state_ == State::Idle && parser_.isIdle() &&
      evbuffer_get_length(bufferevent_get_input(bev_.get())) == 0)
    closeGracefully(core::CloseReason::Shutdown);
}

void ClientSession::onRead(bufferevent* bev, void* arg) noexcept {
  auto* self = static_cast<ClientSession*>(arg);
  evbuffer* in = bufferevent_get_input(bev);
  switch (self->state_) {
  case State::Idle:
  case State::Busy:
    self->parseRequests();
    break;
  case State::Flushing:
  case State::Lingering:
    evbuffer_drain(in, evbuffer_get_length(in));
    break;
  case State::Tunnelling:
  case State::Done:
    break;
  }
}

// Feeds buffered client bytes to the parser. In Busy only the current request's body is
// consumed; the next request stays buffered until this one's response is complete, and
// while the client has not taken earlier answers (its output above HighWater, resumed from
// onWrite) — so a client that pipelines and never reads holds at most the two buffers.
void ClientSession::parseRequests() {
  if (!mayParse())
    return;
  armHeadTimer();
  pumpParser(bufferevent_get_input(bev_.get()), parser_,
             [this](const http::Step& step) { return onRequestStep(step); });
}

bool ClientSession::mayParse() const {
  if (reading_paused_)
    return false;
  if (state_ == State::Busy)
    return !request_done_;
  return state_ == State::Idle && !isFull();
}

// The first byte of a request starts an absolute deadline for its head.
void ClientSession::armHeadTimer() {
  if (state_ != State::Idle || head_timer_armed_ ||
      evbuffer_get_length(bufferevent_get_input(bev_.get())) == 0)
    return;
  head_timer_armed_ = true;
  const timeval deadline = net::toTimeval(settings_->timeouts.client_header.count());
  evtimer_add(timer_.get(), &deadline);
}

// One parser event; false when parsing stops (see parseRequests).
bool ClientSession::onRequestStep(const http::Step& step) {
  core::count(core::Counter::ClientBytesIn, step.consumed);
  switch (step.event) {
  case http::Event::NeedMore:
    if (client_eof_ && evbuffer_get_length(bufferevent_get_input(bev_.get())) == 0) {
      if (state_ == State::Idle) {
        // Every complete request sent before the client's FIN has been answered.
        closeGracefully(core::CloseReason::ClientEof);
        return false;
      }
      if (state_ == State::Busy && !request_done_) {
        abandonRequest(core::CloseReason::ClientEof); // its body can never complete
        return false;
      }
    }
    break;
  case http::Event::Head:
    request_done_ = false;
    if (!parser_.framing().hasBody()) {
      // No body: take the request's end now, so that an answer given at once (a cache
      // hit, an error) already knows the connection may carry the next request.
      request_done_ = parser_.parse({}).event == http::Event::MessageEnd;
    }
    startTransaction();
    if (state_ == State::Tunnelling)
      return false; // what follows the CONNECT head belongs to the tunnel
    break;
  case http::Event::Body:
    if (transaction_)
      transaction_->onRequestBody(step.body);
    break;
  case http::Event::MessageEnd:
    request_done_ = true;
    setUploadTimeout(false);
    if (transaction_)
      transaction_->onRequestEnd();
    break;
  case http::Event::Error:
    if (state_ == State::Busy) {
      // A malformed body of the request being answered: its response may have begun, so
      // no 400 can follow it; the exchange ends and the connection with it.
      abandonRequest(core::CloseReason::ClientRequestError);
      return false;
    }
    refuse(parser_.error().status, parser_.error().reason, core::CloseReason::ClientRequestError);
    return false;
  }
  if (!mayParse())
    return false;
  armHeadTimer();
  return true;
}

void ClientSession::startTransaction() {
  evtimer_del(timer_.get());
  core::count(core::Counter::RequestsTotal);
  http::RequestHead& head = parser_.head();
  const http::Target& target = parser_.target();
  if (!target.isValid()) {
    refuse(target.error.status, target.error.reason, core::CloseReason::ClientRequestError);
    return;
  }
  // Proxy-Authorization is for ferry (RFC 9110 §11.7.2): kept aside, then removed with the
  // other hop-by-hop fields so no origin sees it.
  std::optional<std::string> credentials;
  if (auto field = head.headers.get("Proxy-Authorization"))
    credentials = std::string(*field);
  const http::ConnectionOptions options = http::stripHopByHop(head.headers);
  // After a half-close, the last request buffered gets the last response.
  const bool last =
      client_eof_ && request_done_ && evbuffer_get_length(bufferevent_get_input(bev_.get())) == 0;
  keep_alive_ =
      !draining_ && !last && http::wantsPersistent(options, head.version_major, head.version_minor);
  state_ = State::Busy;
  setUploadTimeout(!request_done_);
  // RFC 9110 §7.8: a protocol switch the client asks for (WebSocket) is forwarded, and the
  // connection becomes a Tunnel if the origin answers 101.
  std::vector<std::string> upgrade;
  if (options.upgrade)
    upgrade = options.upgrade_protocols;
  transaction_ = std::make_unique<Transaction>(
      static_cast<ClientSink&>(*this), worker_, *settings_, std::move(head), target,
      parser_.framing(), request_done_, std::move(upgrade), std::move(credentials));
  transaction_->start();
}

// Answers a request that never became a Transaction (not allowed, unparsable, too slow),
// logs it, and closes the connection.
void ClientSession::refuse(int status, std::string_view detail, core::CloseReason reason) {
  const std::string bytes = http::errorResponse(status, detail, true);
  core::count(core::Counter::ClientBytesOut, bytes.size());
  bufferevent_write(bev_.get(), bytes.data(), bytes.size());
  if (AccessLogWriter& log = worker_.accessLog(); log.isEnabled()) {
    const std::string client = peer_.host();
    AccessRecord record = accessRecord(
        client, nullptr, status == 403 ? cache::Outcome::Denied : cache::Outcome::Error);
    record.started = worker_.clock().wall();
    record.status = status;
    record.bytes_sent = bytes.size();
    log.write(record);
  }
  closeGracefully(reason);
}

// While a request body is being read, the client must keep sending it: a read timeout of
// timeouts.client_idle. Otherwise only the write timeout is set (armed in start()). Setting
// timeouts re-arms the bufferevent's events: done only when the timeout changes, not on
// every request.
void ClientSession::setUploadTimeout(bool on) {
  if (on == upload_timeout_)
    return;
  upload_timeout_ = on;
  const timeval idle = net::toTimeval(settings_->timeouts.client_idle.count());
  bufferevent_set_timeouts(bev_.get(), on ? &idle : nullptr, &idle);
}

net::Address ClientSession::localAddress() const {
  return net::localAddress(bufferevent_getfd(bev_.get()));
}

void ClientSession::write(std::string_view bytes) {
  bufferevent_write(bev_.get(), bytes.data(), bytes.size());
}

evbuffer* ClientSession::output() {
  return bufferevent_get_output(bev_.get());
}

bool ClientSession::isFull() const {
  return evbuffer_get_length(bufferevent_get_output(bev_.get())) >= HighWater;
}

int ClientSession::lendSocket() {
  bufferevent_disable(bev_.get(), EV_READ | EV_WRITE);
  return bufferevent_getfd(bev_.get());
}

void ClientSession::returnSocket() {
  bufferevent_enable(bev_.get(), reading_paused_ || client_eof_ ? EV_WRITE : EV_READ | EV_WRITE);
}

void ClientSession::pauseReading() {
  if (state_ == State::Busy && !reading_paused_) {
    reading_paused_ = true;
    bufferevent_disable(bev_.get(), EV_READ);
  }
}

void ClientSession::resumeReading() {
  if (!reading_paused_)
    return;
  reading_paused_ = false;
  bufferevent_enable(bev_.get(), EV_READ);
  event_active(resume_.get(), EV_TIMEOUT, 0); // parse what is already buffered
}

void ClientSession::transactionDone(bool client_reusable, core::CloseReason reason) {
  FERRY_ASSERT(transaction_);
  finished_ = std::move(transaction_);
  if (!client_reusable || !keep_alive_) {
    if (reason == core::CloseReason::ClientConnectionClose && !keep_alive_ && !draining_ &&
        !parser_.head().isHttp11())
      reason = core::CloseReason::Http10NoKeepAlive;
    closeGracefully(draining_ ? core::CloseReason::Shutdown : reason);
    return;
  }
  state_ = State::Idle;
  armIdleTimer();
  if (std::exchange(reading_paused_, false) && !client_eof_)
    bufferevent_enable(bev_.get(), EV_READ); // held back for an upload that has ended since
  // Continue with any pipelined request from the loop, not inside this callback chain.
  event_active(resume_.get(), EV_TIMEOUT, 0);
}

void ClientSession::onResume(evutil_socket_t, short, void* arg) noexcept {
  auto* self = static_cast<ClientSession*>(arg);
  if (self->tunnel_finished_) {
    self->transition(State::Done);
    return;
  }
  self->finished_.reset();
  if (self->state_ == State::Idle || self->state_ == State::Busy)
    self->parseRequests();
}

void ClientSession::beginTunnel(std::unique_ptr<OriginConnection> origin) {
  FERRY_ASSERT(transaction_);
  // The transaction stays until the tunnel ends: it writes the tunnel's access-log line.
  finished_ = std::move(transaction_);
  evtimer_del(timer_.get());
  state_ = State::Tunnelling;
  auto done = [this](bool idle_timeout) { onTunnelDone(idle_timeout); };
  tunnel_ =
      std::make_unique<Tunnel>(std::move(bev_), origin->release(), settings_->timeouts.tunnel_idle,
                               settings_->splice ? &worker_.pipes() : nullptr, done);
  tunnel_->start();
}

// Inside the tunnel's own callback: the close itself happens from onResume.
void ClientSession::onTunnelDone(bool idle_timeout) {
  close_reason_ =
      idle_timeout ? core::CloseReason::TunnelIdleTimeout : core::CloseReason::TunnelDone;
  finished_->logTunnel(tunnel_->bytesToClient(), close_reason_);
  tunnel_finished_ = true;
  event_active(resume_.get(), EV_TIMEOUT, 0);
}

// The request in progress cannot be read whole (cut short by the FIN, or a malformed
// body). Its exchange is dropped (never inside one of its callbacks: this is reached only
// from the session's), and what is already queued for the client — earlier answers, the
// part of this one sent so far — is delivered before the close, so the client can tell.
void ClientSession::abandonRequest(core::CloseReason reason) {
  transaction_.reset();
  closeGracefully(reason);
}

void ClientSession::forceClose(core::CloseReason reason) {
  close_reason_ = reason;
  transition(State::Done);
}

void ClientSession::closeGracefully(core::CloseReason reason) {
  close_reason_ = reason;
  transition(State::Flushing);
}

void ClientSession::transition(State next) {
  if (state_ == State::Done)
    return;
  state_ = next;
  switch (next) {
  case State::Idle:
  case State::Busy:
  case State::Tunnelling:
    break;
  case State::Flushing:
    evtimer_del(timer_.get());
    if (!client_eof_)
      bufferevent_enable(bev_.get(), EV_READ); // keep discarding what the client sends
    // onWrite fires once the output buffer has drained below the low water mark; the
    // close waits for it to be empty.
    if (evbuffer_get_length(bufferevent_get_output(bev_.get())) == 0)
      transition(State::Lingering);
    break;
  case State::Lingering: {
    ::shutdown(bufferevent_getfd(bev_.get()), SHUT_WR);
    // Both directions closed: nothing to linger for, but the close still happens from the
    // loop, since this may run inside a transaction's callback.
    const timeval linger = net::toTimeval(client_eof_ ? 0 : LingerMs);
    evtimer_add(timer_.get(), &linger);
    break;
  }
  case State::Done:
    core::countClose(close_reason_);
    evtimer_del(timer_.get());
    event_del(resume_.get());
    // The transaction and tunnel go first: they hold callbacks into this session.
    finished_.reset();
    transaction_.reset();
    tunnel_.reset();
    bev_.reset();
    worker_.release(this);
    break;
  }
}

void ClientSession::onWrite(bufferevent* bev, void* arg) noexcept {
  auto* self = static_cast<ClientSession*>(arg);
  if (self->state_ == State::Busy && self->transaction_)
    self->transaction_->onClientDrained();
  if (self->state_ == State::Idle)
    self->parseRequests(); // requests held back while the client's output was full
  if (self->state_ == State::Flushing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
    self->transition(State::Lingering);
}

void ClientSession::onEvent(bufferevent*, short what, void* arg) noexcept {
  auto* self = static_cast<ClientSession*>(arg);
  if (what & BEV_EVENT_TIMEOUT) {
    // The read timeout runs only during an upload (setUploadTimeout); the write timeout
    // means the client stopped reading a response.
    self->forceClose((what & BEV_EVENT_READING) ? core::CloseReason::ClientBodyTimeout
                                                : core::CloseReason::ClientIdleTimeout);
    return;
  }
  if (!(what & BEV_EVENT_EOF) || (what & BEV_EVENT_ERROR)) {
    self->forceClose(core::CloseReason::ClientReset);
    return;
  }
  // EOF: the client sent all it will send, but may still read (a half-close). What it
  // asked for is still delivered; only a request cut short ends the connection at once.
  self->client_eof_ = true;
  bufferevent_disable(self->bev_.get(), EV_READ);
  const bool unsent = evbuffer_get_length(bufferevent_get_output(self->bev_.get())) > 0;
  const bool buffered = evbuffer_get_length(bufferevent_get_input(self->bev_.get())) > 0;
  switch (self->state_) {
  case State::Busy:
    if (self->request_done_) {
      // Finish the response, then answer the requests buffered behind it, then close.
      if (!buffered)
        self->keep_alive_ = false;
    } else if (!buffered) {
      self->abandonRequest(core::CloseReason::ClientEof); // its body can never complete
    } // else the body may still complete from what is buffered: parsing decides
    return;
  case State::Idle:
    if (buffered || unsent) {
      self->parseRequests(); // closes once every buffered request is answered
      return;
    }
    break;
  case State::Flushing:
    return; // onWrite goes on once the output is flushed
  case State::Lingering:
  case State::Tunnelling:
  case State::Done:
    break;
  }
  self->forceClose(core::CloseReason::ClientEof);
}

void ClientSession::onTimer(evutil_socket_t, short, void* arg) noexcept {
  auto* self = static_cast<ClientSession*>(arg);
  switch (self->state_) {
  case State::Idle:
    if (self->head_timer_armed_) {
      spdlog::info("client {}: no complete request head within {} ms", self->peer_.toString(),
                   self->settings_->timeouts.client_header.count());
      self->refuse(408, "request head not received in time",
                   core::CloseReason::ClientHeaderTimeout);
    } else {
      self->closeGracefully(core::CloseReason::ClientIdleTimeout);
    }
    break;
  case State::Lingering:
    self->forceClose(self->close_reason_);
    break;
  default:
    break;
  }
}

} // namespace ferry::proxy
