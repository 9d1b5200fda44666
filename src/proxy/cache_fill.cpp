// Cache updates from origin responses.
#include "cache_fill.h"

namespace ferry::proxy {

namespace {

bool hasPerClientField(const http::Headers& headers) {
  for (const http::Field field : headers)
    if (cache::policy::isPerClientField(field.name))
      return true;
  return false;
}

} // namespace

std::unique_ptr<cache::EntryWriter>
beginStoring(cache::Store& store, const cache::Settings& settings, const std::string& key,
             const http::RequestHead& request, const http::ResponseHead& response,
             http::Framing framing, std::chrono::system_clock::time_point request_time,
             std::chrono::system_clock::time_point now, cache::policy::StoreDecision& decision) {
  decision = framing.codings.empty() ? cache::policy::storability(request, response, settings)
                                     : cache::policy::StoreDecision::TransferCoded;
  // A Range request on a miss goes to the origin as is; its answer is not stored.
  if (decision != cache::policy::StoreDecision::Store || request.headers.has("Range"))
    return nullptr;
  http::ResponseHead stored = response;
  cache::policy::removeUnstorableFields(stored.headers, settings);
  cache::EntryInit init;
  init.key = key;
  init.secondary_key = cache::policy::varyKey(response.headers, request.headers).value_or("");
  init.head = std::move(stored);
  init.request_time = request_time;
  init.response_time = now;
  if (framing.kind == http::Framing::Length)
    init.content_length = framing.length;
  return store.insert(std::move(init));
}

std::shared_ptr<const cache::Entry> freshenStored(
    cache::Store& store, const cache::Settings& settings, const http::RequestHead& request,
    const std::shared_ptr<const cache::Entry>& stale, const http::ResponseHead& not_modified,
    std::chrono::system_clock::time_point request_time, std::chrono::system_clock::time_point now) {
  namespace policy = cache::policy;
  // §4.3.4, and §4.3.5 for a 200 to HEAD, which updates like a 304 or removes the response.
  if (request.isMethod("HEAD") && not_modified.status == 200 &&
      stale->state() == cache::EntryState::Complete) {
    if (!policy::headUpdates(stale->head(), stale->bodySize(), not_modified)) {
      store.erase(*stale);
      return nullptr;
    }
  } else if (not_modified.status != 304 || !policy::canFreshen(stale->head(), not_modified)) {
    return nullptr;
  }
  http::ResponseHead shared = stale->head();
  policy::freshen(shared, not_modified, now, settings);
  http::ResponseHead answer = policy::withClientFields(shared, not_modified);
  switch (policy::freshenOutcome(request, shared, settings)) {
  case policy::FreshenOutcome::Update: {
    auto updated = store.updateHead(stale, std::move(shared), request_time, now);
    if (!hasPerClientField(not_modified.headers))
      return updated; // what this client gets is what everybody gets
    break;
  }
  case policy::FreshenOutcome::Remove:
    store.erase(*stale);
    break;
  case policy::FreshenOutcome::ServeOnly:
    break;
  }
  return cache::withHead(*stale, std::move(answer), request_time, now);
}

} // namespace ferry::proxy
