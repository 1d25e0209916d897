// ExpiryHeap: an intrusive binary min-heap of cached nodes ordered by the instant
// they stop being kept (Object::expires_at). reclaim_expired() pops from the top, so
// freeing dead objects costs O(log n) each instead of a scan of the shard. Each
// node's ExpiryHook records its slot, so erasing from the middle is O(log n) too.
#pragma once

#include <cassert>
#include <cstddef>
#include <utility>
#include <vector>

#include "core/clock.hpp"

namespace hlscache {

struct ExpiryHook {
  TimePoint expires_at{};
  std::size_t heap_slot = kUnlinked;

  static constexpr std::size_t kUnlinked = static_cast<std::size_t>(-1);
  bool in_heap() const noexcept { return heap_slot != kUnlinked; }
};

class ExpiryHeap {
 public:
  bool empty() const noexcept { return heap_.empty(); }
  std::size_t size() const noexcept { return heap_.size(); }
  ExpiryHook* top() const noexcept { return heap_.empty() ? nullptr : heap_.front(); }

  // Grows the storage (geometrically) so that the next push() cannot allocate or
  // throw: callers reserve before they change anything else.
  void reserve_one() {
    if (heap_.size() == heap_.capacity()) heap_.reserve(heap_.capacity() < 16 ? 16 : 2 * heap_.capacity());
  }

  void push(ExpiryHook& h) noexcept {  // after reserve_one()
    assert(!h.in_heap() && heap_.size() < heap_.capacity());
    h.heap_slot = heap_.size();
    heap_.push_back(&h);
    sift_up(h.heap_slot);
  }

  void erase(ExpiryHook& h) noexcept {
    assert(h.in_heap() && heap_[h.heap_slot] == &h);
    const std::size_t slot = h.heap_slot;
    const std::size_t last = heap_.size() - 1;
    if (slot != last) {
      place(slot, heap_[last]);
      heap_.pop_back();
      if (!sift_up(slot)) sift_down(slot);
    } else {
      heap_.pop_back();
    }
    h.heap_slot = ExpiryHook::kUnlinked;
  }

 private:
  void place(std::size_t slot, ExpiryHook* h) noexcept {
    heap_[slot] = h;
    h->heap_slot = slot;
  }
  bool less(std::size_t a, std::size_t b) const noexcept {
    return heap_[a]->expires_at < heap_[b]->expires_at;
  }
  bool sift_up(std::size_t slot) noexcept {  // true if the entry moved
    const std::size_t start = slot;
    while (slot > 0) {
      const std::size_t parent = (slot - 1) / 2;
      if (!less(slot, parent)) break;
      swap_slots(slot, parent);
      slot = parent;
    }
    return slot != start;
  }
  void sift_down(std::size_t slot) noexcept {
    for (;;) {
      const std::size_t l = 2 * slot + 1, r = l + 1;
      std::size_t smallest = slot;
      if (l < heap_.size() && less(l, smallest)) smallest = l;
      if (r < heap_.size() && less(r, smallest)) smallest = r;
      if (smallest == slot) return;
      swap_slots(slot, smallest);
      slot = smallest;
    }
  }
  void swap_slots(std::size_t a, std::size_t b) noexcept {
    ExpiryHook* ha = heap_[a];
    place(a, heap_[b]);
    place(b, ha);
  }

  std::vector<ExpiryHook*> heap_;
};

}  // namespace hlscache
