// Serializer: heads in origin-form with the right Host, chunk encoding, round trips through
// the parsers, setFraming.
#include <catch2/catch.hpp>

#include "ferry/http/framing.h"
#include "ferry/http/hop_by_hop.h"
#include "ferry/http/parser.h"
#include "ferry/http/serializer.h"
#include "parse_driver.h"

using namespace ferry::http;

TEST_CASE("a proxied request goes out in origin-form with the target's Host first", "[http]") {
  RequestParser parser{Limits{}};
  const std::string input = "GET http://Example.com:8080/a?b HTTP/1.0\r\nUser-Agent: x\r\n"
                            "Host: wrong.example\r\nConnection: keep-alive\r\n\r\n";
  REQUIRE(parser.parse(input).event == Event::Head);
  RequestHead head = parser.head();
  stripHopByHop(head.headers);
  appendVia(head.headers, head.version_major, head.version_minor, "ferry");
  CHECK(serializeRequestHead(head, parser.target()) ==
        "GET /a?b HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: x\r\nVia: 1.0 ferry\r\n\r\n");
}

TEST_CASE("request-target per form", "[http]") {
  RequestHead head;
  head.method = "CONNECT";
  CHECK(serializeRequestHead(head, parseTarget("CONNECT", "a:443")) ==
        "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n");
  head.method = "OPTIONS";
  Target star = parseTarget("OPTIONS", "*");
  star.host = "a";
  CHECK(serializeRequestHead(head, star) == "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
  head.method = "GET";
  CHECK(serializeRequestHead(head, parseTarget("GET", "http://[::1]/")) ==
        "GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n");
}

TEST_CASE("#10 a request for a parent proxy goes out in absolute-form", "[http]") {
  RequestHead head;
  head.method = "GET";
  CHECK(serializeRequestHead(head, parseTarget("GET", "http://Example.com:8080/a?b"),
                             Recipient::Proxy) ==
        "GET http://example.com:8080/a?b HTTP/1.1\r\nHost: example.com:8080\r\n\r\n");
  CHECK(serializeRequestHead(head, parseTarget("GET", "http://[::1]"), Recipient::Proxy) ==
        "GET http://[::1]/ HTTP/1.1\r\nHost: [::1]\r\n\r\n");
  head.method = "CONNECT"; // authority-form whoever receives it
  CHECK(serializeRequestHead(head, parseTarget("CONNECT", "a:443"), Recipient::Proxy) ==
        "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n");
}

TEST_CASE("response head", "[http]") {
  ResponseHead head;
  head.status = 404;
  head.reason = "Nope";
  head.version_minor = 0;
  head.headers.add("Content-Length", "0");
  CHECK(serializeResponseHead(head) == "HTTP/1.1 404 Nope\r\nContent-Length: 0\r\n\r\n");
  head.reason.clear();
  head.status = 200;
  CHECK(serializeResponseHead(head) == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
}

TEST_CASE("serialized heads parse back to the same head", "[http]") {
  ResponseParser parser{Limits{}};
  const std::string input = "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-1/10\r\n"
                            "X-A: 1\r\nContent-Length: 2\r\n\r\n";
  REQUIRE(parser.parse(input).event == Event::Head);
  CHECK(serializeResponseHead(parser.head()) == input);
}

TEST_CASE("chunk encoding", "[http]") {
  CHECK(chunkPrefix(1).view() == "1\r\n");
  CHECK(chunkPrefix(255).view() == "ff\r\n");
  CHECK(chunkPrefix(UINT64_MAX).view() == "ffffffffffffffff\r\n");
  std::string out;
  encodeChunk(out, "hello");
  encodeChunk(out, "");
  encodeChunk(out, std::string(26, 'z'));
  out += LastChunk;
  CHECK(out == "5\r\nhello\r\n1a\r\n" + std::string(26, 'z') + "\r\n0\r\n\r\n");

  // what the encoder writes, the parser reads back
  const std::string message = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + out;
  const auto trace = ferry::http::test::checkEverySplit<ResponseParser>(message);
  REQUIRE(trace.events.size() == 3);
  CHECK(trace.events[1] == "body hello" + std::string(26, 'z'));
}

TEST_CASE("setFraming", "[http]") {
  Headers h;
  h.add("Content-Length", "10");
  h.add("Transfer-Encoding", "chunked");
  setFraming(h, Framing{Framing::Chunked, 0});
  CHECK_FALSE(h.has("Content-Length"));
  CHECK(h.get("Transfer-Encoding") == std::optional<std::string_view>("chunked"));
  setFraming(h, Framing{Framing::Length, 1234});
  CHECK_FALSE(h.has("Transfer-Encoding"));
  CHECK(h.get("Content-Length") == std::optional<std::string_view>("1234"));
  setFraming(h, Framing{Framing::None, 0});
  CHECK(h.get("Content-Length") == std::optional<std::string_view>("1234"));
  setFraming(h, Framing{Framing::UntilClose, 0});
  CHECK(h.empty());
}
