// /status.json: the status snapshot as JSON, written by hand (a few dozen fields do not
// need a JSON library). Counts are integers; latencies are milliseconds.
#include "ferry/admin/status.h"

#include <limits>

namespace ferry::admin {
namespace {

void appendString(std::string& out, std::string_view text) {
  static constexpr char Hex[] = "0123456789abcdef";
  out += '"';
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\u00";
      out += Hex[c >> 4];
      out += Hex[c & 15];
    } else {
      out += ch;
    }
  }
  out += '"';
}

// Builds one JSON object field by field.
class Object {
public:
  explicit Object(std::string& out) : out_(out) { out_ += '{'; }
  ~Object() { out_ += '}'; }
  Object(const Object&) = delete;
  Object& operator=(const Object&) = delete;

  std::string& key(std::string_view name) {
    if (!first_)
      out_ += ',';
    first_ = false;
    appendString(out_, name);
    out_ += ':';
    return out_;
  }
  void field(std::string_view name, std::string_view text) { appendString(key(name), text); }
  void field(std::string_view name, std::uint64_t n) { key(name) += std::to_string(n); }
  void field(std::string_view name, std::int64_t n) { key(name) += std::to_string(n); }

private:
  std::string& out_;
  bool first_ = true;
};

std::int64_t unixMs(std::chrono::system_clock::time_point at) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
}

std::uint64_t counter(const StatusSnapshot& s, core::Counter c) {
  return s.counters.at(core::index(c)).value;
}

std::int64_t gauge(const StatusSnapshot& s, core::Gauge g) {
  return s.gauges.at(static_cast<std::size_t>(g)).value;
}

// A quantile's bucket bound in ms ("null" when unbounded); milliseconds with µs precision.
std::string boundMs(std::uint64_t us) {
  if (us == std::numeric_limits<std::uint64_t>::max())
    return "null";
  std::string text = std::to_string(us / 1000);
  if (us % 1000 != 0) {
    std::string fraction = std::to_string(us % 1000);
    fraction.insert(0, 3 - fraction.size(), '0');
    fraction.erase(fraction.find_last_not_of('0') + 1);
    text += "." + fraction;
  }
  return text;
}

void appendLatency(std::string& out, const core::HistogramValue& h) {
  Object o(out);
  o.field("count", h.count());
  o.field("sum_ms", h.sum_us / 1000);
  o.key("p50_ms") += boundMs(h.quantileBoundUs(0.5));
  o.key("p90_ms") += boundMs(h.quantileBoundUs(0.9));
  o.key("p99_ms") += boundMs(h.quantileBoundUs(0.99));
}

} // namespace

void History::add(const Sample& sample) {
  samples_.push_back(sample);
  while (samples_.size() > capacity_)
    samples_.pop_front();
}

std::string renderStatusJson(const StatusSnapshot& s) {
  using core::Counter;
  using core::Gauge;
  std::string out;
  out.reserve(4096 + s.history.size() * 64);
  {
    Object root(out);
    root.field("version", s.version);
    root.field("config_file", s.config_file);
    root.field("now_ms", unixMs(s.now));
    root.field("started_ms", unixMs(s.started));
    root.field("uptime_s",
               static_cast<std::int64_t>(
                   std::chrono::duration_cast<std::chrono::seconds>(s.now - s.started).count()));
    {
      Object requests(root.key("requests"));
      requests.field("total", counter(s, Counter::RequestsTotal));
      requests.field("responses_2xx", counter(s, Counter::Responses2xx));
      requests.field("responses_3xx", counter(s, Counter::Responses3xx));
      requests.field("responses_4xx", counter(s, Counter::Responses4xx));
      requests.field("responses_5xx", counter(s, Counter::Responses5xx));
    }
    {
      Object status(root.key("cache_status"));
      status.field("hit", counter(s, Counter::CacheStatusHit));
      status.field("revalidated", counter(s, Counter::CacheStatusRevalidated));
      status.field("miss", counter(s, Counter::CacheStatusMiss));
      status.field("bypass", counter(s, Counter::CacheStatusBypass));
      status.field("none", counter(s, Counter::CacheStatusNone));
    }
    {
      Object connections(root.key("connections"));
      connections.field("clients", gauge(s, Gauge::ClientConnections));
      connections.field("tunnels", gauge(s, Gauge::Tunnels));
      connections.field("origins_open", gauge(s, Gauge::OriginConnections));
      connections.field("origins_idle", gauge(s, Gauge::OriginConnectionsIdle));
    }
    {
      Object latency(root.key("latency"));
      for (const core::HistogramValue& h : s.histograms)
        appendLatency(latency.key(h.name), h);
    }
    {
      Object cache(root.key("cache"));
      cache.field("entries", static_cast<std::uint64_t>(s.cache.entries));
      cache.field("memory_used", static_cast<std::uint64_t>(s.cache.memory_used));
      cache.field("memory_budget", static_cast<std::uint64_t>(s.cache.memory_budget));
      cache.field("disk_entries", s.cache.disk_entries);
      cache.field("disk_used", s.cache.disk_used);
      cache.field("disk_budget", s.cache.disk_budget);
    }
    root.key("origins") += '[';
    for (std::size_t i = 0; i < s.origins.size(); ++i) {
      const auto& origin = s.origins[i];
      if (i > 0)
        out += ',';
      Object o(out);
      o.field("origin", origin.origin);
      o.field("idle", origin.idle);
      o.field("busy", origin.busy());
      o.field("opened", origin.opened);
      o.field("reused", origin.reused);
    }
    out += ']';
    root.key("top_hosts") += '[';
    for (std::size_t i = 0; i < s.top_hosts.size(); ++i) {
      if (i > 0)
        out += ',';
      Object o(out);
      o.field("host", s.top_hosts[i].host);
      o.field("requests", s.top_hosts[i].requests);
    }
    out += ']';
    {
      Object history(root.key("history"));
      history.field("interval_ms", static_cast<std::int64_t>(s.sample_interval.count()));
      history.field("columns", "at_ms requests hits bytes_out connections");
      history.key("samples") += '[';
      bool first = true;
      for (const Sample& sample : s.history) {
        if (!first)
          out += ',';
        first = false;
        out += '[' + std::to_string(unixMs(sample.at)) + ',' + std::to_string(sample.requests) +
               ',' + std::to_string(sample.hits) + ',' + std::to_string(sample.bytes_out) + ',' +
               std::to_string(sample.connections) + ']';
      }
      out += ']';
    }
  } // closes the root object
  return out;
}

} // namespace ferry::admin
