// IdleSessions: joining, leaving and resting from the two lists.
#include "idle_sessions.h"

#include "client_session.h"

namespace ferry::proxy {

void IdleSessions::Link::unlink() {
  prev_->next_ = next_;
  next_->prev_ = prev_;
  prev_ = next_ = nullptr;
}

void IdleSessions::Head::append(Link& link) {
  link.prev_ = prev_;
  link.next_ = this;
  prev_->next_ = &link;
  prev_ = &link;
}

void IdleSessions::Head::takeAll(Head& from) {
  if (from.isEmpty())
    return;
  from.next_->prev_ = prev_;
  prev_->next_ = from.next_;
  from.prev_->next_ = this;
  prev_ = from.prev_;
  from.prev_ = from.next_ = &from;
}

IdleSessions::IdleSessions(std::size_t most_awake, event_base* base, timeval tick)
    : most_awake_(most_awake), tick_(evtimer_new(base, &IdleSessions::onTick, this)),
      tick_interval_(tick) {
  FERRY_ASSERT(tick_);
}

void IdleSessions::add(ClientSession& session) {
  remove(session);
  if (fresh_.isEmpty() && !stopped_)
    evtimer_add(tick_.get(), &tick_interval_);
  fresh_.append(session);
  ++linked_;
  while (linked_ > most_awake_ && !(settled_.isEmpty() && recent_.isEmpty()))
    offerRest(settled_.isEmpty() ? *recent_.next_ : *settled_.next_);
}

void IdleSessions::remove(ClientSession& session) {
  Link& link = session;
  if (link.next_ == nullptr)
    return;
  link.unlink();
  --linked_;
}

void IdleSessions::offerRest(Link& link) {
  link.unlink();
  --linked_;
  static_cast<ClientSession&>(link).restIfIdle();
}

void IdleSessions::sweep() {
  while (!settled_.isEmpty())
    offerRest(*settled_.next_);
  settled_.takeAll(recent_);
  settled_.takeAll(fresh_);
}

void IdleSessions::stop() {
  stopped_ = true;
  evtimer_del(tick_.get());
}

void IdleSessions::onTick(evutil_socket_t, short, void* arg) noexcept {
  auto* self = static_cast<IdleSessions*>(arg);
  self->recent_.takeAll(self->fresh_);
}

} // namespace ferry::proxy
