// Name resolution on a worker's loop: literals, hosts file, cache, then evdns A + AAAA.
#include "ferry/net/resolver.h"

#include "ferry/core/assert.h"

#include <arpa/inet.h>
#include <event2/dns.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <optional>
#include <sstream>

namespace ferry::net {
namespace {

// RFC 8305 §3: once one family has answered, wait this long for the other before
// handing out what we have (the lookup keeps running and caches both).
constexpr std::chrono::milliseconds ResolutionDelay{50};

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

Address fromIpv4(const in_addr& addr) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr = addr;
  return Address(reinterpret_cast<const sockaddr*>(&sin), sizeof(sin));
}

Address fromIpv6(const in6_addr& addr) {
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_addr = addr;
  return Address(reinterpret_cast<const sockaddr*>(&sin6), sizeof(sin6));
}

// "127.0.0.1", "::1" or "[::1]"; nullopt for anything that is not an IP literal.
std::optional<Address> parseLiteral(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const std::string text(host);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1)
    return fromIpv4(v4);
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1)
    return fromIpv6(v6);
  return std::nullopt;
}

// RFC 8305 §4: alternate families, IPv6 first, each family in its given order.
std::vector<Address> interleave(const std::vector<Address>& v6, const std::vector<Address>& v4) {
  std::vector<Address> out;
  out.reserve(v6.size() + v4.size());
  for (std::size_t i = 0; i < std::max(v6.size(), v4.size()); ++i) {
    if (i < v6.size())
      out.push_back(v6[i]);
    if (i < v4.size())
      out.push_back(v4[i]);
  }
  return out;
}

std::vector<Address> interleave(const std::vector<Address>& mixed) {
  std::vector<Address> v6;
  std::vector<Address> v4;
  for (const auto& a : mixed)
    (a.family() == AF_INET6 ? v6 : v4).push_back(a);
  return interleave(v6, v4);
}

} // namespace

// ---- Handle ----

Handle::Handle(Handle&& other) noexcept : cancel_(std::move(other.cancel_)), id_(other.id_) {
  other.cancel_.reset();
}

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    cancel();
    cancel_ = std::move(other.cancel_);
    id_ = other.id_;
    other.cancel_.reset();
  }
  return *this;
}

void Handle::cancel() {
  auto fn = cancel_.lock();
  cancel_.reset();
  if (fn)
    (*fn)(id_);
}

// ---- Resolver ----

// One evdns query (A or AAAA). evdns calls back exactly once for every query it accepted,
// even a cancelled one, so the callback owns and deletes it; `owner` is cleared when the
// Resolver goes away first.
struct Resolver::Query {
  Resolver* owner = nullptr;
  Lookup* lookup = nullptr;
  int family = AF_UNSPEC;
  evdns_request* request = nullptr;
};

// All callers waiting on one name, and the two queries answering them.
struct Resolver::Lookup {
  Resolver* owner = nullptr;
  std::string host;
  Query* aaaa = nullptr; // in flight while non-null
  Query* a = nullptr;
  std::vector<Address> v6;
  std::vector<Address> v4;
  std::optional<uint32_t> ttl; // seconds, smallest over the answers with addresses
  int dns_error = DNS_ERR_NONE;
  std::vector<uint64_t> waiters;
  bool answered_early = false; // waiters already got one family (resolution delay)
  EventPtr delay;

  Query*& slot(int family) { return family == AF_INET6 ? aaaa : a; }
  bool isDone() const { return aaaa == nullptr && a == nullptr; }
};

Resolver::Resolver(event_base* base, ResolverSettings settings)
    : base_(base), settings_(std::move(settings)),
      canceller_(std::make_shared<Handle::CancelFn>([this](uint64_t id) { cancel(id); })) {
  ready_event_.reset(event_new(base_, -1, 0, &Resolver::onReadyEvent, this));
  FERRY_ASSERT(ready_event_);
  dns_ = evdns_base_new(base_, 0);
  FERRY_ASSERT(dns_ != nullptr);
  // No search list: like Squid (dns_defnames off), a proxy resolves the name the client
  // sent, not names relative to the proxy's own domain.
  const int rc = evdns_base_resolv_conf_parse(
      dns_, DNS_OPTION_NAMESERVERS | DNS_OPTION_MISC | DNS_OPTION_NAMESERVERS_NO_DEFAULT,
      settings_.resolv_conf.c_str());
  has_nameservers_ = evdns_base_count_nameservers(dns_) > 0;
  if (rc != 0 || !has_nameservers_)
    spdlog::warn("resolver: {} unusable (evdns code {}, {} nameservers); only IP literals and "
                 "{} names will resolve",
                 settings_.resolv_conf, rc, evdns_base_count_nameservers(dns_),
                 settings_.hosts_file);
  loadHosts();
}

Resolver::~Resolver() {
  for (auto& [host, lookup] : lookups_) {
    for (Query* query : {lookup->aaaa, lookup->a}) {
      if (query == nullptr)
        continue;
      query->owner = nullptr;
      evdns_cancel_request(dns_, query->request);
    }
  }
  evdns_base_free(dns_, 0);
}

// The hosts file is read once, like resolv.conf. Format: address, then names; '#' starts
// a comment. Names are case-insensitive.
void Resolver::loadHosts() {
  std::ifstream in(settings_.hosts_file);
  if (!in) {
    spdlog::warn("resolver: cannot read {}; only localhost is known locally", settings_.hosts_file);
    hosts_["localhost"] = {*parseLiteral("::1"), *parseLiteral("127.0.0.1")};
    return;
  }
  std::string line;
  while (std::getline(in, line)) {
    line = line.substr(0, line.find('#'));
    std::istringstream words(line);
    std::string literal;
    if (!(words >> literal))
      continue;
    auto address = parseLiteral(literal);
    if (!address || literal.front() == '[')
      continue;
    std::string name;
    while (words >> name) {
      auto& list = hosts_[lowercase(name)];
      if (std::find(list.begin(), list.end(), *address) == list.end())
        list.push_back(*address);
    }
  }
}

Handle Resolver::resolve(std::string_view host_in, Done done) {
  const uint64_t id = next_id_++;
  waiters_.emplace(id, std::move(done));
  Handle handle(canceller_, id);

  const std::string host = lowercase(host_in);
  if (host.empty()) {
    answerLater(id, {}, "cannot resolve an empty host name");
    return handle;
  }
  if (auto literal = parseLiteral(host)) {
    answerLater(id, {*literal}, {});
    return handle;
  }
  if (auto it = hosts_.find(host); it != hosts_.end()) {
    answerLater(id, interleave(it->second), {});
    return handle;
  }
  if (auto it = cache_.find(host); it != cache_.end()) {
    if (now_() < it->second.expires) {
      answerLater(id, it->second.addresses, it->second.error);
      return handle;
    }
    cache_.erase(it);
  }
  if (auto it = lookups_.find(host); it != lookups_.end()) {
    Lookup& lookup = *it->second;
    if (lookup.answered_early)
      answerLater(id, interleave(lookup.v6, lookup.v4), {});
    else
      lookup.waiters.push_back(id);
    return handle;
  }
  if (!has_nameservers_) {
    answerLater(id, {}, "cannot resolve " + host + ": no DNS nameservers configured");
    return handle;
  }
  startLookup(host, id);
  return handle;
}

void Resolver::cancel(uint64_t id) {
  // A cancelled waiter simply has no callback left; its lookup still completes and fills
  // the cache, which the next client for that name is likely to want.
  waiters_.erase(id);
}

void Resolver::startLookup(const std::string& host, uint64_t id) {
  auto owned = std::make_unique<Lookup>();
  Lookup& lookup = *owned;
  lookup.owner = this;
  lookup.host = host;
  lookup.waiters.push_back(id);
  lookup.delay.reset(evtimer_new(base_, &Resolver::onResolutionDelay, &lookup));
  FERRY_ASSERT(lookup.delay);
  lookups_.emplace(host, std::move(owned));
  sendQuery(lookup, AF_INET6);
  sendQuery(lookup, AF_INET);
  if (lookup.isDone()) // evdns refused both (a name evdns cannot encode, say)
    finishLookup(lookup);
}

void Resolver::sendQuery(Lookup& lookup, int family) {
  auto* query = new Query{this, &lookup, family, nullptr};
  // DNS_QUERY_NO_SEARCH: see the constructor.
  query->request = family == AF_INET6
                       ? evdns_base_resolve_ipv6(dns_, lookup.host.c_str(), DNS_QUERY_NO_SEARCH,
                                                 &Resolver::onAnswerEvent, query)
                       : evdns_base_resolve_ipv4(dns_, lookup.host.c_str(), DNS_QUERY_NO_SEARCH,
                                                 &Resolver::onAnswerEvent, query);
  if (query->request == nullptr) { // no callback will come for it
    delete query;
    if (lookup.dns_error == DNS_ERR_NONE)
      lookup.dns_error = DNS_ERR_FORMAT;
    return;
  }
  lookup.slot(family) = query;
}

void Resolver::onAnswerEvent(int result, char, int count, int ttl, void* addresses,
                             void* arg) noexcept {
  std::unique_ptr<Query> query(static_cast<Query*>(arg));
  if (query->owner != nullptr)
    query->owner->onAnswer(*query, result, count, static_cast<uint32_t>(ttl), addresses);
}

void Resolver::onAnswer(Query& query, int result, int count, uint32_t ttl, const void* addresses) {
  Lookup& lookup = *query.lookup;
  lookup.slot(query.family) = nullptr;
  if (result == DNS_ERR_NONE && count > 0) {
    for (int i = 0; i < count; ++i) {
      if (query.family == AF_INET6)
        lookup.v6.push_back(fromIpv6(static_cast<const in6_addr*>(addresses)[i]));
      else
        lookup.v4.push_back(fromIpv4(static_cast<const in_addr*>(addresses)[i]));
    }
    lookup.ttl = std::min(lookup.ttl.value_or(ttl), ttl);
  } else {
    const int error = result == DNS_ERR_NONE ? DNS_ERR_NODATA : result;
    // "does not exist" says the most; otherwise keep the first error seen.
    if (lookup.dns_error == DNS_ERR_NONE || error == DNS_ERR_NOTEXIST)
      lookup.dns_error = error;
  }

  if (lookup.isDone()) {
    finishLookup(lookup);
    return;
  }
  if (!lookup.answered_early && !(lookup.v6.empty() && lookup.v4.empty())) {
    const timeval delay = toTimeval(ResolutionDelay.count());
    evtimer_add(lookup.delay.get(), &delay);
  }
}

void Resolver::onResolutionDelay(evutil_socket_t, short, void* arg) noexcept {
  Lookup& lookup = *static_cast<Lookup*>(arg);
  lookup.answered_early = true;
  lookup.owner->answerWaiters(std::move(lookup.waiters), interleave(lookup.v6, lookup.v4), {});
  lookup.waiters.clear();
}

void Resolver::finishLookup(Lookup& lookup) {
  auto node = lookups_.extract(lookup.host);
  FERRY_ASSERT(!node.empty());
  std::vector<Address> addresses = interleave(lookup.v6, lookup.v4);
  std::string error;
  std::chrono::seconds ttl = settings_.negative_ttl;
  if (addresses.empty()) {
    error = "cannot resolve " + lookup.host + ": " + evdns_err_to_string(lookup.dns_error);
  } else {
    ttl = std::clamp(std::chrono::seconds(lookup.ttl.value_or(0)), settings_.ttl_floor,
                     std::max(settings_.ttl_floor, settings_.ttl_cap));
  }
  answerWaiters(std::move(lookup.waiters), addresses, error);
  store(lookup.host, std::move(addresses), std::move(error), ttl);
}

void Resolver::store(const std::string& host, std::vector<Address> addresses, std::string error,
                     std::chrono::seconds ttl) {
  if (ttl.count() <= 0)
    return;
  const auto now = now_();
  if (cache_.size() >= settings_.max_entries) {
    std::erase_if(cache_, [&](const auto& entry) { return entry.second.expires <= now; });
    if (cache_.size() >= settings_.max_entries && !cache_.empty())
      cache_.erase(cache_.begin()); // still full of live entries: drop an arbitrary one
  }
  if (settings_.max_entries > 0)
    cache_[host] = CacheEntry{std::move(addresses), std::move(error), now + ttl};
}

void Resolver::answerWaiters(std::vector<uint64_t> ids, const std::vector<Address>& addresses,
                             const std::string& error) {
  for (uint64_t id : ids)
    answerLater(id, addresses, error);
}

// Every answer goes through ready_event_, so no callback ever runs inside resolve() or
// inside an evdns callback that the caller might be tearing down.
void Resolver::answerLater(uint64_t id, std::vector<Address> addresses, std::string error) {
  ready_.push_back(Ready{id, std::move(addresses), std::move(error)});
  event_active(ready_event_.get(), EV_TIMEOUT, 0);
}

void Resolver::onReadyEvent(evutil_socket_t, short, void* arg) noexcept {
  auto& self = *static_cast<Resolver*>(arg);
  std::vector<Ready> batch;
  batch.swap(self.ready_);
  for (auto& ready : batch) {
    auto node = self.waiters_.extract(ready.id);
    if (node.empty()) // cancelled meanwhile
      continue;
    node.mapped()(std::move(ready.addresses), std::move(ready.error));
  }
}

} // namespace ferry::net
