// errorResponse: every status ferry sends is a well-formed, self-delimited response.
#include <catch2/catch.hpp>

#include "ferry/http/error_response.h"
#include "ferry/http/parser.h"
#include "parse_driver.h"

using namespace ferry::http;

TEST_CASE("every error ferry sends parses as a complete response", "[http]") {
  for (int status : {400, 403, 405, 411, 413, 414, 417, 431, 501, 502, 504, 505}) {
    INFO(status);
    const std::string bytes = errorResponse(status, "detail\r\nInjected: yes", true);
    const auto trace = ferry::http::test::checkEverySplit<ResponseParser>(bytes, true);
    REQUIRE(trace.events.size() == 4);
    const std::string status_line =
        std::to_string(status) + " " + std::string(reasonPhrase(status));
    CHECK(trace.events[0] == "head " + status_line +
                                 " 1.1 length=" + std::to_string(trace.events[1].size() - 5) +
                                 " [Content-Type: text/plain; charset=utf-8] [Content-Length: " +
                                 std::to_string(trace.events[1].size() - 5) +
                                 "] [Cache-Control: no-store] [Connection: close]");
    CHECK(trace.events[1] == "body " + status_line + "\ndetail  Injected: yes\n");
    CHECK(trace.events[2] == "end");
    CHECK(reasonPhrase(status) != "Unknown");
  }
}

TEST_CASE("error responses without close and for HEAD", "[http]") {
  const std::string keep = errorResponse(403, "", false);
  CHECK(keep.find("Connection") == std::string::npos);
  CHECK(keep.substr(keep.size() - 14) == "403 Forbidden\n");
  const std::string head = errorResponse(502, "origin reset", true, true);
  CHECK(head.substr(head.size() - 4) == "\r\n\r\n");
  CHECK(head.find("Content-Length: 29\r\n") !=
        std::string::npos); // "502 Bad Gateway\norigin reset\n"
  CHECK(errorResponse(42, "", false).rfind("HTTP/1.1 500 Internal Server Error\r\n", 0) == 0);
}

TEST_CASE("#14 ferry's own resources are framed with their type and length", "[http]") {
  CHECK(ownResponse(200, "application/x-ns-proxy-autoconfig", "function F(){}", false) ==
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-ns-proxy-autoconfig\r\n"
        "Content-Length: 14\r\nCache-Control: no-store\r\n\r\nfunction F(){}");
  CHECK(ownResponse(503, "text/plain", "draining\n", true, true) ==
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
        "Content-Length: 9\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n");
}

TEST_CASE("#14 a 407 carries its Proxy-Authenticate field in the head", "[http]") {
  const std::string response =
      errorResponse(407, "send credentials", false, false, "Basic realm=\"ferry\"");
  CHECK(response == "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Type: text/plain; "
                    "charset=utf-8\r\nContent-Length: 51\r\nCache-Control: no-store\r\n"
                    "Proxy-Authenticate: Basic realm=\"ferry\"\r\n\r\n"
                    "407 Proxy Authentication Required\nsend credentials\n");
  const std::string head = errorResponse(407, "", true, true, "Basic realm=\"x\"");
  const std::string tail = "Connection: close\r\nProxy-Authenticate: Basic realm=\"x\"\r\n\r\n";
  CHECK(head.substr(head.size() - tail.size()) == tail);
}
