// Framing fields: what setFraming() writes (RFC 9112 §6), and which bodiless responses
// announce a body anyway (RFC 9110 §6.4.1, §8.6).
#include "ferry/http/framing.h"

#include <catch2/catch.hpp>

using namespace ferry::http;

namespace {

struct StrayRow {
  const char* name;
  const char* method;
  int status;
  const char* field; // "Name: value", or "" for none
  bool stray;
};

// clang-format off
const StrayRow StrayRows[] = {
  {"§6.4.1 HEAD with Content-Length describes the GET", "HEAD", 200, "Content-Length: 5", false},
  {"§6.4.1 HEAD with Transfer-Encoding", "HEAD", 200, "Transfer-Encoding: chunked", true},
  {"§8.6 a 204 has no Content-Length", "GET", 204, "Content-Length: 4", true},
  {"§6.4.1 204 with Transfer-Encoding", "GET", 204, "Transfer-Encoding: chunked", true},
  {"§6.4.1 plain 204", "GET", 204, "", false},
  {"§8.6 304 with Content-Length describes the stored one", "GET", 304, "Content-Length: 9", false},
  {"§6.4.1 304 with Transfer-Encoding", "GET", 304, "Transfer-Encoding: chunked", true},
  {"a 200 to GET may frame a body", "GET", 200, "Transfer-Encoding: chunked", false},
};
// clang-format on

} // namespace

TEST_CASE("#9 bodiless responses that announce a body", "[http]") {
  for (const StrayRow& row : StrayRows) {
    INFO(row.name);
    ResponseHead response;
    response.status = row.status;
    if (const std::string_view field = row.field; !field.empty()) {
      const auto colon = field.find(':');
      response.headers.add(field.substr(0, colon), field.substr(colon + 2));
    }
    CHECK(announcesForbiddenBody(row.method, response) == row.stray);
  }
}

TEST_CASE("#11 setFraming writes the fields of each framing, codings kept (RFC 9112 §6.1)",
          "[http]") {
  struct Row {
    Framing framing;
    const char* fields; // after setFraming on "Content-Length: 3, Transfer-Encoding: chunked"
  };
  const Row rows[] = {
      {{Framing::Length, 7}, "Content-Length: 7;"},
      {{Framing::Chunked}, "Transfer-Encoding: chunked;"},
      {{Framing::Chunked, 0, "gzip"}, "Transfer-Encoding: gzip, chunked;"},
      {{Framing::UntilClose}, ""},
      {{Framing::UntilClose, 0, "x-custom, gzip"}, "Transfer-Encoding: x-custom, gzip;"},
      {{Framing::None}, "Content-Length: 3;"},
  };
  for (const Row& row : rows) {
    INFO(row.fields);
    Headers headers;
    headers.add("Content-Length", "3");
    headers.add("Transfer-Encoding", "chunked");
    setFraming(headers, row.framing);
    std::string fields;
    for (const Field f : headers)
      fields += std::string(f.name) + ": " + std::string(f.value) + ";";
    CHECK(fields == row.fields);
  }
}
