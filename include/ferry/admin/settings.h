// Settings of the admin listener (/healthz, /metrics), filled by config from `admin`.
#pragma once

#include "ferry/net/address.h"
#include "ferry/net/cidr.h"

#include <optional>
#include <vector>

namespace ferry::admin {

struct Settings {
  std::optional<net::Address> listen; // none: no admin listener
  std::vector<net::Cidr> allowed;     // who may use it (and send PURGE)
};

} // namespace ferry::admin
