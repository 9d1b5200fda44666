// ParseError: why bytes from a peer were refused, as a value (never an exception). It carries
// the status ferry answers with; error_response.h turns it into the bytes sent to the client.
#pragma once

#include <string>

namespace ferry::http {

struct ParseError {
  // 0: no error. Requests: 400, 414, 431, 501 or 505. Responses: always 502.
  int status = 0;
  // Short plain text for the access log and the error body: no CR, LF or peer bytes.
  std::string reason;

  bool isError() const noexcept { return status != 0; }
};

} // namespace ferry::http
