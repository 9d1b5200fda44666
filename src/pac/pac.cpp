// PAC file text. Networks are tested only on IP-literal hosts: isInNet() on a name makes
// the browser resolve it, a blocking lookup for every URL.
#include "ferry/pac/pac.h"

#include <cstdint>
#include <string>

namespace ferry::pac {
namespace {

std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + "\"";
}

// "10.0.0.0/8" → isInNet(h, "10.0.0.0", "255.0.0.0"); "fc00::/7" → isInNetEx(h, "fc00::/7").
std::string networkTest(const net::Cidr& network) {
  const std::string text = network.toString();
  const std::size_t slash = text.find('/');
  const std::string address = text.substr(0, slash);
  if (address.find(':') != std::string::npos)
    return "isInNetEx(h, " + quoted(text) + ")";
  const int prefix = std::stoi(text.substr(slash + 1));
  const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
  const std::string dotted = std::to_string(mask >> 24) + "." + std::to_string((mask >> 16) & 255) +
                             "." + std::to_string((mask >> 8) & 255) + "." +
                             std::to_string(mask & 255);
  return "isInNet(h, " + quoted(address) + ", " + quoted(dotted) + ")";
}

std::string anyOf(const std::vector<std::string>& tests) {
  std::string out;
  for (const std::string& test : tests)
    out += (out.empty() ? "" : " ||\n      ") + test;
  return out;
}

} // namespace

bool isScriptPath(std::string_view path) noexcept {
  path = path.substr(0, path.find('?'));
  return path == "/proxy.pac" || path == "/wpad.dat";
}

std::string announcedProxy(const Settings& settings, const net::Address& listening,
                           const net::Address& reached) {
  if (!settings.proxy.empty())
    return settings.proxy;
  std::string host = listening.host();
  if (host == "0.0.0.0" || host == "::")
    host = reached.host();
  if (host.find(':') != std::string::npos)
    host = "[" + host + "]";
  return host + ":" + std::to_string(listening.port());
}

std::string script(const Settings& settings, std::string_view proxy) {
  std::vector<std::string> domains;
  for (const std::string& domain : settings.direct_domains) {
    if (domain.front() == '.')
      domains.push_back("h == " + quoted(domain.substr(1)) + " || dnsDomainIs(h, " +
                        quoted(domain) + ")");
    else
      domains.push_back("h == " + quoted(domain));
  }
  std::vector<std::string> v4;
  std::vector<std::string> v6;
  for (const net::Cidr& network : settings.direct_networks) {
    std::string test = networkTest(network);
    (test.rfind("isInNetEx", 0) == 0 ? v6 : v4).push_back(std::move(test));
  }

  std::string out = "// Proxy auto-config from ferry: DIRECT for the domains and networks of its\n"
                    "// pac settings, the proxy for everything else.\n"
                    "function FindProxyForURL(url, host) {\n"
                    "  var h = host.toLowerCase().replace(/^\\[|\\]$/g, \"\");\n";
  if (!domains.empty())
    out += "  if (" + anyOf(domains) + ")\n    return \"DIRECT\";\n";
  if (!v4.empty())
    out += "  if (/^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$/.test(h) &&\n      (" + anyOf(v4) +
           "))\n    return \"DIRECT\";\n";
  if (!v6.empty())
    out += "  if (h.indexOf(\":\") >= 0 && typeof isInNetEx == \"function\" &&\n      (" +
           anyOf(v6) + "))\n    return \"DIRECT\";\n";
  out += "  return " + quoted("PROXY " + std::string(proxy)) + ";\n}\n";
  return out;
}

} // namespace ferry::pac
