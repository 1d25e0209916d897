// S4LRU (quadruply-segmented LRU) exactly as in Huang et al., "An Analysis of
// Facebook Photo Caching", SOSP 2013: four LRU queues 0..3, each allotted a
// quarter of the byte budget. A missed (inserted) object enters the head of
// queue 0; a hit moves it to the head of queue min(i+1, 3); a queue over its
// quarter moves its tail to the head of queue i-1 (cascading down); the tail of
// queue 0 is evicted. Objects hit repeatedly climb out of reach of one-pass scans.
//
// Consequences of the strict quarters, kept on purpose (they are the algorithm):
// queue 0 never holds more than a quarter, so a workload without hits (a cold
// start, a pure scan) only fills a quarter of the cache; and an object larger than
// a quarter cannot be held (max_charge), so the shard rejects it as too large.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

#include "cache/policy/hook.hpp"
#include "cache/policy/policy.hpp"

namespace hlscache {

class S4lru {
 public:
  static constexpr const char* kName = "s4lru";
  static constexpr std::size_t kLevels = 4;

  explicit S4lru(std::uint64_t capacity_bytes) noexcept : quarter_(capacity_bytes / kLevels) {}

  std::uint64_t max_charge() const noexcept { return quarter_; }
  std::uint64_t level_budget() const noexcept { return quarter_; }

  void on_insert(PolicyHook& h) noexcept {
    h.level = 0;
    queues_[0].push_head(h);  // queue 0 may now be over its quarter: the shard evicts victim()
  }

  void on_hit(PolicyHook& h) noexcept {
    const std::size_t from = h.level;
    const std::size_t to = std::min(from + 1, kLevels - 1);
    queues_[from].unlink(h);
    h.level = static_cast<std::uint8_t>(to);
    queues_[to].push_head(h);
    // Only queue `to` grew: restore the quarters from there down to queue 1.
    // Queue 0 is left to the shard, which evicts its tail (victim()).
    for (std::size_t i = to; i > 0; --i) {
      while (queues_[i].bytes() > quarter_) {
        PolicyHook& t = *queues_[i].tail();  // never `h` alone: h.charge <= quarter
        queues_[i].unlink(t);
        t.level = static_cast<std::uint8_t>(i - 1);
        queues_[i - 1].push_head(t);
      }
    }
  }

  void on_erase(PolicyHook& h) noexcept { queues_[h.level].unlink(h); }

  bool over_budget() const noexcept { return queues_[0].bytes() > quarter_; }
  PolicyHook* victim() noexcept { return queues_[0].tail(); }

  std::uint64_t bytes() const noexcept {
    std::uint64_t b = 0;
    for (const auto& q : queues_) b += q.bytes();
    return b;
  }
  std::size_t level_objects(std::size_t level) const noexcept {
    return level < kLevels ? queues_[level].size() : 0;
  }
  std::uint64_t level_bytes(std::size_t level) const noexcept {
    return level < kLevels ? queues_[level].bytes() : 0;
  }
  const HookList& queue(std::size_t level) const noexcept { return queues_[std::min(level, kLevels - 1)]; }

 private:
  std::uint64_t quarter_;
  std::array<HookList, kLevels> queues_;
};

static_assert(EvictionPolicy<S4lru>);

}  // namespace hlscache
