// Typed reading of a yaml-cpp node tree: each value knows its key path and its position,
// and every problem is collected rather than thrown, so one run reports them all. Knows
// no ferry keys; the layout of the file lives in config.cpp.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::config {

// The problems found so far in one file, each "file:line:column: key.path: what".
class Problems {
public:
  explicit Problems(std::string file) : file_(std::move(file)) {}

  // `path` may be empty (syntax errors, the document itself).
  void add(const YAML::Mark& mark, std::string_view path, std::string_view what);
  bool empty() const { return list_.empty(); }

  // In file order (line, then column), then in the order they were found.
  std::vector<std::string> sorted() const;

private:
  struct Problem {
    int line;   // 1-based; 0 when yaml-cpp gave no position
    int column; // 1-based
    std::string text;
  };
  std::string file_;
  std::vector<Problem> list_;
};

class Map;

// One value in the file. Every accessor returns nullopt after reporting what is wrong.
class Value {
public:
  // `fallback` is where to point when the node has no position of its own (yaml-cpp puts
  // an empty value at the next token), normally the key it belongs to.
  Value(YAML::Node node, std::string path, const YAML::Mark& fallback, Problems& problems);

  const std::string& path() const { return path_; }
  const YAML::Mark& mark() const { return mark_; }
  bool isNull() const { return node_.IsNull(); }
  // No value at all, or "".
  bool isEmpty() const { return isNull() || (node_.IsScalar() && node_.Scalar().empty()); }
  void fail(std::string_view what) const;
  // "a map", "a list", "nothing" or the quoted scalar, for messages.
  std::string describe() const;

  // A scalar as written; `expected` completes "expected ..." when the node is not one.
  std::optional<std::string> scalar(std::string_view expected) const;
  std::optional<std::vector<Value>> list(std::string_view expected) const;
  // A section: a map whose keys must all be in `keys`. Empty (all defaults) when null.
  std::optional<Map> map(std::initializer_list<std::string_view> keys) const;

  std::optional<uint64_t> count(uint64_t min, uint64_t max) const;
  std::optional<uint64_t> size(uint64_t min, uint64_t max) const; // bytes
  std::optional<std::chrono::milliseconds> duration(std::chrono::milliseconds min,
                                                    std::chrono::milliseconds max) const;

  // One of a fixed set of words, e.g. a log level.
  template <class T>
  std::optional<T> choice(std::initializer_list<std::pair<std::string_view, T>> words) const {
    std::string names;
    for (const auto& [name, value] : words)
      names += (names.empty() ? "" : ", ") + std::string(name);
    auto text = scalar("one of " + names);
    if (!text)
      return std::nullopt;
    for (const auto& [name, value] : words)
      if (name == *text)
        return value;
    fail("expected one of " + names + ", got \"" + *text + "\"");
    return std::nullopt;
  }

private:
  YAML::Node node_;
  std::string path_;
  YAML::Mark mark_;
  Problems* problems_;
};

// The entries of one section, each already checked against the known keys.
class Map {
public:
  // The value of `key` if the file sets it.
  std::optional<Value> find(std::string_view key) const;

private:
  friend class Value;
  std::vector<std::pair<std::string, Value>> entries_;
};

// "a map", "a list", "nothing" or the quoted scalar: what was found instead.
std::string describe(const YAML::Node& node);

} // namespace ferry::config
