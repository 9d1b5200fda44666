// Byte form of a disk index record: a version tag, fixed-width little-endian integers and
// length-prefixed strings, in the order of the Record's fields. Decoding checks every length
// against what is left and wants the bytes used up exactly.
#include "disk_record.h"

#include <nettle/sha2.h>

namespace ferry::cache::disk {

namespace {

constexpr std::uint32_t Version = 0x32525946; // "FYR2"

class Writer {
public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i)
      u8(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i)
      u8(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }
  std::string take() { return std::move(out_); }

private:
  std::string out_;
};

class Reader {
public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool u8(std::uint8_t& v) {
    if (in_.empty())
      return false;
    v = static_cast<std::uint8_t>(in_.front());
    in_.remove_prefix(1);
    return true;
  }
  template <class T> bool fixed(T& v) {
    if (in_.size() < sizeof(T))
      return false;
    v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i)
      v |= static_cast<T>(static_cast<T>(static_cast<std::uint8_t>(in_[i])) << (8 * i));
    in_.remove_prefix(sizeof(T));
    return true;
  }
  bool str(std::string_view& s) {
    std::uint32_t size = 0;
    if (!fixed(size) || in_.size() < size)
      return false;
    s = in_.substr(0, size);
    in_.remove_prefix(size);
    return true;
  }
  bool atEnd() const { return in_.empty(); }

private:
  std::string_view in_;
};

std::uint64_t nanos(std::chrono::system_clock::time_point t) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

std::chrono::system_clock::time_point fromNanos(std::uint64_t n) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(static_cast<std::int64_t>(n))));
}

} // namespace

std::string encode(const Record& record) {
  Writer w;
  w.u32(Version);
  w.u64(record.file_id);
  w.str(record.key);
  w.str(record.secondary_key);
  w.u64(record.body_size);
  w.u32(record.body_crc);
  w.u64(record.tick);
  w.u64(nanos(record.request_time));
  w.u64(nanos(record.response_time));
  w.u8(record.content_length ? 1 : 0);
  w.u64(record.content_length.value_or(0));
  w.u8(static_cast<std::uint8_t>(record.head.version_major));
  w.u8(static_cast<std::uint8_t>(record.head.version_minor));
  w.u32(static_cast<std::uint32_t>(record.head.status));
  w.str(record.head.reason);
  w.u32(static_cast<std::uint32_t>(record.head.headers.size()));
  for (const http::Field field : record.head.headers) {
    w.str(field.name);
    w.str(field.value);
  }
  return w.take();
}

std::optional<Record> decode(std::string_view bytes) {
  Reader r(bytes);
  Record record;
  std::uint32_t version = 0;
  std::uint64_t request_ns = 0;
  std::uint64_t response_ns = 0;
  std::uint8_t has_length = 0;
  std::uint64_t length = 0;
  std::uint8_t major = 0;
  std::uint8_t minor = 0;
  std::uint32_t status = 0;
  std::string_view reason;
  std::uint32_t fields = 0;
  std::string_view key;
  std::string_view secondary_key;
  if (!r.fixed(version) || version != Version || !r.fixed(record.file_id) || !r.str(key) ||
      !r.str(secondary_key) || !r.fixed(record.body_size) || !r.fixed(record.body_crc) ||
      !r.fixed(record.tick) || !r.fixed(request_ns) || !r.fixed(response_ns) || !r.u8(has_length) ||
      has_length > 1 || !r.fixed(length) || !r.u8(major) || !r.u8(minor) || !r.fixed(status) ||
      status < 100 || status > 599 || !r.str(reason) || !r.fixed(fields))
    return std::nullopt;
  record.key = std::string(key);
  record.secondary_key = std::string(secondary_key);
  record.request_time = fromNanos(request_ns);
  record.response_time = fromNanos(response_ns);
  if (has_length)
    record.content_length = length;
  record.head.version_major = major;
  record.head.version_minor = minor;
  record.head.status = static_cast<int>(status);
  record.head.reason = std::string(reason);
  for (std::uint32_t i = 0; i < fields; ++i) {
    std::string_view name;
    std::string_view value;
    if (!r.str(name) || !r.str(value) || name.empty())
      return std::nullopt;
    record.head.headers.add(name, value);
  }
  if (!r.atEnd())
    return std::nullopt;
  return record;
}

std::optional<std::uint64_t> fileIdOf(std::string_view bytes) {
  Reader r(bytes);
  std::uint32_t version = 0;
  std::uint64_t file_id = 0;
  if (!r.fixed(version) || version != Version || !r.fixed(file_id))
    return std::nullopt;
  return file_id;
}

namespace {

std::string hashPrefix(std::string_view text) {
  sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, text.size(), reinterpret_cast<const uint8_t*>(text.data()));
  std::string digest(PrefixBytes, '\0');
  sha256_digest(&ctx, PrefixBytes, reinterpret_cast<uint8_t*>(digest.data()));
  return digest;
}

} // namespace

std::string indexKey(std::string_view key, std::string_view secondary_key) {
  return hashPrefix(key) + hashPrefix(secondary_key);
}

std::string variantPrefix(std::string_view key) {
  return hashPrefix(key);
}

std::string tickKey(std::uint64_t tick) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[static_cast<std::size_t>(i)] = static_cast<char>(tick >> (8 * (7 - i)));
  return out;
}

std::uint64_t tickOf(std::string_view tick_key) {
  std::uint64_t tick = 0;
  for (std::size_t i = 0; i < tick_key.size() && i < 8; ++i)
    tick = (tick << 8) | static_cast<std::uint8_t>(tick_key[i]);
  return tick;
}

} // namespace ferry::cache::disk
