// Shared by the fuzz targets: drives a parser over pieces of an input and renders what it
// reported as a string, so that feeding the same bytes in different pieces can be compared.
// A disagreement, a span outside the input or a broken contract traps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/http/parser.h"

namespace ferry::http::fuzz {

inline void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

// Small limits so that inputs of a few KiB reach the 414/431 paths.
inline Limits fuzzLimits() {
  Limits limits;
  limits.request_line_bytes = 200;
  limits.header_bytes = 1024;
  limits.header_count = 24;
  return limits;
}

// Cuts input into pieces of `step` bytes (step 0: one piece).
inline std::vector<std::string_view> cut(std::string_view input, std::size_t step) {
  std::vector<std::string_view> pieces;
  if (step == 0) {
    pieces.push_back(input);
    return pieces;
  }
  for (std::size_t i = 0; i < input.size(); i += step) {
    pieces.push_back(input.substr(i, step));
  }
  return pieces;
}

struct Outcome {
  std::string trace;               // events, bodies merged
  std::vector<std::string> bodies; // body of each message that ended
  bool failed = false;
};

// on_head(parser) runs at each Head event. Stops at errors and when a tunnel opens.
template <class Parser, class OnHead>
Outcome drive(Parser& parser, const std::vector<std::string_view>& pieces, bool finish,
              OnHead&& on_head) {
  Outcome out;
  std::string pending;
  std::string body;
  bool stop = false;
  const auto handle = [&](const Step& step) {
    switch (step.event) {
    case Event::NeedMore:
      break;
    case Event::Head:
      out.trace += "H" + std::to_string(parser.framing().kind) + ":" +
                   std::to_string(parser.framing().length) + ";";
      on_head(parser);
      break;
    case Event::Body:
      check(!step.body.empty());
      body.append(step.body);
      break;
    case Event::MessageEnd:
      out.trace +=
          "B" + std::to_string(body.size()) + ";E" + std::to_string(parser.trailers().size()) + ";";
      out.bodies.push_back(body);
      body.clear();
      break;
    case Event::Error:
      check(parser.error().isError());
      check(parser.error().reason.find_first_of("\r\n") == std::string::npos);
      out.trace += "X" + std::to_string(parser.error().status) + ";";
      out.failed = true;
      stop = true;
      break;
    }
  };
  for (std::string_view piece : pieces) {
    pending.append(piece);
    while (!stop) {
      const Step step = parser.parse(pending);
      check(step.consumed <= pending.size());
      if (step.event == Event::Body) {
        check(step.body.data() >= pending.data());
        check(step.body.data() + step.body.size() == pending.data() + step.consumed);
      } else if (step.event == Event::Error) {
        check(step.consumed == 0);
      }
      handle(step);
      pending.erase(0, step.consumed);
      if (step.event == Event::NeedMore) {
        check(pending.empty());
        break;
      }
    }
    if (stop) {
      break;
    }
  }
  if (finish && !stop) {
    handle(parser.finish());
  }
  out.trace += "B" + std::to_string(body.size()) + ";";
  return out;
}

} // namespace ferry::http::fuzz
