// Non-blocking name resolution for one worker's event loop: numeric literals, the hosts
// file, then DNS through libevent's evdns (A and AAAA in parallel), with a per-host cache
// that honours DNS TTLs within a floor and a cap. It never calls getaddrinfo() and never
// blocks; it does not connect (connector.h does) and takes no locks (one per worker).
#pragma once

#include "ferry/net/address.h"
#include "ferry/net/event_ptr.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct evdns_base;

namespace ferry::net {

// A pending Resolver or Connector operation. Destroying it, assigning over it or calling
// cancel() cancels the operation: its callback never runs afterwards. Safe to outlive the
// Resolver/Connector that issued it (it then does nothing). Loop thread only.
class Handle {
public:
  using CancelFn = std::function<void(uint64_t id)>;

  Handle() = default;
  Handle(std::weak_ptr<CancelFn> cancel, uint64_t id) : cancel_(std::move(cancel)), id_(id) {}
  Handle(Handle&& other) noexcept;
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { cancel(); }

  // Idempotent; a no-op once the callback has run.
  void cancel();

private:
  std::weak_ptr<CancelFn> cancel_;
  uint64_t id_ = 0;
};

struct ResolverSettings {
  std::chrono::seconds ttl_floor{5};    // answers are kept at least this long...
  std::chrono::seconds ttl_cap{300};    // ...and at most this long, whatever their TTL
  std::chrono::seconds negative_ttl{5}; // how long a failed lookup is remembered
  std::size_t max_entries = 10000;      // cache entries; expired ones are swept first
  std::string hosts_file = "/etc/hosts";
  std::string resolv_conf = "/etc/resolv.conf"; // nameservers and options (timeout, attempts)
};

class Resolver {
public:
  using Clock = std::chrono::steady_clock;
  // `addresses` have port 0, IPv6 and IPv4 interleaved with IPv6 first (RFC 8305 §4);
  // `error` is empty on success and otherwise a short reason for a 502 body, in which
  // case `addresses` is empty.
  using Done = std::function<void(std::vector<Address> addresses, std::string error)>;

  // Reads the hosts file and resolv.conf once, here (never on the data path). A missing
  // or unusable resolv.conf logs a warning: numeric and hosts-file names still resolve,
  // other names fail at once. `base` must outlive the Resolver.
  Resolver(event_base* base, ResolverSettings settings);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Resolves `host` ("example.com", "127.0.0.1", "::1" or "[::1]"). `done` runs exactly
  // once on the loop thread, never inside this call, unless the Handle cancels it first.
  // Concurrent lookups of one name share one pair of DNS queries.
  [[nodiscard]] Handle resolve(std::string_view host, Done done);

  // The clock cache expiry reads; tests move it instead of sleeping.
  void setClockForTest(std::function<Clock::time_point()> now) { now_ = std::move(now); }

private:
  struct Query;
  struct Lookup;
  struct CacheEntry {
    std::vector<Address> addresses;
    std::string error;
    Clock::time_point expires;
  };
  struct Ready {
    uint64_t id;
    std::vector<Address> addresses;
    std::string error;
  };

  void cancel(uint64_t id);
  void startLookup(const std::string& host, uint64_t id);
  void sendQuery(Lookup& lookup, int family);
  void onAnswer(Query& query, int result, int count, uint32_t ttl, const void* addresses);
  void finishLookup(Lookup& lookup);
  void answerWaiters(std::vector<uint64_t> ids, const std::vector<Address>& addresses,
                     const std::string& error);
  void answerLater(uint64_t id, std::vector<Address> addresses, std::string error);
  void store(const std::string& host, std::vector<Address> addresses, std::string error,
             std::chrono::seconds ttl);
  void loadHosts();

  static void onAnswerEvent(int result, char type, int count, int ttl, void* addresses,
                            void* arg) noexcept;
  static void onReadyEvent(evutil_socket_t, short, void* arg) noexcept;
  static void onResolutionDelay(evutil_socket_t, short, void* arg) noexcept;

  event_base* base_;
  ResolverSettings settings_;
  evdns_base* dns_ = nullptr;
  bool has_nameservers_ = false;
  std::function<Clock::time_point()> now_ = [] { return Clock::now(); };
  std::unordered_map<std::string, std::vector<Address>> hosts_;
  std::unordered_map<std::string, CacheEntry> cache_;
  std::unordered_map<std::string, std::unique_ptr<Lookup>> lookups_;
  std::unordered_map<uint64_t, Done> waiters_; // id -> callback, until answered or cancelled
  std::vector<Ready> ready_;                   // answers waiting for ready_event_ to run
  EventPtr ready_event_;
  uint64_t next_id_ = 1;
  std::shared_ptr<Handle::CancelFn> canceller_;
};

} // namespace ferry::net
