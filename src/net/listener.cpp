// Listener: evconnlistener plus the pause after a failed accept().
#include "ferry/net/listener.h"

#include "ferry/core/assert.h"
#include "ferry/core/counters.h"
#include "ferry/net/socket.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace ferry::net {

// Backlog 0 tells libevent the socket is listening already: -1 would make it call listen()
// again with 128, shrinking the configured accept queue.
Listener::Listener(event_base* base, int fd, Accept accept)
    : address_(localAddress(fd)), accept_(std::move(accept)),
      listener_(evconnlistener_new(base, &Listener::onAccept, this,
                                   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd)),
      resume_(evtimer_new(base, &Listener::onResume, this)) {
  FERRY_ASSERT(listener_ && resume_);
  evconnlistener_set_error_cb(listener_.get(), &Listener::onError);
}

void Listener::setAccepting(bool accepting) {
  wanted_ = accepting;
  apply();
}

void Listener::onAccept(evconnlistener*, evutil_socket_t fd, sockaddr* sa, int len,
                        void* arg) noexcept {
  static_cast<Listener*>(arg)->accept_(fd, Address(sa, static_cast<socklen_t>(len)));
}

// libevent calls this for the accept() errors it does not retry itself (it does EAGAIN,
// EINTR and ECONNABORTED), chiefly EMFILE, ENFILE, ENOBUFS and ENOMEM. The connection stays
// queued, so an enabled listener would fire again at once and fail again, at full CPU.
void Listener::onError(evconnlistener*, void* arg) noexcept {
  static_cast<Listener*>(arg)->pause(EVUTIL_SOCKET_ERROR());
}

void Listener::onResume(evutil_socket_t, short, void* arg) noexcept {
  auto* self = static_cast<Listener*>(arg);
  self->paused_ = false;
  self->apply();
}

void Listener::pause(int error) {
  core::count(core::Counter::AcceptPauses);
  spdlog::warn("accept on {}: {}; not accepting for {} ms", address_.toString(),
               evutil_socket_error_to_string(error), PauseAfterError.count());
  paused_ = true;
  apply();
  const timeval delay = toTimeval(PauseAfterError.count());
  evtimer_add(resume_.get(), &delay);
}

void Listener::apply() {
  if (wanted_ && !paused_)
    evconnlistener_enable(listener_.get());
  else
    evconnlistener_disable(listener_.get());
}

} // namespace ferry::net
