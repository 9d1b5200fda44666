// Background revalidation for stale-while-revalidate.
#include "background_refresh.h"

#include "cache_fill.h"
#include "origin_request.h"
#include "worker.h"

#include "ferry/cache/policy.h"
#include "ferry/http/serializer.h"

#include <limits>

#include <spdlog/spdlog.h>

namespace ferry::proxy {

BackgroundRefresh::BackgroundRefresh(Worker& worker, std::shared_ptr<const Settings> settings,
                                     const http::RequestHead& request, http::Target target,
                                     std::string key, std::shared_ptr<const cache::Entry> stale,
                                     std::function<void()> done)
    : worker_(worker), settings_(std::move(settings)),
      request_(
          originRequest(cache::policy::backgroundRevalidation(request, stale->head()),
                        {{http::Framing::None, 0}, {}, nullptr, settings_->http.via_pseudonym})),
      target_(std::move(target)), key_(std::move(key)), stale_(std::move(stale)),
      done_(std::move(done)), room_(worker_.base(), [this] { onStoreRoom(); }) {}

BackgroundRefresh::~BackgroundRefresh() = default;

void BackgroundRefresh::start() {
  ticket_ = worker_.store().joinFetch(key_);
  if (!ticket_.isLeader()) { // the Key is being fetched already: that fetch refreshes it
    end();
    return;
  }
  OriginExchange::Request request;
  request.target = target_;
  request.head = request_;
  request.hops =
      nextHops(settings_->upstream, target_.host, worker_.parentHealth(), worker_.clock().steady());
  if (request.hops.empty()) {
    end();
    return;
  }
  request.connect_timeout = settings_->timeouts.origin_connect;
  exchange_ = std::make_unique<OriginExchange>(worker_, *settings_, static_cast<Owner&>(*this),
                                               std::move(request));
  exchange_->start();
}

void BackgroundRefresh::onHead(http::ResponseHead& head, http::Framing framing,
                               const http::ConnectionOptions&) {
  const bool freshened =
      freshenStored(worker_.store(), worker_.cacheSettings(), request_, stale_, head,
                    exchange_->requestTime(), worker_.clock().wall()) != nullptr;
  if (!freshened) {
    cache::policy::StoreDecision decision = cache::policy::StoreDecision::Store;
    writer_ = beginStoring(worker_.store(), worker_.cacheSettings(), key_, request_, head, framing,
                           exchange_->requestTime(), worker_.clock().wall(), decision);
  }
  // Followers look the Key up again after publish(), and fetch themselves after giveUp().
  freshened || writer_ ? ticket_.publish() : ticket_.giveUp();
}

void BackgroundRefresh::onBody(std::string_view data) {
  if (!writer_)
    return;
  if (!writer_->append(data)) {
    writer_.reset();
    end(); // nothing more to store: the rest of the body is not worth fetching
    return;
  }
  // This writer's own client, which needs none of the body: what it keeps for its client
  // is let go at once.
  read_chunks_ +=
      writer_->read(read_chunks_, std::numeric_limits<std::size_t>::max()).chunks.size();
  room_.holdIfFull(*writer_, *exchange_);
}

void BackgroundRefresh::onStoreRoom() {
  if (!ended_ && writer_)
    room_.resumeOrWait(*writer_, *exchange_);
}

void BackgroundRefresh::onEnd() {
  if (writer_)
    writer_->complete();
  end();
}

void BackgroundRefresh::onFailed(const OriginExchange::Failure& failure) {
  spdlog::info("background revalidation of {}: {}", key_, failure.why);
  end(); // whatever was stored is abandoned
}

void BackgroundRefresh::end() {
  if (ended_)
    return;
  ended_ = true;
  writer_.reset(); // abandons an incomplete Entry
  ticket_ = {};
  done_();
}

} // namespace ferry::proxy
