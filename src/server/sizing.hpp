// Cache sizing check: the largest object the configured cache can store, against the
// segment size the config implies — so a cache too finely split to hold a segment
// (every segment served but never stored: hlscache_cache_rejected_too_large_total) is
// reported by --check-config and at start, not found in production.
// Largest object: a shard holds at most its budget (cache.capacity / cache.shards), and
// S4LRU at most a quarter of it (one of its four queues: cache/policy/s4lru.hpp) —
// exactly Cache::max_object_charge(). That charge also covers the key, the stored
// header lines and bookkeeping (Object::charge), so the largest *body* is taken as the
// charge less kHeaderAllowance.
// Expected segment: cache.expected_segment_bytes if set; else one segment at
// kAssumedBitrate (a 1080p top rendition) lasting, for role local, the longest
// streams[].target_duration, and for edge and origin (whose config names no stream)
// kAssumedSegmentDuration.
#pragma once

#include <cstdint>
#include <string>

#include "config/config.hpp"

namespace hlscache {

struct CacheSizing {
  static constexpr std::uint64_t kHeaderAllowance = 4096;        // key + header lines + metadata, bytes
  static constexpr std::uint64_t kAssumedBitrate = 8'000'000;    // bits/s
  static constexpr std::uint64_t kAssumedSegmentDurationMs = 2000;

  std::uint64_t max_object_charge = 0;  // Cache::max_object_charge()
  std::uint64_t max_body = 0;           // max_object_charge less kHeaderAllowance
  std::uint64_t expected_segment = 0;   // bytes
  std::string expected_rule;            // how expected_segment was chosen
  std::string how;                      // how max_object_charge follows from the config

  bool too_small() const { return max_body < expected_segment; }
  std::string summary() const;  // one line: the largest cacheable object and why
  std::string warning() const;  // "" unless too_small()
};

CacheSizing cache_sizing(const Config& config);

}  // namespace hlscache
