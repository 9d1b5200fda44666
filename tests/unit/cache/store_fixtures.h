// Small builders shared by the store tests: heads, EntryInits and whole stored responses.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "ferry/cache/memory_store.h"

namespace ferry::cache::test {

inline const std::chrono::system_clock::time_point T0{std::chrono::seconds(1'700'000'000)};

inline http::ResponseHead makeHead(const std::vector<std::pair<std::string, std::string>>& fields) {
  http::ResponseHead head;
  head.status = 200;
  head.reason = "OK";
  for (const auto& [name, value] : fields) {
    head.headers.add(name, value);
  }
  return head;
}

inline EntryInit makeInit(Key key, std::string secondary_key = {},
                          std::vector<std::pair<std::string, std::string>> fields = {}) {
  EntryInit init;
  init.key = std::move(key);
  init.secondary_key = std::move(secondary_key);
  init.head = makeHead(fields);
  init.request_time = T0;
  init.response_time = T0 + std::chrono::seconds(1);
  return init;
}

// A body piece large enough to be published as a chunk of its own (EntryWriter::append).
inline std::string chunkOf(char c) {
  return std::string(MemoryStore::MinChunkBytes, c);
}

// Matches only variants stored with exactly this secondary key.
inline SecondaryKeyFn secondaryIs(std::string wanted) {
  return [wanted = std::move(wanted)](const Entry&) { return std::optional<std::string>(wanted); };
}

// Stores a whole response and returns its Entry.
inline std::shared_ptr<const Entry> storeComplete(Store& store, EntryInit init,
                                                  const std::vector<std::string>& chunks) {
  auto writer = store.insert(std::move(init));
  if (writer == nullptr) {
    return nullptr;
  }
  for (const auto& chunk : chunks) {
    if (!writer->append(chunk)) {
      return nullptr;
    }
  }
  if (!writer->complete()) {
    return nullptr;
  }
  return writer->entry();
}

inline std::string bodyOf(const Entry& entry) {
  std::string body;
  for (const auto& chunk : entry.read(0).chunks) {
    body += *chunk;
  }
  return body;
}

} // namespace ferry::cache::test
