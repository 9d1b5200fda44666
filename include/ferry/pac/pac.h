// The proxy auto-config file (PAC, also served as WPAD's wpad.dat): a JavaScript
// FindProxyForURL that sends the configured domains and networks DIRECT and everything
// else to ferry. Pure text generation; serving it is the admin's and the proxy's.
#pragma once

#include "ferry/net/address.h"
#include "ferry/pac/settings.h"

#include <string>
#include <string_view>

namespace ferry::pac {

inline constexpr std::string_view ContentType = "application/x-ns-proxy-autoconfig";

// "/proxy.pac" or "/wpad.dat", with or without a query.
bool isScriptPath(std::string_view path) noexcept;

// The address the file tells browsers to use: settings.proxy when set, else `listening`
// (a proxy listen address as bound), its wildcard host (0.0.0.0, ::) replaced by the
// host of `reached` (the local address the PAC request came in on).
std::string announcedProxy(const Settings& settings, const net::Address& listening,
                           const net::Address& reached);

// The PAC file announcing `proxy` ("host:port").
std::string script(const Settings& settings, std::string_view proxy);

} // namespace ferry::pac
