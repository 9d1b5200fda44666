// Spliced body relay: one net::SpliceRelay, driven by edge-triggered events on the two
// sockets (their bufferevents are stopped meanwhile: libevent does not mix edge- and
// level-triggered events on one descriptor). The origin's is watched only while the relay
// wants its bytes (net::SpliceRelay::Pass::read_wanted).
#include "body_splice.h"

#include "ferry/core/assert.h"
#include "ferry/core/counters.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

namespace ferry::proxy {

std::unique_ptr<BodySplice> BodySplice::start(event_base* base, net::PipePool& pipes, int origin_fd,
                                              int client_fd, evbuffer* client_queue,
                                              std::uint64_t left, const Timeouts& timeouts,
                                              std::function<void(End)> done) {
  if (!(event_base_get_features(base) & EV_FEATURE_ET))
    return nullptr;
  std::unique_ptr<BodySplice> splice(
      new BodySplice(pipes, origin_fd, client_fd, client_queue, left, timeouts, std::move(done)));
  splice->readable_.reset(
      event_new(base, origin_fd, EV_READ | EV_PERSIST | EV_ET, &BodySplice::onReady, splice.get()));
  splice->writable_.reset(event_new(base, client_fd, EV_WRITE | EV_PERSIST | EV_ET,
                                    &BodySplice::onReady, splice.get()));
  splice->timer_.reset(evtimer_new(base, &BodySplice::onTimeout, splice.get()));
  FERRY_ASSERT(splice->readable_ && splice->writable_ && splice->timer_);
  event_add(splice->readable_.get(), nullptr);
  event_add(splice->writable_.get(), nullptr);
  splice->armTimer();
  event_active(splice->readable_.get(), EV_READ, 0); // the first pass, from the loop
  return splice;
}

BodySplice::BodySplice(net::PipePool& pipes, int origin_fd, int client_fd, evbuffer* client_queue,
                       std::uint64_t left, const Timeouts& timeouts, std::function<void(End)> done)
    : relay_(pipes, left), origin_fd_(origin_fd), client_fd_(client_fd),
      client_queue_(client_queue), queued_(evbuffer_get_length(client_queue)), timeouts_(timeouts),
      done_(std::move(done)) {
  net::takeOutput(client_queue, relay_.pending());
}

std::uint64_t BodySplice::bodyBytesOut() const {
  return relay_.bytesOut() > queued_ ? relay_.bytesOut() - queued_ : 0;
}

BodySplice::~BodySplice() = default;

void BodySplice::onReady(evutil_socket_t, short, void* arg) noexcept {
  static_cast<BodySplice*>(arg)->pump();
}

void BodySplice::onTimeout(evutil_socket_t, short, void* arg) noexcept {
  auto* self = static_cast<BodySplice*>(arg);
  self->finish(self->relay_.flushed() ? End::OriginTimeout : End::ClientTimeout);
}

void BodySplice::pump() {
  if (finished_)
    return;
  const net::SpliceRelay::Pass pass = relay_.pump(origin_fd_, client_fd_);
  switch (pass.status) {
  case net::SpliceRelay::Status::Done:
    finish(relay_.sawEof() ? End::OriginCut : End::Whole);
    return;
  case net::SpliceRelay::Status::Unsupported:
    if (relay_.bytesIn() == 0) {
      relay_.moveTo(client_queue_);
      finish(End::Unsupported);
    } else {
      finish(End::OriginCut);
    }
    return;
  case net::SpliceRelay::Status::Failed:
    finish(pass.at_source ? End::OriginCut : End::ClientGone);
    return;
  case net::SpliceRelay::Status::Open:
    break;
  }
  if (!net::setAdded(readable_.get(), pass.read_wanted)) {
    spdlog::error("spliced body: the origin's socket cannot be watched: {}", std::strerror(errno));
    finish(End::OriginCut);
    return;
  }
  if (pass.busy)
    event_active(readable_.get(), EV_READ, 0);
  if (pass.moved)
    armTimer();
}

// Waiting for the client while bytes wait for it, for the origin otherwise.
void BodySplice::armTimer() {
  const Duration wait = relay_.flushed() ? timeouts_.origin_response : timeouts_.client_idle;
  const timeval tv = net::toTimeval(wait.count());
  evtimer_add(timer_.get(), &tv);
}

void BodySplice::finish(End end) {
  if (finished_)
    return;
  finished_ = true;
  // Deleted, not freed: this runs inside one of them.
  event_del(readable_.get());
  event_del(writable_.get());
  evtimer_del(timer_.get());
  if (end != End::Unsupported)
    core::count(core::Counter::BodiesSpliced);
  done_(end);
}

} // namespace ferry::proxy
