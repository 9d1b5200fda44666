// How a message body is delimited on the wire (RFC 9112 §6.3). The parser decides it for what
// it receives; setFraming() rewrites the fields for what ferry sends after re-framing a body.
#pragma once

#include <cstdint>

#include "ferry/http/headers.h"
#include "ferry/http/message.h"

#include <string>
#include <string_view>
#include <utility>

namespace ferry::http {

struct Framing {
  enum Kind {
    None,      // no body at all (HEAD response, 1xx/204/304, request without CL/TE, ...)
    Length,    // Content-Length: `length` bytes (may be 0)
    Chunked,   // Transfer-Encoding: chunked
    UntilClose // response body ends when the origin closes (RFC 9112 §6.3 rule 8)
  };
  Framing(Kind k = None, std::uint64_t bytes = 0, std::string coded = {})
      : kind(k), length(bytes), codings(std::move(coded)) {}

  Kind kind = None;
  std::uint64_t length = 0; // bytes; meaningful when kind == Length
  // Transfer codings other than chunked still applied to a response body, in the order
  // applied ("gzip"; empty for almost every message): ferry relays them undecoded, in
  // Transfer-Encoding, and never stores such a body (RFC 9112 §6.1).
  std::string codings;

  bool hasBody() const noexcept { return kind == Chunked || kind == UntilClose || length > 0; }
};

// Makes `headers` announce `framing` (RFC 9112 §6):
//   Length     → Content-Length: <length>, no Transfer-Encoding
//   Chunked    → Transfer-Encoding: [<codings>, ]chunked, no Content-Length
//   UntilClose → no Content-Length; Transfer-Encoding: <codings> when there are any
//   None       → removes Transfer-Encoding only: the Content-Length of a HEAD or 304 response
//                describes the selected representation and stays (RFC 9110 §8.6).
void setFraming(Headers& headers, const Framing& framing);

// A response to HEAD, a 204 or a 304 has no content (RFC 9110 §6.4.1). True when `response`
// still carries Transfer-Encoding, or is a 204 with Content-Length (RFC 9110 §8.6): its
// sender may well write a body after it, so its connection must not carry another exchange.
// Call it before the hop-by-hop fields are stripped.
bool announcesForbiddenBody(std::string_view request_method, const ResponseHead& response);

} // namespace ferry::http
