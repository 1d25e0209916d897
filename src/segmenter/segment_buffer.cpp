#include "segmenter/segment_buffer.hpp"

#include <algorithm>
#include <cstring>

namespace hlscache {

void SegmentBuffer::append(const std::uint8_t* d, std::size_t n) {
  while (n > 0) {
    if (chunks_.empty() || chunks_.back().size == chunks_.back().capacity) {
      chunks_.push_back(Chunk::allocate(capacity_));
    }
    Chunk& c = chunks_.back();
    const std::size_t take = std::min(n, c.capacity - c.size);
    std::memcpy(c.bytes.get() + c.size, d, take);
    c.size += take;
    size_ += take;
    d += take;
    n -= take;
  }
}

void SegmentBuffer::split_off(std::size_t offset, std::vector<std::uint8_t>& out) {
  out.clear();
  if (offset >= size_) return;
  out.reserve(size_ - offset);
  std::size_t index = offset / capacity_;
  std::size_t at = offset % capacity_;
  const std::size_t keep_chunks = at == 0 ? index : index + 1;
  for (std::size_t i = index; i < chunks_.size(); ++i, at = 0) {
    const Chunk& c = chunks_[i];
    out.insert(out.end(), c.bytes.get() + at, c.bytes.get() + c.size);
  }
  chunks_.resize(keep_chunks);
  if (!chunks_.empty()) chunks_.back().size = offset - (keep_chunks - 1) * capacity_;
  size_ = offset;
}

std::vector<Chunk> SegmentBuffer::take() {
  std::vector<Chunk> out;
  out.swap(chunks_);
  chunks_.reserve(out.size());
  size_ = 0;
  return out;
}

void SegmentBuffer::clear() noexcept {
  chunks_.clear();
  size_ = 0;
}

}  // namespace hlscache
