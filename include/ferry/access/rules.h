// Whether a request may go where it asks: the access rules in order, the first that
// matches deciding, then the tail for requests no rule decided (the port lists, and the
// authentication challenge when auth.basic is on). Pure functions of (settings, request,
// address): no sockets, no clock, no resolving. The destination networks of the tail
// (access.deny_destinations, ferry's own addresses) are net::DestinationPolicy's.
#pragma once

#include "ferry/access/settings.h"
#include "ferry/net/address.h"

#include <string>
#include <string_view>

namespace ferry::access {

// What a rule is matched against.
struct Request {
  const net::Address& client;
  std::string_view user; // authenticated user; empty when the request carries none
  std::string_view method;
  std::string_view host; // the target's, lower case (http::Target)
  uint16_t port = 0;
};

enum class Verdict {
  Allow,
  Deny,      // 403
  Challenge, // 407: credentials would be needed
  Undecided  // a rule with `destinations` comes first: judge each resolved address
};

struct Decision {
  Verdict verdict = Verdict::Allow;
  std::string why;               // Deny and Challenge: a short reason for the response body
  bool by_rule = false;          // Deny: an access rule denied it (not a port list)
  bool check_destination = true; // Allow: access.deny_destinations still judges each
                                 // address (false when an allow rule named destinations)
};

// Before resolving. Undecided when the first rule that may match sets `destinations`.
Decision decide(const Settings& settings, const Request& request);

// True when an allow rule names destinations: it opens addresses that
// access.deny_destinations closes to everyone else, so every request's addresses must be
// judged, before a cached answer or a pooled connection serves it.
bool namesDestinations(const Settings& settings);

// For one resolved address of the target (or an address literal): never Undecided.
Decision decide(const Settings& settings, const Request& request, const net::Address& destination);

} // namespace ferry::access
