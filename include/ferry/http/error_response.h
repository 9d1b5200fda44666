// The responses ferry itself sends when it refuses or fails a request: one function maps a
// status (400 403 405 411 413 414 417 431 501 502 504 505, ...) to the bytes for the client;
// another frames what ferry serves itself (admin pages, the PAC file).
#pragma once

#include <string>
#include <string_view>

namespace ferry::http {

// The standard reason phrase of a status (RFC 9110 §15), "Unknown" for codes it lacks.
std::string_view reasonPhrase(int status) noexcept;

// A complete HTTP/1.1 response: status line, Content-Type: text/plain, Content-Length,
// Cache-Control: no-store, "Connection: close" when `close`, and a short body
// "<status> <reason>\n<detail>\n". Control bytes in detail become spaces. For an answer to
// a HEAD request pass head_request: the fields stay, the body is left out (RFC 9110 §9.3.2).
// A 407 carries `proxy_authenticate` as its Proxy-Authenticate field (RFC 9110 §11.7.1).
std::string errorResponse(int status, std::string_view detail, bool close,
                          bool head_request = false, std::string_view proxy_authenticate = {});

// A complete HTTP/1.1 response with `body` as it is: status line, the Content-Type given,
// Content-Length, Cache-Control: no-store, "Connection: close" when `close`; the body is
// left out for a HEAD request.
std::string ownResponse(int status, std::string_view content_type, std::string_view body,
                        bool close, bool head_request = false);

} // namespace ferry::http
