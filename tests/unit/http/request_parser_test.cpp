// RequestParser: well-formed requests, fed whole, split at every byte offset and byte by
// byte; pipelining, reuse, CONNECT, limits at their exact boundaries.
#include <catch2/catch.hpp>

#include "ferry/http/parser.h"
#include "parse_driver.h"

using namespace ferry::http;
using ferry::http::test::checkEverySplit;
using ferry::http::test::driveWhole;

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

TEST_CASE("browser GET in absolute-form", "[http]") {
  const std::string input =
      lines({"GET http://Example.COM/a/b?x=1&y=%2F HTTP/1.1", "Host: example.com",
             "User-Agent: Mozilla/5.0", "Accept: */*", "Proxy-Connection: keep-alive", ""});
  const auto trace = checkEverySplit<RequestParser>(input);
  REQUIRE(trace.events.size() == 2);
  CHECK(trace.events[0] ==
        "head GET http://Example.COM/a/b?x=1&y=%2F 1.1 none [Host: example.com] "
        "[User-Agent: Mozilla/5.0] [Accept: */*] [Proxy-Connection: keep-alive]");
  CHECK(trace.events[1] == "end");
  CHECK(trace.rest.empty());

  RequestParser parser{Limits{}};
  REQUIRE(parser.parse(input).event == Event::Head);
  const Target& t = parser.target();
  CHECK(t.form == TargetForm::Absolute);
  CHECK(t.scheme == "http");
  CHECK(t.host == "example.com");
  CHECK(t.port == 80);
  CHECK(t.path == "/a/b?x=1&y=%2F");
  CHECK(cacheKey(t) == "http://example.com/a/b?x=1&y=%2F");
}

TEST_CASE("Host disagreeing with an absolute-form target is replaced by the target", "[http]") {
  const std::string input =
      lines({"GET http://origin.example:8080/ HTTP/1.1", "Host: attacker.example", "X: 1", ""});
  RequestParser parser{Limits{}};
  const Step step = parser.parse(input);
  REQUIRE(step.event == Event::Head);
  CHECK(parser.head().headers.get("host") ==
        std::optional<std::string_view>("origin.example:8080"));
  CHECK(parser.head().headers.count("Host") == 1);
  CHECK(parser.head().headers[0].name == "Host"); // position and spelling kept
  CHECK(parser.target().authority() == "origin.example:8080");
}

TEST_CASE("HTTP/1.0 absolute-form request without Host gets one from the target", "[http]") {
  RequestParser parser{Limits{}};
  REQUIRE(parser.parse("GET http://a.example/ HTTP/1.0\r\n\r\n").event == Event::Head);
  CHECK(parser.head().headers.get("Host") == std::optional<std::string_view>("a.example"));
  CHECK_FALSE(parser.head().isHttp11());
}

TEST_CASE("origin-form request takes scheme, host and port from Host", "[http]") {
  RequestParser parser{Limits{}};
  REQUIRE(parser.parse("GET /x HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n").event == Event::Head);
  const Target& t = parser.target();
  CHECK(t.form == TargetForm::Origin);
  CHECK(t.scheme == "http");
  CHECK(t.host == "::1");
  CHECK(t.port == 8080);
  CHECK(cacheKey(t) == "http://[::1]:8080/x");
}

TEST_CASE("POST with Content-Length body", "[http]") {
  const std::string input =
      lines({"POST http://a.example/form HTTP/1.1", "Host: a.example", "Content-Length: 11", ""}) +
      "hello world";
  const auto trace = checkEverySplit<RequestParser>(input);
  REQUIRE(trace.events.size() == 3);
  CHECK(trace.events[0].find("length=11") != std::string::npos);
  CHECK(trace.events[1] == "body hello world");
  CHECK(trace.events[2] == "end");
}

TEST_CASE("chunked request with extensions and trailers", "[http]") {
  const std::string input =
      lines({"PUT http://a.example/up HTTP/1.1", "Host: a.example", "Transfer-Encoding: chunked",
             "", "5;name=value", "hello", "6", " world", "0", "Checksum: abc", "X-Trailer: 2", ""});
  const auto trace = checkEverySplit<RequestParser>(input);
  REQUIRE(trace.events.size() == 3);
  CHECK(trace.events[0].find(" chunked [Host") != std::string::npos);
  CHECK(trace.events[1] == "body hello world");
  CHECK(trace.events[2] == "end [Checksum: abc] [X-Trailer: 2]");
}

TEST_CASE("chunked request with upper-case hex sizes and spaces around Transfer-Encoding",
          "[http]") {
  const std::string input = lines({"POST / HTTP/1.1", "Host: a", "Transfer-Encoding: \t CHUNKED  ",
                                   "", "A", "0123456789", "0", ""});
  const auto trace = checkEverySplit<RequestParser>(input);
  REQUIRE(trace.events.size() == 3);
  CHECK(trace.events[1] == "body 0123456789");
}

TEST_CASE("pipelined requests stop after each message end", "[http]") {
  const std::string first = lines({"GET http://a.example/1 HTTP/1.1", "Host: a.example", ""});
  const std::string second =
      lines({"POST http://a.example/2 HTTP/1.1", "Host: a.example", "Content-Length: 3", ""}) +
      "abc";
  const std::string third = lines({"GET http://b.example/3 HTTP/1.1", "Host: b.example", ""});
  const std::string input = first + second + third;

  RequestParser parser{Limits{}};
  std::string_view in = input;
  Step step = parser.parse(in);
  REQUIRE(step.event == Event::Head);
  CHECK(step.consumed == first.size());
  in.remove_prefix(step.consumed);
  step = parser.parse(in);
  REQUIRE(step.event == Event::MessageEnd);
  CHECK(step.consumed == 0);
  CHECK(parser.head().target == "http://a.example/1"); // still valid after MessageEnd
  CHECK(parser.isIdle());

  const auto trace = checkEverySplit<RequestParser>(input);
  REQUIRE(trace.events.size() == 7);
  CHECK(trace.events[0].rfind("head GET http://a.example/1", 0) == 0);
  CHECK(trace.events[2].rfind("head POST http://a.example/2", 0) == 0);
  CHECK(trace.events[3] == "body abc");
  CHECK(trace.events[5].rfind("head GET http://b.example/3", 0) == 0);
}

TEST_CASE("bytes after a message end stay unconsumed", "[http]") {
  const std::string input = lines({"GET / HTTP/1.1", "Host: a", ""}) + "GET /next";
  RequestParser parser{Limits{}};
  std::string_view in = input;
  Step step = parser.parse(in);
  REQUIRE(step.event == Event::Head);
  in.remove_prefix(step.consumed);
  step = parser.parse(in);
  REQUIRE(step.event == Event::MessageEnd);
  in.remove_prefix(step.consumed);
  CHECK(in == "GET /next");
  step = parser.parse(in);
  CHECK(step.event == Event::NeedMore);
  CHECK(step.consumed == in.size());
  CHECK_FALSE(parser.isIdle());
}

TEST_CASE("empty lines before a request line are ignored", "[http]") {
  const std::string input = "\r\n\r\n" + lines({"GET / HTTP/1.1", "Host: a", ""});
  const auto trace = checkEverySplit<RequestParser>(input);
  REQUIRE(trace.events.size() == 2);
  CHECK(trace.events[0] == "head GET / 1.1 none [Host: a]");
}

TEST_CASE("Content-Length: 0 is reported as a zero length, not as no body", "[http]") {
  const auto trace = checkEverySplit<RequestParser>(
      lines({"POST / HTTP/1.1", "Host: a", "Content-Length: 0", ""}));
  REQUIRE(trace.events.size() == 2);
  CHECK(trace.events[0] == "head POST / 1.1 length=0 [Host: a] [Content-Length: 0]");
}

TEST_CASE("field values lose surrounding whitespace but keep inner bytes and obs-text", "[http]") {
  const std::string input = lines(
      {"GET / HTTP/1.1", "Host:a", "X-Empty:", "X-Spaces: \t a  b \t ", "X-Obs: caf\xc3\xa9", ""});
  const auto trace = checkEverySplit<RequestParser>(input);
  REQUIRE(trace.events.size() == 2);
  CHECK(trace.events[0] ==
        "head GET / 1.1 none [Host: a] [X-Empty: ] [X-Spaces: a  b] [X-Obs: caf\xc3\xa9]");
}

TEST_CASE("Upgrade requests are framed as ordinary requests", "[http]") {
  // ferry strips Upgrade, so the client never switches protocols on this connection.
  const std::string input = lines({"GET http://a/ws HTTP/1.1", "Host: a", "Connection: Upgrade",
                                   "Upgrade: websocket", ""}) +
                            lines({"GET http://a/next HTTP/1.1", "Host: a", ""});
  const auto trace = checkEverySplit<RequestParser>(input);
  REQUIRE(trace.events.size() == 4);
  CHECK(trace.events[2].rfind("head GET http://a/next", 0) == 0);
}

TEST_CASE("CONNECT ends the HTTP stream: tunnel bytes stay unconsumed", "[http]") {
  const std::string head = lines({"CONNECT example.com:443 HTTP/1.1", "Host: example.com:443", ""});
  const std::string input = head + "\x16\x03\x01 client hello";
  const auto trace = checkEverySplit<RequestParser>(input);
  REQUIRE(trace.events.size() == 2);
  CHECK(trace.events[1] == "end");
  CHECK(trace.rest == "\x16\x03\x01 client hello");

  RequestParser parser{Limits{}};
  std::string_view in = input;
  Step step = parser.parse(in);
  REQUIRE(step.event == Event::Head);
  CHECK(parser.target().form == TargetForm::Authority);
  CHECK(parser.target().host == "example.com");
  CHECK(parser.target().port == 443);
  in.remove_prefix(step.consumed);
  REQUIRE(parser.parse(in).event == Event::MessageEnd);
  CHECK(parser.parse(in).event == Event::Error); // not HTTP any more
}

TEST_CASE("CONNECT with Content-Length: 0 is accepted", "[http]") {
  RequestParser parser{Limits{}};
  CHECK(parser.parse("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: 0\r\n\r\n").event ==
        Event::Head);
}

TEST_CASE("HTTP/1.0 request ends the connection unless keep-alive", "[http]") {
  const std::string one = lines({"GET http://a/ HTTP/1.0", ""});
  auto trace = checkEverySplit<RequestParser>(one + one);
  REQUIRE(trace.events.size() == 3);
  CHECK(trace.events[2] == "error 400"); // data after an implicit close

  const std::string kept = lines({"GET http://a/ HTTP/1.0", "Connection: keep-alive", ""});
  trace = checkEverySplit<RequestParser>(kept + kept);
  REQUIRE(trace.events.size() == 4);
}

TEST_CASE("finish() tells an idle close from a truncated request", "[http]") {
  auto trace = checkEverySplit<RequestParser>(lines({"GET / HTTP/1.1", "Host: a", ""}), true);
  CHECK(trace.events.back() == "closed idle");
  trace = checkEverySplit<RequestParser>("GET / HTTP/1.1\r\nHo", true);
  CHECK(trace.events.back() == "error 400");
  trace = checkEverySplit<RequestParser>(
      lines({"POST / HTTP/1.1", "Host: a", "Content-Length: 10", ""}) + "short", true);
  CHECK(trace.events.back() == "error 400");
  CHECK(trace.events[1] == "body short");
}

TEST_CASE("reset() makes a failed parser usable again", "[http]") {
  RequestParser parser{Limits{}};
  CHECK(parser.parse("GARBAGE\x01\r\n").event == Event::Error);
  CHECK(parser.parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n").event == Event::Error);
  parser.reset();
  CHECK(parser.error().status == 0);
  CHECK(parser.parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n").event == Event::Head);
}

TEST_CASE("a parser can be moved between messages", "[http]") {
  RequestParser a{Limits{}};
  const std::string input = lines({"GET / HTTP/1.1", "Host: a", ""});
  std::string_view in = input;
  Step step = a.parse(in);
  REQUIRE(step.event == Event::Head);
  in.remove_prefix(step.consumed);
  RequestParser b = std::move(a);
  CHECK(b.parse(in).event == Event::MessageEnd);
  CHECK(b.head().target == "/");
}

TEST_CASE("limits hold at their exact boundaries", "[http]") {
  Limits limits;
  limits.request_line_bytes = 64;
  limits.header_bytes = 256;
  limits.header_count = 4;

  // request-line = method SP target SP HTTP/1.1 (CRLF not counted)
  const auto lineOf = [](std::size_t size) {
    const std::string fixed = "GET / HTTP/1.1";
    return "GET /" + std::string(size - fixed.size(), 'a') + " HTTP/1.1";
  };
  SECTION("request line") {
    auto ok =
        checkEverySplit<RequestParser>(lines({lineOf(64), "Host: a", ""}), false, nullptr, limits);
    CHECK(ok.error_status == 0);
    auto bad =
        checkEverySplit<RequestParser>(lines({lineOf(65), "Host: a", ""}), false, nullptr, limits);
    CHECK(bad.error_status == 414);
  }
  SECTION("header section bytes") {
    const std::string start = lines({"GET / HTTP/1.1", "Host: a"});
    const std::string filler = "X: ";
    // whole head = start + "X: <v>\r\n" + "\r\n"
    const std::size_t value = 256 - start.size() - filler.size() - 4;
    const std::string exact = start + filler + std::string(value, 'v') + "\r\n\r\n";
    REQUIRE(exact.size() == 256);
    CHECK(checkEverySplit<RequestParser>(exact, false, nullptr, limits).error_status == 0);
    const std::string over = start + filler + std::string(value + 1, 'v') + "\r\n\r\n";
    CHECK(checkEverySplit<RequestParser>(over, false, nullptr, limits).error_status == 431);
  }
  SECTION("header count") {
    CHECK(checkEverySplit<RequestParser>(
              lines({"GET / HTTP/1.1", "Host: a", "B: 1", "C: 1", "D: 1", ""}), false, nullptr,
              limits)
              .error_status == 0);
    CHECK(checkEverySplit<RequestParser>(
              lines({"GET / HTTP/1.1", "Host: a", "B: 1", "C: 1", "D: 1", "E: 1", ""}), false,
              nullptr, limits)
              .error_status == 431);
  }
  SECTION("a huge request line in one read is cut at the limit") {
    const std::string input = "GET /" + std::string(1 << 20, 'a');
    RequestParser parser{limits};
    CHECK(parser.parse(input).event == Event::Error);
    CHECK(parser.error().status == 414);
  }
}

TEST_CASE("heads are reused across messages without leaking fields", "[http]") {
  const std::string input = lines({"GET / HTTP/1.1", "Host: a", "X-One: 1", ""}) +
                            lines({"GET /2 HTTP/1.1", "Host: b", ""});
  const auto trace = checkEverySplit<RequestParser>(input);
  REQUIRE(trace.events.size() == 4);
  CHECK(trace.events[2] == "head GET /2 1.1 none [Host: b]");
}
