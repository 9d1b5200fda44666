// The access rules: first match wins, then the tail. An allow rule lifts only the tail
// checks it names itself (ports: the port lists; destinations: deny_destinations), so a
// rule that says who may use the proxy never also opens where it may go.
#include "ferry/access/rules.h"

#include "ferry/http/target.h"

#include <algorithm>

namespace ferry::access {
namespace {

template <class List, class Pred> bool any(const List& list, Pred pred) {
  return std::any_of(list.begin(), list.end(), pred);
}

// Every condition of `rule` but its destinations.
bool matchesRequest(const Rule& rule, const Request& request) {
  if (!rule.clients.empty() && !net::anyContains(rule.clients, request.client))
    return false;
  if ((rule.authenticated || !rule.users.empty()) && request.user.empty())
    return false;
  if (!rule.users.empty() &&
      !any(rule.users, [&](const std::string& user) { return user == request.user; }))
    return false;
  if (!rule.methods.empty() &&
      !any(rule.methods, [&](const std::string& method) { return method == request.method; }))
    return false;
  if (!rule.domains.empty() && !any(rule.domains, [&](const std::string& domain) {
        return http::hostMatches(request.host, domain);
      }))
    return false;
  return rule.ports.empty() ||
         any(rule.ports, [&](const PortRange& range) { return range.contains(request.port); });
}

// Squid's "deny CONNECT !SSL_ports" and "deny !Safe_ports"; empty when the port may be used.
std::string portRefusal(const Settings& settings, const Request& request) {
  if (request.method == "CONNECT") {
    const auto& ports = settings.connect_ports;
    if (std::find(ports.begin(), ports.end(), request.port) == ports.end())
      return "CONNECT to port " + std::to_string(request.port) + " is not allowed";
    return {};
  }
  if (!any(settings.http_ports,
           [&](const PortRange& range) { return range.contains(request.port); }))
    return "port " + std::to_string(request.port) + " is not allowed (access.http_ports)";
  return {};
}

Decision evaluate(const Settings& settings, const Request& request,
                  const net::Address* destination) {
  for (const Rule& rule : settings.rules) {
    if (!matchesRequest(rule, request))
      continue;
    if (!rule.destinations.empty()) {
      if (!destination)
        return {Verdict::Undecided, {}, false, true};
      if (!net::anyContains(rule.destinations, *destination))
        continue;
    }
    if (rule.action == Rule::Action::Deny)
      return {Verdict::Deny, "denied by " + rule.name, true, true};
    if (rule.ports.empty()) {
      if (std::string why = portRefusal(settings, request); !why.empty())
        return {Verdict::Deny, std::move(why), false, true};
    }
    return {Verdict::Allow, {}, false, rule.destinations.empty()};
  }
  if (std::string why = portRefusal(settings, request); !why.empty())
    return {Verdict::Deny, std::move(why), false, true};
  if (settings.basic.enabled() && request.user.empty())
    return {Verdict::Challenge, "send credentials (proxy user name and password)", false, true};
  return {};
}

} // namespace

Decision decide(const Settings& settings, const Request& request) {
  return evaluate(settings, request, nullptr);
}

bool namesDestinations(const Settings& settings) {
  return any(settings.rules, [](const Rule& rule) {
    return rule.action == Rule::Action::Allow && !rule.destinations.empty();
  });
}

Decision decide(const Settings& settings, const Request& request, const net::Address& destination) {
  return evaluate(settings, request, &destination);
}

} // namespace ferry::access
