// Background revalidation for stale-while-revalidate.
#include "background_refresh.h"

#include "cache_fill.h"
#include "worker.h"

#include "ferry/cache/policy.h"
#include "ferry/core/counters.h"
#include "ferry/http/framing.h"
#include "ferry/http/hop_by_hop.h"
#include "ferry/http/serializer.h"

#include <event2/buffer.h>
#include <spdlog/spdlog.h>

namespace ferry::proxy {

BackgroundRefresh::BackgroundRefresh(Worker& worker, std::shared_ptr<const Settings> settings,
                                     http::RequestHead request, http::Target target,
                                     std::string key, std::shared_ptr<const cache::Entry> stale,
                                     std::function<void()> done)
    : worker_(worker), settings_(std::move(settings)), request_(std::move(request)),
      target_(std::move(target)), key_(std::move(key)), stale_(std::move(stale)),
      done_(std::move(done)), parser_(settings_->http.limits) {}

void BackgroundRefresh::start() {
  ticket_ = worker_.store().joinFetch(key_);
  if (!ticket_.isLeader()) { // the Key is being fetched already: that fetch refreshes it
    end(false);
    return;
  }
  request_ = cache::policy::backgroundRevalidation(request_, stale_->head());
  http::appendVia(request_.headers, request_.version_major, request_.version_minor,
                  settings_->http.via_pseudonym);
  if (auto pooled = worker_.pool().take("http://" + target_.authority())) {
    core::count(core::Counter::OriginConnectionsReused);
    send(std::move(pooled));
    return;
  }
  connect_ = worker_.connector().connect(
      target_.host, target_.port, settings_->timeouts.origin_connect,
      [this](net::ConnectResult result) {
        if (result.fd < 0) {
          spdlog::info("background revalidation of {}: {}", key_, result.error);
          end(false);
          return;
        }
        core::count(core::Counter::OriginConnectionsOpened);
        send(std::make_unique<OriginConnection>(worker_.base(), result.fd,
                                                "http://" + target_.authority(), result.peer));
      });
}

void BackgroundRefresh::send(std::unique_ptr<OriginConnection> origin) {
  origin_ = std::move(origin);
  origin_->beginUse();
  request_time_ = std::chrono::system_clock::now();
  bufferevent* bev = origin_->bev();
  bufferevent_setcb(bev, &BackgroundRefresh::onRead, nullptr, &BackgroundRefresh::onEvent, this);
  const timeval wait = net::toTimeval(settings_->timeouts.origin_response.count());
  bufferevent_set_timeouts(bev, &wait, &wait);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
  const std::string bytes = http::serializeRequestHead(request_, target_);
  core::count(core::Counter::OriginBytesOut, bytes.size());
  bufferevent_write(bev, bytes.data(), bytes.size());
}

void BackgroundRefresh::onRead(bufferevent*, void* arg) noexcept {
  static_cast<BackgroundRefresh*>(arg)->parse();
}

void BackgroundRefresh::onEvent(bufferevent*, short what, void* arg) noexcept {
  auto* self = static_cast<BackgroundRefresh*>(arg);
  self->parse();
  if (self->ended_)
    return;
  if ((what & BEV_EVENT_EOF) && self->parser_.finish().event == http::Event::MessageEnd) {
    if (self->writer_)
      self->writer_->complete();
    self->end(false);
    return;
  }
  self->end(false); // timeout, reset or truncated: whatever was stored is abandoned
}

void BackgroundRefresh::parse() {
  evbuffer* in = bufferevent_get_input(origin_->bev());
  while (!ended_) {
    std::string_view input;
    if (evbuffer_get_length(in) > 0) {
      evbuffer_iovec chunk;
      evbuffer_peek(in, -1, nullptr, &chunk, 1);
      input = {static_cast<const char*>(chunk.iov_base), chunk.iov_len};
    }
    const http::Step step = parser_.parse(input);
    core::count(core::Counter::OriginBytesIn, step.consumed);
    if (step.event == http::Event::Body && writer_ && !writer_->append(step.body))
      writer_.reset();
    evbuffer_drain(in, step.consumed);
    switch (step.event) {
    case http::Event::NeedMore:
      if (evbuffer_get_length(in) == 0)
        return;
      break;
    case http::Event::Head: {
      http::ResponseHead& head = parser_.head();
      if (head.isInterim())
        break;
      const bool stray_body = http::announcesForbiddenBody(request_.method, head);
      const auto options = http::stripHopByHop(head.headers);
      origin_keep_ = http::wantsPersistent(options, head.version_major, head.version_minor) &&
                     parser_.framing().kind != http::Framing::UntilClose && !stray_body;
      const bool freshened = freshenStored(worker_.store(), worker_.cacheSettings(), request_,
                                           stale_, head, request_time_) != nullptr;
      if (!freshened) {
        cache::policy::StoreDecision decision = cache::policy::StoreDecision::Store;
        writer_ = beginStoring(worker_.store(), worker_.cacheSettings(), key_, request_, head,
                               parser_.framing(), request_time_, decision);
      }
      // Followers look the Key up again after publish(), and fetch themselves after giveUp().
      freshened || writer_ ? ticket_.publish() : ticket_.giveUp();
      break;
    }
    case http::Event::Body:
      break;
    case http::Event::MessageEnd:
      if (writer_)
        writer_->complete();
      end(origin_keep_);
      return;
    case http::Event::Error:
      end(false);
      return;
    }
  }
}

void BackgroundRefresh::end(bool origin_reusable) {
  if (ended_)
    return;
  ended_ = true;
  connect_ = {};
  writer_.reset(); // abandons an incomplete Entry
  ticket_ = {};
  if (origin_) {
    bufferevent_setcb(origin_->bev(), nullptr, nullptr, nullptr, nullptr);
    if (origin_reusable)
      worker_.pool().put(std::move(origin_), *settings_);
    origin_.reset();
  }
  done_();
}

} // namespace ferry::proxy
