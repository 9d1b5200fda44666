// DetachedFill: a fill carried on for the clients streaming its Entry after its own client left.
#include "detached_fill.h"

#include "ferry/core/counters.h"

#include <spdlog/spdlog.h>

namespace ferry::proxy {

DetachedFill::DetachedFill(event_base* base, std::shared_ptr<const Settings> settings,
                           std::unique_ptr<OriginExchange> exchange,
                           std::unique_ptr<cache::EntryWriter> writer, std::function<void()> done)
    : settings_(std::move(settings)), exchange_(std::move(exchange)), writer_(std::move(writer)),
      done_(std::move(done)), room_(base, [this] { onStoreRoom(); }) {}

DetachedFill::~DetachedFill() = default;

void DetachedFill::start() {
  exchange_->handOver(static_cast<Owner&>(*this), *settings_);
  onStoreRoom(); // at the origin's pace, whatever its client did, unless the disk is behind
}

void DetachedFill::onStoreRoom() {
  if (!ended_)
    room_.resumeOrWait(*writer_, *exchange_);
}

void DetachedFill::onBody(std::string_view data) {
  if (ended_)
    return;
  const bool watched = writer_->entry()->hasSubscribers();
  if (watched && writer_->append(data)) {
    room_.holdIfFull(*writer_, *exchange_);
    return;
  }
  if (!watched)
    core::count(core::Counter::CacheFillsStopped);
  // Nobody streams the Entry any more, or it was abandoned: the rest is not worth fetching.
  // The connection closes when this is destroyed, outside the exchange's callback.
  exchange_->pauseResponse();
  end();
}

void DetachedFill::onEnd() {
  if (!ended_)
    writer_->complete();
  end();
}

void DetachedFill::onFailed(const OriginExchange::Failure& failure) {
  spdlog::info("{}: response truncated after its client left: {}", writer_->entry()->key(),
               failure.why);
  end(); // the Entry is abandoned with the writer
}

void DetachedFill::end() {
  if (ended_)
    return;
  ended_ = true;
  writer_.reset(); // abandons an incomplete Entry
  done_();
}

} // namespace ferry::proxy
