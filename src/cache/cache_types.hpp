// Value types the cache hands out: what a lookup found and the counters.
// Kept apart from cache.hpp so Shard and ShardedCache can return them without
// depending on the runtime facade.
#pragma once

#include <array>
#include <cstdint>

#include "cache/object.hpp"

namespace hlscache {

// miss: nothing usable; fresh: serve it; stale: servable stale (grace); validate: kept
// only to revalidate conditionally; vary: a Vary marker, look up its variant.
enum class LookupState { miss, fresh, stale, validate, vary };

struct LookupResult {
  ObjectPtr object;  // null on a miss
  LookupState state = LookupState::miss;
};

struct CacheStats {
  std::uint64_t hits = 0;                // fresh hits (the policy was told)
  std::uint64_t misses = 0;              // absent, kept only to revalidate, or found expired (then also `expired`)
  std::uint64_t stale_hits = 0;          // served within the stale grace; not promoted
  std::uint64_t inserts = 0;             // objects stored (a replacement counts once)
  std::uint64_t evictions = 0;           // live objects removed by the policy to make room
  std::uint64_t expired = 0;             // removed because past all its bounds (lookup or reclaim)
  std::uint64_t rejected_too_large = 0;  // charge above what the policy can hold: not cached
  std::uint64_t objects = 0;             // gauges: current objects and charged bytes
  std::uint64_t bytes = 0;
  std::uint64_t capacity = 0;
  std::array<std::uint64_t, 4> level_objects{}, level_bytes{};  // S4LRU queues; other policies use [0]
  std::uint64_t rejected_expired = 0;    // insert of an object already past all its bounds: not cached
  std::array<std::uint64_t, 4> level_evictions{};  // evictions by the victim's queue (S4LRU evicts from 0 only)

  CacheStats& operator+=(const CacheStats& o) noexcept {
    hits += o.hits;
    misses += o.misses;
    stale_hits += o.stale_hits;
    inserts += o.inserts;
    evictions += o.evictions;
    expired += o.expired;
    rejected_too_large += o.rejected_too_large;
    objects += o.objects;
    bytes += o.bytes;
    capacity += o.capacity;
    for (std::size_t i = 0; i < level_objects.size(); ++i) {
      level_objects[i] += o.level_objects[i];
      level_bytes[i] += o.level_bytes[i];
    }
    rejected_expired += o.rejected_expired;
    for (std::size_t i = 0; i < level_evictions.size(); ++i) level_evictions[i] += o.level_evictions[i];
    return *this;
  }
};

}  // namespace hlscache
