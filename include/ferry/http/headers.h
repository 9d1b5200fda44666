// An ordered list of header fields. Names keep the case and order they arrived in, so a
// forwarded message differs only where ferry means it to; lookup ignores case (RFC 9110 §5.1).
// It knows nothing about what a field means: hop-by-hop rules live in hop_by_hop.h, framing in
// framing.h. All fields share one byte buffer, so a parsed head costs two allocations.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::http {

namespace detail {
class MessageParser;
}

// One header field line. The views point into the Headers that produced it.
struct Field {
  std::string_view name;
  std::string_view value;
};

// ASCII case-insensitive comparison, as field names and most tokens need (RFC 9110 §5.1).
bool equalsIgnoreCase(std::string_view a, std::string_view b) noexcept;

// Calls f(member) for each non-empty member of a comma-separated list (RFC 9110 §5.6.1),
// with optional whitespace trimmed. Commas inside quoted-strings do not split.
template <class F> void forEachListMember(std::string_view list, F&& f) {
  std::size_t start = 0;
  bool quoted = false;
  for (std::size_t i = 0; i <= list.size(); ++i) {
    if (i < list.size()) {
      const char c = list[i];
      if (quoted && c == '\\') {
        ++i; // quoted-pair: skip the escaped octet
        continue;
      }
      if (c == '"') {
        quoted = !quoted;
      }
      if (quoted || c != ',') {
        continue;
      }
    }
    std::string_view member = list.substr(start, i - start);
    while (!member.empty() && (member.front() == ' ' || member.front() == '\t')) {
      member.remove_prefix(1);
    }
    while (!member.empty() && (member.back() == ' ' || member.back() == '\t')) {
      member.remove_suffix(1);
    }
    if (!member.empty()) {
      f(member);
    }
    start = i + 1;
  }
}

// Owns its bytes. Views returned by get(), getAll(), operator[] and iteration stay valid until
// the next add(), set(), clear(), or until the Headers is moved or destroyed; remove() keeps
// them valid. Not thread-safe; one owner at a time.
class Headers {
public:
  class Iterator {
  public:
    using value_type = Field;
    using difference_type = std::ptrdiff_t;
    Iterator() = default;
    Iterator(const Headers* headers, std::size_t index) : headers_(headers), index_(index) {}
    Field operator*() const { return (*headers_)[index_]; }
    Iterator& operator++() {
      ++index_;
      return *this;
    }
    Iterator operator++(int) {
      Iterator old = *this;
      ++index_;
      return old;
    }
    bool operator==(const Iterator& other) const { return index_ == other.index_; }

  private:
    const Headers* headers_ = nullptr;
    std::size_t index_ = 0;
  };

  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }
  Field operator[](std::size_t index) const noexcept;
  Iterator begin() const noexcept { return {this, 0}; }
  Iterator end() const noexcept { return {this, entries_.size()}; }

  // The value of the first field called `name`, if any.
  std::optional<std::string_view> get(std::string_view name) const noexcept;
  // The values of every field called `name`, in order.
  std::vector<std::string_view> getAll(std::string_view name) const;
  // The values of every field called `name` joined by ", " — the combined field value of
  // RFC 9110 §5.3 (not meaningful for Set-Cookie). Empty when absent.
  std::string combined(std::string_view name) const;
  std::size_t count(std::string_view name) const noexcept;
  bool has(std::string_view name) const noexcept { return get(name).has_value(); }
  // Whether a list-valued field called `name` has the member `token` (case-insensitive), e.g.
  // hasToken("Connection", "close").
  bool hasToken(std::string_view name, std::string_view token) const noexcept;

  // Appends a field line. name must be a token and value must hold no CR, LF or NUL: callers
  // pass constants or bytes that came out of a parser.
  void add(std::string_view name, std::string_view value);
  // Replaces the value of the first field called `name` (keeping its position and spelling)
  // and removes the others; appends a field line when there is none.
  void set(std::string_view name, std::string_view value);
  // Removes every field called `name`; returns how many were removed.
  std::size_t remove(std::string_view name) noexcept;
  // Removes the fields for which pred(Field) is true; returns how many were removed.
  template <class Pred> std::size_t removeIf(Pred&& pred) {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      if (!pred((*this)[i])) {
        entries_[kept++] = entries_[i];
      }
    }
    const std::size_t removed = entries_.size() - kept;
    entries_.resize(kept);
    return removed;
  }
  // Removes everything but keeps the allocated capacity for the next message.
  void clear() noexcept;
  // A copy with room for `bytes` more field bytes in `fields` more field lines: adding that
  // much to it reallocates nothing (a message forwarded with a few fields added, Via).
  Headers withRoom(std::size_t bytes, std::size_t fields) const;
  // Bytes the fields take on the wire as "name: value\r\n" lines.
  std::size_t wireSize() const noexcept;

private:
  friend class detail::MessageParser;
  struct Entry {
    std::uint32_t name_offset;
    std::uint32_t name_size;
    std::uint32_t value_offset;
    std::uint32_t value_size;
  };
  struct Source {
    std::string_view bytes;
    bool inside; // points into bytes_
    std::size_t offset;
  };
  Source locate(std::string_view bytes) const noexcept;
  std::uint32_t append(const Source& source);

  std::string bytes_;
  std::vector<Entry> entries_;
};

} // namespace ferry::http
