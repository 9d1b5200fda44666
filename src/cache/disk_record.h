// The disk tier's index record of one Entry: its Key and secondary key, where its body file
// is, the body's length and CRC-32, the Entry's head and times, and its place in the
// eviction order; with the byte form it has in the index, and the fixed-size index keys it
// is found by. Pure: no file, no lock. A record that does not decode exactly is refused
// (nullopt), never half-read.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/cache/entry.h"
#include "ferry/http/message.h"

namespace ferry::cache::disk {

struct Record {
  std::string key;             // the Entry's Key
  std::string secondary_key;   // and secondary key, in full (the index key is their hashes)
  std::uint64_t file_id = 0;   // the body file's number
  std::uint64_t body_size = 0; // bytes in the body file
  std::uint32_t body_crc = 0;  // zlib crc32 of the body
  std::uint64_t tick = 0;      // eviction order: larger is more recently used
  std::chrono::system_clock::time_point request_time;
  std::chrono::system_clock::time_point response_time;
  std::optional<std::uint64_t> content_length; // as announced when stored
  http::ResponseHead head;
};

std::string encode(const Record& record);
std::optional<Record> decode(std::string_view bytes);
// The body file number of an encoded record, without decoding the rest.
std::optional<std::uint64_t> fileIdOf(std::string_view bytes);

// The index key of one variant: 16 bytes of SHA-256 of the Key, then 16 of the secondary
// key, so that any URL fits LMDB's key size limit; every variant of a Key shares the first
// 16 (variantPrefix). A lookup compares the record's own key and secondary key, so hashes
// that collide never answer for each other.
inline constexpr std::size_t PrefixBytes = 16;
std::string indexKey(std::string_view key, std::string_view secondary_key);
std::string variantPrefix(std::string_view key);

// The index key of a tick in the eviction order table: 8 bytes, big-endian, so the table's
// byte order is the ticks' order.
std::string tickKey(std::uint64_t tick);
std::uint64_t tickOf(std::string_view tick_key);

} // namespace ferry::cache::disk
