// Typed reading of yaml-cpp nodes with key paths. yaml-cpp marks are 0-based; messages
// are 1-based like every editor and compiler.
#include "reader.h"

#include "units.h"

#include <algorithm>
#include <limits>
#include <map>

namespace ferry::config {

void Problems::add(const YAML::Mark& mark, std::string_view path, std::string_view what) {
  std::string text = file_ + ":";
  Problem p{0, 0, {}};
  if (!mark.is_null() && mark.line >= 0 && mark.column >= 0) {
    p.line = mark.line + 1;
    p.column = mark.column + 1;
    text += std::to_string(p.line) + ":" + std::to_string(p.column) + ":";
  }
  text += " ";
  if (!path.empty())
    text += std::string(path) + ": ";
  text += what;
  p.text = std::move(text);
  list_.push_back(std::move(p));
}

std::vector<std::string> Problems::sorted() const {
  std::vector<Problem> order = list_;
  std::stable_sort(order.begin(), order.end(), [](const Problem& a, const Problem& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  std::vector<std::string> out;
  out.reserve(order.size());
  for (auto& p : order)
    out.push_back(std::move(p.text));
  return out;
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
  case YAML::NodeType::Map:
    return "a map";
  case YAML::NodeType::Sequence:
    return "a list";
  case YAML::NodeType::Scalar:
    return "\"" + node.Scalar() + "\"";
  default:
    return "nothing";
  }
}

Value::Value(YAML::Node node, std::string path, const YAML::Mark& fallback, Problems& problems)
    : node_(std::move(node)), path_(std::move(path)), mark_(fallback), problems_(&problems) {
  if (!node_.IsNull() && !node_.Mark().is_null())
    mark_ = node_.Mark();
}

void Value::fail(std::string_view what) const {
  problems_->add(mark_, path_, what);
}

std::string Value::describe() const {
  return config::describe(node_);
}

std::optional<std::string> Value::scalar(std::string_view expected) const {
  if (!node_.IsScalar()) {
    fail("expected " + std::string(expected) + ", got " + describe());
    return std::nullopt;
  }
  return node_.Scalar();
}

std::optional<std::vector<Value>> Value::list(std::string_view expected) const {
  if (!node_.IsSequence()) {
    fail("expected a list of " + std::string(expected) + ", got " + describe());
    return std::nullopt;
  }
  std::vector<Value> out;
  std::size_t index = 0;
  for (const auto& item : node_) {
    out.emplace_back(item, path_ + "[" + std::to_string(index) + "]", mark_, *problems_);
    ++index;
  }
  return out;
}

std::optional<Map> Value::map(std::initializer_list<std::string_view> keys) const {
  if (node_.IsNull())
    return Map{};
  if (!node_.IsMap()) {
    fail("expected a map, got " + describe());
    return std::nullopt;
  }
  std::string known;
  for (auto key : keys)
    known += (known.empty() ? "" : ", ") + std::string(key);

  Map out;
  std::map<std::string, int, std::less<>> seen; // key → 1-based line of its first use
  for (const auto& entry : node_) {
    const YAML::Node& key = entry.first;
    const std::string prefix = path_.empty() ? "" : path_ + ".";
    if (!key.IsScalar()) {
      problems_->add(key.Mark(), path_, "a key must be a plain name, got " + config::describe(key));
      continue;
    }
    const std::string path = prefix + key.Scalar();
    if (std::find(keys.begin(), keys.end(), key.Scalar()) == keys.end()) {
      problems_->add(key.Mark(), path, "unknown key (known here: " + known + ")");
      continue;
    }
    auto [first, inserted] = seen.emplace(key.Scalar(), key.Mark().line + 1);
    if (!inserted) {
      problems_->add(key.Mark(), path,
                     "duplicate key (first set on line " + std::to_string(first->second) + ")");
      continue;
    }
    out.entries_.emplace_back(key.Scalar(), Value(entry.second, path, key.Mark(), *problems_));
  }
  return out;
}

std::optional<uint64_t> Value::count(uint64_t min, uint64_t max) const {
  const std::string expected =
      "a whole number from " + std::to_string(min) + " to " + std::to_string(max);
  auto text = scalar(expected);
  if (!text)
    return std::nullopt;
  auto parsed = units::parseCount(*text);
  if (!parsed.ok()) {
    fail(parsed.error);
    return std::nullopt;
  }
  if (parsed.value < min || parsed.value > max) {
    fail("must be from " + std::to_string(min) + " to " + std::to_string(max) + ", got " + *text);
    return std::nullopt;
  }
  return parsed.value;
}

std::optional<uint64_t> Value::size(uint64_t min, uint64_t max) const {
  auto text = scalar("a size like 64KiB or 256MiB");
  if (!text)
    return std::nullopt;
  auto parsed = units::parseSize(*text);
  if (!parsed.ok()) {
    fail(parsed.error);
    return std::nullopt;
  }
  if (parsed.value < min || parsed.value > max) {
    // No upper bound worth printing when only the type limits it.
    const bool unbounded = max == std::numeric_limits<uint64_t>::max();
    fail((unbounded ? "must be at least " + units::formatSize(min)
                    : "must be from " + units::formatSize(min) + " to " + units::formatSize(max)) +
         ", got " + *text);
    return std::nullopt;
  }
  return parsed.value;
}

std::optional<std::chrono::milliseconds> Value::duration(std::chrono::milliseconds min,
                                                         std::chrono::milliseconds max) const {
  auto text = scalar("a duration like 250ms, 30s or 5m");
  if (!text)
    return std::nullopt;
  auto parsed = units::parseDuration(*text);
  if (!parsed.ok()) {
    fail(parsed.error);
    return std::nullopt;
  }
  const auto low = static_cast<uint64_t>(min.count());
  const auto high = static_cast<uint64_t>(max.count());
  if (parsed.value < low || parsed.value > high) {
    fail("must be from " + units::formatDuration(low) + " to " + units::formatDuration(high) +
         ", got " + *text);
    return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(parsed.value));
}

std::optional<Value> Map::find(std::string_view key) const {
  for (const auto& [name, value] : entries_)
    if (name == key)
      return value;
  return std::nullopt;
}

} // namespace ferry::config
