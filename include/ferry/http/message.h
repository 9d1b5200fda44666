// Message heads: the start line and header fields of a request or a response. A message here
// is its head only (as in proxygen); bodies stream separately as spans from the parser, so a
// head is small and cheap to keep, copy into a cache Entry or serialize.
#pragma once

#include <string>
#include <string_view>

#include "ferry/http/headers.h"

namespace ferry::http {

// RFC 9112 §3: request-line = method SP request-target SP HTTP-version.
struct RequestHead {
  std::string method; // case-sensitive token as received (RFC 9110 §9.1)
  std::string target; // request-target as received (RFC 9112 §3.2); see target.h
  int version_major = 1;
  int version_minor = 1;
  Headers headers;

  bool isHttp11() const noexcept { return version_major == 1 && version_minor >= 1; }
  bool isMethod(std::string_view name) const noexcept { return method == name; }
  // Expect: 100-continue (RFC 9110 §10.1.1).
  bool expectsContinue() const noexcept;
};

// RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ].
struct ResponseHead {
  int version_major = 1;
  int version_minor = 1;
  int status = 200;   // 100..599
  std::string reason; // may be empty; never holds CR or LF
  Headers headers;

  bool isHttp11() const noexcept { return version_major == 1 && version_minor >= 1; }
  // 1xx: an interim response, followed by the final one (RFC 9110 §15.2).
  bool isInterim() const noexcept { return status >= 100 && status < 200; }
};

// RFC 9110 §9.2.2: GET, HEAD, PUT, DELETE, OPTIONS, TRACE. Decides whether a request may be
// retried on a fresh origin connection.
bool isIdempotent(std::string_view method) noexcept;

} // namespace ferry::http
