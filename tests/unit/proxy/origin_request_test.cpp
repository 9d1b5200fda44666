// The upstream request built from the client's (origin_request.h): framing, upgrade,
// revalidation conditionals, Max-Forwards and Via — the client's head is never changed.
#include "origin_request.h"

#include "ferry/http/serializer.h"

#include <catch2/catch.hpp>

using namespace ferry;
using namespace ferry::proxy;

namespace {

http::RequestHead request(std::string method,
                          std::vector<std::pair<std::string, std::string>> fields) {
  http::RequestHead head;
  head.method = std::move(method);
  head.target = "http://o.example/x";
  for (const auto& [name, value] : fields)
    head.headers.add(name, value);
  return head;
}

std::string wire(const http::RequestHead& head) {
  return http::serializeRequestHead(head, http::parseTarget(head.method, head.target));
}

} // namespace

TEST_CASE("#10 the request for the next hop is built from the client's, which stays as it was",
          "[proxy]") {
  http::ResponseHead stored;
  stored.status = 200;
  stored.headers.add("ETag", "\"v1\"");
  struct Row {
    const char* name;
    http::RequestHead client;
    OriginRequestPlan plan;
    const char* sent;
  };
  const Row rows[] = {
      {"plain GET: Via added",
       request("GET", {{"Accept", "*/*"}}),
       {{http::Framing::None, 0}, {}, nullptr, "ferry"},
       "GET /x HTTP/1.1\r\nHost: o.example\r\nAccept: */*\r\nVia: 1.1 ferry\r\n\r\n"},
      {"a body re-framed as chunked",
       request("POST", {{"Content-Length", "5"}}),
       {{http::Framing::Chunked, 0}, {}, nullptr, "ferry"},
       "POST /x HTTP/1.1\r\nHost: o.example\r\nTransfer-Encoding: chunked\r\nVia: 1.1 "
       "ferry\r\n\r\n"},
      {"revalidation: the stored validators replace the client's",
       request("GET", {{"If-None-Match", "\"client\""}, {"Range", "bytes=0-1"}}),
       {{http::Framing::None, 0}, {}, &stored, "ferry"},
       "GET /x HTTP/1.1\r\nHost: o.example\r\nIf-None-Match: \"v1\"\r\nVia: 1.1 ferry\r\n\r\n"},
      {"an upgrade is asked for end to end",
       request("GET", {}),
       {{http::Framing::None, 0}, {"websocket"}, nullptr, "ferry"},
       "GET /x HTTP/1.1\r\nHost: o.example\r\nConnection: upgrade\r\nUpgrade: websocket\r\n"
       "Via: 1.1 ferry\r\n\r\n"},
      {"Max-Forwards counts this hop",
       request("TRACE", {{"Max-Forwards", "3"}}),
       {{http::Framing::None, 0}, {}, nullptr, "edge"},
       "TRACE /x HTTP/1.1\r\nHost: o.example\r\nMax-Forwards: 2\r\nVia: 1.1 edge\r\n\r\n"},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    const std::string before = wire(row.client);
    CHECK(wire(originRequest(row.client, row.plan)) == row.sent);
    CHECK(wire(row.client) == before);
  }
}
