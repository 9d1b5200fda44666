// Heads and chunks as bytes on the wire. ferry speaks HTTP/1.1 on every hop (RFC 9110 §6.2:
// an intermediary sends its own version), so the version fields of a head are not written.
// No framing decisions here: the caller sets the fields with setFraming() (framing.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ferry/http/message.h"
#include "ferry/http/target.h"

namespace ferry::http {

// Who receives a request head: the origin itself, or a proxy (a parent) that forwards it.
enum class Recipient { Origin, Proxy };

// "<method> <request-target> HTTP/1.1", then "Host: <target.authority()>" first and every
// field of head.headers except Host, then the empty line. The request-target is target.path
// for Origin and Absolute targets sent to an origin (RFC 9112 §3.2.1), the absolute URI for
// an Absolute target sent to a proxy (§3.2.2), the authority for CONNECT, "*" for Asterisk.
std::string serializeRequestHead(const RequestHead& head, const Target& target,
                                 Recipient recipient = Recipient::Origin);

// "HTTP/1.1 <status> <reason>", every field, the empty line. An empty reason becomes the
// standard phrase for the status.
std::string serializeResponseHead(const ResponseHead& head);
// The same without the empty line, for a sender that appends fields of its own first.
std::string serializeResponseLines(const ResponseHead& head);

// RFC 9112 §7.1 chunked encoding. A chunk is chunkPrefix(n), n data bytes, ChunkSuffix; the
// body ends with LastChunk. A chunk of size 0 would end the body, so empty data writes nothing.
struct ChunkPrefix {
  char bytes[20]; // "<hex size>\r\n"
  std::size_t size = 0;
  std::string_view view() const noexcept { return {bytes, size}; }
};
ChunkPrefix chunkPrefix(std::uint64_t data_size) noexcept;
inline constexpr std::string_view ChunkSuffix = "\r\n";
inline constexpr std::string_view LastChunk = "0\r\n\r\n";
// Appends one whole chunk holding `data` to out (nothing when data is empty).
void encodeChunk(std::string& out, std::string_view data);

} // namespace ferry::http
