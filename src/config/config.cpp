// Loads the YAML config file into each module's settings struct: the layout of the file
// (keys, defaults, ranges) lives here and is documented by config/ferry.yaml. Typed
// reading and problem collection are in reader.h; human units in units.h.
#include "ferry/config/config.h"

#include "reader.h"
#include "units.h"

#include "ferry/access/htpasswd.h"
#include "ferry/http/target.h"

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <system_error>
#include <thread>

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace ferry::config {

namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;
constexpr uint64_t MaxBytes = std::numeric_limits<std::size_t>::max();

constexpr uint64_t MaxWorkers = 256;
constexpr milliseconds MinTimeout = 1ms;
constexpr milliseconds MaxTimeout = 7 * 24h;
// Freshness lifetimes (refresh rules, heuristic_max): up to ten years.
constexpr milliseconds MaxFreshness = 3650 * 24h;

constexpr std::string_view DefaultListen = "127.0.0.1:3128";
constexpr std::string_view AddressExample = "127.0.0.1:3128 or \"[::1]:3128\"";

std::string quoted(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

std::vector<net::Cidr> loopbackNetworks() {
  return {*net::Cidr::parse("127.0.0.0/8"), *net::Cidr::parse("::1/128")};
}

// Destinations a client must not make ferry fetch (Squid's "deny to_localhost"): this host,
// the unspecified address (which reaches this host) and link-local, where cloud metadata
// services answer (169.254.169.254).
std::vector<net::Cidr> deniedDestinations() {
  std::vector<net::Cidr> out;
  for (const char* network :
       {"127.0.0.0/8", "0.0.0.0/8", "169.254.0.0/16", "::1/128", "::/128", "fe80::/10"})
    out.push_back(*net::Cidr::parse(network));
  return out;
}

// What a PAC file sends DIRECT by default: loopback, private and link-local ranges.
std::vector<net::Cidr> localNetworks() {
  std::vector<net::Cidr> networks;
  for (std::string_view text : {"127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                "169.254.0.0/16", "::1/128", "fc00::/7", "fe80::/10"})
    networks.push_back(*net::Cidr::parse(text));
  return networks;
}

unsigned coreCount() {
  return std::max(1u, std::thread::hardware_concurrency());
}

// What an empty file means. Where a struct's own default is empty but an empty value would
// be unsafe or useless (no listener, an open proxy), the default is set here.
Config defaults(const std::string& name) {
  Config config;
  config.source = name;
  config.proxy.listen.push_back(*net::Address::parse(DefaultListen));
  config.proxy.workers = coreCount();
  config.proxy.allowed_clients = loopbackNetworks();
  config.proxy.deny_destinations = deniedDestinations();
  config.admin.allowed = loopbackNetworks();
  config.admin.config_file = name;
  config.admin.pac.direct_networks = localNetworks();
  return config;
}

// Stores the value of `key` in `field` when the file sets it and `read` accepts it.
// Returns false when the key is set but wrong (the problem is already reported).
template <class T, class Read> bool set(const Map& map, std::string_view key, T& field, Read read) {
  auto value = map.find(key);
  if (!value)
    return true;
  auto parsed = read(*value);
  if (!parsed)
    return false;
  field = static_cast<T>(*parsed);
  return true;
}

std::optional<unsigned> readWorkers(const Value& value) {
  const std::string expected =
      "\"auto\" or a number of threads from 1 to " + std::to_string(MaxWorkers);
  auto text = value.scalar(expected);
  if (!text)
    return std::nullopt;
  if (*text == "auto")
    return coreCount();
  auto parsed = units::parseCount(*text);
  if (!parsed.ok() || parsed.value < 1 || parsed.value > MaxWorkers) {
    value.fail("expected " + expected + ", got " + quoted(*text));
    return std::nullopt;
  }
  return static_cast<unsigned>(parsed.value);
}

std::optional<net::Address> readAddress(const Value& value) {
  auto text = value.scalar("an address like " + std::string(AddressExample));
  if (!text)
    return std::nullopt;
  auto address = net::Address::parse(*text);
  if (!address)
    value.fail(quoted(*text) + " is not a numeric address with a port, like " +
               std::string(AddressExample));
  return address;
}

std::optional<net::Cidr> readCidr(const Value& value) {
  auto text = value.scalar("a network like 10.0.0.0/8 or \"::1/128\"");
  if (!text)
    return std::nullopt;
  auto cidr = net::Cidr::parse(*text);
  if (!cidr)
    value.fail(quoted(*text) +
               " is not a network like 10.0.0.0/8 or \"::1/128\" (bits past the prefix "
               "must be zero)");
  return cidr;
}

// A port, "443", or a range of them, "1025-65535".
std::optional<access::PortRange> readPortRange(const Value& value) {
  const std::string expected = "a port like 80 or a range like 1025-65535";
  auto text = value.scalar(expected);
  if (!text)
    return std::nullopt;
  const auto dash = text->find('-');
  const std::string first = text->substr(0, dash);
  const std::string last = dash == std::string::npos ? first : text->substr(dash + 1);
  const auto low = units::parseCount(first);
  const auto high = units::parseCount(last);
  if (!low.ok() || !high.ok()) {
    value.fail(quoted(*text) + " is not " + expected);
    return std::nullopt;
  }
  if (low.value < 1 || high.value > 65535) {
    value.fail("ports must be from 1 to 65535, got " + *text);
    return std::nullopt;
  }
  if (low.value > high.value) {
    value.fail("range " + *text + " ends before it starts");
    return std::nullopt;
  }
  return access::PortRange{static_cast<uint16_t>(low.value), static_cast<uint16_t>(high.value)};
}

// A list read item by item with `read`; duplicates are errors so a typo in one of two
// near-identical lines is noticed. Sets `out` only when every item is good.
template <class T, class Read, class Same>
bool setList(const Map& map, std::string_view key, std::string_view expected, std::vector<T>& out,
             Read read, Same same) {
  auto value = map.find(key);
  if (!value)
    return true;
  auto items = value->list(expected);
  if (!items)
    return false;
  std::vector<T> result;
  bool good = true;
  for (const auto& item : *items) {
    auto parsed = read(item);
    if (!parsed) {
      good = false;
      continue;
    }
    auto it = std::find_if(result.begin(), result.end(),
                           [&](const T& earlier) { return same(earlier, *parsed); });
    if (it != result.end()) {
      item.fail(item.describe() + " is listed twice");
      good = false;
      continue;
    }
    result.push_back(static_cast<T>(*parsed));
  }
  if (good)
    out = std::move(result);
  return good;
}

// Port 0 lets the kernel pick, so two of them are two different listeners.
bool sameListener(const net::Address& a, const net::Address& b) {
  return a.port() != 0 && a == b;
}

bool sameNetwork(const net::Cidr& a, const net::Cidr& b) {
  return a.toString() == b.toString();
}

bool isTokenChar(char c) {
  // RFC 9110 §5.6.2 tchar
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::optional<std::string> readPseudonym(const Value& value) {
  auto text = value.scalar("a name like ferry");
  if (!text)
    return std::nullopt;
  // RFC 9110 §7.6.3: the received-by pseudonym is a token.
  if (text->empty() || !std::all_of(text->begin(), text->end(), isTokenChar)) {
    value.fail(quoted(*text) + " is not an HTTP token (letters, digits and !#$%&'*+-.^_`|~)");
    return std::nullopt;
  }
  return text;
}

// Field names compare case-insensitively (RFC 9110 §5.1).
bool sameFieldName(std::string_view a, std::string_view b) {
  const auto lower = [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  };
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [&](char x, char y) { return lower(x) == lower(y); });
}

// A response field name (RFC 9110 §5.1: a token), for cache.targeted_fields.
std::optional<std::string> readTargetedField(const Value& value) {
  auto text = value.scalar("a field name like CDN-Cache-Control");
  if (!text)
    return std::nullopt;
  if (text->empty() || !std::all_of(text->begin(), text->end(), isTokenChar)) {
    value.fail(quoted(*text) + " is not a field name (letters, digits and !#$%&'*+-.^_`|~)");
    return std::nullopt;
  }
  if (sameFieldName(*text, "Cache-Control")) {
    value.fail("Cache-Control is always obeyed when no targeted field applies; list only "
               "targeted fields like CDN-Cache-Control");
    return std::nullopt;
  }
  return text;
}

std::optional<core::LogLevel> readLogLevel(const Value& value) {
  using core::LogLevel;
  return value.choice<LogLevel>({{"trace", LogLevel::Trace},
                                 {"debug", LogLevel::Debug},
                                 {"info", LogLevel::Info},
                                 {"warn", LogLevel::Warn},
                                 {"error", LogLevel::Error},
                                 {"critical", LogLevel::Critical},
                                 {"off", LogLevel::Off}});
}

void readLog(const Value& section, Config& config) {
  auto map = section.map({"level", "access_log", "access_log_format"});
  if (!map)
    return;
  set(*map, "level", config.log_level, readLogLevel);
  auto& log = config.proxy.access_log;
  // "" or no value: no access log.
  if (auto path = map->find("access_log"))
    log.path = path->isEmpty() ? "" : path->scalar("a file path, \"-\" or \"\"").value_or(log.path);
  set(*map, "access_log_format", log.format, [](const Value& value) {
    using proxy::AccessLogFormat;
    return value.choice<AccessLogFormat>(
        {{"squid", AccessLogFormat::Squid}, {"combined", AccessLogFormat::Combined}});
  });
}

void readTimeouts(const Value& section, proxy::Timeouts& timeouts) {
  auto map = section.map({"client_header", "client_idle", "client_rest", "origin_connect",
                          "origin_response", "origin_idle", "tunnel_idle", "shutdown_grace"});
  if (!map)
    return;
  auto timeout = [](const Value& value) { return value.duration(MinTimeout, MaxTimeout); };
  set(*map, "client_header", timeouts.client_header, timeout);
  set(*map, "client_idle", timeouts.client_idle, timeout);
  set(*map, "client_rest", timeouts.client_rest, timeout);
  set(*map, "origin_connect", timeouts.origin_connect, timeout);
  set(*map, "origin_response", timeouts.origin_response, timeout);
  set(*map, "origin_idle", timeouts.origin_idle, timeout);
  set(*map, "tunnel_idle", timeouts.tunnel_idle, timeout);
  set(*map, "shutdown_grace", timeouts.shutdown_grace, timeout);
}

void readLimits(const Value& section, proxy::Settings& proxy) {
  auto map = section.map({"request_line", "header_bytes", "header_count", "listen_backlog",
                          "client_connections", "origin_idle_per_origin", "origin_idle_total"});
  if (!map)
    return;
  auto& http = proxy.http.limits;
  set(*map, "request_line", http.request_line_bytes,
      [](const Value& value) { return value.size(256, 1 * MiB); });
  set(*map, "header_bytes", http.header_bytes,
      [](const Value& value) { return value.size(1 * KiB, 1 * MiB); });
  set(*map, "header_count", http.header_count,
      [](const Value& value) { return value.count(1, 10000); });
  auto& limits = proxy.limits;
  set(*map, "listen_backlog", limits.listen_backlog,
      [](const Value& value) { return value.count(1, 65535); });
  set(*map, "client_connections", limits.client_connections,
      [](const Value& value) { return value.count(1, 1000000); });
  const bool perOriginGood = set(*map, "origin_idle_per_origin", limits.origin_idle_per_origin,
                                 [](const Value& value) { return value.count(0, 100000); });
  const bool totalGood = set(*map, "origin_idle_total", limits.origin_idle_total,
                             [](const Value& value) { return value.count(0, 1000000); });
  if (perOriginGood && totalGood && limits.origin_idle_per_origin > limits.origin_idle_total) {
    auto at = map->find("origin_idle_per_origin");
    if (!at)
      at = map->find("origin_idle_total");
    at->fail("origin_idle_per_origin (" + std::to_string(limits.origin_idle_per_origin) +
             ") must not exceed origin_idle_total (" + std::to_string(limits.origin_idle_total) +
             ")");
  }
}

std::optional<std::string> readHostPattern(const Value& value);
bool sameText(const std::string& a, const std::string& b);

bool samePortRange(const access::PortRange& a, const access::PortRange& b) {
  return a.first == b.first && a.last == b.last;
}

// A request method as it is sent: a token (RFC 9110 §9.1), case-sensitive.
std::optional<std::string> readMethod(const Value& value) {
  auto text = value.scalar("a method like GET or CONNECT");
  if (!text)
    return std::nullopt;
  const bool token = !text->empty() && std::all_of(text->begin(), text->end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("!#$%&'*+-.^_`|~", c);
  });
  if (!token) {
    value.fail(quoted(*text) + " is not a method like GET or CONNECT");
    return std::nullopt;
  }
  if (std::any_of(text->begin(), text->end(), [](char c) { return c >= 'a' && c <= 'z'; })) {
    value.fail(quoted(*text) + " would never match: methods are case-sensitive and upper case, "
                               "like GET");
    return std::nullopt;
  }
  return text;
}

std::optional<std::string> readUser(const Value& value) {
  auto text = value.scalar("a user name from the auth.basic file");
  if (!text)
    return std::nullopt;
  if (text->empty() || text->find(':') != std::string::npos) {
    value.fail(quoted(*text) + " is not a user name (not empty, no ':')");
    return std::nullopt;
  }
  return text;
}

// One access rule, {allow: {conditions}} or {deny: {conditions}}; `index` in the list.
std::optional<access::Rule> readRule(const Value& value, std::size_t index, bool auth) {
  auto map = value.map({"allow", "deny"});
  if (!map)
    return std::nullopt;
  const auto allow = map->find("allow");
  const auto deny = map->find("deny");
  if (allow && deny) {
    deny->fail("a rule either allows or denies: write two rules");
    return std::nullopt;
  }
  if (!allow && !deny) {
    value.fail("a rule needs allow or deny with its conditions, like {deny: {domains: "
               "[.example.com]}}");
    return std::nullopt;
  }
  access::Rule rule;
  rule.action = allow ? access::Rule::Action::Allow : access::Rule::Action::Deny;
  rule.name = "access.rules[" + std::to_string(index) + "] (line " +
              std::to_string(value.mark().line + 1) + ")";
  const Value& body = allow ? *allow : *deny;
  auto conditions = body.map(
      {"clients", "users", "authenticated", "methods", "domains", "ports", "destinations"});
  if (!conditions)
    return std::nullopt;
  bool good = setList(*conditions, "clients", "networks like 10.0.0.0/8", rule.clients, readCidr,
                      sameNetwork);
  good = setList(*conditions, "users", "user names like alice", rule.users, readUser, sameText) &&
         good;
  good = set(*conditions, "authenticated", rule.authenticated,
             [](const Value& flag) {
               auto on = flag.choice<bool>({{"true", true}, {"false", false}});
               if (on && !*on)
                 flag.fail("only true is a condition (any authenticated user); leave it out "
                           "otherwise");
               return on && *on ? on : std::nullopt;
             }) &&
         good;
  good =
      setList(*conditions, "methods", "methods like CONNECT", rule.methods, readMethod, sameText) &&
      good;
  good = setList(*conditions, "domains", "hosts like example.com or domains like .example.com",
                 rule.domains, readHostPattern, sameText) &&
         good;
  good = setList(*conditions, "ports", "ports like 443 and ranges like 1025-65535", rule.ports,
                 readPortRange, samePortRange) &&
         good;
  good = setList(*conditions, "destinations", "networks like 10.0.0.0/8", rule.destinations,
                 readCidr, sameNetwork) &&
         good;
  if (!auth) {
    for (std::string_view key : {"users", "authenticated"}) {
      if (auto at = conditions->find(key)) {
        at->fail("needs auth.basic: without it no request has a user");
        good = false;
      }
    }
  }
  if (!good)
    return std::nullopt;
  return rule;
}

void readRules(const Value& value, std::vector<access::Rule>& out, bool auth) {
  auto items = value.list("rules like {deny: {domains: [.example.com]}}");
  if (!items)
    return;
  std::vector<access::Rule> rules;
  bool good = true;
  for (std::size_t i = 0; i < items->size(); ++i) {
    auto rule = readRule((*items)[i], i, auth);
    if (rule)
      rules.push_back(std::move(*rule));
    good = rule && good;
  }
  if (good)
    out = std::move(rules);
}

void readAccess(const Value& section, proxy::Settings& proxy) {
  auto map = section.map(
      {"allow", "rules", "connect_ports", "http_ports", "deny_destinations", "allow_destinations"});
  if (!map)
    return;
  auto& access = proxy.access;
  setList(*map, "allow", "networks like 10.0.0.0/8", proxy.allowed_clients, readCidr, sameNetwork);
  if (auto rules = map->find("rules"))
    readRules(*rules, access.rules, access.basic.enabled());
  setList(
      *map, "connect_ports", "ports like 443", access.connect_ports,
      [](const Value& value) { return value.count(1, 65535); },
      [](uint16_t a, uint64_t b) { return a == b; });
  setList(*map, "http_ports", "ports like 80 and ranges like 1025-65535", access.http_ports,
          readPortRange, samePortRange);
  setList(*map, "deny_destinations", "networks like 10.0.0.0/8", proxy.deny_destinations, readCidr,
          sameNetwork);
  setList(*map, "allow_destinations", "networks like 10.0.0.0/8", proxy.allow_destinations,
          readCidr, sameNetwork);
}

// auth.basic.file: the htpasswd file, read whole now (and again on every reload); each bad
// line is reported as file:line of that file.
std::optional<std::string> readHtpasswdFile(const Value& value, access::BasicAuth& basic) {
  auto path = value.scalar("an htpasswd file");
  if (!path)
    return std::nullopt;
  if (path->empty())
    return path;
  basic.file = *path; // on even if the file is bad: the rules naming users are not at fault
  std::FILE* file = std::fopen(path->c_str(), "rb");
  if (!file) {
    value.fail("cannot read " + quoted(*path) + ": " + std::generic_category().message(errno));
    return std::nullopt;
  }
  std::string text;
  char buffer[16 * 1024];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof(buffer), file)) > 0 && text.size() < 64 * MiB)
    text.append(buffer, got);
  std::fclose(file);
  access::Htpasswd parsed = access::parseHtpasswd(text);
  for (const auto& problem : parsed.problems)
    value.fail(*path + ":" + std::to_string(problem.line) + ": " + problem.what);
  if (!parsed.problems.empty())
    return std::nullopt;
  if (parsed.accounts.empty()) {
    value.fail(quoted(*path) + " holds no user:hash line");
    return std::nullopt;
  }
  basic.accounts = std::move(parsed.accounts);
  return path;
}

// The realm goes into a quoted-string of the 407 (RFC 7617 §2): printable ASCII.
std::optional<std::string> readRealm(const Value& value) {
  auto text = value.scalar("a realm like \"ferry\"");
  if (!text)
    return std::nullopt;
  if (text->empty() || !std::all_of(text->begin(), text->end(), [](char c) {
        return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
      })) {
    value.fail(quoted(*text) + " is not a realm: printable ASCII without quotes or backslashes");
    return std::nullopt;
  }
  return text;
}

void readAuth(const Value& section, access::BasicAuth& basic) {
  auto map = section.map({"basic"});
  if (!map)
    return;
  auto section_basic = map->find("basic");
  if (!section_basic)
    return;
  auto settings =
      section_basic->map({"file", "realm", "credentials_ttl", "max_failures", "lockout"});
  if (!settings)
    return;
  set(*settings, "realm", basic.realm, readRealm);
  set(*settings, "credentials_ttl", basic.credentials_ttl,
      [](const Value& value) { return value.duration(0ms, 24h); });
  set(*settings, "max_failures", basic.max_failures,
      [](const Value& value) { return value.count(1, 1000000); });
  set(*settings, "lockout", basic.lockout,
      [](const Value& value) { return value.duration(0ms, 24h); });
  set(*settings, "file", basic.file,
      [&](const Value& value) { return readHtpasswdFile(value, basic); });
}

// A freshness lifetime: whole seconds from 0 to MaxFreshness.
std::optional<std::chrono::seconds> readLifetime(const Value& value) {
  auto duration = value.duration(0ms, MaxFreshness);
  if (!duration)
    return std::nullopt;
  if (duration->count() % 1000 != 0) {
    value.fail("must be whole seconds, got " +
               units::formatDuration(static_cast<uint64_t>(duration->count())));
    return std::nullopt;
  }
  return std::chrono::duration_cast<std::chrono::seconds>(*duration);
}

// One refresh rule: {pattern, ignore_case, min, percent, max}, like Squid's refresh_pattern.
std::optional<cache::RefreshRule> readRefreshRule(const Value& value) {
  auto map = value.map({"pattern", "ignore_case", "min", "percent", "max"});
  if (!map)
    return std::nullopt;
  cache::RefreshRule rule;
  bool good = set(*map, "ignore_case", rule.ignore_case, [](const Value& flag) {
    return flag.choice<bool>({{"true", true}, {"false", false}});
  });
  const bool minGood = set(*map, "min", rule.min, readLifetime);
  const bool maxGood = set(*map, "max", rule.max, readLifetime);
  good = set(*map, "percent", rule.percent,
             [](const Value& percent) { return percent.count(0, 1000); }) &&
         minGood && maxGood && good;
  if (minGood && maxGood && rule.max < rule.min) {
    auto at = map->find("max");
    if (!at)
      at = map->find("min");
    at->fail("max (" + units::formatDuration(static_cast<uint64_t>(rule.max.count()) * 1000) +
             ") must not be less than min (" +
             units::formatDuration(static_cast<uint64_t>(rule.min.count()) * 1000) + ")");
    good = false;
  }
  auto pattern = map->find("pattern");
  if (!pattern || pattern->isEmpty()) {
    (pattern ? *pattern : value).fail("needs a pattern, a regular expression like \\.deb$");
    return std::nullopt;
  }
  auto text = pattern->scalar("a regular expression like \\.deb$");
  if (!text)
    return std::nullopt;
  rule.pattern = *text;
  // RE2, not std::regex: URLs are the client's to choose, and a backtracking matcher can
  // take exponential time or overflow the stack on some patterns.
  RE2::Options options;
  options.set_log_errors(false);
  options.set_never_capture(true);
  options.set_case_sensitive(!rule.ignore_case);
  auto regex = std::make_shared<const RE2>(rule.pattern, options);
  if (!regex->ok()) {
    pattern->fail(quoted(rule.pattern) +
                  " is not a regular expression in RE2 syntax: " + regex->error());
    return std::nullopt;
  }
  rule.regex = std::move(regex);
  if (!good)
    return std::nullopt;
  return rule;
}

void readRefreshRules(const Value& value, std::vector<cache::RefreshRule>& out) {
  auto items = value.list("rules like {pattern: '\\.deb$', min: 30d, max: 365d}");
  if (!items)
    return;
  std::vector<cache::RefreshRule> rules;
  bool good = true;
  for (const auto& item : *items) {
    auto rule = readRefreshRule(item);
    if (!rule) {
      good = false;
      continue;
    }
    // A second rule for the same pattern would never apply: the first match wins.
    if (std::any_of(rules.begin(), rules.end(), [&](const cache::RefreshRule& earlier) {
          return earlier.pattern == rule->pattern && earlier.ignore_case == rule->ignore_case;
        })) {
      item.fail("pattern " + quoted(rule->pattern) + " is listed twice");
      good = false;
      continue;
    }
    rules.push_back(std::move(*rule));
  }
  if (good)
    out = std::move(rules);
}

// The disk tier's directory: absolute; an existing directory ferry may write in, or one it
// may create; on a filesystem at least as large as cache.disk.size, with room unless it
// holds a disk cache already.
std::optional<std::string> readCacheDirectory(const Value& value, std::uint64_t size_bytes) {
  auto path = value.scalar("an absolute directory path");
  if (!path)
    return std::nullopt;
  if (path->empty() || path->front() != '/') {
    value.fail("expected an absolute directory path, got " + quoted(*path));
    return std::nullopt;
  }
  // The nearest existing ancestor must let ferry create what is missing.
  std::string existing = *path;
  struct stat st {};
  while (::stat(existing.c_str(), &st) != 0) {
    if (errno != ENOENT && errno != ENOTDIR) {
      value.fail(quoted(existing) + ": " + std::strerror(errno));
      return std::nullopt;
    }
    existing = existing.substr(0, std::max<std::size_t>(1, existing.find_last_of('/')));
  }
  if (!S_ISDIR(st.st_mode)) {
    value.fail(quoted(existing) + " is not a directory");
    return std::nullopt;
  }
  if (::access(existing.c_str(), W_OK | X_OK) != 0) {
    value.fail(quoted(existing) + " is not writable: " + std::strerror(errno));
    return std::nullopt;
  }
  struct statvfs fs {};
  if (::statvfs(existing.c_str(), &fs) != 0) {
    value.fail(quoted(existing) + ": " + std::strerror(errno));
    return std::nullopt;
  }
  const std::uint64_t total = static_cast<std::uint64_t>(fs.f_blocks) * fs.f_frsize;
  const std::uint64_t free = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
  // A cache already there may fill its filesystem by design: only a new one needs room.
  struct stat index {};
  const bool existing_cache = ::stat((*path + "/index/data.mdb").c_str(), &index) == 0;
  if (!existing_cache && free < 1 * MiB) {
    value.fail("the filesystem of " + quoted(existing) + " has no room (" +
               units::formatSize(free) + " free)");
    return std::nullopt;
  }
  if (size_bytes > total) {
    value.fail("cache.disk.size (" + units::formatSize(size_bytes) +
               ") exceeds the size of the filesystem of " + quoted(existing) + " (" +
               units::formatSize(total) + ")");
    return std::nullopt;
  }
  while (path->size() > 1 && path->back() == '/')
    path->pop_back();
  return path;
}

void readCacheDisk(const Value& section, cache::DiskSettings& disk) {
  auto map = section.map({"path", "size", "max_object_size", "sync"});
  if (!map)
    return;
  const bool sizeGood = set(*map, "size", disk.size_bytes,
                            [](const Value& value) { return value.size(16 * MiB, MaxBytes); });
  const bool maxGood = set(*map, "max_object_size", disk.max_object_bytes,
                           [](const Value& value) { return value.size(1, MaxBytes); });
  // One object near the whole budget would evict everything else, then itself.
  const std::uint64_t largest = disk.size_bytes / 8;
  if (!map->find("max_object_size")) {
    disk.max_object_bytes = std::min(disk.max_object_bytes, largest);
  } else if (sizeGood && maxGood && disk.max_object_bytes > largest) {
    map->find("max_object_size")
        ->fail("max_object_size (" + units::formatSize(disk.max_object_bytes) +
               ") must not exceed an eighth of size (" + units::formatSize(largest) + ")");
  }
  set(*map, "sync", disk.sync, [](const Value& value) {
    using Sync = cache::DiskSettings::Sync;
    return value.choice<Sync>({{"none", Sync::None}, {"commit", Sync::Commit}});
  });
  if (auto path = map->find("path"); path && !path->isEmpty())
    set(*map, "path", disk.path,
        [&](const Value& value) { return readCacheDirectory(value, disk.size_bytes); });
}

void readCache(const Value& section, cache::Settings& cache) {
  auto map =
      section.map({"memory", "max_object_size", "heuristic_percent", "heuristic_max",
                   "refresh_rules", "set_cookie", "targeted_fields", "max_variants", "disk"});
  if (!map)
    return;
  if (auto disk = map->find("disk"))
    readCacheDisk(*disk, cache.disk);
  set(*map, "set_cookie", cache.set_cookie, [](const Value& value) {
    using cache::SetCookie;
    return value.choice<SetCookie>(
        {{"strip", SetCookie::Strip}, {"refuse", SetCookie::Refuse}, {"store", SetCookie::Store}});
  });
  setList(*map, "targeted_fields", "field names like CDN-Cache-Control", cache.targeted_fields,
          readTargetedField, sameFieldName);
  set(*map, "max_variants", cache.max_variants,
      [](const Value& value) { return value.count(1, 10000); });
  set(*map, "heuristic_percent", cache.heuristic_percent,
      [](const Value& value) { return value.count(0, 100); });
  set(*map, "heuristic_max", cache.heuristic_max, readLifetime);
  if (auto rules = map->find("refresh_rules"))
    readRefreshRules(*rules, cache.refresh_rules);
  const bool memoryGood = set(*map, "memory", cache.memory_bytes,
                              [](const Value& value) { return value.size(1 * MiB, MaxBytes); });
  const bool maxGood = set(*map, "max_object_size", cache.max_object_bytes,
                           [](const Value& value) { return value.size(1, MaxBytes); });
  if (memoryGood && maxGood && cache.max_object_bytes > cache.memory_bytes) {
    auto at = map->find("max_object_size");
    if (!at)
      at = map->find("memory");
    at->fail("max_object_size (" + units::formatSize(cache.max_object_bytes) +
             ") must not exceed memory (" + units::formatSize(cache.memory_bytes) + ")");
  }
}

void readAdmin(const Value& section, Config& config) {
  auto map = section.map({"listen", "allow"});
  if (!map)
    return;
  if (auto listen = map->find("listen")) {
    if (listen->isEmpty()) { // "" or no value: no admin listener
      config.admin.listen.reset();
    } else if (auto address = readAddress(*listen)) {
      const auto& proxyListen = config.proxy.listen;
      if (std::any_of(proxyListen.begin(), proxyListen.end(),
                      [&](const net::Address& a) { return sameListener(a, *address); }))
        listen->fail(quoted(address->toString()) + " is also a proxy listen address");
      else
        config.admin.listen = address;
    }
  }
  setList(*map, "allow", "networks like 10.0.0.0/8", config.admin.allowed, readCidr, sameNetwork);
}

// A host pattern for http::hostMatches: "example.com", ".example.com" or "*".
std::optional<std::string> readHostPattern(const Value& value) {
  const std::string expected = "a host like example.com, a domain like .example.com, or *";
  auto text = value.scalar(expected);
  if (!text)
    return std::nullopt;
  const std::string_view name = text->front() == '.' ? std::string_view(*text).substr(1) : *text;
  const bool good =
      *text == "*" || (!name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.';
      }));
  if (!good) {
    value.fail("expected " + expected + ", got " + quoted(*text));
    return std::nullopt;
  }
  std::string lower = *text;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

bool sameText(const std::string& a, const std::string& b) {
  return a == b;
}

// RFC 4648 §4, for the Basic credentials of RFC 7617.
std::string base64(std::string_view bytes) {
  static constexpr char Alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t group = 0;
    for (std::size_t k = 0; k < 3; ++k)
      group = (group << 8) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
    for (std::size_t k = 0; k < 4; ++k)
      out += k <= n ? Alphabet[(group >> (18 - 6 * k)) & 0x3f] : '=';
  }
  return out;
}

// The Proxy-Authorization a parent gets: "user:password", the first line of `path`.
std::optional<std::string> readCredentialsFile(const Value& value) {
  auto path = value.scalar("a file holding user:password");
  if (!path)
    return std::nullopt;
  std::FILE* file = std::fopen(path->c_str(), "r");
  if (!file) {
    value.fail("cannot read " + quoted(*path) + ": " + std::generic_category().message(errno));
    return std::nullopt;
  }
  char line[1024];
  const bool read = std::fgets(line, sizeof line, file) != nullptr;
  std::fclose(file);
  std::string credentials = read ? line : "";
  while (!credentials.empty() && (credentials.back() == '\n' || credentials.back() == '\r'))
    credentials.pop_back();
  if (credentials.find(':') == std::string::npos) {
    value.fail(quoted(*path) + " must hold user:password on its first line");
    return std::nullopt;
  }
  return "Basic " + base64(credentials);
}

// One parent: {address: host:port, credentials_file: path, domains: [patterns]}.
std::optional<proxy::Parent> readParent(const Value& value) {
  auto map = value.map({"address", "credentials_file", "domains"});
  if (!map)
    return std::nullopt;
  proxy::Parent parent;
  bool good = true;
  if (auto address = map->find("address")) {
    const std::string expected = "a host:port like proxy.example.com:3128";
    auto text = address->scalar(expected);
    auto parsed = text ? http::parseHostPort(*text) : std::nullopt;
    if (parsed && parsed->port != 0) {
      parent.host = parsed->host;
      parent.port = parsed->port;
    } else {
      if (text)
        address->fail("expected " + expected + ", got " + quoted(*text));
      good = false;
    }
  } else {
    value.fail("a parent needs an address (host:port)");
    good = false;
  }
  good = set(*map, "credentials_file", parent.authorization, readCredentialsFile) && good;
  good = setList(*map, "domains", "host patterns like .example.com", parent.domains,
                 readHostPattern, sameText) &&
         good;
  if (!good)
    return std::nullopt;
  return parent;
}

void readUpstream(const Value& section, proxy::Upstream& upstream) {
  auto map = section.map({"parents", "always_direct", "never_direct", "parent_down"});
  if (!map)
    return;
  setList(*map, "parents", "parents like {address: proxy.example.com:3128}", upstream.parents,
          readParent, [](const proxy::Parent& a, const proxy::Parent& b) {
            return a.host == b.host && a.port == b.port;
          });
  setList(*map, "always_direct", "host patterns like .example.com", upstream.always_direct,
          readHostPattern, sameText);
  setList(*map, "never_direct", "host patterns like .example.com or *", upstream.never_direct,
          readHostPattern, sameText);
  set(*map, "parent_down", upstream.parent_down,
      [](const Value& value) { return value.duration(MinTimeout, MaxTimeout); });
}

// A host name for the PAC file: letters, digits, '-' and '.', lower case; a leading '.'
// when `suffix` (the name and every name below it).
std::optional<std::string> readDomain(const Value& value) {
  auto text = value.scalar("a domain like example.com or .example.com");
  if (!text)
    return std::nullopt;
  const std::string_view name = std::string_view(*text).substr(text->rfind('.', 0) == 0 ? 1 : 0);
  const bool good =
      !name.empty() && name.front() != '.' && name.back() != '.' &&
      name.find("..") == std::string_view::npos &&
      std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
      });
  if (!good) {
    value.fail(quoted(*text) +
               " is not a lower-case domain like example.com or .example.com (with every name "
               "below it)");
    return std::nullopt;
  }
  return text;
}

// host:port for the PAC file's PROXY line: a name or an address, with a port.
std::optional<std::string> readProxyAddress(const Value& value) {
  constexpr std::string_view Example = "proxy.example.com:3128 or \"[2001:db8::1]:3128\"";
  auto text = value.scalar("an address like " + std::string(Example));
  if (!text)
    return std::nullopt;
  auto parsed = http::parseHostPort(*text);
  if (!parsed || !parsed->has_port) {
    value.fail(quoted(*text) + " is not a host with a port, like " + std::string(Example));
    return std::nullopt;
  }
  return text;
}

void readPac(const Value& section, pac::Settings& pac) {
  auto map = section.map({"proxy", "direct_domains", "direct_networks"});
  if (!map)
    return;
  if (auto proxy = map->find("proxy")) // "" or no value: the listen address
    pac.proxy = proxy->isEmpty() ? "" : readProxyAddress(*proxy).value_or(pac.proxy);
  setList(*map, "direct_domains", "domains like .example.com", pac.direct_domains, readDomain,
          std::equal_to<>());
  setList(*map, "direct_networks", "networks like 10.0.0.0/8", pac.direct_networks, readCidr,
          sameNetwork);
}

void readRoot(const Value& root, Config& config) {
  auto map = root.map({"listen", "workers", "log", "timeouts", "limits", "auth", "access", "cache",
                       "admin", "upstream", "pac", "via", "expect_continue", "splice"});
  if (!map)
    return;
  auto& proxy = config.proxy;
  if (auto listen = map->find("listen")) {
    if (setList(*map, "listen", "addresses like 127.0.0.1:3128", proxy.listen, readAddress,
                sameListener) &&
        proxy.listen.empty())
      listen->fail("needs at least one address");
  }
  set(*map, "workers", proxy.workers, readWorkers);
  if (auto log = map->find("log"))
    readLog(*log, config);
  if (auto timeouts = map->find("timeouts"))
    readTimeouts(*timeouts, proxy.timeouts);
  if (auto limits = map->find("limits"))
    readLimits(*limits, proxy);
  // auth before access: its rules may name users only when there are some.
  if (auto auth = map->find("auth"))
    readAuth(*auth, proxy.access.basic);
  if (auto access = map->find("access"))
    readAccess(*access, proxy);
  if (auto cache = map->find("cache"))
    readCache(*cache, config.cache);
  if (auto upstream = map->find("upstream"))
    readUpstream(*upstream, proxy.upstream);
  // After listen, which it is checked against.
  if (auto admin = map->find("admin"))
    readAdmin(*admin, config);
  if (auto pac = map->find("pac"))
    readPac(*pac, config.admin.pac);
  set(*map, "via", proxy.http.via_pseudonym, readPseudonym);
  set(*map, "expect_continue", proxy.expect_continue, [](const Value& value) {
    using proxy::ExpectContinue;
    return value.choice<ExpectContinue>(
        {{"forward", ExpectContinue::Forward}, {"reject", ExpectContinue::Reject}});
  });
  set(*map, "splice", proxy.splice, [](const Value& flag) {
    return flag.choice<bool>({{"true", true}, {"false", false}});
  });
}

// yaml-cpp reports an unquoted "[::1]:3128" as an unterminated flow collection.
std::string syntaxHint(const std::string& yaml, const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0)
    return "";
  std::size_t start = 0;
  for (int line = 0; line < mark.line && start != std::string::npos; ++line) {
    start = yaml.find('\n', start);
    if (start != std::string::npos)
      ++start;
  }
  if (start == std::string::npos)
    return "";
  const std::string_view text =
      std::string_view(yaml).substr(start, yaml.find('\n', start) - start);
  if (text.find("[:") != std::string_view::npos || text.find("]:") != std::string_view::npos)
    return " (quote IPv6 addresses: \"[::1]:3128\")";
  return "";
}

std::string joined(const std::vector<std::string>& problems) {
  std::string text;
  for (const auto& problem : problems)
    text += (text.empty() ? "" : "\n") + problem;
  return text.empty() ? "config error" : text;
}

} // namespace

Error::Error(std::vector<std::string> problems)
    : std::runtime_error(joined(problems)), problems_(std::move(problems)) {}

Config parse(const std::string& yaml, const std::string& name) {
  Problems problems(name);
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(yaml);
  } catch (const YAML::Exception& e) {
    problems.add(e.mark, "", "invalid YAML: " + e.msg + syntaxHint(yaml, e.mark));
    throw Error(problems.sorted());
  }
  Config config = defaults(name);
  if (!documents.empty())
    readRoot(Value(documents.front(), "", documents.front().Mark(), problems), config);
  for (std::size_t i = 1; i < documents.size(); ++i)
    if (!documents[i].IsNull())
      problems.add(documents[i].Mark(), "", "only one YAML document is allowed");
  if (!problems.empty())
    throw Error(problems.sorted());
  // PURGE is an admin operation that arrives on the proxy port: same networks.
  config.proxy.purge_allowed = config.admin.allowed;
  // One PAC file, served by the admin listener and on the proxy port.
  config.proxy.pac = config.admin.pac;
  return config;
}

Config load(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr)
    throw Error({path + ": " + std::generic_category().message(errno)});
  std::string text;
  char buffer[64 * 1024];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof(buffer), file)) > 0)
    text.append(buffer, got);
  const int error = std::ferror(file) ? errno : 0;
  std::fclose(file);
  if (error != 0)
    throw Error({path + ": " + std::generic_category().message(error)});
  return parse(text, path);
}

} // namespace ferry::config
