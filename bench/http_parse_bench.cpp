// HTTP parsing micro-benchmark: what one request and one response cost ferry's http layer,
// on a warm parser reused across messages as on a persistent connection. Head parsing only;
// no sockets, no cache. Figures go to bench/README.md.
#include <benchmark/benchmark.h>

#include <string>

#include "ferry/http/hop_by_hop.h"
#include "ferry/http/parser.h"
#include "ferry/http/serializer.h"

using namespace ferry::http;

namespace {

// What Chromium sends to a forward proxy for a page load (absolute-form, 666 bytes).
const std::string BrowserRequest =
    "GET http://www.example.com/articles/2024/06/caching-proxies.html?ref=home&lang=en "
    "HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "Proxy-Connection: keep-alive\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8\r\n"
    "Referer: http://www.example.com/\r\n"
    "Accept-Encoding: gzip, deflate\r\n"
    "Accept-Language: en-GB,en;q=0.9,de;q=0.8\r\n"
    "Cookie: session=4f2a9c1e7b3d5a6c8e0f1a2b3c4d5e6f; theme=dark; consent=1\r\n"
    "If-None-Match: \"5e3f-61a2b3c4d5e6f\"\r\n"
    "If-Modified-Since: Tue, 04 Jun 2024 10:00:00 GMT\r\n"
    "\r\n";

// A typical origin response head (422 bytes).
const std::string OriginResponse = "HTTP/1.1 200 OK\r\n"
                                   "Date: Wed, 05 Jun 2024 12:00:00 GMT\r\n"
                                   "Server: nginx/1.24.0\r\n"
                                   "Content-Type: text/html; charset=utf-8\r\n"
                                   "Content-Length: 48213\r\n"
                                   "Last-Modified: Tue, 04 Jun 2024 10:00:00 GMT\r\n"
                                   "Connection: keep-alive\r\n"
                                   "ETag: \"5e3f-61a2b3c4d5e6f\"\r\n"
                                   "Cache-Control: public, max-age=600\r\n"
                                   "Vary: Accept-Encoding\r\n"
                                   "Content-Encoding: gzip\r\n"
                                   "Accept-Ranges: bytes\r\n"
                                   "X-Content-Type-Options: nosniff\r\n"
                                   "Strict-Transport-Security: max-age=31536000\r\n"
                                   "\r\n";

void parseRequest(RequestParser& parser, std::string_view input) {
  Step step = parser.parse(input);
  if (step.event != Event::Head) {
    std::abort();
  }
  input.remove_prefix(step.consumed);
  step = parser.parse(input);
  if (step.event != Event::MessageEnd) {
    std::abort();
  }
}

// Head parsing: bytes in, RequestHead + Target out.
void BM_ParseBrowserRequestHead(benchmark::State& state) {
  RequestParser parser{Limits{}};
  for (auto _ : state) {
    parseRequest(parser, BrowserRequest);
    benchmark::DoNotOptimize(parser.head().headers.size());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * BrowserRequest.size()));
}
BENCHMARK(BM_ParseBrowserRequestHead);

// Head parsing of a response (answering HEAD, so the head is the whole message).
void BM_ParseResponseHead(benchmark::State& state) {
  ResponseParser parser{Limits{}};
  for (auto _ : state) {
    parser.expect("HEAD");
    std::string_view input = OriginResponse;
    Step step = parser.parse(input);
    if (step.event != Event::Head) {
      std::abort();
    }
    input.remove_prefix(step.consumed);
    if (parser.parse(input).event != Event::MessageEnd) {
      std::abort();
    }
    benchmark::DoNotOptimize(parser.head().status);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * OriginResponse.size()));
}
BENCHMARK(BM_ParseResponseHead);

// Everything the http layer does to a request head on its way upstream: parse, strip
// hop-by-hop fields, append Via, serialize in origin-form.
void BM_ForwardRequestHead(benchmark::State& state) {
  RequestParser parser{Limits{}};
  for (auto _ : state) {
    parseRequest(parser, BrowserRequest);
    RequestHead& head = parser.head();
    const ConnectionOptions options = stripHopByHop(head.headers);
    appendVia(head.headers, head.version_major, head.version_minor, "ferry");
    const std::string bytes = serializeRequestHead(head, parser.target());
    benchmark::DoNotOptimize(options.keep_alive);
    benchmark::DoNotOptimize(bytes.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * BrowserRequest.size()));
}
BENCHMARK(BM_ForwardRequestHead);

// The same request arriving in 64-byte reads (a slow client or small segments).
void BM_ParseBrowserRequestHeadIn64ByteReads(benchmark::State& state) {
  RequestParser parser{Limits{}};
  std::string pending;
  for (auto _ : state) {
    std::string_view rest = BrowserRequest;
    bool ended = false;
    while (!ended) {
      const std::size_t n = std::min<std::size_t>(64, rest.size());
      pending.append(rest.substr(0, n));
      rest.remove_prefix(n);
      for (;;) {
        const Step step = parser.parse(pending);
        pending.erase(0, step.consumed);
        if (step.event == Event::NeedMore) {
          break;
        }
        if (step.event == Event::MessageEnd) {
          ended = true;
          break;
        }
        if (step.event == Event::Error) {
          std::abort();
        }
      }
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * BrowserRequest.size()));
}
BENCHMARK(BM_ParseBrowserRequestHeadIn64ByteReads);

} // namespace

BENCHMARK_MAIN();
