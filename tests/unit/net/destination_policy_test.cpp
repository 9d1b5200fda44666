// DestinationPolicy as tables of (destination) → verdict, with the default deny list of
// access.deny_destinations, ferry's own addresses and this host's interface addresses.
#include "ferry/net/destination_policy.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using ferry::net::Address;
using ferry::net::Cidr;
using ferry::net::DestinationPolicy;

namespace {

std::vector<Cidr> networks(std::initializer_list<const char*> texts) {
  std::vector<Cidr> out;
  for (const char* text : texts)
    out.push_back(*Cidr::parse(text));
  return out;
}

std::vector<Address> addresses(std::initializer_list<const char*> texts) {
  std::vector<Address> out;
  for (const char* text : texts)
    out.push_back(*Address::parse(text));
  return out;
}

const std::vector<Cidr> DefaultDeny =
    networks({"127.0.0.0/8", "0.0.0.0/8", "169.254.0.0/16", "::1/128", "::/128", "fe80::/10"});

// A proxy listener on loopback, wildcard listeners of each family and an admin listener on
// an interface address; the interfaces as getifaddrs reports them (port 0).
const std::vector<Address> Own =
    addresses({"127.0.0.1:3128", "0.0.0.0:8080", "[::]:8081", "10.1.2.3:3129"});
const std::vector<Address> Local =
    addresses({"127.0.0.1:0", "10.1.2.3:0", "192.0.2.10:0", "[::1]:0", "[2001:db8::5]:0"});

struct Row {
  const char* destination;
  std::string refusal; // empty: allowed
};

std::string denied(const std::string& host) {
  return "destination " + host + " is not allowed (access.deny_destinations)";
}

std::string own(const std::string& address) {
  return "destination " + address + " is ferry itself (a listen or admin address)";
}

void check(const DestinationPolicy& policy, const std::vector<Row>& rows) {
  for (const Row& row : rows) {
    INFO(row.destination);
    const Address destination = *Address::parse(row.destination);
    CHECK(policy.refusal(destination) == row.refusal);
    CHECK(policy.allows(destination) == row.refusal.empty());
  }
}

} // namespace

TEST_CASE("DestinationPolicy denies loopback, link-local and unspecified by default", "[net]") {
  const DestinationPolicy policy(DefaultDeny, {}, Own, Local);
  check(policy, {
                    {"127.0.0.1:80", denied("127.0.0.1")},
                    {"127.255.255.254:6379", denied("127.255.255.254")},
                    {"0.0.0.0:80", denied("0.0.0.0")},
                    {"0.1.2.3:80", denied("0.1.2.3")},
                    {"169.254.169.254:80", denied("169.254.169.254")},
                    {"[::1]:80", denied("::1")},
                    {"[::]:80", denied("::")},
                    {"[fe80::1]:80", denied("fe80::1")},
                    {"[febf:ffff::1]:80", denied("febf:ffff::1")},
                    {"[fec0::1]:80", ""},
                    {"93.184.216.34:80", ""},
                    {"128.0.0.1:80", ""},
                    {"169.255.0.1:80", ""},
                    {"[2001:db8::1]:443", ""},
                    {"10.1.2.3:80", ""}, // an interface address, on no port of ferry's
                });
}

TEST_CASE("DestinationPolicy judges IPv4-mapped IPv6 as IPv4", "[net]") {
  const DestinationPolicy policy(DefaultDeny, networks({"10.0.0.0/8"}), Own, Local);
  check(policy, {
                    {"[::ffff:127.0.0.1]:80", denied("127.0.0.1")},
                    {"[::ffff:169.254.169.254]:80", denied("169.254.169.254")},
                    {"[::ffff:0.0.0.0]:80", denied("0.0.0.0")},
                    {"[::ffff:93.184.216.34]:80", ""},
                    {"[::ffff:127.0.0.1]:3128", own("127.0.0.1:3128")},
                    {"[::ffff:10.1.2.3]:8080", own("10.1.2.3:8080")},
                });
}

TEST_CASE("DestinationPolicy allow_destinations carves exceptions out of the deny list", "[net]") {
  const DestinationPolicy policy(DefaultDeny, networks({"127.0.0.0/8", "::1/128"}), Own, Local);
  check(policy, {
                    {"127.0.0.1:80", ""},
                    {"127.0.0.1:6379", ""},
                    {"127.0.0.1:3129", ""}, // the admin listener is on 10.1.2.3 only
                    {"[::1]:8080", ""},     // 0.0.0.0 is IPv4 only (IPV6_V6ONLY)
                    {"[::1]:3128", ""},
                    {"[::ffff:127.0.0.1]:80", ""},
                    {"169.254.169.254:80", denied("169.254.169.254")},
                    {"[fe80::1]:80", denied("fe80::1")},
                });
}

TEST_CASE("DestinationPolicy never allows ferry's own addresses", "[net]") {
  // Everything allowed, to show that own addresses are refused whatever the lists say.
  const DestinationPolicy policy({}, networks({"0.0.0.0/0", "::/0"}), Own, Local);
  check(policy, {
                    {"127.0.0.1:3128", own("127.0.0.1:3128")},
                    {"127.0.0.2:3128", ""},                // the listener is on 127.0.0.1 only
                    {"0.0.0.0:3128", own("0.0.0.0:3128")}, // connecting there is loopback
                    {"10.1.2.3:3129", own("10.1.2.3:3129")},
                    {"10.1.2.4:3129", ""},
                    // 0.0.0.0:8080 answers on every IPv4 address of this host.
                    {"127.0.0.9:8080", own("127.0.0.9:8080")},
                    {"10.1.2.3:8080", own("10.1.2.3:8080")},
                    {"192.0.2.10:8080", own("192.0.2.10:8080")},
                    {"192.0.2.11:8080", ""},
                    {"192.0.2.10:8081", ""},
                    // [::]:8081 answers on every IPv6 address of this host.
                    {"[::1]:8081", own("[::1]:8081")},
                    {"[::]:8081", own("[::]:8081")},
                    {"[2001:db8::5]:8081", own("[2001:db8::5]:8081")},
                    {"[2001:db8::6]:8081", ""},
                    {"[2001:db8::5]:8080", ""},
                });
}

TEST_CASE("DestinationPolicy without lists allows everything", "[net]") {
  check(DestinationPolicy(),
        {{"127.0.0.1:3128", ""}, {"[::1]:80", ""}, {"169.254.169.254:80", ""}});
}
