// The one place that turns a refusal or failure into the response ferry sends. Bodies are
// short plain text meant for a human reading curl output; nothing from the peer is echoed
// without its control bytes removed.
#include "ferry/http/error_response.h"

namespace ferry::http {

std::string_view reasonPhrase(int status) noexcept {
  // RFC 9110 §15.
  switch (status) {
  case 100:
    return "Continue";
  case 101:
    return "Switching Protocols";
  case 103:
    return "Early Hints";
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 202:
    return "Accepted";
  case 203:
    return "Non-Authoritative Information";
  case 204:
    return "No Content";
  case 205:
    return "Reset Content";
  case 206:
    return "Partial Content";
  case 300:
    return "Multiple Choices";
  case 301:
    return "Moved Permanently";
  case 302:
    return "Found";
  case 303:
    return "See Other";
  case 304:
    return "Not Modified";
  case 307:
    return "Temporary Redirect";
  case 308:
    return "Permanent Redirect";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 402:
    return "Payment Required";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 406:
    return "Not Acceptable";
  case 407:
    return "Proxy Authentication Required";
  case 408:
    return "Request Timeout";
  case 409:
    return "Conflict";
  case 410:
    return "Gone";
  case 411:
    return "Length Required";
  case 412:
    return "Precondition Failed";
  case 413:
    return "Content Too Large";
  case 414:
    return "URI Too Long";
  case 415:
    return "Unsupported Media Type";
  case 416:
    return "Range Not Satisfiable";
  case 417:
    return "Expectation Failed";
  case 421:
    return "Misdirected Request";
  case 422:
    return "Unprocessable Content";
  case 426:
    return "Upgrade Required";
  case 428:
    return "Precondition Required";
  case 429:
    return "Too Many Requests";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  case 505:
    return "HTTP Version Not Supported";
  case 508:
    return "Loop Detected";
  default:
    return "Unknown";
  }
}

std::string errorResponse(int status, std::string_view detail, bool close, bool head_request,
                          std::string_view proxy_authenticate) {
  if (status < 100 || status > 599) {
    status = 500;
  }
  const std::string_view reason = reasonPhrase(status);
  constexpr std::size_t MaxDetail = 512;
  std::string body = std::to_string(status);
  body += ' ';
  body += reason;
  body += '\n';
  if (!detail.empty()) {
    for (const char c : detail.substr(0, MaxDetail)) {
      const auto u = static_cast<unsigned char>(c);
      body += (u < 0x20 || u == 0x7f) ? ' ' : c;
    }
    body += '\n';
  }
  std::string out = ownResponse(status, "text/plain; charset=utf-8", body, close, head_request);
  if (!proxy_authenticate.empty()) {
    // Before the blank line that ends the head.
    const std::string field = "Proxy-Authenticate: " + std::string(proxy_authenticate) + "\r\n";
    out.insert(out.find("\r\n\r\n") + 2, field);
  }
  return out;
}

std::string ownResponse(int status, std::string_view content_type, std::string_view body,
                        bool close, bool head_request) {
  std::string out;
  out.reserve(160 + body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += reasonPhrase(status);
  out += "\r\nContent-Type: ";
  out += content_type;
  out += "\r\nContent-Length: ";
  out += std::to_string(body.size());
  // Answers describe this hop only; nothing downstream should store them.
  out += "\r\nCache-Control: no-store\r\n";
  if (close) {
    out += "Connection: close\r\n";
  }
  out += "\r\n";
  if (!head_request) {
    out += body;
  }
  return out;
}

} // namespace ferry::http
