// Headers: one byte buffer plus an index of (offset, size) pairs, so parsing a head and
// clearing it for the next message on a persistent connection allocates nothing once warm.
#include "ferry/http/headers.h"

#include <limits>

#include "chars.h"
#include "ferry/core/assert.h"

namespace ferry::http {

bool equalsIgnoreCase(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (chars::toLower(a[i]) != chars::toLower(b[i])) {
      return false;
    }
  }
  return true;
}

Field Headers::operator[](std::size_t index) const noexcept {
  FERRY_ASSERT(index < entries_.size());
  const Entry& e = entries_[index];
  const char* base = bytes_.data();
  return {{base + e.name_offset, e.name_size}, {base + e.value_offset, e.value_size}};
}

std::optional<std::string_view> Headers::get(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const Field f = (*this)[i];
    if (equalsIgnoreCase(f.name, name)) {
      return f.value;
    }
  }
  return std::nullopt;
}

std::vector<std::string_view> Headers::getAll(std::string_view name) const {
  std::vector<std::string_view> values;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const Field f = (*this)[i];
    if (equalsIgnoreCase(f.name, name)) {
      values.push_back(f.value);
    }
  }
  return values;
}

std::string Headers::combined(std::string_view name) const {
  std::string out;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const Field f = (*this)[i];
    if (equalsIgnoreCase(f.name, name)) {
      if (!out.empty()) {
        out += ", ";
      }
      out += f.value;
    }
  }
  return out;
}

std::size_t Headers::count(std::string_view name) const noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (equalsIgnoreCase((*this)[i].name, name)) {
      ++n;
    }
  }
  return n;
}

bool Headers::hasToken(std::string_view name, std::string_view token) const noexcept {
  bool found = false;
  for (std::size_t i = 0; i < entries_.size() && !found; ++i) {
    const Field f = (*this)[i];
    if (equalsIgnoreCase(f.name, name)) {
      forEachListMember(f.value, [&](std::string_view member) {
        found = found || equalsIgnoreCase(member, token);
      });
    }
  }
  return found;
}

Headers::Source Headers::locate(std::string_view bytes) const noexcept {
  // A view into bytes_ itself (h.add("X", *h.get("Y"))) is remembered by offset: growing
  // the buffer moves it.
  const char* base = bytes_.data();
  const bool inside =
      !bytes.empty() && bytes.data() >= base && bytes.data() + bytes.size() <= base + bytes_.size();
  return {bytes, inside, inside ? static_cast<std::size_t>(bytes.data() - base) : 0};
}

std::uint32_t Headers::append(const Source& source) {
  FERRY_ASSERT(bytes_.size() + source.bytes.size() < std::numeric_limits<std::uint32_t>::max());
  const auto offset = static_cast<std::uint32_t>(bytes_.size());
  if (source.inside) {
    // Capacity was reserved by the caller, so reading from bytes_ while appending is safe.
    FERRY_ASSERT(bytes_.capacity() >= bytes_.size() + source.bytes.size());
    bytes_.append(bytes_, source.offset, source.bytes.size());
  } else {
    bytes_.append(source.bytes);
  }
  return offset;
}

void Headers::add(std::string_view name, std::string_view value) {
  const Source n = locate(name);
  const Source v = locate(value);
  bytes_.reserve(bytes_.size() + name.size() + value.size());
  Entry e{};
  e.name_offset = append(n);
  e.name_size = static_cast<std::uint32_t>(name.size());
  e.value_offset = append(v);
  e.value_size = static_cast<std::uint32_t>(value.size());
  entries_.push_back(e);
}

void Headers::set(std::string_view name, std::string_view value) {
  std::size_t first = entries_.size();
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (equalsIgnoreCase((*this)[i].name, name)) {
      first = i;
      break;
    }
  }
  if (first == entries_.size()) {
    add(name, value);
    return;
  }
  const Source v = locate(value);
  bytes_.reserve(bytes_.size() + value.size());
  const std::uint32_t offset = append(v);
  entries_[first].value_offset = offset;
  entries_[first].value_size = static_cast<std::uint32_t>(value.size());
  // `name` may point into a field being dropped; compare against the kept spelling.
  const Field kept = (*this)[first];
  std::size_t out = first + 1;
  for (std::size_t i = first + 1; i < entries_.size(); ++i) {
    if (!equalsIgnoreCase((*this)[i].name, kept.name)) {
      entries_[out++] = entries_[i];
    }
  }
  entries_.resize(out);
}

std::size_t Headers::remove(std::string_view name) noexcept {
  return removeIf([name](const Field& f) { return equalsIgnoreCase(f.name, name); });
}

void Headers::clear() noexcept {
  bytes_.clear();
  entries_.clear();
}

Headers Headers::withRoom(std::size_t bytes, std::size_t fields) const {
  Headers copy;
  copy.bytes_.reserve(bytes_.size() + bytes);
  copy.bytes_.append(bytes_);
  copy.entries_.reserve(entries_.size() + fields);
  copy.entries_.insert(copy.entries_.end(), entries_.begin(), entries_.end());
  return copy;
}

std::size_t Headers::wireSize() const noexcept {
  std::size_t n = 0;
  for (const Entry& e : entries_) {
    n += e.name_size + 2 + e.value_size + 2;
  }
  return n;
}

} // namespace ferry::http
