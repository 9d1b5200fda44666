#include "ferry/net/address.h"

#include <catch2/catch.hpp>

using ferry::net::Address;

TEST_CASE("Address parses IPv4 and bracketed IPv6 with port", "[net]") {
  auto v4 = Address::parse("127.0.0.1:3128");
  REQUIRE(v4);
  CHECK(v4->family() == AF_INET);
  CHECK(v4->port() == 3128);
  CHECK(v4->toString() == "127.0.0.1:3128");

  auto v6 = Address::parse("[::1]:8080");
  REQUIRE(v6);
  CHECK(v6->family() == AF_INET6);
  CHECK(v6->host() == "::1");
  CHECK(v6->toString() == "[::1]:8080");

  CHECK(Address::parse("0.0.0.0:0")->port() == 0);
}

TEST_CASE("Address rejects names, missing ports and bad ports", "[net]") {
  for (const char* bad : {"localhost:80", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "::1:80",
                          "[::1]", "[::1]80", "[127.0.0.1]:80", "1.2.3.4:8x", ""}) {
    INFO(bad);
    CHECK_FALSE(Address::parse(bad));
  }
}

TEST_CASE("#10 a host is read as an address in every form a resolver would take", "[net]") {
  struct Row {
    const char* host;
    const char* address; // nullptr: a name
  };
  const Row rows[] = {
      {"127.0.0.1", "127.0.0.1:80"},
      {"127.1", "127.0.0.1:80"},
      {"0x7f.1", "127.0.0.1:80"},
      {"2130706433", "127.0.0.1:80"},
      {"017700000001", "127.0.0.1:80"},
      {"169.254.43518", "169.254.169.254:80"},
      {"::1", "[::1]:80"},
      {"::ffff:127.0.0.1", "[::ffff:127.0.0.1]:80"},
      {"example.com", nullptr},
      {"127.0.0.1.example", nullptr},
      {"", nullptr},
      {"127.0.0.1 x", nullptr},
      {"1.2.3.4.5", nullptr},
  };
  for (const Row& row : rows) {
    INFO(row.host);
    const auto address = Address::ofHost(row.host, 80);
    if (row.address) {
      REQUIRE(address);
      CHECK(address->toString() == row.address);
    } else {
      CHECK_FALSE(address);
    }
  }
}
