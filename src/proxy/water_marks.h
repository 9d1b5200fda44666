// The one set of buffer limits of the proxy module: how many bytes may queue towards a peer
// before ferry stops producing for it, and how far the queue must drain before it resumes.
// Every relay (response bodies, stored bodies, tunnels, answers ferry makes itself) and the
// client's input buffer use these, so the memory one connection can hold is bounded by them.
#pragma once

#include <cstddef>

namespace ferry::proxy {

// Bytes queued towards one peer (output buffer) before ferry stops reading from the other
// side or stops answering further requests.
inline constexpr std::size_t HighWater = 256 * 1024;
// The output buffer drained below this: production resumes (libevent's write low water
// mark, so the write callback fires there).
inline constexpr std::size_t LowWater = 64 * 1024;
// Stored body bytes queued towards a client. They are references to the cache's own chunks or
// file segments, not copies, so more may queue than HighWater; and one write hands the kernel
// up to this much: on loopback a fifth less CPU per byte than 256 KiB writes (bench/README).
inline constexpr std::size_t StoredHighWater = 1024 * 1024;
// Client bytes buffered ahead of the request in progress (pipelined requests, body).
inline constexpr std::size_t ReadHighWater = 256 * 1024;
// Bytes read per call at most where ferry reads a socket itself (net::readInput): a
// response from the origin, a tunnel relayed through the buffers. libevent 2.1's own
// bufferevent reads take 4 KiB.
inline constexpr std::size_t ReadSize = 64 * 1024;

} // namespace ferry::proxy
