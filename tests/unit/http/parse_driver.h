// Test driver for the parsers: feeds input in pieces the way a connection would (unconsumed
// bytes are kept and offered again with the next piece) and records the events as text, so
// every way of splitting the same bytes can be compared with one string.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>
#include <type_traits>

#include "ferry/http/parser.h"

namespace ferry::http::test {

inline std::string describeFraming(const Framing& f) {
  const std::string codings = f.codings.empty() ? "" : "(" + f.codings + ")";
  switch (f.kind) {
  case Framing::None:
    return "none";
  case Framing::Length:
    return "length=" + std::to_string(f.length);
  case Framing::Chunked:
    return "chunked" + codings;
  case Framing::UntilClose:
    return "close" + codings;
  }
  return "?";
}

inline std::string describeHead(const RequestParser& p) {
  const RequestHead& h = p.head();
  std::string s = "head " + h.method + " " + h.target + " " + std::to_string(h.version_major) +
                  "." + std::to_string(h.version_minor) + " " + describeFraming(p.framing());
  for (const Field f : h.headers) {
    s += " [" + std::string(f.name) + ": " + std::string(f.value) + "]";
  }
  return s;
}

inline std::string describeHead(const ResponseParser& p) {
  const ResponseHead& h = p.head();
  std::string s = "head " + std::to_string(h.status) + " " + h.reason + " " +
                  std::to_string(h.version_major) + "." + std::to_string(h.version_minor) + " " +
                  describeFraming(p.framing());
  for (const Field f : h.headers) {
    s += " [" + std::string(f.name) + ": " + std::string(f.value) + "]";
  }
  return s;
}

// Result of driving a parser: the events, and the bytes left unconsumed at the end.
struct Trace {
  std::vector<std::string> events;
  std::string rest;
  int error_status = 0;

  std::string joined() const {
    std::string s;
    for (const std::string& e : events) {
      s += e;
      s += '\n';
    }
    return s + "rest:" + rest;
  }
};

// Consecutive Body events are merged: how a body is cut into spans depends on the split.
// expect_method is passed to ResponseParser::expect() for the first response only.
template <class Parser>
Trace drive(Parser& parser, const std::vector<std::string_view>& pieces, bool finish = false,
            const char* expect_method = nullptr) {
  Trace trace;
  std::string pending;
  std::string body;
  bool failed = false;
  bool stopped = false;
  bool first_response = true;
  auto flushBody = [&] {
    if (!body.empty()) {
      trace.events.push_back("body " + body);
      body.clear();
    }
  };
  auto handle = [&](const Step& step) {
    switch (step.event) {
    case Event::NeedMore:
      break;
    case Event::Head:
      flushBody();
      trace.events.push_back(describeHead(parser));
      break;
    case Event::Body:
      body.append(step.body);
      break;
    case Event::MessageEnd: {
      flushBody();
      std::string end = "end";
      for (const Field f : parser.trailers()) {
        end += " [" + std::string(f.name) + ": " + std::string(f.value) + "]";
      }
      trace.events.push_back(end);
      // After a CONNECT and its 2xx the bytes belong to the tunnel: stop like a proxy does.
      if constexpr (std::is_same_v<Parser, ResponseParser>) {
        stopped = first_response && expect_method != nullptr &&
                  std::string_view(expect_method) == "CONNECT" && parser.head().status >= 200 &&
                  parser.head().status < 300;
        first_response = false;
      } else {
        stopped = parser.target().form == TargetForm::Authority;
      }
      break;
    }
    case Event::Error:
      flushBody();
      trace.error_status = parser.error().status;
      trace.events.push_back("error " + std::to_string(parser.error().status));
      failed = true;
      break;
    }
  };
  if constexpr (std::is_same_v<Parser, ResponseParser>) {
    if (expect_method != nullptr) {
      parser.expect(expect_method);
    }
  }
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    pending.append(pieces[i]);
    while (!failed && !stopped) {
      const Step step = parser.parse(pending);
      REQUIRE(step.consumed <= pending.size());
      if (step.event == Event::Body) {
        // The span must lie inside the consumed prefix of the caller's input.
        REQUIRE(step.body.data() >= pending.data());
        REQUIRE(step.body.data() + step.body.size() == pending.data() + step.consumed);
      }
      handle(step);
      pending.erase(0, step.consumed);
      if (step.event == Event::NeedMore) {
        REQUIRE(pending.empty());
        break;
      }
      if (stopped) {
        break;
      }
    }
    if (failed || stopped) {
      for (std::size_t j = i + 1; j < pieces.size(); ++j) {
        pending.append(pieces[j]); // what the proxy would read next, unparsed
      }
      break;
    }
  }
  if (finish && !failed && !stopped) {
    const Step step = parser.finish();
    if (step.event == Event::NeedMore) {
      flushBody();
      trace.events.push_back("closed idle");
    } else {
      handle(step);
    }
  }
  flushBody();
  trace.rest = failed ? std::string() : pending;
  return trace;
}

template <class Parser>
Trace driveWhole(std::string_view input, bool finish = false, const char* expect = nullptr,
                 const Limits& limits = Limits{}) {
  Parser parser(limits);
  return drive(parser, {input}, finish, expect);
}

// Checks that every split of `input` into two pieces, and feeding it byte by byte, gives the
// same trace as feeding it whole. Returns that trace.
template <class Parser>
Trace checkEverySplit(std::string_view input, bool finish = false, const char* expect = nullptr,
                      const Limits& limits = Limits{}) {
  const Trace whole = driveWhole<Parser>(input, finish, expect, limits);
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    Parser parser(limits);
    const Trace split = drive(parser, {input.substr(0, cut), input.substr(cut)}, finish, expect);
    INFO("split at byte " << cut);
    REQUIRE(split.joined() == whole.joined());
  }
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < input.size(); ++i) {
    bytes.push_back(input.substr(i, 1));
  }
  Parser parser(limits);
  const Trace one_by_one = drive(parser, bytes, finish, expect);
  INFO("fed byte by byte");
  REQUIRE(one_by_one.joined() == whole.joined());
  return whole;
}

} // namespace ferry::http::test
