// Settings of the cache module, filled by config from the `cache` key.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace re2 {
class RE2;
} // namespace re2

namespace ferry::cache {

// A refresh rule, like Squid's refresh_pattern: how long a response whose URI matches may be
// considered fresh when the origin gave no explicit freshness (RFC 9111 §4.2.2 heuristics).
// lifetime = clamp(percent × (Date − Last-Modified), min, max), or min without Last-Modified.
struct RefreshRule {
  std::string pattern;      // as written in the config, for messages
  bool ignore_case = false; // Squid's -i
  // Compiled `pattern` (RE2: time linear in the URI's length, whatever the pattern),
  // searched anywhere in the cache key. Set by config; shared and immutable, so rules copy
  // cheaply.
  std::shared_ptr<const re2::RE2> regex;
  std::chrono::seconds min{0};                          // lifetime floor
  unsigned percent = 20;                                // of the time since Last-Modified, 0..1000
  std::chrono::seconds max{std::chrono::hours(24) * 3}; // lifetime ceiling, ≥ min
};

// What the cache does with a response that sets a cookie (Set-Cookie, Set-Cookie2): such a
// response is almost always meant for one user.
enum class SetCookie {
  Strip,  // stored, but the cookie fields are never served from the cache: only the client
          // whose request fetched the response gets them (Squid, Traffic Server)
  Refuse, // not stored (nginx, Varnish)
  Store,  // stored and served with the fields, as RFC 9111 §3 allows a shared cache
};

// The disk tier (disk_store.h), behind the memory store. Off when path is empty.
struct DiskSettings {
  // What survives a power loss (a crash of ferry alone loses nothing stored either way).
  // Commit: each body is fsynced before its record is committed, and each commit is
  // synced: nothing indexed is lost. None: bodies are left to the kernel's writeback and the
  // index is synced once per commit without its last page, so a power loss may undo the last
  // commit and lose recent bodies; a lost body fails its check when read and is dropped.
  enum class Sync { None, Commit };

  std::string path;                                 // a directory of its own
  std::uint64_t size_bytes = 1024ull * 1024 * 1024; // budget: bodies and index records
  // Larger responses are not stored on disk. Responses larger than the memory tier's
  // max_object_bytes (announced by Content-Length) are streamed to disk alone.
  std::uint64_t max_object_bytes = 1024ull * 1024 * 1024;
  Sync sync = Sync::None;
};

struct Settings {
  std::size_t memory_bytes = 256 * 1024 * 1024;    // budget for entries, headers and index
  std::size_t max_object_bytes = 16 * 1024 * 1024; // larger responses are not stored
  // Vary variants kept per URI (RFC 9111 §4.1); storing one more evicts the least recently
  // used of them.
  std::size_t max_variants = 32;

  // RFC 9111 §4.2.2 heuristic freshness when no refresh rule matches: percent of the time since
  // Last-Modified, at most heuristic_max.
  unsigned heuristic_percent = 10;                            // 0..100
  std::chrono::seconds heuristic_max{std::chrono::hours(24)}; // 0 turns heuristics off
  // Tried in order; the first whose regex matches the URI applies.
  std::vector<RefreshRule> refresh_rules;
  SetCookie set_cookie = SetCookie::Strip;
  // RFC 9213 targeted cache-control fields this cache obeys, in order (e.g.
  // CDN-Cache-Control): the first one a response carries with a valid value replaces its
  // Cache-Control and Expires. Empty: Cache-Control alone (ferry is not a CDN).
  std::vector<std::string> targeted_fields;
  DiskSettings disk; // read at start only: a reload keeps the disk tier it has
};

} // namespace ferry::cache
