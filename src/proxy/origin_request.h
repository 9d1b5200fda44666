// The request ferry sends upstream, built from the client's request by a pure function: the
// client's head is never edited (RFC 9110 §7.6, RFC 9111 §4.3.1). Everything that differs
// between what the client sent and what goes to the next hop is decided here.
#pragma once

#include "ferry/http/framing.h"
#include "ferry/http/message.h"

#include <string>
#include <string_view>
#include <vector>

namespace ferry::proxy {

struct OriginRequestPlan {
  http::Framing framing;                            // of the body that follows the head
  std::vector<std::string> upgrade;                 // protocols asked for end to end; empty: none
  const http::ResponseHead* revalidating = nullptr; // the stored response to revalidate
  std::string_view via;                             // this hop's Via pseudonym
};

// `client`'s head (its hop-by-hop fields already removed) as the next hop gets it: framing
// fields for `plan.framing`, Connection: upgrade and Upgrade when asked for, the stored
// validators instead of the client's conditionals when revalidating, Max-Forwards
// decremented (OPTIONS, TRACE) and this hop appended to Via.
http::RequestHead originRequest(const http::RequestHead& client, const OriginRequestPlan& plan);

} // namespace ferry::proxy
