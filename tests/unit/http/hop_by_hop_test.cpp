// Hop-by-hop removal (both directions), persistence, Via and Max-Forwards.
#include <catch2/catch.hpp>

#include "ferry/http/hop_by_hop.h"
#include "ferry/http/message.h"

using namespace ferry::http;

namespace {

std::string names(const Headers& h) {
  std::string s;
  for (const Field f : h) {
    s += std::string(f.name) + ";";
  }
  return s;
}

} // namespace

TEST_CASE("every hop-by-hop field and every field Connection names goes", "[http]") {
  RequestHead request;
  Headers& h = request.headers;
  h.add("Host", "a");
  h.add("Connection", "keep-alive, X-Secret, upgrade");
  h.add("Keep-Alive", "timeout=5");
  h.add("Proxy-Connection", "keep-alive");
  h.add("TE", "trailers");
  h.add("Trailer", "Expires");
  h.add("Transfer-Encoding", "chunked");
  h.add("Upgrade", "websocket, h2c");
  h.add("Proxy-Authorization", "Basic eA==");
  h.add("Proxy-Authenticate", "Basic");
  h.add("x-secret", "1");
  h.add("X-Kept", "2");
  h.add("CONNECTION", "Other");
  h.add("Other", "3");
  const ConnectionOptions options = stripHopByHop(h);
  CHECK(names(h) == "Host;X-Kept;");
  CHECK(options.keep_alive);
  CHECK_FALSE(options.close);
  CHECK(options.upgrade);
  CHECK(options.proxy_keep_alive);
  CHECK_FALSE(options.proxy_close);
  CHECK(options.upgrade_protocols == std::vector<std::string>{"websocket", "h2c"});
}

TEST_CASE("the same function cleans a response", "[http]") {
  ResponseHead response;
  response.headers.add("Content-Type", "text/plain");
  response.headers.add("Connection", "close");
  response.headers.add("Keep-Alive", "max=1");
  response.headers.add("Transfer-Encoding", "chunked");
  response.headers.add("Proxy-Authenticate", "Basic realm=x");
  const ConnectionOptions options = stripHopByHop(response.headers);
  CHECK(options.close);
  CHECK(names(response.headers) == "Content-Type;");
}

TEST_CASE("Connection cannot remove Host or Content-Length", "[http]") {
  Headers h;
  h.add("Host", "a");
  h.add("Content-Length", "5");
  h.add("Connection", "Host, content-length, Cookie");
  h.add("Cookie", "c=1");
  stripHopByHop(h);
  CHECK(names(h) == "Host;Content-Length;");
}

TEST_CASE("Proxy-Connection close is reported", "[http]") {
  Headers h;
  h.add("Proxy-Connection", "Close");
  const ConnectionOptions options = stripHopByHop(h);
  CHECK(options.proxy_close);
  CHECK(h.empty());
}

TEST_CASE("persistence by version and options (RFC 9112 §9.3)", "[http]") {
  ConnectionOptions none;
  CHECK(wantsPersistent(none, 1, 1));
  CHECK_FALSE(wantsPersistent(none, 1, 0));
  ConnectionOptions keep;
  keep.keep_alive = true;
  CHECK(wantsPersistent(keep, 1, 0));
  ConnectionOptions proxy_keep;
  proxy_keep.proxy_keep_alive = true;
  CHECK(wantsPersistent(proxy_keep, 1, 0));
  ConnectionOptions close;
  close.close = true;
  close.keep_alive = true;
  CHECK_FALSE(wantsPersistent(close, 1, 1));
  CHECK_FALSE(wantsPersistent(close, 1, 0));
  ConnectionOptions proxy_close;
  proxy_close.proxy_close = true;
  CHECK_FALSE(wantsPersistent(proxy_close, 1, 1));
}

TEST_CASE("Via is appended to the existing list", "[http]") {
  Headers h;
  appendVia(h, 1, 1, "ferry");
  CHECK(h.get("Via") == std::optional<std::string_view>("1.1 ferry"));

  Headers chain;
  chain.add("Via", "1.0 fred, 1.1 p.example.net");
  chain.add("X", "y");
  chain.add("via", "HTTP/1.1 other");
  appendVia(chain, 1, 0, "cache1");
  CHECK(chain.count("Via") == 1);
  CHECK(chain.get("Via") ==
        std::optional<std::string_view>("1.0 fred, 1.1 p.example.net, HTTP/1.1 other, 1.0 cache1"));
  CHECK(chain[0].name == "Via");
  CHECK(viaBefore(h, 1, 0) == "1.1 ferry, 1.0 ");
  CHECK(viaBefore(Headers{}, 1, 1) == "1.1 ");
}

TEST_CASE("Max-Forwards on OPTIONS and TRACE", "[http]") {
  Headers h;
  h.add("Max-Forwards", "3");
  CHECK(applyMaxForwards("OPTIONS", h) == MaxForwards::Forward);
  CHECK(h.get("Max-Forwards") == std::optional<std::string_view>("2"));
  CHECK(applyMaxForwards("GET", h) == MaxForwards::Forward);
  CHECK(h.get("Max-Forwards") == std::optional<std::string_view>("2"));
  CHECK(applyMaxForwards("TRACE", h) == MaxForwards::Forward);
  CHECK(applyMaxForwards("TRACE", h) == MaxForwards::Forward);
  CHECK(h.get("Max-Forwards") == std::optional<std::string_view>("0"));
  CHECK(applyMaxForwards("TRACE", h) == MaxForwards::AnswerHere);
  CHECK(h.get("Max-Forwards") == std::optional<std::string_view>("0"));

  Headers none;
  CHECK(applyMaxForwards("OPTIONS", none) == MaxForwards::Forward);
  CHECK(none.empty());
  Headers invalid;
  invalid.add("Max-Forwards", "-1");
  CHECK(applyMaxForwards("OPTIONS", invalid) == MaxForwards::Forward);
  CHECK(invalid.get("Max-Forwards") == std::optional<std::string_view>("-1"));
  Headers huge;
  huge.add("Max-Forwards", "18446744073709551615");
  CHECK(applyMaxForwards("OPTIONS", huge) == MaxForwards::Forward);
  CHECK(huge.get("Max-Forwards") == std::optional<std::string_view>("18446744073709551614"));
}

TEST_CASE("idempotent methods", "[http]") {
  CHECK(isIdempotent("GET"));
  CHECK(isIdempotent("PUT"));
  CHECK(isIdempotent("DELETE"));
  CHECK_FALSE(isIdempotent("POST"));
  CHECK_FALSE(isIdempotent("PATCH"));
  CHECK_FALSE(isIdempotent("CONNECT"));
  CHECK_FALSE(isIdempotent("get"));
}
