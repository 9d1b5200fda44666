// htpasswd lines → accounts or a problem naming the line: slow hashes taken, fast or plain
// ones refused with the way to make a good entry.
#include "ferry/access/htpasswd.h"

#include <catch2/catch.hpp>

using ferry::access::parseHtpasswd;

namespace {

constexpr const char* Bcrypt = "$2b$05$9htJACe2nxmaQqBeygi/DeSHYcszHzMvvE74HaFgwYLM/4OCXzlWu";
constexpr const char* Sha512 = "$6$u0yDXvRXVqB0RmDc$XHD2K24VYJ9n51z7T3ZbazkopTK1MbsRS8Z5BVxFoXv0Yp/"
                               "o42tbH5Z7sOjojJTeEHk3KDXSrYds2DbVrhS.D0";
constexpr const char* Sha256 = "$5$IVpaJ83mdSODbiuF$T0h5dPO5Afh//B7PQ2iRrm6Gl7W51GsLkAYXdOJ0Fn4";

} // namespace

TEST_CASE("#14 htpasswd takes bcrypt, sha512-crypt and sha256-crypt", "[access]") {
  const std::string text = std::string("# users\nalice:") + Bcrypt + "\n\nbob:" + Sha512 +
                           ":comment\r\ncarol:" + Sha256 + "\n";
  const auto parsed = parseHtpasswd(text);
  CHECK(parsed.problems.empty());
  REQUIRE(parsed.accounts.size() == 3);
  CHECK(parsed.accounts.at("alice") == Bcrypt);
  CHECK(parsed.accounts.at("bob") == Sha512);
  CHECK(parsed.accounts.at("carol") == Sha256);
}

TEST_CASE("#14 htpasswd refuses plain, MD5, SHA-1 and malformed entries by line", "[access]") {
  struct Row {
    const char* line;
    const char* problem;
  };
  const Row rows[] = {
      {"alice:secret", "plain-text and DES passwords are refused"},
      {"alice:$apr1$x4c9Fm1P$2dqYmC5PvD7v6AvsvS1hU.", "MD5 hashes ($apr1$, $1$) are refused"},
      {"alice:$1$abcdefgh$P5q2bLCc5wVd4Nw8bZ0vL1", "MD5 hashes"},
      {"alice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", "SHA-1 hashes ({SHA}) are refused"},
      {"alice:$y$j9T$abc$def", "unsupported hash method"},
      {"alice:$2b$99$9htJACe2nxmaQqBeygi/DeSHYcszHzMvvE74HaFgwYLM/4OCXzlWu", "malformed hash"},
      {"alice:$2b$05$9htJACe2nxmaQqBeygi/DeSHYcszHzMvvE74HaFgw", "malformed hash"},
      {"alice:$6$a!b$x", "malformed hash"},
      {"alice:$5$rounds=x$IVpaJ83mdSODbiuF$T0h5dPO5Afh//B7PQ2iRrm6Gl7W51GsLkAYXdOJ0Fn4",
       "malformed hash"},
      {"no colon here", "expected user:hash"},
      {":$2b$05$9htJACe2nxmaQqBeygi/DeSHYcszHzMvvE74HaFgwYLM/4OCXzlWu", "expected user:hash"},
  };
  for (const Row& row : rows) {
    INFO(row.line);
    const auto parsed = parseHtpasswd(std::string("ok:") + Bcrypt + "\n" + row.line + "\n");
    REQUIRE(parsed.problems.size() == 1);
    CHECK(parsed.problems[0].line == 2);
    CHECK(parsed.problems[0].what.find(row.problem) != std::string::npos);
    CHECK(parsed.accounts.size() == 1);
  }
  const auto twice = parseHtpasswd(std::string("a:") + Bcrypt + "\na:" + Sha512 + "\n");
  REQUIRE(twice.problems.size() == 1);
  CHECK(twice.problems[0].line == 2);
  CHECK(twice.problems[0].what == "user a is listed twice");
}
