// Invalidation after unsafe requests (RFC 9111 §4.4): which cache keys a response to POST,
// PUT, DELETE... removes, with Location and Content-Location resolved (RFC 3986 §5.2) and kept
// to the target's origin.
#include "policy_fixtures.h"

#include <catch2/catch.hpp>

#include <vector>

using namespace ferry;
using namespace ferry::cache;
using namespace ferry::cache::policy;
using namespace ferry::cache::policy_test;

namespace {

struct InvalidationRow {
  const char* name;
  const char* method;
  const char* target; // absolute form
  int status;
  const char* response;
  std::vector<std::string> keys;
};

// clang-format off
const InvalidationRow InvalidationRows[] = {
  {"§4.4 POST with a 200 invalidates the target", "POST", "http://a.example/x/y?q=1", 200, "",
   {"http://a.example/x/y?q=1"}},
  {"§4.4 PUT, DELETE and PATCH are unsafe too", "DELETE", "http://a.example/x", 204, "",
   {"http://a.example/x"}},
  {"§4.4 methods of unknown safety invalidate", "PROPPATCH", "http://a.example/x", 207, "",
   {"http://a.example/x"}},
  {"§4.4 a 3xx is a non-error status", "POST", "http://a.example/x", 303, "",
   {"http://a.example/x"}},
  {"§4.4 an error status invalidates nothing", "POST", "http://a.example/x", 500, "", {}},
  {"§4.4 a 4xx invalidates nothing", "PUT", "http://a.example/x", 409, "", {}},
  {"§4.4 safe methods invalidate nothing", "GET", "http://a.example/x", 200, "", {}},
  {"§4.4 OPTIONS is safe", "OPTIONS", "http://a.example/x", 200, "", {}},
  {"§4.4 Location with an absolute path", "POST", "http://a.example/x/y", 201,
   "Location: /items/7", {"http://a.example/x/y", "http://a.example/items/7"}},
  {"§4.4 Location and Content-Location, relative (RFC 3986 §5.2.3 merge)", "PUT",
   "http://a.example/x/y?q=1", 200, "Location: z\nContent-Location: ../w#frag",
   {"http://a.example/x/y?q=1", "http://a.example/x/z", "http://a.example/w"}},
  {"§4.4 a query-only reference keeps the path", "POST", "http://a.example/x/y?q=1", 200,
   "Content-Location: ?q=2", {"http://a.example/x/y?q=1", "http://a.example/x/y?q=2"}},
  {"§4.4 absolute Location on the same origin, default port spelled out", "POST",
   "http://a.example/x", 201, "Location: HTTP://A.EXAMPLE:80/new/./item",
   {"http://a.example/x", "http://a.example/new/item"}},
  {"§4.4 another host is never invalidated", "POST", "http://a.example/x", 201,
   "Location: http://b.example/x\nContent-Location: //b.example/y",
   {"http://a.example/x"}},
  {"§4.4 another scheme is another origin", "POST", "http://a.example/x", 201,
   "Location: https://a.example/x", {"http://a.example/x"}},
  {"§4.4 another port is another origin", "POST", "http://a.example/x", 201,
   "Location: http://a.example:8080/x", {"http://a.example/x"}},
  {"§4.4 a network-path reference on the same origin", "POST", "https://a.example:8443/x", 201,
   "Location: //a.example:8443/y", {"https://a.example:8443/x", "https://a.example:8443/y"}},
  {"§4.4 the same URI twice gives one key", "POST", "http://a.example/x", 200,
   "Location: /x\nContent-Location: http://a.example/x", {"http://a.example/x"}},
  {"§4.4 an unusable Location is skipped", "POST", "http://a.example/x", 201,
   "Location: mailto:someone@example.com", {"http://a.example/x"}},
};
// clang-format on

} // namespace

TEST_CASE("invalidation keys after unsafe requests (§4.4)", "[cache]") {
  for (const InvalidationRow& row : InvalidationRows) {
    SECTION(row.name) {
      const http::Target target = http::parseTarget(row.method, row.target);
      REQUIRE(target.isValid());
      CHECK(invalidatedKeys(request("", row.method), target, response(row.status, row.response)) ==
            row.keys);
    }
  }
}

TEST_CASE("§4.4 an origin-form target completed from Host", "[cache]") {
  http::Target target = http::parseTarget("POST", "/cart/add");
  target.scheme = "http";
  target.host = "shop.example";
  target.port = 80;
  CHECK(invalidatedKeys(request("", "POST"), target, response(302, "Location: ../view")) ==
        std::vector<std::string>{"http://shop.example/cart/add", "http://shop.example/view"});
  // Without a known origin there is nothing to invalidate.
  CHECK(invalidatedKeys(request("", "POST"), http::parseTarget("POST", "/cart/add"),
                        response(200, ""))
            .empty());
}
