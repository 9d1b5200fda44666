// ClientSession: allow-list, header deadline, and the graceful close of DESIGN.md
// (flush, shutdown(SHUT_WR), read and discard until EOF or a short linger, close).
#include "client_session.h"

#include "worker.h"

#include "ferry/core/assert.h"

#include <event2/buffer.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <string>

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
      timer_(evtimer_new(worker.base(), &ClientSession::onTimer, this)) {
  FERRY_ASSERT(bev_ && timer_);
}

void ClientSession::start() {
  bufferevent_setcb(bev_.get(), &ClientSession::onRead, &ClientSession::onWrite,
                    &ClientSession::onEvent, this);
  bufferevent_enable(bev_.get(), EV_READ);
  if (!net::anyContains(settings_->allowed_clients, peer_)) {
    spdlog::info("client {} refused: not in access.allow", peer_.toString());
    respondAndClose(403, "Forbidden", "ferry: your address may not use this proxy.\n");
    return;
  }
  const timeval deadline = net::toTimeval(settings_->timeouts.client_header.count());
  evtimer_add(timer_.get(), &deadline);
}

void ClientSession::drain() {
  if (state_ == State::Reading && !received_)
    transition(State::Done);
}

void ClientSession::respondAndClose(int status, const char* reason, const char* body) {
  std::string msg = "HTTP/1.1 " + std::to_string(status) + " " + reason +
                    "\r\nContent-Type: text/plain\r\nContent-Length: " +
                    std::to_string(std::char_traits<char>::length(body)) +
                    "\r\nConnection: close\r\n\r\n" + body;
  bufferevent_write(bev_.get(), msg.data(), msg.size());
  transition(State::Flushing);
}

void ClientSession::transition(State next) {
  state_ = next;
  switch (next) {
  case State::Reading:
    break;
  case State::Flushing:
    // onWrite fires once the output buffer has drained to the kernel.
    if (evbuffer_get_length(bufferevent_get_output(bev_.get())) == 0)
      transition(State::Lingering);
    break;
  case State::Lingering: {
    ::shutdown(bufferevent_getfd(bev_.get()), SHUT_WR);
    const timeval linger = net::toTimeval(LingerMs);
    evtimer_add(timer_.get(), &linger);
    break;
  }
  case State::Done:
    evtimer_del(timer_.get());
    bufferevent_disable(bev_.get(), EV_READ | EV_WRITE);
    bev_.reset();
    worker_.release(this);
    break;
  }
}

void ClientSession::onRead(bufferevent* bev, void* arg) noexcept {
  auto* self = static_cast<ClientSession*>(arg);
  evbuffer* in = bufferevent_get_input(bev);
  if (self->state_ != State::Reading) {
    evbuffer_drain(in, evbuffer_get_length(in));
    return;
  }
  self->received_ = true;
  evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, nullptr);
  if (end.pos >= 0)
    self->respondAndClose(501, "Not Implemented", "ferry: proxying is not implemented yet.\n");
}

void ClientSession::onWrite(bufferevent*, void* arg) noexcept {
  auto* self = static_cast<ClientSession*>(arg);
  if (self->state_ == State::Flushing)
    self->transition(State::Lingering);
}

void ClientSession::onEvent(bufferevent*, short, void* arg) noexcept {
  // EOF or error from the client: nothing more can be delivered either way.
  static_cast<ClientSession*>(arg)->transition(State::Done);
}

void ClientSession::onTimer(evutil_socket_t, short, void* arg) noexcept {
  auto* self = static_cast<ClientSession*>(arg);
  if (self->state_ == State::Reading)
    spdlog::info("client {}: no complete request head within {} ms", self->peer_.toString(),
                 self->settings_->timeouts.client_header.count());
  self->transition(State::Done);
}

} // namespace ferry::proxy
