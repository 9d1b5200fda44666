// auth.basic and access.rules in the config file: what they load into, and every bad value
// reported with file:line:column (an htpasswd line with that file's line as well).
#include "ferry/config/config.h"
#include "problems_of.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>

using namespace ferry;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

constexpr const char* Bcrypt = "$2b$05$9htJACe2nxmaQqBeygi/DeSHYcszHzMvvE74HaFgwYLM/4OCXzlWu";

// An htpasswd file for the duration of a test.
struct TempFile {
  explicit TempFile(const std::string& text)
      : path("/tmp/ferry-access-config-" + std::to_string(::getpid()) + "-" +
             std::to_string(++serial)) {
    std::ofstream(path) << text;
  }
  ~TempFile() { std::remove(path.c_str()); }
  std::string path;
  static inline int serial = 0;
};

} // namespace

TEST_CASE("#14 without auth and rules access behaves as before", "[config]") {
  const auto c = config::parse("", "t.yaml");
  CHECK_FALSE(c.proxy.access.basic.enabled());
  CHECK(c.proxy.access.rules.empty());
  CHECK(c.proxy.access.connect_ports == std::vector<uint16_t>{443});
}

TEST_CASE("#14 auth.basic reads the htpasswd file and its settings", "[config]") {
  TempFile file(std::string("# team\nalice:") + Bcrypt + "\n");
  const auto c = config::parse("auth:\n  basic:\n    file: " + file.path +
                                   "\n    realm: Office proxy\n    credentials_ttl: 30s\n"
                                   "    max_failures: 10\n    lockout: 1m\n",
                               "t.yaml");
  const auto& basic = c.proxy.access.basic;
  CHECK(basic.enabled());
  CHECK(basic.realm == "Office proxy");
  CHECK(basic.credentials_ttl == std::chrono::seconds(30));
  CHECK(basic.max_failures == 10);
  CHECK(basic.lockout == std::chrono::minutes(1));
  REQUIRE(basic.accounts.size() == 1);
  CHECK(basic.accounts.at("alice") == Bcrypt);
  // An empty file key: authentication off.
  CHECK_FALSE(
      config::parse("auth:\n  basic:\n    file: \"\"\n", "t.yaml").proxy.access.basic.enabled());
}

TEST_CASE("#14 access.rules load in order with their conditions", "[config]") {
  TempFile file(std::string("alice:") + Bcrypt + "\n");
  const auto c = config::parse("auth:\n  basic: {file: " + file.path +
                                   "}\n"
                                   "access:\n"
                                   "  rules:\n"
                                   "    - deny: {domains: [.ads.example, Tracker.example]}\n"
                                   "    - allow:\n"
                                   "        users: [alice]\n"
                                   "        methods: [CONNECT]\n"
                                   "        ports: [22, 8000-8999]\n"
                                   "    - allow: {clients: [10.0.0.0/8], destinations: "
                                   "[192.168.0.0/16]}\n"
                                   "    - allow: {authenticated: true}\n"
                                   "    - deny:\n",
                               "t.yaml");
  const auto& rules = c.proxy.access.rules;
  REQUIRE(rules.size() == 5);
  using Action = access::Rule::Action;
  CHECK(rules[0].action == Action::Deny);
  CHECK(rules[0].domains == std::vector<std::string>{".ads.example", "tracker.example"});
  CHECK(rules[0].name == "access.rules[0] (line 5)");
  CHECK(rules[1].action == Action::Allow);
  CHECK(rules[1].users == std::vector<std::string>{"alice"});
  CHECK(rules[1].methods == std::vector<std::string>{"CONNECT"});
  REQUIRE(rules[1].ports.size() == 2);
  CHECK(rules[1].ports[1].first == 8000);
  CHECK(rules[1].ports[1].last == 8999);
  CHECK(rules[2].clients.size() == 1);
  CHECK(rules[2].destinations.size() == 1);
  CHECK(rules[3].authenticated);
  CHECK(rules[4].action == Action::Deny); // no conditions: every request
  CHECK(rules[4].clients.empty());
}

TEST_CASE("#14 bad auth and rules point at file:line:column", "[config]") {
  TempFile good(std::string("alice:") + Bcrypt + "\n");
  TempFile md5("alice:$apr1$x4c9Fm1P$2dqYmC5PvD7v6AvsvS1hU.\nbob:plain\n");
  TempFile empty("# nobody\n");
  struct Case {
    std::string yaml;
    std::string where;
    std::string what;
  };
  const Case cases[] = {
      {"auth:\n  basic:\n    file: " + md5.path + "\n", "t.yaml:3:11: auth.basic.file: ",
       md5.path + ":1: user alice: MD5 hashes ($apr1$, $1$) are refused"},
      {"auth:\n  basic:\n    file: " + empty.path + "\n",
       "t.yaml:3:11: auth.basic.file: ", "holds no user:hash line"},
      {"auth:\n  basic:\n    file: /nonexistent/htpasswd\n",
       "t.yaml:3:11: auth.basic.file: ", "cannot read \"/nonexistent/htpasswd\""},
      {"auth:\n  basic:\n    file: " + good.path + "\n    realm: 'a \"b\"'\n",
       "t.yaml:4:12: auth.basic.realm: ", "printable ASCII without quotes"},
      {"auth:\n  basic:\n    file: " + good.path + "\n    max_failures: 0\n",
       "t.yaml:4:19: auth.basic.max_failures: ", ""},
      {"auth:\n  digest: {}\n", "t.yaml:2:3: auth.digest: ", "unknown key (known here: basic)"},
      {"access:\n  rules:\n    - allow: {users: [alice]}\n",
       "t.yaml:3:22: access.rules[0].allow.users: ", "needs auth.basic"},
      {"access:\n  rules:\n    - allow: {authenticated: true}\n",
       "t.yaml:3:30: access.rules[0].allow.authenticated: ", "needs auth.basic"},
      {"auth:\n  basic: {file: " + good.path +
           "}\naccess:\n  rules:\n    - allow: {authenticated: false}\n",
       "t.yaml:5:30: access.rules[0].allow.authenticated: ", "only true is a condition"},
      {"access:\n  rules:\n    - deny: {hosts: [a.example]}\n",
       "t.yaml:3:14: access.rules[0].deny.hosts: ",
       "unknown key (known here: clients, users, authenticated, methods, domains, ports, "
       "destinations)"},
      {"access:\n  rules:\n    - {allow: {}, deny: {}}\n",
       "t.yaml:3:25: access.rules[0].deny: ", "a rule either allows or denies"},
      {"access:\n  rules:\n    - {}\n",
       "t.yaml:3:7: access.rules[0]: ", "a rule needs allow or deny"},
      {"access:\n  rules:\n    - permit: {}\n",
       "t.yaml:3:7: access.rules[0].permit: ", "unknown key (known here: allow, deny)"},
      {"access:\n  rules:\n    - deny: {ports: [99999]}\n",
       "t.yaml:3:22: access.rules[0].deny.ports[0]: ", "ports must be from 1 to 65535"},
      {"access:\n  rules:\n    - deny: {clients: [10.0.0.1/8]}\n",
       "t.yaml:3:24: access.rules[0].deny.clients[0]: ", "is not a network"},
      {"access:\n  rules:\n    - deny: {destinations: [nowhere]}\n",
       "t.yaml:3:29: access.rules[0].deny.destinations[0]: ", "is not a network"},
      {"access:\n  rules:\n    - deny: {domains: [\"a b\"]}\n",
       "t.yaml:3:24: access.rules[0].deny.domains[0]: ", "expected a host like example.com"},
      {"access:\n  rules:\n    deny: {}\n",
       "t.yaml:3:5: access.rules: ", "expected a list of rules"},
  };
  for (const Case& c : cases) {
    INFO("yaml:\n" << c.yaml);
    auto problems = problemsOf(c.yaml);
    REQUIRE(problems.size() >= 1);
    CHECK_THAT(problems[0], StartsWith(c.where));
    CHECK_THAT(problems[0], Contains(c.what));
  }
  // Two bad htpasswd lines: both reported, each with its own line.
  auto both = problemsOf("auth:\n  basic:\n    file: " + md5.path + "\n");
  REQUIRE(both.size() == 2);
  CHECK_THAT(both[1], Contains(md5.path + ":2: user bob: plain-text and DES passwords"));
  // A lower-case method would never match.
  auto method = problemsOf("access:\n  rules:\n    - deny: {methods: [get]}\n");
  REQUIRE(method.size() == 1);
  CHECK_THAT(method[0], StartsWith("t.yaml:3:24: access.rules[0].deny.methods[0]: "));
  CHECK_THAT(method[0], Contains("methods are case-sensitive and upper case"));
}
