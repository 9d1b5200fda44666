// The security table: malformed and ambiguous messages (request smuggling shapes, RFC 9112
// §6.3 and §11.2) with the verdict ferry must reach, whole and split at every byte offset.
// A verdict of 0 marks a look-alike that is valid and must stay accepted.
#include <catch2/catch.hpp>

#include "ferry/http/parser.h"
#include "parse_driver.h"

using namespace ferry::http;
using namespace std::string_literals;
using ferry::http::test::checkEverySplit;

namespace {

// Small limits keep the every-split runs short; the defaults are exercised below.
Limits tableLimits() {
  Limits limits;
  limits.request_line_bytes = 256;
  limits.header_bytes = 1024;
  limits.header_count = 16;
  return limits;
}

struct Case {
  const char* name;
  std::string input;
  int status; // expected ParseError::status; 0: accepted
};

const std::string H = "Host: a\r\n";

std::vector<Case> requestCases() {
  const std::string post = "POST / HTTP/1.1\r\n" + H;
  const std::string chunkedPost = post + "Transfer-Encoding: chunked\r\n\r\n";
  return {
      // Content-Length / Transfer-Encoding ambiguity (CL.TE, TE.CL, TE.TE)
      {"CL.TE", post + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG", 400},
      {"TE.CL", post + "Transfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\nG", 400},
      {"CL.TE with CL 0", post + "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"TE xchunked", post + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400},
      {"TE chunkedx", post + "Transfer-Encoding: chunkedx\r\n\r\n0\r\n\r\n", 400},
      {"TE chunked, identity", post + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400},
      {"TE identity", post + "Transfer-Encoding: identity\r\n\r\n", 400},
      {"TE chunked twice in a list", post + "Transfer-Encoding: chunked, chunked\r\n\r\n", 400},
      {"TE chunked twice in two fields",
       post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"TE gzip then chunked", post + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
      {"TE with parameter", post + "Transfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n", 400},
      {"TE vertical tab",
       post + "Transfer-Encoding: \x0b"
              "chunked\r\n\r\n0\r\n\r\n",
       400},
      {"TE form feed", post + "Transfer-Encoding: chunked\x0c\r\n\r\n0\r\n\r\n", 400},
      {"TE quoted", post + "Transfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n", 400},
      {"TE trailing tab (llhttp reads it otherwise)",
       post + "Transfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n", 400},
      {"TE empty", post + "Transfer-Encoding:\r\n\r\n", 400},
      {"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"TE with space before colon", post + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400},
      {"TE folded onto the previous line", post + "X: y\r\n Transfer-Encoding: chunked\r\n\r\n",
       400},
      {"TE folded value", post + "Transfer-Encoding: gzip,\r\n chunked\r\n\r\n0\r\n\r\n", 400},
      {"Transfer_Encoding", post + "Transfer_Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"Content_Length", post + "Content_Length: 5\r\n\r\nhello", 400},
      // Content-Length values
      {"CL duplicated, same value", post + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
       400},
      {"CL duplicated, differing", post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
       400},
      {"CL list", post + "Content-Length: 5, 5\r\n\r\nhello", 400},
      {"CL plus sign", post + "Content-Length: +5\r\n\r\nhello", 400},
      {"CL negative", post + "Content-Length: -1\r\n\r\n", 400},
      {"CL hex", post + "Content-Length: 0x5\r\n\r\nhello", 400},
      {"CL with inner space", post + "Content-Length: 1 2\r\n\r\n", 400},
      {"CL overflow", post + "Content-Length: 99999999999999999999999\r\n\r\n", 400},
      {"CL empty", post + "Content-Length:\r\n\r\n", 400},
      // chunk framing
      {"chunk size overflow", chunkedPost + "fffffffffffffffff\r\nx\r\n0\r\n\r\n", 400},
      {"chunk size 2^64", chunkedPost + "10000000000000000\r\nx\r\n0\r\n\r\n", 400},
      {"chunk size not hex", chunkedPost + "5g\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk size negative", chunkedPost + "-5\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk size leading space", chunkedPost + " 5\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk size empty", chunkedPost + "\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk data longer than size", chunkedPost + "5\r\nhelloXX\r\n0\r\n\r\n", 400},
      {"chunk data without CRLF", chunkedPost + "5\r\nhello0\r\n\r\n", 400},
      {"chunk size line ends in bare LF", chunkedPost + "5\nhello\r\n0\r\n\r\n", 400},
      {"chunk data ends in bare LF", chunkedPost + "5\r\nhello\n0\r\n\r\n", 400},
      {"chunk data ends in bare CR", chunkedPost + "5\r\nhello\r0\r\n\r\n", 400},
      {"last chunk then bare LF", chunkedPost + "0\r\n\n", 400},
      {"last chunk line bare LF", chunkedPost + "0\n\r\n", 400},
      {"obs-fold in trailer", chunkedPost + "0\r\nT: a\r\n b\r\n\r\n", 400},
      {"space before colon in trailer", chunkedPost + "0\r\nT : a\r\n\r\n", 400},
      {"Transfer-Encoding trailer", chunkedPost + "0\r\nTransfer-Encoding: x\r\n\r\n", 400},
      {"Content-Length trailer", chunkedPost + "0\r\nContent-Length: 5\r\n\r\n", 400},
      {"NUL in chunk extension", chunkedPost + "5;a\0b\r\nhello\r\n0\r\n\r\n"s, 400},
      {"NUL as chunk size", chunkedPost + "\0\r\n\r\n"s, 400},
      // line endings, control bytes, folding
      {"bare LF ends request line", "GET / HTTP/1.1\n" + H + "\r\n", 400},
      {"bare LF ends field line", "GET / HTTP/1.1\r\nHost: a\n\r\n", 400},
      {"bare LF ends head", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400},
      {"bare CR in field value", "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400},
      {"bare CR in request line", "GET /\r HTTP/1.1\r\n" + H + "\r\n", 400},
      {"NUL in field value", "GET / HTTP/1.1\r\n" + H + "X: a\0b\r\n\r\n"s, 400},
      {"NUL in target", "GET /a\0b HTTP/1.1\r\n"s + H + "\r\n", 400},
      {"SOH in field value",
       "GET / HTTP/1.1\r\n" + H +
           "X: a\x01"
           "b\r\n\r\n",
       400},
      {"DEL in field value",
       "GET / HTTP/1.1\r\n" + H +
           "X: a\x7f"
           "b\r\n\r\n",
       400},
      {"ESC in reason-like value", "GET / HTTP/1.1\r\n" + H + "X: \x1b[31m\r\n\r\n", 400},
      {"obs-fold", "GET / HTTP/1.1\r\n" + H + "X: a\r\n b\r\n\r\n", 400},
      {"obs-fold with tab", "GET / HTTP/1.1\r\n" + H + "X: a\r\n\tb\r\n\r\n", 400},
      {"whitespace before first field", "GET / HTTP/1.1\r\n " + H + "\r\n", 400},
      {"tab in target", "GET /a\tb HTTP/1.1\r\n" + H + "\r\n", 400},
      {"non-ASCII in target", "GET /caf\xc3\xa9 HTTP/1.1\r\n" + H + "\r\n", 400},
      // field names
      {"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
      {"tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400},
      {"empty field name", "GET / HTTP/1.1\r\n" + H + ": a\r\n\r\n", 400},
      {"separator in field name", "GET / HTTP/1.1\r\n" + H + "X(y): a\r\n\r\n", 400},
      {"field line without colon", "GET / HTTP/1.1\r\n" + H + "Xy\r\n\r\n", 400},
      // Host
      {"missing Host on HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", 400},
      {"missing Host on absolute-form HTTP/1.1", "GET http://a/ HTTP/1.1\r\n\r\n", 400},
      {"two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"two Host fields on absolute-form", "GET http://a/ HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
       400},
      {"Host list", "GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", 400},
      {"Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400},
      {"Host with bad port", "GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n", 400},
      {"Host with path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
      // request-target
      {"userinfo in target", "GET http://user:pw@a/ HTTP/1.1\r\n" + H + "\r\n", 400},
      {"port 0", "GET http://a:0/ HTTP/1.1\r\n" + H + "\r\n", 400},
      {"port 65536", "GET http://a:65536/ HTTP/1.1\r\n" + H + "\r\n", 400},
      {"port not numeric", "GET http://a:8o/ HTTP/1.1\r\n" + H + "\r\n", 400},
      {"empty host", "GET http:///x HTTP/1.1\r\n" + H + "\r\n", 400},
      {"fragment in target", "GET /a#frag HTTP/1.1\r\n" + H + "\r\n", 400},
      {"unterminated IPv6 literal", "GET http://[::1/ HTTP/1.1\r\n" + H + "\r\n", 400},
      {"IPv6 zone id", "GET http://[fe80::1%25eth0]/ HTTP/1.1\r\n" + H + "\r\n", 400},
      {"relative target", "GET a/b HTTP/1.1\r\n" + H + "\r\n", 400},
      {"asterisk outside OPTIONS", "GET * HTTP/1.1\r\n" + H + "\r\n", 400},
      {"CONNECT without port", "CONNECT a HTTP/1.1\r\n" + H + "\r\n", 400},
      {"CONNECT origin-form", "CONNECT /x HTTP/1.1\r\n" + H + "\r\n", 400},
      {"CONNECT with a body", "CONNECT a:443 HTTP/1.1\r\n" + H + "Content-Length: 5\r\n\r\n", 400},
      {"CONNECT chunked", "CONNECT a:443 HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n",
       400},
      {"unsupported scheme", "GET ftp://a/x HTTP/1.1\r\n" + H + "\r\n", 501},
      // request line
      {"unknown method", "BREW /pot HTTP/1.1\r\n" + H + "\r\n", 501},
      {"lower-case method", "get / HTTP/1.1\r\n" + H + "\r\n", 501},
      {"TLS handshake on the plain port", std::string("\x16\x03\x01\x02\x00\x01\x00", 7), 400},
      {"HTTP/2.0 request line", "GET / HTTP/2.0\r\n" + H + "\r\n", 505},
      {"HTTP/1.2", "GET / HTTP/1.2\r\n" + H + "\r\n", 505},
      {"HTTP/0.9 simple request", "GET /\r\n\r\n", 505},
      {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
      {"space after version", "GET / HTTP/1.1 \r\n" + H + "\r\n", 400},
      {"lower-case protocol name", "GET / http/1.1\r\n" + H + "\r\n", 400},
      // limits (TableLimits below)
      {"request line too long", "GET /" + std::string(300, 'a') + " HTTP/1.1\r\n" + H + "\r\n",
       414},
      {"header section too large",
       "GET / HTTP/1.1\r\n" + H + "X: " + std::string(1100, 'a') + "\r\n\r\n", 431},
      {"too many fields",
       [] {
         std::string s = "GET / HTTP/1.1\r\n" + H;
         for (int i = 0; i < 16; ++i) {
           s += "X-" + std::to_string(i) + ": 1\r\n";
         }
         return s + "\r\n";
       }(),
       431},
      // look-alikes that are valid and must be accepted
      {"TE with OWS", post + "Transfer-Encoding: \t chunked  \r\n\r\n0\r\n\r\n", 0},
      {"TE upper case", post + "Transfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n", 0},
      {"chunk extension", chunkedPost + "5;ext=1\r\nhello\r\n0\r\n\r\n", 0},
      {"CL with OWS", post + "Content-Length:  5 \r\n\r\nhello", 0},
      {"CL leading zeros", post + "Content-Length: 005\r\n\r\nhello", 0},
      {"Host with trailing whitespace", "GET / HTTP/1.1\r\nHost: a \r\n\r\n", 0},
      {"HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", 0},
      {"empty Host with absolute-form", "GET http://a/ HTTP/1.1\r\nHost:\r\n\r\n", 0},
      {"OPTIONS *", "OPTIONS * HTTP/1.1\r\n" + H + "\r\n", 0},
  };
}

std::vector<Case> responseCases() {
  const std::string ok = "HTTP/1.1 200 OK\r\n";
  return {
      {"CL.TE", ok + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 502},
      {"TE.CL", ok + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 502},
      {"TE chunked, gzip", ok + "Transfer-Encoding: chunked, gzip\r\n\r\nabc", 502},
      {"TE chunked twice", ok + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 502},
      {"TE with parameter", ok + "Transfer-Encoding: gzip;q=1\r\n\r\nabc", 502},
      {"TE empty", ok + "Transfer-Encoding:\r\n\r\nabc", 502},
      {"TE in HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 502},
      {"CL differing", ok + "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab", 502},
      {"CL list", ok + "Content-Length: 2, 2\r\n\r\nab", 502},
      {"status 099", "HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n", 502},
      {"status 600", "HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n", 502},
      {"status two digits", "HTTP/1.1 20 OK\r\n\r\n", 502},
      {"101 Switching Protocols", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", 502},
      {"HTTP/2.0 status line", "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", 502},
      {"not HTTP", "SSH-2.0-OpenSSH_9.2\r\n", 502},
      {"control byte in reason", "HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n", 502},
      {"obs-fold", ok + "X: a\r\n b\r\nContent-Length: 0\r\n\r\n", 502},
      {"bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", 502},
      {"bare CR", ok + "X: a\rContent-Length: 0\r\n\r\n", 502},
      {"space before colon", ok + "Content-Length : 0\r\n\r\n", 502},
      {"chunk size overflow",
       ok + "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\nx\r\n0\r\n\r\n", 502},
      {"Transfer-Encoding trailer",
       ok + "Transfer-Encoding: chunked\r\n\r\n0\r\nTransfer-Encoding: nt5\r\n\r\n", 502},
      {"chunk data too long", ok + "Transfer-Encoding: chunked\r\n\r\n1\r\nxx\r\n0\r\n\r\n", 502},
      {"status line too long", "HTTP/1.1 200 " + std::string(300, 'k') + "\r\n\r\n", 502},
      {"header section too large", ok + "X: " + std::string(1100, 'a') + "\r\n\r\n", 502},
      {"too many fields",
       ok +
           [] {
             std::string s;
             for (int i = 0; i < 17; ++i) {
               s += "X-" + std::to_string(i) + ": 1\r\n";
             }
             return s + "\r\n";
           }(),
       502},
      {"empty field name", ok + ": x\r\nContent-Length: 0\r\n\r\n", 502},
      {"valid: chunked with trailer", ok + "Transfer-Encoding: chunked\r\n\r\n0\r\nA: b\r\n\r\n",
       0},
      {"valid: 304 with TE", "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", 0},
      // #11 RFC 9112 §6.3 rule 4: not ending in chunked, the body ends at the close.
      {"valid: TE gzip only", ok + "Transfer-Encoding: gzip\r\n\r\nabc", 0},
      {"valid: TE xchunked", ok + "Transfer-Encoding: xchunked\r\n\r\n", 0},
      {"valid: TE gzip, chunked", ok + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 0},
  };
}

} // namespace

TEST_CASE("malformed and ambiguous requests get their verdict", "[http]") {
  const auto cases = requestCases();
  std::size_t refused = 0;
  for (const Case& c : cases) {
    INFO("request case: " << c.name);
    // Feed the case whole and at every split: the verdict must never depend on the split.
    const auto trace = checkEverySplit<RequestParser>(c.input, false, nullptr, tableLimits());
    CHECK(trace.error_status == c.status);
    refused += c.status != 0 ? 1 : 0;
  }
  CHECK(refused >= 40);
}

TEST_CASE("malformed and ambiguous responses are bad gateway", "[http]") {
  for (const Case& c : responseCases()) {
    INFO("response case: " << c.name);
    const auto trace = checkEverySplit<ResponseParser>(c.input, false, nullptr, tableLimits());
    CHECK(trace.error_status == c.status);
  }
}

TEST_CASE("a request refused for its head never yields a Head event", "[http]") {
  // What matters against smuggling: nothing of an ambiguous head reaches the proxy logic.
  const std::string chunked_prefix =
      "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n";
  for (const Case& c : requestCases()) {
    if (c.status == 0 || c.input.rfind(chunked_prefix, 0) == 0) {
      continue; // accepted, or the defect is in the chunked body after a valid head
    }
    INFO("request case: " << c.name);
    const auto trace =
        ferry::http::test::driveWhole<RequestParser>(c.input, false, nullptr, tableLimits());
    REQUIRE(trace.events.size() == 1);
    CHECK(trace.events[0] == "error " + std::to_string(c.status));
  }
}

TEST_CASE("default limits: 8 KiB request line, 64 KiB head, 100 fields", "[http]") {
  using ferry::http::test::driveWhole;
  const std::string host = "Host: a\r\n";
  CHECK(
      driveWhole<RequestParser>("GET /" + std::string(8000, 'a') + " HTTP/1.1\r\n" + host + "\r\n")
          .error_status == 0);
  CHECK(
      driveWhole<RequestParser>("GET /" + std::string(8200, 'a') + " HTTP/1.1\r\n" + host + "\r\n")
          .error_status == 414);
  CHECK(driveWhole<RequestParser>("GET / HTTP/1.1\r\n" + host + "X: " + std::string(65000, 'a') +
                                  "\r\n\r\n")
            .error_status == 0);
  CHECK(driveWhole<RequestParser>("GET / HTTP/1.1\r\n" + host + "X: " + std::string(65600, 'a') +
                                  "\r\n\r\n")
            .error_status == 431);
  std::string fields;
  for (int i = 0; i < 99; ++i) {
    fields += "X-" + std::to_string(i) + ": 1\r\n";
  }
  CHECK(driveWhole<RequestParser>("GET / HTTP/1.1\r\n" + host + fields + "\r\n").error_status == 0);
  CHECK(driveWhole<RequestParser>("GET / HTTP/1.1\r\n" + host + fields + "Y: 1\r\n\r\n")
            .error_status == 431);
}
