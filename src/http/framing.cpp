// Rewriting the framing fields of a head that ferry sends with a re-framed body.
#include "ferry/http/framing.h"

#include <charconv>

namespace ferry::http {

void setFraming(Headers& headers, const Framing& framing) {
  // RFC 9112 §6.1-6.2: never both fields; Transfer-Encoding is hop-by-hop and was stripped
  // on receipt, so only what this hop uses is written.
  headers.remove("Transfer-Encoding");
  switch (framing.kind) {
  case Framing::None:
    break;
  case Framing::Length: {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, framing.length).ptr;
    headers.set("Content-Length", std::string_view(digits, static_cast<std::size_t>(end - digits)));
    break;
  }
  case Framing::Chunked:
    headers.remove("Content-Length");
    headers.add("Transfer-Encoding",
                framing.codings.empty() ? "chunked" : framing.codings + ", chunked");
    break;
  case Framing::UntilClose:
    headers.remove("Content-Length");
    if (!framing.codings.empty())
      headers.add("Transfer-Encoding", framing.codings);
    break;
  }
}

bool announcesForbiddenBody(std::string_view request_method, const ResponseHead& response) {
  const bool bodiless =
      request_method == "HEAD" || response.status == 204 || response.status == 304;
  if (!bodiless)
    return false;
  return response.headers.has("Transfer-Encoding") ||
         (response.status == 204 && response.headers.has("Content-Length"));
}

} // namespace ferry::http
