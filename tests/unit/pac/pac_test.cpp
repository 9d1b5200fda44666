// PAC file text: which paths are the PAC file, the announced proxy, the generated script.
#include "ferry/pac/pac.h"

#include <catch2/catch.hpp>

using namespace ferry;

namespace {

net::Address address(std::string_view text) {
  auto parsed = net::Address::parse(text);
  REQUIRE(parsed);
  return *parsed;
}

net::Cidr cidr(std::string_view text) {
  auto parsed = net::Cidr::parse(text);
  REQUIRE(parsed);
  return *parsed;
}

} // namespace

TEST_CASE("#14 the PAC file is /proxy.pac or /wpad.dat, query or not", "[pac]") {
  CHECK(pac::isScriptPath("/proxy.pac"));
  CHECK(pac::isScriptPath("/wpad.dat"));
  CHECK(pac::isScriptPath("/proxy.pac?v=2"));
  CHECK_FALSE(pac::isScriptPath("/proxy.pac/"));
  CHECK_FALSE(pac::isScriptPath("/PROXY.PAC"));
  CHECK_FALSE(pac::isScriptPath("/"));
  CHECK_FALSE(pac::isScriptPath("/x/proxy.pac"));
}

TEST_CASE("#14 the announced proxy: configured, else the listen address as reached", "[pac]") {
  pac::Settings settings;
  const auto reached = address("192.0.2.7:3129");
  CHECK(pac::announcedProxy(settings, address("127.0.0.1:3128"), reached) == "127.0.0.1:3128");
  CHECK(pac::announcedProxy(settings, address("0.0.0.0:3128"), reached) == "192.0.2.7:3128");
  CHECK(pac::announcedProxy(settings, address("[::]:8080"), address("[2001:db8::1]:3129")) ==
        "[2001:db8::1]:8080");
  settings.proxy = "proxy.example.com:3128";
  CHECK(pac::announcedProxy(settings, address("0.0.0.0:3128"), reached) ==
        "proxy.example.com:3128");
}

TEST_CASE("#14 the script sends domains and IP-literal networks DIRECT", "[pac]") {
  pac::Settings settings;
  settings.direct_domains = {"localhost", ".corp.example"};
  settings.direct_networks = {cidr("10.0.0.0/8"), cidr("172.16.0.0/12"), cidr("fc00::/7")};
  CHECK(pac::script(settings, "127.0.0.1:3128") ==
        "// Proxy auto-config from ferry: DIRECT for the domains and networks of its\n"
        "// pac settings, the proxy for everything else.\n"
        "function FindProxyForURL(url, host) {\n"
        "  var h = host.toLowerCase().replace(/^\\[|\\]$/g, \"\");\n"
        "  if (h == \"localhost\" ||\n"
        "      h == \"corp.example\" || dnsDomainIs(h, \".corp.example\"))\n"
        "    return \"DIRECT\";\n"
        "  if (/^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$/.test(h) &&\n"
        "      (isInNet(h, \"10.0.0.0\", \"255.0.0.0\") ||\n"
        "      isInNet(h, \"172.16.0.0\", \"255.240.0.0\")))\n"
        "    return \"DIRECT\";\n"
        "  if (h.indexOf(\":\") >= 0 && typeof isInNetEx == \"function\" &&\n"
        "      (isInNetEx(h, \"fc00::/7\")))\n"
        "    return \"DIRECT\";\n"
        "  return \"PROXY 127.0.0.1:3128\";\n"
        "}\n");
}

TEST_CASE("#14 with nothing DIRECT the script always names the proxy", "[pac]") {
  pac::Settings settings;
  settings.direct_domains.clear();
  settings.direct_networks = {cidr("0.0.0.0/0")};
  const std::string text = pac::script(settings, "[::1]:3128");
  CHECK(text.find("dnsDomainIs") == std::string::npos);
  CHECK(text.find("isInNet(h, \"0.0.0.0\", \"0.0.0.0\")") != std::string::npos);
  CHECK(text.find("return \"PROXY [::1]:3128\";\n}\n") != std::string::npos);
}
