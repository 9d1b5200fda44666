// Predicates on message heads.
#include "ferry/http/message.h"

namespace ferry::http {

bool RequestHead::expectsContinue() const noexcept {
  return headers.hasToken("Expect", "100-continue");
}

bool isIdempotent(std::string_view method) noexcept {
  // RFC 9110 §9.2.2: the safe methods plus PUT and DELETE.
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS" || method == "TRACE";
}

} // namespace ferry::http
