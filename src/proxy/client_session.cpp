// ClientSession: request parsing and sequencing, client-side timeouts, allow-list, resting
// when idle, the hand-over to a Tunnel, and the graceful close of DESIGN.md (flush,
// shutdown(SHUT_WR), read and discard until EOF or a short linger, close).
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
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace ferry::proxy {
namespace {

// What every resting connection holds in user space, with libevent's record of its socket
// number: 120 bytes is a 128-byte chunk with malloc's header; one byte more and it is 144.
static_assert(sizeof(void*) != 8 || sizeof(ClientSession) <= 120);

// How long a closing connection keeps reading after shutdown(SHUT_WR), so that a
// client's unread pipelined bytes do not turn our close into a reset.
constexpr long long LingerMs = 2000;

} // namespace

ClientSession::ClientSession(Worker& worker, int fd, net::Address peer,
                             std::shared_ptr<const Settings> settings)
    : worker_(worker), fd_(fd), peer_(std::move(peer)), settings_(std::move(settings)) {}

ClientSession::~ClientSession() {
  closeSocket();
}

void ClientSession::start() {
  core::count(core::Counter::ClientConnectionsAccepted);
  if (!net::anyContains(settings_->allowed_clients, peer_)) {
    spdlog::info("client {} refused: not in access.allow", peer_.toString());
    core::count(core::Counter::ClientConnectionsRefused);
    transition(State::Idle);
    refuse(403, "your address may not use this proxy", core::CloseReason::ClientNotAllowed);
    return;
  }
  // Awake, its first request does not pay for leaving the resting set; but not when the
  // worker already has most_awake idle sessions awake.
  IdleSessions& idle = worker_.idleSessions();
  if (idle.isCrowded() && idle.rest(*this, fd_, settings_->timeouts.client_idle))
    return; // Resting, as constructed
  transition(State::Idle);
  idle.add(*this); // rests if its first bytes are slow to come
}

ClientSession::Awake::Awake(ClientSession& session)
    : bev(bufferevent_socket_new(session.worker_.base(), session.fd_, 0)),
      timer(evtimer_new(session.worker_.base(), &ClientSession::onTimer, &session)),
      resume(event_new(session.worker_.base(), -1, 0, &ClientSession::onResume, &session)),
      flush(event_new(session.worker_.base(), -1, 0, &ClientSession::onFlush, &session)),
      parser(session.settings_->http.limits) {
  FERRY_ASSERT(bev && timer && resume && flush);
  output_watch =
      evbuffer_add_cb(bufferevent_get_output(bev.get()), &ClientSession::onOutput, &session);
  FERRY_ASSERT(output_watch);
}

// Resting → Idle.
void ClientSession::wake() {
  worker_.idleSessions().remove(*this, fd_); // not resting when start() wakes it
  awake_ = std::make_unique<Awake>(*this);
  bufferevent_setcb(bev(), &ClientSession::onRead, &ClientSession::onWrite, &ClientSession::onEvent,
                    this);
  bufferevent_setwatermark(bev(), EV_READ, 0, ReadHighWater);
  bufferevent_setwatermark(bev(), EV_WRITE, LowWater, 0);
  // libevent writes at most 16 KiB a call by default: one writev (or sendfile) may take what
  // the output holds, up to the most a stored body queues (as onFlush does).
  bufferevent_set_max_single_write(bev(), StoredHighWater);
  // A client that stops reading a response for this long is gone.
  const timeval stalled = net::toTimeval(settings_->timeouts.client_idle.count());
  bufferevent_set_timeouts(bev(), nullptr, &stalled);
  // EV_WRITE (enabled in a new bufferevent) only when a flush leaves bytes: onFlush.
  bufferevent_disable(bev(), EV_WRITE);
  bufferevent_enable(bev(), EV_READ);
  armIdleTimer();
}

// Idle → Resting, once the worker's IdleSessions watches the socket (restIfIdle). The idle
// timeout starts again from here, so a connection that rests is closed up to two sweeps of
// IdleSessions (2 × timeouts.client_rest) later than one kept awake would be.
void ClientSession::rest() {
  awake_.reset();
}

// Nothing from the client until the idle timeout: it closes without waking, as a resting
// session that drains does (a wave of timeouts allocates nothing). Or the client sent
// something, closed or reset: that is read at once, as the bufferevent would on the loop's
// next turn.
void ClientSession::endRest(bool timed_out) {
  if (timed_out) {
    close_reason_ = core::CloseReason::ClientIdleTimeout;
    transition(State::Done);
    return;
  }
  transition(State::Idle);
  bufferevent* bev = this->bev();
  evbuffer* in = bufferevent_get_input(bev);
  evbuffer_unfreeze(in, 0); // a bufferevent's input takes bytes only from the bufferevent
  const int read = evbuffer_read(in, fd_, -1);
  evbuffer_freeze(in, 0);
  if (read > 0)
    onRead(bev, this);
  else if (read == 0)
    onEvent(bev, BEV_EVENT_READING | BEV_EVENT_EOF, this);
  else if (errno != EAGAIN && errno != EINTR)
    onEvent(bev, BEV_EVENT_READING | BEV_EVENT_ERROR, this);
}

void ClientSession::armIdleTimer() {
  head_timer_armed_ = false;
  const timeval idle = net::toTimeval(settings_->timeouts.client_idle.count());
  evtimer_add(awake_->timer.get(), &idle);
}

void ClientSession::drain() {
  keep_alive_ = false;
  if (state_ == State::Resting) {
    // Nothing was sent or is owed either way: it closes without waking (the client gets a
    // FIN and has nothing unread to linger for).
    close_reason_ = core::CloseReason::Shutdown;
    transition(State::Done);
    return;
  }
  if (state_ == State::Idle && awake_->parser.isIdle() &&
      evbuffer_get_length(bufferevent_get_input(bev())) == 0)
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
  case State::Resting: // never: a resting session has no bufferevent
  case State::Tunnelling:
  case State::Done:
    break;
  }
}

// Feeds buffered client bytes to the parser. In Busy only the current request's body is
// consumed; the next request stays buffered until this one's response is complete, and
// while the client has not taken earlier answers (its output above HighWater, resumed from
// onWrite) — so a client that pipelines and never reads holds at most the two buffers.
// Once all is answered and sent, with nothing more received, the session joins the worker's
// IdleSessions: it rests after a pause (or sooner, when the worker has too many idle sessions
// awake) unless a request comes first. No timer is set or removed for that.
void ClientSession::parseRequests() {
  if (!mayParse())
    return;
  armHeadTimer();
  pumpParser(bufferevent_get_input(bev()), awake_->parser,
             [this](const http::Step& step) { return onRequestStep(step); });
  if (mayRest())
    worker_.idleSessions().add(*this);
}

void ClientSession::restIfIdle() {
  if (mayRest() && worker_.idleSessions().rest(*this, fd_, settings_->timeouts.client_idle))
    transition(State::Resting);
}

bool ClientSession::mayParse() const {
  if (reading_paused_)
    return false;
  if (state_ == State::Busy)
    return !request_done_;
  return state_ == State::Idle && !isFull();
}

// Idle, every answer sent and destroyed, and not a byte of a next request received (not even
// the CR LF a client may send before one: that has started the head's deadline). Whatever
// happened since the session joined IdleSessions, this is asked again before it rests.
bool ClientSession::mayRest() const {
  // The output first: right after an answer, it is what is not yet empty.
  return state_ == State::Idle && !head_timer_armed_ && !awake_->finished &&
         evbuffer_get_length(bufferevent_get_output(bev())) == 0 &&
         evbuffer_get_length(bufferevent_get_input(bev())) == 0 && awake_->parser.isIdle();
}

// The first byte of a request starts an absolute deadline for its head.
void ClientSession::armHeadTimer() {
  if (state_ != State::Idle || head_timer_armed_ ||
      evbuffer_get_length(bufferevent_get_input(bev())) == 0)
    return;
  head_timer_armed_ = true;
  const timeval deadline = net::toTimeval(settings_->timeouts.client_header.count());
  evtimer_add(awake_->timer.get(), &deadline);
}

// One parser event; false when parsing stops (see parseRequests).
bool ClientSession::onRequestStep(const http::Step& step) {
  core::count(core::Counter::ClientBytesIn, step.consumed);
  switch (step.event) {
  case http::Event::NeedMore:
    if (client_eof_ && evbuffer_get_length(bufferevent_get_input(bev())) == 0) {
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
    if (!awake_->parser.framing().hasBody()) {
      // No body: take the request's end now, so that an answer given at once (a cache
      // hit, an error) already knows the connection may carry the next request.
      request_done_ = awake_->parser.parse({}).event == http::Event::MessageEnd;
    }
    startTransaction();
    if (state_ == State::Tunnelling)
      return false; // what follows the CONNECT head belongs to the tunnel
    break;
  case http::Event::Body:
    if (awake_->transaction)
      awake_->transaction->onRequestBody(step.body);
    break;
  case http::Event::MessageEnd:
    request_done_ = true;
    setUploadTimeout(false);
    if (awake_->transaction)
      awake_->transaction->onRequestEnd();
    break;
  case http::Event::Error:
    if (state_ == State::Busy) {
      // A malformed body of the request being answered: its response may have begun, so
      // no 400 can follow it; the exchange ends and the connection with it.
      abandonRequest(core::CloseReason::ClientRequestError);
      return false;
    }
    refuse(awake_->parser.error().status, awake_->parser.error().reason,
           core::CloseReason::ClientRequestError);
    return false;
  }
  if (!mayParse())
    return false;
  armHeadTimer();
  return true;
}

void ClientSession::startTransaction() {
  evtimer_del(awake_->timer.get());
  worker_.idleSessions().remove(*this, fd_); // busy: no longer counts as idle (isCrowded)
  core::count(core::Counter::RequestsTotal);
  http::RequestHead& head = awake_->parser.head();
  const http::Target& target = awake_->parser.target();
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
      client_eof_ && request_done_ && evbuffer_get_length(bufferevent_get_input(bev())) == 0;
  keep_alive_ = !worker_.isDraining() && !last &&
                http::wantsPersistent(options, head.version_major, head.version_minor);
  state_ = State::Busy;
  setUploadTimeout(!request_done_);
  // RFC 9110 §7.8: a protocol switch the client asks for (WebSocket) is forwarded, and the
  // connection becomes a Tunnel if the origin answers 101.
  std::vector<std::string> upgrade;
  if (options.upgrade)
    upgrade = options.upgrade_protocols;
  awake_->transaction = std::make_unique<Transaction>(
      static_cast<ClientSink&>(*this), worker_, *settings_, std::move(head), target,
      awake_->parser.framing(), request_done_, std::move(upgrade), std::move(credentials));
  awake_->transaction->start();
}

// Answers a request that never became a Transaction (not allowed, unparsable, too slow),
// logs it, and closes the connection.
void ClientSession::refuse(int status, std::string_view detail, core::CloseReason reason) {
  const std::string bytes = http::errorResponse(status, detail, true);
  core::count(core::Counter::ClientBytesOut, bytes.size());
  bufferevent_write(bev(), bytes.data(), bytes.size());
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
  bufferevent_set_timeouts(bev(), on ? &idle : nullptr, &idle);
}

net::Address ClientSession::localAddress() const {
  return net::localAddress(fd_);
}

void ClientSession::write(std::string_view bytes) {
  bufferevent_write(bev(), bytes.data(), bytes.size());
}

evbuffer* ClientSession::output() {
  return bufferevent_get_output(bev());
}

bool ClientSession::isFull() const {
  return evbuffer_get_length(bufferevent_get_output(bev())) >= HighWater;
}

int ClientSession::lendSocket() {
  bufferevent_disable(bev(), EV_READ | EV_WRITE);
  awake_->lent = true;
  return fd_;
}

void ClientSession::returnSocket() {
  awake_->lent = false;
  if (!reading_paused_ && !client_eof_)
    bufferevent_enable(bev(), EV_READ);
  event_active(awake_->flush.get(), EV_TIMEOUT, 0); // whatever was added meanwhile
}

void ClientSession::pauseReading() {
  if (state_ == State::Busy && !reading_paused_) {
    reading_paused_ = true;
    bufferevent_disable(bev(), EV_READ);
  }
}

void ClientSession::resumeReading() {
  if (!reading_paused_)
    return;
  reading_paused_ = false;
  bufferevent_enable(bev(), EV_READ);
  event_active(awake_->resume.get(), EV_TIMEOUT, 0); // parse what is already buffered
}

void ClientSession::transactionDone(bool client_reusable, core::CloseReason reason) {
  FERRY_ASSERT(awake_->transaction);
  awake_->finished = std::move(awake_->transaction);
  if (!client_reusable || !keep_alive_) {
    if (reason == core::CloseReason::ClientConnectionClose && !keep_alive_ &&
        !worker_.isDraining() && !awake_->parser.head().isHttp11())
      reason = core::CloseReason::Http10NoKeepAlive;
    closeGracefully(worker_.isDraining() ? core::CloseReason::Shutdown : reason);
    return;
  }
  state_ = State::Idle;
  armIdleTimer();
  if (std::exchange(reading_paused_, false) && !client_eof_)
    bufferevent_enable(bev(), EV_READ); // held back for an upload that has ended since
  // Continue with any pipelined request from the loop, not inside this callback chain.
  event_active(awake_->resume.get(), EV_TIMEOUT, 0);
}

void ClientSession::onResume(evutil_socket_t, short, void* arg) noexcept {
  auto* self = static_cast<ClientSession*>(arg);
  if (self->awake_->tunnel_finished) {
    self->transition(State::Done);
    return;
  }
  if (self->state_ == State::Tunnelling)
    return; // a resume queued before the tunnel began: finished is the tunnel's transaction
  self->awake_->finished.reset();
  if (self->state_ == State::Idle || self->state_ == State::Busy)
    self->parseRequests();
  if (self->awake_ && std::exchange(self->awake_->flush_after_resume, false))
    onFlush(-1, 0, self); // the flush that waited for this (not Done or Resting since)
}

void ClientSession::beginTunnel(std::unique_ptr<OriginConnection> origin) {
  FERRY_ASSERT(awake_->transaction);
  // The transaction stays until the tunnel ends: it writes the tunnel's access-log line.
  awake_->finished = std::move(awake_->transaction);
  evtimer_del(awake_->timer.get());
  // The tunnel's bufferevent writes what the output holds (the 200 of a CONNECT, say).
  evbuffer_remove_cb_entry(bufferevent_get_output(bev()), awake_->output_watch);
  event_del(awake_->flush.get());
  awake_->flush_after_resume = false;
  state_ = State::Tunnelling;
  auto done = [this](bool idle_timeout) { onTunnelDone(idle_timeout); };
  awake_->tunnel = std::make_unique<Tunnel>(std::move(awake_->bev), origin->release(),
                                            settings_->timeouts.tunnel_idle,
                                            settings_->splice ? &worker_.pipes() : nullptr, done);
  awake_->tunnel->start();
}

// Inside the tunnel's own callback: the close itself happens from onResume.
void ClientSession::onTunnelDone(bool idle_timeout) {
  close_reason_ =
      idle_timeout ? core::CloseReason::TunnelIdleTimeout : core::CloseReason::TunnelDone;
  awake_->finished->logTunnel(awake_->tunnel->bytesToClient(), close_reason_);
  awake_->tunnel_finished = true;
  event_active(awake_->resume.get(), EV_TIMEOUT, 0);
}

// The request in progress cannot be read whole (cut short by the FIN, or a malformed
// body). Its exchange is dropped (never inside one of its callbacks: this is reached only
// from the session's), and what is already queued for the client — earlier answers, the
// part of this one sent so far — is delivered before the close, so the client can tell.
void ClientSession::abandonRequest(core::CloseReason reason) {
  awake_->transaction.reset();
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
  const State previous = std::exchange(state_, next);
  switch (next) {
  case State::Resting:
    rest();
    break;
  case State::Idle:
    if (previous == State::Resting)
      wake();
    break;
  case State::Busy:
  case State::Tunnelling:
    break;
  case State::Flushing:
    evtimer_del(awake_->timer.get());
    if (!client_eof_)
      bufferevent_enable(bev(), EV_READ); // keep discarding what the client sends
    // onWrite fires once the output buffer has drained below the low water mark; the
    // close waits for it to be empty.
    if (evbuffer_get_length(bufferevent_get_output(bev())) == 0)
      transition(State::Lingering);
    break;
  case State::Lingering: {
    ::shutdown(fd_, SHUT_WR);
    // Both directions closed: nothing to linger for, but the close still happens from the
    // loop, since this may run inside a transaction's callback.
    const timeval linger = net::toTimeval(client_eof_ ? 0 : LingerMs);
    evtimer_add(awake_->timer.get(), &linger);
    break;
  }
  case State::Done:
    core::countClose(close_reason_);
    closeSocket();
    worker_.release(this);
    break;
  }
}

// What watches the socket goes before it is closed.
void ClientSession::closeSocket() {
  worker_.idleSessions().remove(*this, fd_);
  awake_.reset();
  if (fd_ >= 0)
    ::close(std::exchange(fd_, -1));
}

void ClientSession::onOutput(evbuffer*, const evbuffer_cb_info* info, void* arg) noexcept {
  auto* self = static_cast<ClientSession*>(arg);
  if (info->n_added > 0 && !self->writeWatched())
    event_active(self->awake_->flush.get(), EV_TIMEOUT, 0);
}

// One writev (or sendfile) of what the output holds, as libevent's write callback would do
// on EPOLLOUT, and then what it does after a write: onWrite once the output is down to the
// low water mark. What the socket does not take is left to the bufferevent.
//
// Work of this session already queued for this loop turn goes first, while the output
// holds less than LowWater: the next pipelined request (onResume, which then flushes) and a
// stored body's reader (the flush waits behind it) add their bytes, and the answers leave
// together. The wait ends once that work is done or the output has LowWater.
void ClientSession::onFlush(evutil_socket_t, short, void* arg) noexcept {
  auto* self = static_cast<ClientSession*>(arg);
  Awake& awake = *self->awake_;
  evbuffer* out = bufferevent_get_output(awake.bev.get());
  if (self->writeWatched() || awake.lent || evbuffer_get_length(out) == 0)
    return;
  if (evbuffer_get_length(out) < LowWater) {
    if (event_pending(awake.resume.get(), EV_TIMEOUT, nullptr)) {
      awake.flush_after_resume = true;
      return;
    }
    if (awake.transaction && awake.transaction->isProducing()) {
      event_active(awake.flush.get(), EV_TIMEOUT, 0);
      return;
    }
  }
  const long written = net::writeOutput(awake.bev.get(), StoredHighWater);
  if (written < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    self->forceClose(core::CloseReason::ClientReset);
    return;
  }
  if (evbuffer_get_length(out) > 0)
    bufferevent_enable(awake.bev.get(), EV_WRITE); // what the socket left: writeWatched()
  if (written > 0 && evbuffer_get_length(out) <= LowWater)
    onWrite(awake.bev.get(), self);
}

void ClientSession::onWrite(bufferevent* bev, void* arg) noexcept {
  auto* self = static_cast<ClientSession*>(arg);
  if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
    bufferevent_disable(bev, EV_WRITE); // the next bytes go out through onFlush again
  if (self->state_ == State::Busy && self->awake_->transaction)
    self->awake_->transaction->onClientDrained();
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
  bufferevent_disable(self->bev(), EV_READ);
  const bool unsent = evbuffer_get_length(bufferevent_get_output(self->bev())) > 0;
  const bool buffered = evbuffer_get_length(bufferevent_get_input(self->bev())) > 0;
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
  case State::Resting: // never: a resting session has no bufferevent
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
