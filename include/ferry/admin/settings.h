// Settings of the admin listener (status page, /metrics, /healthz, PAC file), filled by
// config from `admin` and `pac`.
#pragma once

#include "ferry/net/address.h"
#include "ferry/net/cidr.h"
#include "ferry/pac/settings.h"

#include <optional>
#include <string>
#include <vector>

namespace ferry::admin {

struct Settings {
  std::optional<net::Address> listen; // none: no admin listener
  std::vector<net::Cidr> allowed;     // who may use it (and send PURGE)
  std::string config_file;            // shown on the status page
  pac::Settings pac;
};

} // namespace ferry::admin
