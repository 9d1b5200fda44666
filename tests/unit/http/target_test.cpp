// Request targets: the four forms, host and port parsing, the cache key normalisation.
#include <catch2/catch.hpp>

#include "ferry/http/target.h"

using namespace ferry::http;

TEST_CASE("absolute-form targets", "[http]") {
  Target t = parseTarget("GET", "HTTP://WWW.Example.COM:80/Path/%7Euser?Q=A#");
  CHECK_FALSE(t.isValid()); // fragment marker

  t = parseTarget("GET", "HTTP://WWW.Example.COM:80/Path/%7Euser?Q=A");
  REQUIRE(t.isValid());
  CHECK(t.form == TargetForm::Absolute);
  CHECK(t.scheme == "http");
  CHECK(t.host == "www.example.com");
  CHECK(t.port == 80);
  CHECK(t.isDefaultPort());
  CHECK(t.path == "/Path/%7Euser?Q=A"); // byte-exact
  CHECK(t.authority() == "www.example.com");
  CHECK(cacheKey(t) == "http://www.example.com/Path/%7Euser?Q=A");

  t = parseTarget("GET", "http://a.example:8080");
  REQUIRE(t.isValid());
  CHECK(t.path == "/");
  CHECK(t.authority() == "a.example:8080");
  CHECK(cacheKey(t) == "http://a.example:8080/");

  t = parseTarget("GET", "http://a.example?x");
  REQUIRE(t.isValid());
  CHECK(t.path == "/?x");

  t = parseTarget("GET", "https://secure.example/");
  REQUIRE(t.isValid());
  CHECK(t.port == 443);
  CHECK(cacheKey(t) == "https://secure.example/");
  t = parseTarget("GET", "https://secure.example:80/");
  CHECK(cacheKey(t) == "https://secure.example:80/");

  t = parseTarget("GET", "http://a.example:/x");
  REQUIRE(t.isValid()); // empty port = default (RFC 3986 §6.2.3)
  CHECK(cacheKey(t) == "http://a.example/x");
}

TEST_CASE("IP literals", "[http]") {
  Target t = parseTarget("GET", "http://[::1]:8080/x");
  REQUIRE(t.isValid());
  CHECK(t.host == "::1");
  CHECK(t.port == 8080);
  CHECK(t.authority() == "[::1]:8080");
  CHECK(cacheKey(t) == "http://[::1]:8080/x");

  t = parseTarget("GET", "http://[2001:DB8::A]/");
  REQUIRE(t.isValid());
  CHECK(t.host == "2001:db8::a");
  CHECK(cacheKey(t) == "http://[2001:db8::a]/");

  t = parseTarget("GET", "http://192.0.2.7:81/");
  REQUIRE(t.isValid());
  CHECK(t.host == "192.0.2.7");

  CHECK_FALSE(parseTarget("GET", "http://[::1/").isValid());
  CHECK_FALSE(parseTarget("GET", "http://[::g]/").isValid());
  CHECK_FALSE(parseTarget("GET", "http://[]/").isValid());
  CHECK_FALSE(parseTarget("GET", "http://[::1]x/").isValid());
  CHECK_FALSE(parseTarget("GET", "http://[v1.x]/").isValid());
  CHECK_FALSE(parseTarget("GET", "http://[fe80::1%25en0]/").isValid());
  CHECK_FALSE(parseTarget("GET", "http://::1/").isValid());
}

TEST_CASE("invalid absolute-form targets", "[http]") {
  const char* bad[] = {
      "http://user@a/", "http://u:p@a/", "http://a:0/",  "http://a:65536/",
      "http://a:-1/",   "http://a:8x/",  "http:///x",    "http://:80/",
      "http:/a/",       "http:a",        "://a/",        "1http://a/",
      "http://a b/",    "http://a%2eb/", "http://a,b/",  "http://a/\x7f",
      "http://a/ x",    "http://a/#x",   "a.example:80", "http://a:99999999999999999999/",
  };
  for (const char* raw : bad) {
    INFO(raw);
    const Target t = parseTarget("GET", raw);
    CHECK_FALSE(t.isValid());
    CHECK(t.error.status == 400);
  }
  const Target ftp = parseTarget("GET", "ftp://a/x");
  CHECK(ftp.error.status == 501);
  CHECK(parseTarget("GET", "ws://a/x").error.status == 501);
}

TEST_CASE("origin-form and asterisk-form", "[http]") {
  Target t = parseTarget("GET", "/a/b?c=d");
  REQUIRE(t.isValid());
  CHECK(t.form == TargetForm::Origin);
  CHECK(t.path == "/a/b?c=d");
  CHECK(t.host.empty());
  CHECK(t.scheme.empty());

  t = parseTarget("OPTIONS", "*");
  REQUIRE(t.isValid());
  CHECK(t.form == TargetForm::Asterisk);
  CHECK(parseTarget("GET", "*").error.status == 400);
  CHECK(parseTarget("GET", "").error.status == 400);
  CHECK(parseTarget("GET", "/a#b").error.status == 400);
}

TEST_CASE("authority-form is for CONNECT and needs a port", "[http]") {
  Target t = parseTarget("CONNECT", "Example.com:443");
  REQUIRE(t.isValid());
  CHECK(t.form == TargetForm::Authority);
  CHECK(t.host == "example.com");
  CHECK(t.port == 443);
  CHECK(t.authority() == "example.com:443");
  t = parseTarget("CONNECT", "[2001:db8::1]:8443");
  REQUIRE(t.isValid());
  CHECK(t.authority() == "[2001:db8::1]:8443");
  CHECK(parseTarget("CONNECT", "example.com").error.status == 400);
  CHECK(parseTarget("CONNECT", "example.com:").error.status == 400);
  CHECK(parseTarget("CONNECT", "/").error.status == 400);
  CHECK(parseTarget("CONNECT", "http://a:443/").error.status == 400);
  CHECK(parseTarget("CONNECT", "u@a:443").error.status == 400);
}

TEST_CASE("Host values", "[http]") {
  auto hp = parseHostPort("Example.COM:8080");
  REQUIRE(hp);
  CHECK(hp->host == "example.com");
  CHECK(hp->port == 8080);
  CHECK(hp->has_port);
  hp = parseHostPort("a");
  REQUIRE(hp);
  CHECK_FALSE(hp->has_port);
  hp = parseHostPort("a:");
  REQUIRE(hp);
  CHECK_FALSE(hp->has_port);
  CHECK_FALSE(parseHostPort(""));
  CHECK_FALSE(parseHostPort(":80"));
  CHECK_FALSE(parseHostPort("a:b"));
  CHECK_FALSE(parseHostPort("a:80:80"));
  CHECK_FALSE(parseHostPort("u@a"));
  CHECK_FALSE(parseHostPort("a b"));
}

TEST_CASE("#10 host patterns: exact, domain and subdomains, every host", "[http]") {
  struct Row {
    const char* host;
    const char* pattern;
    bool matches;
  };
  // clang-format off
  const Row rows[] = {
    {"example.com", "example.com", true},
    {"www.example.com", "example.com", false},
    {"example.com", ".example.com", true},
    {"www.example.com", ".example.com", true},
    {"a.b.example.com", ".EXAMPLE.com", true},
    {"badexample.com", ".example.com", false},
    {"example.com.evil", ".example.com", false},
    {"anything", "*", true},
    {"127.0.0.1", "127.0.0.1", true},
    {"127.0.0.10", "127.0.0.1", false},
    {"www.example.com.", ".example.com", true},
    {"localhost.", "localhost", true},
  };
  // clang-format on
  for (const Row& row : rows) {
    INFO(row.host << " ~ " << row.pattern);
    CHECK(hostMatches(row.host, row.pattern) == row.matches);
  }
}
