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
  // A Complete Entry with init's head and metadata and the same chunks (or body file) as
  // `body` (which must be Complete), its hit count carried over.
  static std::shared_ptr<Entry> withBodyOf(const Entry& body, EntryInit init);
  // Publishes one chunk, then notifies subscribers with no lock held. False, publishing
  // nothing, when the Entry is final already (the store may abandon it on another thread).
  static bool append(Entry& entry, Chunk chunk);
  // A Complete Entry whose body is the `size` bytes of `file`, with no chunks.
  static std::shared_ptr<Entry> withFile(EntryInit init, std::shared_ptr<const BodyFile> file,
                                         std::uint64_t size);
  // A Filling Entry whose body is written to a file as it arrives (a spool).
  static std::shared_ptr<Entry> createInFile(EntryInit init);
  // Counts bytes a writer keeps outside the Entry (a body spooled to disk) and notifies
  // subscribers, as append() does. False when the Entry is final already.
  static bool grow(Entry& entry, std::uint64_t bytes);
  // The first `size` bytes of the body are in `file`: readers may send them. Notifies
  // subscribers. False when the Entry is final already.
  static bool fileWritten(Entry& entry, std::shared_ptr<const BodyFile> file, std::uint64_t size);
  // Filling → final; notifies and closes the subscriber list. Abandoned releases the chunks.
  // False if it was already final.
  static bool finish(Entry& entry, EntryState state);
  static void countHit(const Entry& entry) noexcept;
};

} // namespace ferry::cache::detail
