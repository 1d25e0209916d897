// ShardedCache<Policy>: N independent Shard<Policy>s, the shard picked by
// hash64(key) % N, so threads working on different keys rarely share a lock.
// The byte budget is split evenly (the first capacity % N shards get one byte more);
// every shard runs its policy on its own budget.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cache/cache_types.hpp"
#include "cache/policy/policy.hpp"
#include "cache/shard.hpp"
#include "core/clock.hpp"
#include "core/hash.hpp"

namespace hlscache {

template <EvictionPolicy Policy>
class ShardedCache {
 public:
  using PolicyType = Policy;

  // Throws std::invalid_argument if shards == 0 (construction happens at startup).
  ShardedCache(std::uint64_t capacity_bytes, std::size_t shards) {
    if (shards == 0) throw std::invalid_argument("cache: shard count must be at least 1");
    shards_.reserve(shards);
    for (std::size_t i = 0; i < shards; ++i) {
      const std::uint64_t share = capacity_bytes / shards + (i < capacity_bytes % shards ? 1 : 0);
      shards_.push_back(std::make_unique<Shard<Policy>>(share));
    }
  }

  std::size_t shard_count() const noexcept { return shards_.size(); }
  std::size_t shard_index(std::string_view key) const noexcept { return hash64(key) % shards_.size(); }
  Shard<Policy>& shard(std::size_t i) noexcept { return *shards_[i]; }
  const Shard<Policy>& shard(std::size_t i) const noexcept { return *shards_[i]; }

  LookupResult lookup(std::string_view key, TimePoint now) { return shard_for(key).lookup(key, now); }
  ObjectPtr find_fresh(std::string_view key, TimePoint now) { return shard_for(key).find_fresh(key, now); }

  bool insert(std::string key, ObjectPtr object, TimePoint now) {
    Shard<Policy>& s = shard_for(key);
    return s.insert(std::move(key), std::move(object), now);
  }

  bool erase(std::string_view key) { return shard_for(key).erase(key); }
  template <class Make>
  bool insert_with(std::string key, Make&& make, TimePoint now) {
    auto& s = shard_for(key);
    return s.insert_with(std::move(key), std::forward<Make>(make), now);
  }
  bool erase_if_same(std::string_view key, const ObjectPtr& expected) { return shard_for(key).erase_if_same(key, expected); }

  std::size_t erase_prefix(std::string_view prefix) {
    std::size_t n = 0;
    for (auto& s : shards_) n += s->erase_prefix(prefix);
    return n;
  }

  std::size_t reclaim_expired(TimePoint now, std::size_t max_per_shard) {
    std::size_t n = 0;
    for (auto& s : shards_) n += s->reclaim_expired(now, max_per_shard);
    return n;
  }

  CacheStats stats() const {
    CacheStats total;
    for (const auto& s : shards_) total += s->stats();
    return total;
  }

  std::uint64_t max_charge() const noexcept {  // what every shard accepts
    std::uint64_t m = shards_.front()->max_charge();
    for (const auto& s : shards_) m = std::min(m, s->max_charge());
    return m;
  }

  bool contains(std::string_view key) const { return shard_for(key).contains(key); }
  ObjectPtr peek(std::string_view key) const { return shard_for(key).peek(key); }
  std::optional<std::size_t> level_of(std::string_view key) const { return shard_for(key).level_of(key); }

 private:
  Shard<Policy>& shard_for(std::string_view key) const noexcept { return *shards_[shard_index(key)]; }

  std::vector<std::unique_ptr<Shard<Policy>>> shards_;
};

}  // namespace hlscache
