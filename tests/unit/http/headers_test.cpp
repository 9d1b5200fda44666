// Headers: order and case kept, case-insensitive lookup, list members, self-aliasing edits.
#include <catch2/catch.hpp>

#include "ferry/http/headers.h"

using namespace ferry::http;

namespace {

std::string dump(const Headers& h) {
  std::string s;
  for (const auto [name, value] : h) {
    s += std::string(name) + "=" + std::string(value) + ";";
  }
  return s;
}

} // namespace

TEST_CASE("lookup ignores case, iteration keeps order and spelling", "[http]") {
  Headers h;
  h.add("Content-Type", "text/html");
  h.add("X-CUSTOM", "1");
  h.add("x-custom", "2");
  CHECK(h.get("content-type") == std::optional<std::string_view>("text/html"));
  CHECK(h.get("X-Custom") == std::optional<std::string_view>("1"));
  CHECK_FALSE(h.get("Missing").has_value());
  CHECK(h.getAll("X-CUSTOM") == std::vector<std::string_view>{"1", "2"});
  CHECK(h.combined("x-Custom") == "1, 2");
  CHECK(h.count("X-Custom") == 2);
  CHECK(h.has("CONTENT-TYPE"));
  CHECK(dump(h) == "Content-Type=text/html;X-CUSTOM=1;x-custom=2;");
  CHECK(h.wireSize() ==
        std::string("Content-Type: text/html\r\nX-CUSTOM: 1\r\nx-custom: 2\r\n").size());
}

TEST_CASE("set replaces the first in place and drops the rest; remove drops all", "[http]") {
  Headers h;
  h.add("A", "1");
  h.add("Via", "1.0 a");
  h.add("B", "2");
  h.add("via", "1.1 b");
  h.set("VIA", "x");
  CHECK(dump(h) == "A=1;Via=x;B=2;");
  h.set("C", "3");
  CHECK(dump(h) == "A=1;Via=x;B=2;C=3;");
  CHECK(h.remove("a") == 1);
  CHECK(h.remove("nope") == 0);
  CHECK(dump(h) == "Via=x;B=2;C=3;");
  h.clear();
  CHECK(h.empty());
}

TEST_CASE("adding a value that is a view into the same Headers", "[http]") {
  Headers h;
  h.add("Long", std::string(100, 'x'));
  for (int i = 0; i < 50; ++i) {
    h.add("Copy", *h.get("Long")); // may reallocate while reading from itself
  }
  CHECK(h.count("Copy") == 50);
  CHECK(h.getAll("Copy").back() == std::string(100, 'x'));
  h.set("Long", *h.get("Copy"));
  CHECK(h.get("Long") == std::optional<std::string_view>(std::string(100, 'x')));
}

TEST_CASE("removal keeps views of the remaining fields valid", "[http]") {
  Headers h;
  h.add("A", "alpha");
  h.add("B", "beta");
  const std::string_view beta = *h.get("B");
  h.remove("A");
  CHECK(beta == "beta");
}

TEST_CASE("a copy with room takes that much more without moving its bytes", "[http]") {
  Headers h;
  h.add("Host", "o.example");
  h.add("Accept", "*/*");
  h.remove("Accept");
  Headers copy = h.withRoom(20, 2);
  REQUIRE(copy.size() == 1);
  const std::string_view host = *copy.get("Host");
  CHECK(host == "o.example");
  copy.add("Via", "1.1 ferry");
  copy.add("X", "0123456");
  CHECK(copy.get("Host")->data() == host.data());
  CHECK(copy.getAll("Via") == std::vector<std::string_view>{"1.1 ferry"});
  CHECK(h.size() == 1); // the original is untouched
  CHECK_FALSE(h.has("Via"));
}

TEST_CASE("list members and tokens", "[http]") {
  std::vector<std::string> members;
  forEachListMember(" a ,b,, \t c\t,", [&](std::string_view m) { members.emplace_back(m); });
  CHECK(members == std::vector<std::string>{"a", "b", "c"});
  members.clear();
  forEachListMember(R"(private="x, y", max-age=3, q="a\"b,c")",
                    [&](std::string_view m) { members.emplace_back(m); });
  CHECK(members == std::vector<std::string>{R"(private="x, y")", "max-age=3", R"(q="a\"b,c")"});

  Headers h;
  h.add("Connection", "keep-alive, Upgrade");
  h.add("connection", "TE");
  CHECK(h.hasToken("CONNECTION", "upgrade"));
  CHECK(h.hasToken("Connection", "te"));
  CHECK_FALSE(h.hasToken("Connection", "close"));
  CHECK_FALSE(h.hasToken("Connection", "keep"));
}

TEST_CASE("equalsIgnoreCase is ASCII only", "[http]") {
  CHECK(equalsIgnoreCase("Content-Length", "content-LENGTH"));
  CHECK_FALSE(equalsIgnoreCase("Content-Length", "Content-Lengt"));
  CHECK_FALSE(equalsIgnoreCase("\xc3\xa9", "\xc3\x89"));
  CHECK_FALSE(equalsIgnoreCase("a[", "A{"));
}
