#include "server/sizing.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "cache/cache.hpp"
#include "core/units.hpp"

namespace hlscache {

CacheSizing cache_sizing(const Config& cfg) {
  CacheSizing s;
  const auto policy = parse_policy(cfg.cache.policy).value_or(PolicyKind::s4lru);
  const Cache cache(policy, cfg.cache.capacity, cfg.cache.shards);  // index only: no body memory
  s.max_object_charge = cache.max_object_charge();
  s.max_body = s.max_object_charge > CacheSizing::kHeaderAllowance ? s.max_object_charge - CacheSizing::kHeaderAllowance : 0;
  s.how = fmt::format("cache.capacity {} / {} shards{}", format_byte_size(cfg.cache.capacity), cfg.cache.shards,
                      policy == PolicyKind::s4lru ? " / 4 (an S4LRU queue)" : "");
  if (cfg.cache.expected_segment_bytes > 0) {
    s.expected_segment = cfg.cache.expected_segment_bytes;
    s.expected_rule = "cache.expected_segment_bytes";
  } else {
    std::uint64_t ms = CacheSizing::kAssumedSegmentDurationMs;
    std::string from = "edge/origin default";
    if (cfg.role == Role::local && !cfg.streams.empty()) {
      ms = 0;
      for (const auto& st : cfg.streams) ms = std::max<std::uint64_t>(ms, st.target_duration.count());
      from = "longest streams[].target_duration";
    }
    s.expected_segment = ms * CacheSizing::kAssumedBitrate / 8 / 1000;
    s.expected_rule = fmt::format("{} ms ({}) at {} Mbit/s", ms, from, CacheSizing::kAssumedBitrate / 1'000'000);
  }
  return s;
}

std::string CacheSizing::summary() const {
  return fmt::format("largest cacheable object: {} bytes ({} charged: {}, less {} for key and headers); "
                     "expected segment: {} bytes ({})",
                     max_body, max_object_charge, how, kHeaderAllowance, expected_segment, expected_rule);
}

std::string CacheSizing::warning() const {
  if (!too_small()) return {};
  return fmt::format(
      "cache: the largest cacheable object ({} bytes: {}) is smaller than a segment ({} bytes: {}); such "
      "segments are served but never cached (hlscache_cache_rejected_too_large_total). Use fewer cache.shards or "
      "a larger cache.capacity (or set cache.expected_segment_bytes if your segments are smaller)",
      max_body, how, expected_segment, expected_rule);
}

}  // namespace hlscache
