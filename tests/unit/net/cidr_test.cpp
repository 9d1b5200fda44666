#include "ferry/net/cidr.h"

#include <catch2/catch.hpp>

using ferry::net::Address;
using ferry::net::Cidr;

TEST_CASE("Cidr matches IPv4, IPv6 and IPv4-mapped peers", "[net]") {
  auto lo = Cidr::parse("127.0.0.0/8");
  REQUIRE(lo);
  CHECK(lo->contains(*Address::parse("127.1.2.3:1")));
  CHECK_FALSE(lo->contains(*Address::parse("128.0.0.1:1")));
  CHECK(lo->contains(*Address::parse("[::ffff:127.0.0.9]:1")));

  auto net10 = Cidr::parse("10.128.0.0/9");
  REQUIRE(net10);
  CHECK(net10->contains(*Address::parse("10.200.0.1:1")));
  CHECK_FALSE(net10->contains(*Address::parse("10.127.0.1:1")));

  auto v6 = Cidr::parse("::1/128");
  REQUIRE(v6);
  CHECK(v6->contains(*Address::parse("[::1]:5")));
  CHECK_FALSE(v6->contains(*Address::parse("127.0.0.1:5")));

  auto all = Cidr::parse("0.0.0.0/0");
  REQUIRE(all);
  CHECK(all->contains(*Address::parse("203.0.113.7:1")));
  CHECK(Cidr::parse("192.0.2.1")->toString() == "192.0.2.1/32");
}

TEST_CASE("Cidr rejects malformed networks and host bits past the prefix", "[net]") {
  for (const char* bad :
       {"10.0.0.1/8", "10.0.0.0/33", "::1/129", "10.0.0.0/", "10.0.0.0/x", "host/8", "", "/8"}) {
    INFO(bad);
    CHECK_FALSE(Cidr::parse(bad));
  }
}
