// LRU eviction: one queue ordered by last access; an insert or a fresh hit
// moves the entry to the head, and the tail (least recently used) is evicted
// while the shard is over its byte budget.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cache/policy/hook.hpp"
#include "cache/policy/policy.hpp"

namespace hlscache {

class Lru {
 public:
  static constexpr const char* kName = "lru";
  static constexpr std::size_t kLevels = 1;

  explicit Lru(std::uint64_t capacity_bytes) noexcept : capacity_(capacity_bytes) {}

  std::uint64_t max_charge() const noexcept { return capacity_; }

  void on_insert(PolicyHook& h) noexcept {
    h.level = 0;
    queue_.push_head(h);
  }
  void on_hit(PolicyHook& h) noexcept { queue_.move_to_head(h); }
  void on_erase(PolicyHook& h) noexcept { queue_.unlink(h); }

  bool over_budget() const noexcept { return queue_.bytes() > capacity_; }
  PolicyHook* victim() noexcept { return queue_.tail(); }

  std::uint64_t bytes() const noexcept { return queue_.bytes(); }
  std::size_t level_objects(std::size_t level) const noexcept { return level == 0 ? queue_.size() : 0; }
  std::uint64_t level_bytes(std::size_t level) const noexcept { return level == 0 ? queue_.bytes() : 0; }
  const HookList& queue(std::size_t /*level*/) const noexcept { return queue_; }

 private:
  std::uint64_t capacity_;
  HookList queue_;
};

static_assert(EvictionPolicy<Lru>);

}  // namespace hlscache
