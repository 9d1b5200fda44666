// The Vary secondary key (RFC 9111 §4.1): which request fields it holds and how they are
// normalised, so that equivalent requests select the same stored response.
#include "policy_fixtures.h"

#include <catch2/catch.hpp>

using namespace ferry;
using namespace ferry::cache;
using namespace ferry::cache::policy;
using namespace ferry::cache::policy_test;

namespace {

std::optional<std::string> key(const char* response, const char* request) {
  return varyKey(fields(response), fields(request));
}

} // namespace

TEST_CASE("§4.1 the secondary key holds the nominated request fields", "[cache]") {
  CHECK(key("", "Accept-Encoding: gzip") == std::string(""));
  CHECK(key("Vary: Accept-Encoding", "Accept-Encoding: gzip") ==
        std::string("accept-encoding:gzip\n"));
  // Names lower case, sorted, listed once, whatever the Vary spelling and order.
  CHECK(key("Vary: User-Agent, ACCEPT-ENCODING\nVary: accept-encoding",
            "accept-encoding: br\nUser-Agent: curl/8") ==
        std::string("accept-encoding:br\nuser-agent:curl/8\n"));
  CHECK(key("Vary: Accept-Encoding, User-Agent", "User-Agent: curl/8\nAccept-Encoding: br") ==
        key("Vary: user-agent,accept-encoding", "Accept-Encoding: br\nUser-Agent: curl/8"));
}

TEST_CASE("§4.1 Vary: * never matches", "[cache]") {
  CHECK_FALSE(key("Vary: *", "Accept: */*"));
  CHECK_FALSE(key("Vary: Accept\nVary: *", "Accept: */*"));
}

TEST_CASE("§4.1 an absent field differs from an empty one", "[cache]") {
  const auto absent = key("Vary: Accept-Language", "Accept: */*");
  const auto empty = key("Vary: Accept-Language", "Accept-Language: ");
  CHECK(absent == std::string("accept-language\n"));
  CHECK(empty == std::string("accept-language:\n"));
  CHECK(absent != empty);
}

TEST_CASE("§4.1 field lines are combined and whitespace normalised", "[cache]") {
  const auto expected = std::string("accept-encoding:gzip,deflate,br\n");
  CHECK(key("Vary: Accept-Encoding", "Accept-Encoding: gzip, deflate, br") == expected);
  CHECK(key("Vary: Accept-Encoding", "Accept-Encoding: gzip,deflate , \t br") == expected);
  CHECK(key("Vary: Accept-Encoding", "Accept-Encoding: gzip\nAccept-Encoding: deflate, br") ==
        expected);
  CHECK(key("Vary: Accept-Encoding", "Accept-Encoding:   gzip,deflate,br  ") == expected);
  // Runs of spaces inside a value are one space; quoted strings are kept byte for byte.
  CHECK(key("Vary: User-Agent", "User-Agent: Mozilla/5.0  (X11;\t Linux)") ==
        std::string("user-agent:Mozilla/5.0 (X11; Linux)\n"));
  CHECK(key("Vary: X-Q", "X-Q: \"a ,  b\" ,c") == std::string("x-q:\"a ,  b\",c\n"));
  // Values keep their case, unless the field is case-insensitive throughout (below).
  CHECK(key("Vary: User-Agent", "User-Agent: Curl") != key("Vary: User-Agent", "User-Agent: curl"));
  // Different values, different keys.
  CHECK(key("Vary: Accept-Encoding", "Accept-Encoding: gzip") !=
        key("Vary: Accept-Encoding", "Accept-Encoding: br"));
}

TEST_CASE("#11 case-insensitive fields select regardless of case, never of order", "[cache]") {
  struct Row {
    const char* name;
    const char* vary;
    const char* a;
    const char* b;
    bool same;
  };
  // clang-format off
  const Row rows[] = {
    {"RFC 4647 §2 language ranges", "Accept-Language", "Accept-Language: en, de",
     "Accept-Language: eN, De", true},
    {"RFC 9110 §12.4.2 the weight's q", "Accept-Language", "Accept-Language: en;q=0.5",
     "Accept-Language: EN;Q=0.5", true},
    {"whitespace too", "Accept-Language", "Accept-Language: en, de",
     "Accept-Language:  en ,   de", true},
    {"RFC 9110 §12.5.4 order may say which is preferred", "Accept-Language",
     "Accept-Language: en, de", "Accept-Language: de, en", false},
    {"different weights differ", "Accept-Language", "Accept-Language: en;q=0.5",
     "Accept-Language: en;q=0.6", false},
    {"RFC 9110 §8.4.1 content codings", "Accept-Encoding", "Accept-Encoding: GZIP, br",
     "Accept-Encoding: gzip, BR", true},
    {"RFC 9110 §8.3.2 charsets", "Accept-Charset", "Accept-Charset: UTF-8",
     "Accept-Charset: utf-8", true},
    {"other fields keep their case", "Accept", "Accept: Text/HTML", "Accept: text/html", false},
  };
  // clang-format on
  for (const Row& row : rows) {
    INFO(row.name);
    const std::string vary = std::string("Vary: ") + row.vary;
    CHECK((key(vary.c_str(), row.a) == key(vary.c_str(), row.b)) == row.same);
  }
}
