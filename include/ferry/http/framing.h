// How a message body is delimited on the wire (RFC 9112 §6.3). The parser decides it for what
// it receives; setFraming() rewrites the fields for what ferry sends after re-framing a body.
#pragma once

#include <cstdint>

#include "ferry/http/headers.h"
#include "ferry/http/message.h"

#include <string_view>

namespace ferry::http {

struct Framing {
  enum Kind {
    None,      // no body at all (HEAD response, 1xx/204/304, request without CL/TE, ...)
    Length,    // Content-Length: `length` bytes (may be 0)
    Chunked,   // Transfer-Encoding: chunked
    UntilClose // response body ends when the origin closes (RFC 9112 §6.3 rule 8)
  };
  Kind kind = None;
  std::uint64_t length = 0; // bytes; meaningful when kind == Length

  bool hasBody() const noexcept { return kind == Chunked || kind == UntilClose || length > 0; }
};

// Makes `headers` announce `framing` (RFC 9112 §6):
//   Length     → Content-Length: <length>, no Transfer-Encoding
//   Chunked    → Transfer-Encoding: chunked, no Content-Length
//   UntilClose → neither
//   None       → removes Transfer-Encoding only: the Content-Length of a HEAD or 304 response
//                describes the selected representation and stays (RFC 9110 §8.6).
void setFraming(Headers& headers, Framing framing);

// A response to HEAD, a 204 or a 304 has no content (RFC 9110 §6.4.1). True when `response`
// still carries Transfer-Encoding, or is a 204 with Content-Length (RFC 9110 §8.6): its
// sender may well write a body after it, so its connection must not carry another exchange.
// Call it before the hop-by-hop fields are stripped.
bool announcesForbiddenBody(std::string_view request_method, const ResponseHead& response);

} // namespace ferry::http
