// Fuzz target: chunked decoding. The input is the body of a chunked request (after a fixed
// head); byte 0 picks how it is cut. Whatever decodes must decode the same however it is
// cut, and re-encoding the decoded bytes with encodeChunk must decode to the same bytes.
#include <cstddef>
#include <cstdint>

#include "ferry/http/serializer.h"
#include "fuzz_driver.h"

using namespace ferry::http;
using ferry::http::fuzz::check;

namespace {

constexpr std::string_view RequestHeadBytes =
    "POST http://a.example/ HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n";
constexpr std::string_view ResponseHeadBytes =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

template <class Parser>
fuzz::Outcome decode(std::string_view head, std::string_view body, std::size_t step) {
  Parser parser{fuzz::fuzzLimits()};
  std::vector<std::string_view> pieces{head};
  for (std::string_view piece : fuzz::cut(body, step)) {
    pieces.push_back(piece);
  }
  return fuzz::drive(parser, pieces, true, [](const Parser&) {});
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::size_t step = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);

  const auto whole = decode<RequestParser>(RequestHeadBytes, body, 0);
  const auto split = decode<RequestParser>(RequestHeadBytes, body, step);
  check(whole.trace == split.trace);
  check(whole.bodies == split.bodies);
  // Both directions decode a chunked body alike (what follows it differs: the next request
  // or the next response, so only the first message is compared).
  const auto response = decode<ResponseParser>(ResponseHeadBytes, body, step);
  check(response.bodies.empty() == whole.bodies.empty());
  check(response.bodies.empty() || response.bodies.front() == whole.bodies.front());

  if (!whole.bodies.empty()) {
    // Re-encode the first message's body in pieces of `step` bytes and decode it again.
    const std::string& decoded = whole.bodies.front();
    std::string encoded;
    for (std::string_view piece : fuzz::cut(decoded, step == 0 ? decoded.size() + 1 : step)) {
      encodeChunk(encoded, piece);
    }
    encoded += LastChunk;
    const auto again = decode<RequestParser>(RequestHeadBytes, encoded, 0);
    check(!again.failed);
    check(again.bodies.size() == 1 && again.bodies.front() == decoded);
  }
  return 0;
}
