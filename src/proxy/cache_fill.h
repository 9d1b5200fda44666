// The two ways an origin response updates the cache, shared by client transactions and
// background revalidations: storing a new response while it streams in (RFC 9111 §3), and
// freshening a stored one with a 304 (§3.2, §4.3.4).
#pragma once

#include "ferry/cache/policy.h"
#include "ferry/cache/store.h"
#include "ferry/http/framing.h"
#include "ferry/http/message.h"

#include <chrono>
#include <memory>
#include <string>

namespace ferry::proxy {

// A writer filling a new Entry for `response` (hop-by-hop fields already removed, received
// at `now`) to `request`, or null when it may not be stored — `decision` then says why (Store when
// the store itself refused, e.g. too large). A Range request's answer is never stored. The stored
// head lacks what policy::removeUnstorableFields removes under `settings`.
std::unique_ptr<cache::EntryWriter>
beginStoring(cache::Store& store, const cache::Settings& settings, const std::string& key,
             const http::RequestHead& request, const http::ResponseHead& response,
             http::Framing framing, std::chrono::system_clock::time_point request_time,
             std::chrono::system_clock::time_point now, cache::policy::StoreDecision& decision);

// The response to serve for `request` after the 304 `not_modified` (received at `now`)
// revalidated `stale`: the
// stored head freshened by it, with the 304's per-client fields (Set-Cookie...). The store
// takes the freshened head without those fields, removes `stale` when the new head forbids
// storing it, or keeps `stale` as it was when the 304 belongs to `request` alone
// (policy::freshenOutcome). A 200 to a HEAD request does the same when policy::headUpdates
// says it describes `stale`, and removes `stale` when it does not. Null when `not_modified`
// does not identify `stale` (a 304: then it must be fetched again) or is no update at all.
std::shared_ptr<const cache::Entry> freshenStored(
    cache::Store& store, const cache::Settings& settings, const http::RequestHead& request,
    const std::shared_ptr<const cache::Entry>& stale, const http::ResponseHead& not_modified,
    std::chrono::system_clock::time_point request_time, std::chrono::system_clock::time_point now);

} // namespace ferry::proxy
