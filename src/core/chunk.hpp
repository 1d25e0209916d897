// Chunk: a shared, fixed-capacity byte buffer — the unit in which bodies are
// stored, streamed to coalesced followers, and written with scatter-gather I/O.
// Whoever fills a chunk publishes `size` only after the bytes are written; once
// published, bytes [0, size) never change, so readers share it without copying.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/page_store.hpp"

namespace hlscache {

// A body chunk: `size` valid bytes in a buffer of `capacity` (what the cache charges).
struct Chunk {
  std::shared_ptr<char[]> bytes;
  std::size_t size = 0;
  std::size_t capacity = 0;

  static constexpr std::size_t kDefaultCapacity = 64 * 1024;
  // The largest chunk worth making for a body of known length: a MiB while a page
  // store is on (one sendfile each; should the store refuse one, that chunk is a heap
  // MiB), 64 KiB otherwise.
  static std::size_t max_capacity() { return PageStore::current() ? PageStore::kMaxChunk : kDefaultCapacity; }
  // From the page store when one is installed and the size suits it; else the heap.
  static Chunk allocate(std::size_t capacity) {
    if (PageStore* store = PageStore::current())
      if (auto pages = store->allocate(capacity)) return Chunk{std::move(pages), 0, capacity};
    return Chunk{std::shared_ptr<char[]>(new char[capacity]), 0, capacity};
  }
  static Chunk copy_of(std::string_view s) {
    Chunk c = allocate(s.size() == 0 ? 1 : s.size());
    if (!s.empty()) std::char_traits<char>::copy(c.bytes.get(), s.data(), s.size());
    c.size = s.size();
    return c;
  }
  std::string_view view() const { return {bytes.get(), size}; }
};

}  // namespace hlscache
