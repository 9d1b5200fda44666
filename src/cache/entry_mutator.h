// The write side of Entry, for Store implementations only: creating Entries, appending
// chunks, reaching a final state and counting hits. Callers outside cache/ write through an
// EntryWriter.
#pragma once

#include <memory>

#include "ferry/cache/entry.h"

namespace ferry::cache::detail {

struct EntryMutator {
  // A Filling Entry with no body yet.
  static std::shared_ptr<Entry> create(EntryInit init);
  // A Complete Entry with init's head and metadata and the same chunks as `body` (which
  // must be Complete), its hit count carried over.
  static std::shared_ptr<Entry> withBodyOf(const Entry& body, EntryInit init);
  // Publishes one chunk, then notifies subscribers with no lock held. False, publishing
  // nothing, when the Entry is final already (the store may abandon it on another thread).
  static bool append(Entry& entry, Chunk chunk);
  // Filling → final; notifies and closes the subscriber list. Abandoned releases the chunks.
  // False if it was already final.
  static bool finish(Entry& entry, EntryState state);
  static void countHit(const Entry& entry) noexcept;
};

} // namespace ferry::cache::detail
