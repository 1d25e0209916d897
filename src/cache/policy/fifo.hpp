// FIFO eviction: one queue in insertion order; hits do not reorder it.
// The tail (oldest insert) is evicted while the shard is over its byte budget.
// The baseline Facebook's photo caches ran (Huang et al., SOSP 2013).
#pragma once

#include <cstddef>
#include <cstdint>

#include "cache/policy/hook.hpp"
#include "cache/policy/policy.hpp"

namespace hlscache {

class Fifo {
 public:
  static constexpr const char* kName = "fifo";
  static constexpr std::size_t kLevels = 1;

  explicit Fifo(std::uint64_t capacity_bytes) noexcept : capacity_(capacity_bytes) {}

  std::uint64_t max_charge() const noexcept { return capacity_; }

  void on_insert(PolicyHook& h) noexcept {
    h.level = 0;
    queue_.push_head(h);
  }
  void on_hit(PolicyHook&) noexcept {}
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

static_assert(EvictionPolicy<Fifo>);

}  // namespace hlscache
