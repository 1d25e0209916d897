// PolicyHook and HookList: the intrusive links every eviction policy orders.
// A shard's index node derives from PolicyHook, so a policy links, moves and
// names nodes without allocating or owning them (CacheLib's MMLru model).
// HookList is a circular doubly-linked list with a sentinel; it counts entries and bytes.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>

namespace hlscache {

// Embedded in each cached node. The shard sets `charge` before handing the hook
// to a policy and never changes it while linked; `level` belongs to the policy.
struct PolicyHook {
  PolicyHook* prev = nullptr;
  PolicyHook* next = nullptr;
  std::uint64_t charge = 0;  // bytes this entry costs the cache (Object::charge)
  std::uint8_t level = 0;    // which of the policy's queues holds it (S4LRU: 0..3)

  PolicyHook() = default;
  PolicyHook(const PolicyHook&) = delete;  // a copy would alias the list links
  PolicyHook& operator=(const PolicyHook&) = delete;

  bool is_linked() const noexcept { return next != nullptr; }
};

// One queue: head = most recently inserted/promoted, tail = next to leave.
class HookList {
 public:
  HookList() noexcept { root_.prev = root_.next = &root_; }
  HookList(const HookList&) = delete;  // the sentinel points at itself
  HookList& operator=(const HookList&) = delete;

  bool empty() const noexcept { return root_.next == &root_; }
  std::size_t size() const noexcept { return size_; }
  std::uint64_t bytes() const noexcept { return bytes_; }

  PolicyHook* head() noexcept { return empty() ? nullptr : root_.next; }
  PolicyHook* tail() noexcept { return empty() ? nullptr : root_.prev; }

  void push_head(PolicyHook& h) noexcept {
    assert(!h.is_linked());
    h.prev = &root_;
    h.next = root_.next;
    root_.next->prev = &h;
    root_.next = &h;
    ++size_;
    bytes_ += h.charge;
  }

  void unlink(PolicyHook& h) noexcept {
    assert(h.is_linked() && size_ > 0 && bytes_ >= h.charge);
    h.prev->next = h.next;
    h.next->prev = h.prev;
    h.prev = h.next = nullptr;
    --size_;
    bytes_ -= h.charge;
  }

  void move_to_head(PolicyHook& h) noexcept {
    if (root_.next == &h) return;
    unlink(h);
    push_head(h);
  }

  // Visits hooks from head to tail (tests and introspection; O(n)).
  template <class F>
  void for_each(F&& f) const {
    for (const PolicyHook* h = root_.next; h != &root_; h = h->next) f(*h);
  }

 private:
  PolicyHook root_;  // sentinel: root_.next is the head, root_.prev the tail
  std::size_t size_ = 0;
  std::uint64_t bytes_ = 0;
};

}  // namespace hlscache
