// The access rules as tables of (rule set, request[, resolved address]) → verdict: first
// match wins, an allow rule lifts only the tail checks it names, rules with destinations wait
// for the resolved address, and without rules the tail behaves as access.connect_ports and
// access.http_ports always did.
#include "ferry/access/rules.h"

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

using namespace ferry::access;
using ferry::net::Address;
using ferry::net::Cidr;

namespace {

std::vector<Cidr> networks(std::initializer_list<const char*> texts) {
  std::vector<Cidr> out;
  for (const char* text : texts)
    out.push_back(*Cidr::parse(text));
  return out;
}

Rule rule(Rule::Action action, std::string name) {
  Rule r;
  r.action = action;
  r.name = std::move(name);
  return r;
}

Settings withAuth(Settings settings) {
  settings.basic.file = "/etc/ferry/htpasswd";
  return settings;
}

// An office: ads denied, no DELETE, alice may CONNECT to 22, 8080 denied, the build host
// 10.1.2.3 needs no credentials, 10.0.0.0/8 destinations denied except for alice, and the
// intranet 192.168.0.0/16 open without credentials.
Settings office() {
  Settings s;
  Rule ads = rule(Rule::Action::Deny, "ads");
  ads.domains = {".ads.test", "tracker.test"};
  Rule no_delete = rule(Rule::Action::Deny, "no-delete");
  no_delete.methods = {"DELETE"};
  Rule alice_ssh = rule(Rule::Action::Allow, "alice-ssh");
  alice_ssh.users = {"alice"};
  alice_ssh.methods = {"CONNECT"};
  alice_ssh.ports = {{22, 22}};
  Rule no_8080 = rule(Rule::Action::Deny, "no-8080");
  no_8080.ports = {{8080, 8080}};
  Rule build_host = rule(Rule::Action::Allow, "build-host");
  build_host.clients = networks({"10.1.2.3/32"});
  Rule alice_lab = rule(Rule::Action::Allow, "alice-lab");
  alice_lab.users = {"alice"};
  alice_lab.destinations = networks({"10.0.0.0/8"});
  Rule lab = rule(Rule::Action::Deny, "lab");
  lab.destinations = networks({"10.0.0.0/8"});
  Rule intranet = rule(Rule::Action::Allow, "intranet");
  intranet.destinations = networks({"192.168.0.0/16"});
  s.rules = {ads, no_delete, alice_ssh, no_8080, build_host, alice_lab, lab, intranet};
  return withAuth(s);
}

struct Row {
  const char* what;
  Settings settings;
  const char* client;
  const char* user;
  const char* method;
  const char* host;
  uint16_t port;
  const char* destination; // nullptr: before resolving
  Verdict verdict;
  bool check_destination; // meaningful for Allow
  const char* why;        // a part of Decision::why, "" for none
};

std::string name(Verdict verdict) {
  switch (verdict) {
  case Verdict::Allow:
    return "Allow";
  case Verdict::Deny:
    return "Deny";
  case Verdict::Challenge:
    return "Challenge";
  case Verdict::Undecided:
    return "Undecided";
  }
  return "?";
}

void check(const Row& row) {
  INFO(row.what);
  const Address client = *Address::parse(std::string(row.client) + ":40000");
  const Request request{client, row.user, row.method, row.host, row.port};
  Decision decision;
  if (row.destination)
    decision = decide(row.settings, request, *Address::parse(row.destination));
  else
    decision = decide(row.settings, request);
  CHECK(name(decision.verdict) == name(row.verdict));
  if (row.verdict == Verdict::Allow)
    CHECK(decision.check_destination == row.check_destination);
  CHECK(decision.why.find(row.why) != std::string::npos);
}

} // namespace

TEST_CASE("#14 without rules the tail is today's port lists", "[access]") {
  const Settings none;
  const Row rows[] = {
      {"CONNECT 443", none, "127.0.0.1", "", "CONNECT", "a.test", 443, nullptr, Verdict::Allow,
       true, ""},
      {"CONNECT 22", none, "127.0.0.1", "", "CONNECT", "a.test", 22, nullptr, Verdict::Deny, true,
       "CONNECT to port 22 is not allowed"},
      {"GET 80", none, "127.0.0.1", "", "GET", "a.test", 80, nullptr, Verdict::Allow, true, ""},
      {"GET 8080", none, "127.0.0.1", "", "GET", "a.test", 8080, nullptr, Verdict::Allow, true, ""},
      {"GET 25", none, "127.0.0.1", "", "GET", "a.test", 25, nullptr, Verdict::Deny, true,
       "port 25 is not allowed (access.http_ports)"},
      {"per address too", none, "127.0.0.1", "", "GET", "a.test", 80, "192.0.2.1:80",
       Verdict::Allow, true, ""},
  };
  for (const Row& row : rows)
    check(row);
}

TEST_CASE("#14 with auth.basic the tail asks for credentials", "[access]") {
  const Settings auth = withAuth({});
  const Row rows[] = {
      {"no user", auth, "127.0.0.1", "", "GET", "a.test", 80, nullptr, Verdict::Challenge, true,
       "credentials"},
      {"no user, CONNECT", auth, "127.0.0.1", "", "CONNECT", "a.test", 443, nullptr,
       Verdict::Challenge, true, ""},
      {"a user", auth, "127.0.0.1", "bob", "GET", "a.test", 80, nullptr, Verdict::Allow, true, ""},
      {"bad port before credentials", auth, "127.0.0.1", "", "GET", "a.test", 25, nullptr,
       Verdict::Deny, true, "port 25"},
  };
  for (const Row& row : rows)
    check(row);
}

TEST_CASE("#14 access rules: first match wins, allow lifts only what it names", "[access]") {
  const Settings s = office();
  const Row rows[] = {
      {"deny by domain suffix", s, "127.0.0.1", "bob", "GET", "x.ads.test", 80, nullptr,
       Verdict::Deny, true, "denied by ads"},
      {"the suffix names the domain itself", s, "127.0.0.1", "bob", "GET", "ads.test", 80, nullptr,
       Verdict::Deny, true, "ads"},
      {"exact domain only", s, "127.0.0.1", "bob", "GET", "www.tracker.test", 80, "192.0.2.1:80",
       Verdict::Allow, true, ""},
      {"exact domain", s, "127.0.0.1", "bob", "GET", "tracker.test", 80, nullptr, Verdict::Deny,
       true, "ads"},
      {"deny before any credentials", s, "127.0.0.1", "", "GET", "x.ads.test", 80, nullptr,
       Verdict::Deny, true, "ads"},
      {"deny by method", s, "127.0.0.1", "alice", "DELETE", "a.test", 80, nullptr, Verdict::Deny,
       true, "no-delete"},
      {"methods are case-sensitive", s, "127.0.0.1", "bob", "delete", "a.test", 80, "192.0.2.1:80",
       Verdict::Allow, true, ""},
      {"allow by user lifts connect_ports it names", s, "127.0.0.1", "alice", "CONNECT", "a.test",
       22, nullptr, Verdict::Allow, true, ""},
      {"another user: the lab rule waits for the address", s, "127.0.0.1", "bob", "CONNECT",
       "a.test", 22, nullptr, Verdict::Undecided, true, ""},
      {"another user keeps connect_ports", s, "127.0.0.1", "bob", "CONNECT", "a.test", 22,
       "192.0.2.1:22", Verdict::Deny, true, "CONNECT to port 22"},
      {"alice elsewhere keeps connect_ports", s, "127.0.0.1", "alice", "CONNECT", "a.test", 25,
       "192.0.2.1:25", Verdict::Deny, true, "CONNECT to port 25"},
      {"deny by port", s, "127.0.0.1", "bob", "GET", "a.test", 8080, nullptr, Verdict::Deny, true,
       "no-8080"},
      {"allow by client: no credentials needed", s, "10.1.2.3", "", "GET", "a.test", 80, nullptr,
       Verdict::Allow, true, ""},
      {"allow by client keeps http_ports", s, "10.1.2.3", "", "GET", "a.test", 25, nullptr,
       Verdict::Deny, true, "port 25"},
      {"allow by client keeps deny_destinations", s, "10.1.2.3", "", "GET", "a.test", 80,
       "127.0.0.1:80", Verdict::Allow, true, ""},
      {"a rule with destinations waits for the address", s, "127.0.0.1", "bob", "GET", "a.test", 80,
       nullptr, Verdict::Undecided, true, ""},
      {"deny by destination", s, "127.0.0.1", "bob", "GET", "a.test", 80, "10.9.9.9:80",
       Verdict::Deny, true, "denied by lab"},
      {"allow by user and destination lifts deny_destinations", s, "127.0.0.1", "alice", "GET",
       "a.test", 80, "10.9.9.9:80", Verdict::Allow, false, ""},
      {"allow by destination without credentials", s, "127.0.0.1", "", "GET", "intra.test", 80,
       "192.168.1.1:80", Verdict::Allow, false, ""},
      {"no rule for that address: the tail challenges", s, "127.0.0.1", "", "GET", "a.test", 80,
       "192.0.2.1:80", Verdict::Challenge, true, ""},
      {"no rule for that address: a user passes", s, "127.0.0.1", "bob", "GET", "a.test", 80,
       "192.0.2.1:80", Verdict::Allow, true, ""},
      {"IPv6 address against IPv4 rules", s, "127.0.0.1", "bob", "GET", "a.test", 80,
       "[2001:db8::1]:80", Verdict::Allow, true, ""},
  };
  for (const Row& row : rows)
    check(row);
}

TEST_CASE("#14 an empty rule matches everything (deny all)", "[access]") {
  Settings s;
  Rule local = rule(Rule::Action::Allow, "local");
  local.clients = networks({"127.0.0.0/8"});
  s.rules = {local, rule(Rule::Action::Deny, "all")};
  const Row rows[] = {
      {"allowed client", s, "127.0.0.1", "", "GET", "a.test", 80, nullptr, Verdict::Allow, true,
       ""},
      {"any other client", s, "192.0.2.7", "", "GET", "a.test", 80, nullptr, Verdict::Deny, true,
       "denied by all"},
      {"IPv6 client", s, "::1", "", "GET", "a.test", 80, nullptr, Verdict::Deny, true, "all"},
  };
  for (const Row& row : rows)
    check(row);
}

TEST_CASE("#14 authenticated: true matches any user, never none", "[access]") {
  Settings s = withAuth({});
  Rule users = rule(Rule::Action::Allow, "users");
  users.authenticated = true;
  users.ports = {{1, 65535}};
  s.rules = {users};
  const Row rows[] = {
      {"a user, any port", s, "127.0.0.1", "carol", "CONNECT", "a.test", 8443, nullptr,
       Verdict::Allow, true, ""},
      {"no user", s, "127.0.0.1", "", "CONNECT", "a.test", 443, nullptr, Verdict::Challenge, true,
       ""},
  };
  for (const Row& row : rows)
    check(row);
}
