// Fuzz target: RequestParser. Input byte 0 picks how the rest is cut into pieces; the
// verdict and events must not depend on the cut. Every accepted head must serialize into
// bytes that parse back to the same request.
#include <cstddef>
#include <cstdint>

#include "ferry/http/serializer.h"
#include "fuzz_driver.h"

using namespace ferry::http;
using ferry::http::fuzz::check;

namespace {

void checkHead(const RequestParser& parser) {
  const RequestHead& head = parser.head();
  const Target& target = parser.target();
  check(target.isValid());
  check(head.version_major == 1);
  (void)cacheKey(target);
  if (target.form == TargetForm::Absolute || target.form == TargetForm::Authority) {
    // What ferry sends upstream must be a request ferry itself accepts, with the same
    // method, target and fields.
    const std::string bytes = serializeRequestHead(head, target);
    RequestParser again{Limits{}};
    const Step step = again.parse(bytes);
    check(step.event == Event::Head);
    check(step.consumed == bytes.size());
    check(again.head().method == head.method);
    check(again.target().host == target.host);
    // the Host written for a default port has none, and origin-form means http
    check(again.target().port == target.port || target.isDefaultPort());
    check(target.form == TargetForm::Authority || again.target().path == target.path);
    // the serializer writes Host from the target even where the client sent none
    check(again.head().headers.size() - again.head().headers.count("Host") ==
          head.headers.size() - head.headers.count("Host"));
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::size_t step = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  RequestParser whole_parser{fuzz::fuzzLimits()};
  const auto whole = fuzz::drive(whole_parser, fuzz::cut(input, 0), true, checkHead);
  RequestParser split_parser{fuzz::fuzzLimits()};
  const auto split =
      fuzz::drive(split_parser, fuzz::cut(input, step), true, [](const RequestParser&) {});
  check(whole.trace == split.trace);
  check(whole.bodies == split.bodies);
  return 0;
}
