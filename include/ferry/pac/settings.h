// Settings of the PAC file (`pac` in the config): what goes DIRECT and which proxy to name.
#pragma once

#include "ferry/net/cidr.h"

#include <string>
#include <vector>

namespace ferry::pac {

struct Settings {
  std::string proxy; // host:port to announce; empty: the proxy listen address (see pac.h)
  // "example.com" matches that host only, ".example.com" it and every name below it.
  std::vector<std::string> direct_domains{"localhost"};
  // IP-literal hosts in these go DIRECT (names are not resolved by the PAC file).
  std::vector<net::Cidr> direct_networks;
};

} // namespace ferry::pac
