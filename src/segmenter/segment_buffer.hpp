// SegmentBuffer: the bytes of the segment being built, as a list of fixed-capacity
// chunks filled front to back (every chunk but the last is full, so a byte offset
// maps to a chunk by division). Appends are bulk copies of packet runs. The cutter
// may move the last few packets (those after a cut point found late) out again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/chunk.hpp"

namespace hlscache {

class SegmentBuffer {
 public:
  explicit SegmentBuffer(std::size_t chunk_capacity = Chunk::kDefaultCapacity) : capacity_(chunk_capacity) {}

  void append(const std::uint8_t* d, std::size_t n);
  std::size_t size() const noexcept { return size_; }

  // Copies bytes [offset, size) to `out` (replacing its contents) and drops them from the buffer.
  void split_off(std::size_t offset, std::vector<std::uint8_t>& out);

  // Hands the chunks out; the buffer starts over empty.
  std::vector<Chunk> take();
  void clear() noexcept;

 private:
  std::size_t capacity_;
  std::vector<Chunk> chunks_;
  std::size_t size_ = 0;
};

}  // namespace hlscache
