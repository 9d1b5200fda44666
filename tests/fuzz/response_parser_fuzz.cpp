// Fuzz target: ResponseParser. Byte 0 picks the request method the response answers (GET,
// HEAD, CONNECT, POST), byte 1 how the rest is cut into pieces; the outcome must not depend on the
// cut, and an accepted head must serialize and parse back unchanged.
#include <cstddef>
#include <cstdint>

#include "ferry/http/serializer.h"
#include "fuzz_driver.h"

using namespace ferry::http;
using ferry::http::fuzz::check;

namespace {

const char* const Methods[] = {"GET", "HEAD", "CONNECT", "POST"};

void checkHead(const ResponseParser& parser, const char* method) {
  const ResponseHead& head = parser.head();
  check(head.status >= 100 && head.status <= 599 && head.status != 101);
  check(head.version_major == 1);
  const std::string bytes = serializeResponseHead(head);
  ResponseParser again{Limits{}};
  again.expect(method);
  const Step step = again.parse(bytes);
  check(step.event == Event::Head);
  check(step.consumed == bytes.size());
  check(again.head().status == head.status);
  check(again.head().headers.size() == head.headers.size());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  const char* method = Methods[data[0] % 4];
  const std::size_t step = data[1];
  const std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

  ResponseParser whole_parser{fuzz::fuzzLimits()};
  whole_parser.expect(method);
  const auto whole = fuzz::drive(whole_parser, fuzz::cut(input, 0), true,
                                 [method](const ResponseParser& p) { checkHead(p, method); });
  ResponseParser split_parser{fuzz::fuzzLimits()};
  split_parser.expect(method);
  const auto split =
      fuzz::drive(split_parser, fuzz::cut(input, step), true, [](const ResponseParser&) {});
  check(whole.trace == split.trace);
  check(whole.bodies == split.bodies);
  return 0;
}
