// Heads and chunks to bytes. Each head is built in one string sized up front, so the proxy
// writes start line and fields with one allocation and one write.
#include "ferry/http/serializer.h"

#include <charconv>

#include "ferry/core/assert.h"
#include "ferry/http/error_response.h"

namespace ferry::http {
namespace {

void appendFields(std::string& out, const Headers& headers, bool skip_host) {
  for (const Field f : headers) {
    if (skip_host && equalsIgnoreCase(f.name, "host")) {
      continue;
    }
    out += f.name;
    out += ": ";
    out += f.value;
    out += "\r\n";
  }
}

} // namespace

std::string serializeRequestHead(const RequestHead& head, const Target& target,
                                 Recipient recipient) {
  std::string out;
  // Room for the authority twice ("[" host "]:" port), in the target and in Host, and for
  // the "/" of an empty path.
  out.reserve(head.method.size() + 1 + target.scheme.size() + 3 + 2 * (target.host.size() + 8) +
              target.path.size() + 1 + 11 + 8 + head.headers.wireSize() + 2);
  out += head.method;
  out += ' ';
  switch (target.form) {
  case TargetForm::Absolute:
    if (recipient == Recipient::Proxy) {
      // RFC 9112 §3.2.2: a proxy is sent the absolute URI.
      out += target.scheme;
      out += "://";
      target.appendAuthority(out);
      out += target.path.empty() ? std::string_view("/") : std::string_view(target.path);
      break;
    }
    [[fallthrough]];
  case TargetForm::Origin:
    // RFC 9112 §3.2.1: towards the origin, origin-form with "/" for an empty path.
    out += target.path.empty() ? std::string_view("/") : std::string_view(target.path);
    break;
  case TargetForm::Authority:
    target.appendAuthority(out); // RFC 9112 §3.2.3
    break;
  case TargetForm::Asterisk:
    out += '*';
    break;
  }
  out += " HTTP/1.1\r\n";
  // RFC 9112 §3.2: Host carries the target's authority; RFC 9110 §7.2: sent first.
  out += "Host: ";
  target.appendAuthority(out);
  out += "\r\n";
  appendFields(out, head.headers, true);
  out += "\r\n";
  return out;
}

std::string serializeResponseHead(const ResponseHead& head) {
  std::string out = serializeResponseLines(head);
  out += "\r\n";
  return out;
}

std::string serializeResponseLines(const ResponseHead& head) {
  FERRY_ASSERT(head.status >= 100 && head.status <= 999);
  const std::string_view reason =
      head.reason.empty() ? reasonPhrase(head.status) : std::string_view(head.reason);
  std::string out;
  out.reserve(13 + reason.size() + 2 + head.headers.wireSize() + 2);
  out += "HTTP/1.1 ";
  char status[4];
  std::to_chars(status, status + 3, head.status);
  out.append(status, 3);
  out += ' ';
  out += reason;
  out += "\r\n";
  appendFields(out, head.headers, false);
  return out;
}

ChunkPrefix chunkPrefix(std::uint64_t data_size) noexcept {
  FERRY_ASSERT(data_size > 0); // size 0 is the last chunk
  ChunkPrefix prefix;
  // RFC 9112 §7.1: chunk-size is hex; no extensions are ever sent.
  const auto end = std::to_chars(prefix.bytes, prefix.bytes + 16, data_size, 16).ptr;
  prefix.size = static_cast<std::size_t>(end - prefix.bytes);
  prefix.bytes[prefix.size++] = '\r';
  prefix.bytes[prefix.size++] = '\n';
  return prefix;
}

void encodeChunk(std::string& out, std::string_view data) {
  if (data.empty()) {
    return;
  }
  const ChunkPrefix prefix = chunkPrefix(data.size());
  out.reserve(out.size() + prefix.size + data.size() + ChunkSuffix.size());
  out += prefix.view();
  out += data;
  out += ChunkSuffix;
}

} // namespace ferry::http
