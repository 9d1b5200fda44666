// Cache updates from origin responses.
#include "cache_fill.h"

namespace ferry::proxy {

std::unique_ptr<cache::EntryWriter>
beginStoring(cache::Store& store, const std::string& key, const http::RequestHead& request,
             const http::ResponseHead& response, http::Framing framing,
             std::chrono::system_clock::time_point request_time,
             std::chrono::system_clock::time_point now, cache::policy::StoreDecision& decision) {
  decision = cache::policy::storability(request, response);
  // A Range request on a miss goes to the origin as is; its answer is not stored.
  if (decision != cache::policy::StoreDecision::Store || request.headers.has("Range"))
    return nullptr;
  http::ResponseHead stored = response;
  cache::policy::removeUnstorableFields(stored.headers);
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

std::shared_ptr<const cache::Entry>
freshenStored(cache::Store& store, const std::shared_ptr<const cache::Entry>& stale,
              const http::ResponseHead& not_modified,
              std::chrono::system_clock::time_point request_time,
              std::chrono::system_clock::time_point now) {
  if (not_modified.status != 304 || !cache::policy::canFreshen(stale->head(), not_modified))
    return nullptr;
  http::ResponseHead head = stale->head();
  cache::policy::freshen(head, not_modified, now);
  return store.updateHead(stale, std::move(head), request_time, now);
}

} // namespace ferry::proxy
