// ResponseParser: every framing of RFC 9112 §6.3, interim responses, HEAD and CONNECT,
// truncation detected by finish(); each input also split at every byte offset.
#include <catch2/catch.hpp>

#include "ferry/http/parser.h"
#include "parse_driver.h"

using namespace ferry::http;
using ferry::http::test::checkEverySplit;

namespace {

std::string lines(std::initializer_list<std::string_view> parts) {
  std::string s;
  for (std::string_view p : parts) {
    s += p;
    s += "\r\n";
  }
  return s;
}

} // namespace

TEST_CASE("response with Content-Length", "[http]") {
  const std::string input =
      lines({"HTTP/1.1 200 OK", "Content-Type: text/html", "Content-Length: 5", ""}) + "hello";
  const auto trace = checkEverySplit<ResponseParser>(input, true);
  REQUIRE(trace.events.size() == 4);
  CHECK(trace.events[0] ==
        "head 200 OK 1.1 length=5 [Content-Type: text/html] [Content-Length: 5]");
  CHECK(trace.events[1] == "body hello");
  CHECK(trace.events[2] == "end");
  CHECK(trace.events[3] == "closed idle");
}

TEST_CASE("chunked response with trailers", "[http]") {
  const std::string input = lines({"HTTP/1.1 200 OK", "Transfer-Encoding: chunked", "", "3", "abc",
                                   "10", "0123456789abcdef", "0", "Expires: never", ""});
  const auto trace = checkEverySplit<ResponseParser>(input);
  REQUIRE(trace.events.size() == 3);
  CHECK(trace.events[1] == "body abc0123456789abcdef");
  CHECK(trace.events[2] == "end [Expires: never]");
}

TEST_CASE("close-delimited response ends at finish()", "[http]") {
  const std::string input =
      lines({"HTTP/1.1 200 OK", "Content-Type: text/plain", ""}) + "all of it";
  const auto trace = checkEverySplit<ResponseParser>(input, true);
  REQUIRE(trace.events.size() == 3);
  CHECK(trace.events[0] == "head 200 OK 1.1 close [Content-Type: text/plain]");
  CHECK(trace.events[1] == "body all of it");
  CHECK(trace.events[2] == "end");
}

TEST_CASE("#11 a transfer coding other than chunked is kept for the relay (RFC 9112 §6.1, §6.3)",
          "[http]") {
  SECTION("not ending in chunked: close-delimited (§6.3 rule 4)") {
    const std::string input =
        lines({"HTTP/1.1 200 OK", "Transfer-Encoding: x-custom", "Transfer-Encoding: GZIP", ""}) +
        "coded bytes";
    const auto trace = checkEverySplit<ResponseParser>(input, true);
    REQUIRE(trace.events.size() == 3);
    CHECK(trace.events[0] == "head 200 OK 1.1 close(x-custom, GZIP) [Transfer-Encoding: x-custom] "
                             "[Transfer-Encoding: GZIP]");
    CHECK(trace.events[1] == "body coded bytes");
    CHECK(trace.events[2] == "end");
  }
  SECTION("ending in chunked: chunked, the other codings kept") {
    const std::string input =
        lines({"HTTP/1.1 200 OK", "Transfer-Encoding: gzip, chunked", "", "3", "abc", "0", ""});
    const auto trace = checkEverySplit<ResponseParser>(input);
    REQUIRE(trace.events.size() == 3);
    CHECK(trace.events[0] == "head 200 OK 1.1 chunked(gzip) [Transfer-Encoding: gzip, chunked]");
    CHECK(trace.events[1] == "body abc");
  }
  SECTION("a request with one is still refused (§6.1: 501)") {
    const auto trace = checkEverySplit<RequestParser>(
        "POST http://a/ HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
    CHECK(trace.error_status == 501);
  }
}

TEST_CASE("HTTP/1.0 response without length is close-delimited", "[http]") {
  const auto trace = checkEverySplit<ResponseParser>("HTTP/1.0 200 OK\r\n\r\nbytes", true);
  REQUIRE(trace.events.size() == 3);
  CHECK(trace.events[0] == "head 200 OK 1.0 close");
}

TEST_CASE("truncated responses are errors at finish()", "[http]") {
  SECTION("Content-Length not reached") {
    const auto trace = checkEverySplit<ResponseParser>(
        lines({"HTTP/1.1 200 OK", "Content-Length: 10", ""}) + "12345", true);
    REQUIRE(trace.events.size() == 3);
    CHECK(trace.events[1] == "body 12345");
    CHECK(trace.events[2] == "error 502");
  }
  SECTION("last chunk missing") {
    const auto trace = checkEverySplit<ResponseParser>(
        lines({"HTTP/1.1 200 OK", "Transfer-Encoding: chunked", "", "5", "12345", ""}), true);
    CHECK(trace.events.back() == "error 502");
  }
  SECTION("trailer section not finished") {
    const auto trace = checkEverySplit<ResponseParser>(
        lines({"HTTP/1.1 200 OK", "Transfer-Encoding: chunked", "", "0"}), true);
    CHECK(trace.events.back() == "error 502");
  }
  SECTION("head cut off") {
    const auto trace = checkEverySplit<ResponseParser>("HTTP/1.1 200 OK\r\nContent-Le", true);
    REQUIRE(trace.events.size() == 1);
    CHECK(trace.events[0] == "error 502");
  }
  SECTION("nothing received") {
    ResponseParser parser{Limits{}};
    CHECK(parser.finish().event == Event::NeedMore);
  }
}

TEST_CASE("responses without content whatever the fields say", "[http]") {
  SECTION("HEAD") {
    const std::string input = lines({"HTTP/1.1 200 OK", "Content-Length: 1234", ""}) +
                              lines({"HTTP/1.1 200 OK", "Content-Length: 2", ""}) + "hi";
    // The first answers HEAD; the parser is back to GET semantics for the second.
    const auto trace = checkEverySplit<ResponseParser>(input, false, "HEAD");
    REQUIRE(trace.events.size() == 5);
    CHECK(trace.events[0] == "head 200 OK 1.1 none [Content-Length: 1234]");
    CHECK(trace.events[1] == "end");
    CHECK(trace.events[2] == "head 200 OK 1.1 length=2 [Content-Length: 2]");
    CHECK(trace.events[3] == "body hi");
    const auto split = checkEverySplit<ResponseParser>(
        lines({"HTTP/1.1 200 OK", "Transfer-Encoding: chunked", ""}), false, "HEAD");
    REQUIRE(split.events.size() == 2);
    CHECK(split.events[1] == "end");
  }
  SECTION("204 and 304") {
    const std::string input =
        lines({"HTTP/1.1 204 No Content", "Transfer-Encoding: chunked", ""}) +
        lines({"HTTP/1.1 304 Not Modified", "Content-Length: 99", "ETag: \"x\"", ""}) +
        lines({"HTTP/1.1 200 OK", "Content-Length: 0", ""});
    const auto trace = checkEverySplit<ResponseParser>(input);
    REQUIRE(trace.events.size() == 6);
    CHECK(trace.events[0] == "head 204 No Content 1.1 none [Transfer-Encoding: chunked]");
    CHECK(trace.events[2] == "head 304 Not Modified 1.1 none [Content-Length: 99] [ETag: \"x\"]");
    CHECK(trace.events[4] == "head 200 OK 1.1 length=0 [Content-Length: 0]");
  }
  SECTION("2xx to CONNECT opens a tunnel") {
    const std::string input = lines({"HTTP/1.1 200 Connection established", ""}) + "\x16\x03";
    const auto trace = checkEverySplit<ResponseParser>(input, false, "CONNECT");
    REQUIRE(trace.events.size() == 2);
    CHECK(trace.events[1] == "end");
    CHECK(trace.rest == "\x16\x03");
  }
  SECTION("non-2xx to CONNECT has a body") {
    const std::string input =
        lines({"HTTP/1.1 407 Proxy Authentication Required", "Content-Length: 2", ""}) + "no";
    const auto trace = checkEverySplit<ResponseParser>(input, false, "CONNECT");
    REQUIRE(trace.events.size() == 3);
    CHECK(trace.events[1] == "body no");
  }
}

TEST_CASE("101 answers a request that asked to upgrade and opens a tunnel", "[http]") {
  const std::string head =
      lines({"HTTP/1.1 101 Switching Protocols", "Connection: upgrade", "Upgrade: websocket", ""});
  const std::string input = head + "\x81\x05hello";
  // Every split: Head 101, MessageEnd, and the frame bytes stay for the tunnel.
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    INFO("split at " << cut);
    ResponseParser parser(Limits{});
    parser.expect("GET", true);
    std::string pending;
    std::vector<Event> events;
    for (std::string_view piece :
         {std::string_view(input).substr(0, cut), std::string_view(input).substr(cut)}) {
      pending.append(piece);
      while (events.empty() || events.back() != Event::MessageEnd) {
        const Step step = parser.parse(pending);
        pending.erase(0, step.consumed);
        if (step.event == Event::NeedMore)
          break;
        events.push_back(step.event);
        REQUIRE(step.event != Event::Error);
      }
    }
    REQUIRE(events == std::vector<Event>{Event::Head, Event::MessageEnd});
    CHECK(parser.head().status == 101);
    CHECK(pending == "\x81\x05hello");
  }
  SECTION("without the upgrade request a 101 is refused") {
    ResponseParser parser(Limits{});
    parser.expect("GET");
    CHECK(parser.parse(input).event == Event::Error);
    CHECK(parser.error().status == 502);
  }
}

TEST_CASE("1xx interim responses precede the final one", "[http]") {
  const std::string input = lines({"HTTP/1.1 100 Continue", ""}) +
                            lines({"HTTP/1.1 103 Early Hints", "Link: </a.css>; rel=preload", ""}) +
                            lines({"HTTP/1.1 201 Created", "Content-Length: 2", ""});
  const auto trace = checkEverySplit<ResponseParser>(input, false, "HEAD");
  REQUIRE(trace.events.size() == 4);
  CHECK(trace.events[0] == "head 100 Continue 1.1 none");
  CHECK(trace.events[1] == "head 103 Early Hints 1.1 none [Link: </a.css>; rel=preload]");
  // the HEAD expectation survives the interim responses
  CHECK(trace.events[2] == "head 201 Created 1.1 none [Content-Length: 2]");
  CHECK(trace.events[3] == "end");
}

TEST_CASE("interim heads have their own size limit", "[http]") {
  Limits limits;
  limits.header_bytes = 64;
  const std::string interim = lines({"HTTP/1.1 100 Continue", "X: " + std::string(30, 'a'), ""});
  const std::string final_head = lines({"HTTP/1.1 200 OK", "Y: " + std::string(30, 'b'), ""});
  REQUIRE(interim.size() <= 64);
  REQUIRE(final_head.size() <= 64);
  REQUIRE(interim.size() + final_head.size() > 64);
  const auto trace = checkEverySplit<ResponseParser>(interim + final_head, true, nullptr, limits);
  CHECK(trace.error_status == 0);
  CHECK(trace.events.size() == 3);
}

TEST_CASE("empty and missing reason phrases", "[http]") {
  auto trace = checkEverySplit<ResponseParser>("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n");
  CHECK(trace.events[0] == "head 404  1.1 length=0 [Content-Length: 0]");
  trace = checkEverySplit<ResponseParser>("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n");
  CHECK(trace.events[0] == "head 404  1.1 length=0 [Content-Length: 0]");
}

TEST_CASE("keep-alive responses follow each other on one connection", "[http]") {
  std::string input;
  for (int i = 0; i < 3; ++i) {
    input += lines({"HTTP/1.1 200 OK", "Content-Length: 1", ""}) + std::to_string(i);
  }
  const auto trace = checkEverySplit<ResponseParser>(input, true);
  REQUIRE(trace.events.size() == 10);
  CHECK(trace.events[7] == "body 2");
}

TEST_CASE("status line limit at its exact boundary", "[http]") {
  Limits limits;
  limits.request_line_bytes = 40;
  limits.header_bytes = 512;
  const std::string prefix = "HTTP/1.1 200 ";
  const auto with_reason = [&](std::size_t line) {
    return prefix + std::string(line - prefix.size(), 'r') + "\r\nContent-Length: 0\r\n\r\n";
  };
  CHECK(checkEverySplit<ResponseParser>(with_reason(40), false, nullptr, limits).error_status == 0);
  CHECK(checkEverySplit<ResponseParser>(with_reason(41), false, nullptr, limits).error_status ==
        502);
  // Without a reason phrase the header section still gets its full allowance.
  const std::string no_reason =
      "HTTP/1.1 200\r\nX: " + std::string(300, 'x') + "\r\nContent-Length: 0\r\n\r\n";
  CHECK(checkEverySplit<ResponseParser>(no_reason, false, nullptr, limits).error_status == 0);
  const std::string empty_reason =
      "HTTP/1.1 200 \r\nX: " + std::string(300, 'x') + "\r\nContent-Length: 0\r\n\r\n";
  CHECK(checkEverySplit<ResponseParser>(empty_reason, false, nullptr, limits).error_status == 0);
}
