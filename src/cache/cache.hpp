// Cache: the runtime facade the daemon uses. The eviction policy is chosen once
// from config; the facade holds a std::variant of ShardedCache<Fifo|Lru|S4lru>
// and dispatches each call with one std::visit (static polymorphism below it).
// Time is injected: every call that depends on freshness takes `now`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "cache/cache_types.hpp"
#include "cache/object.hpp"
#include "cache/policy/fifo.hpp"
#include "cache/policy/lru.hpp"
#include "cache/policy/s4lru.hpp"
#include "cache/sharded_cache.hpp"
#include "core/clock.hpp"

namespace hlscache {

enum class PolicyKind { fifo, lru, s4lru };
const char* to_string(PolicyKind);
std::optional<PolicyKind> parse_policy(std::string_view);  // "fifo" | "lru" | "s4lru"

class Cache {
 public:
  // capacity_bytes is split evenly over `shards` (>= 1, else std::invalid_argument).
  Cache(PolicyKind policy, std::uint64_t capacity_bytes, std::size_t shards);

  // fresh (now < fresh_until): hit counted, policy touched. stale (fresh_until <= now < stale_until):
  // returned with state stale, counted as stale_hits, not promoted. validate (before keep_until):
  // returned, counted as a miss. past all: erased (expired++), miss. vary: a Vary marker (not counted).
  LookupResult lookup(std::string_view key, TimePoint now);
  // A fresh object, counted and promoted like lookup()'s; null otherwise, and then
  // nothing is counted or changed: the answer-now path of a hit, before lookup().
  ObjectPtr find_fresh(std::string_view key, TimePoint now);
  // Replaces any previous object. false if not cached: too large for the policy
  // (rejected_too_large) or already past all its bounds (rejected_expired).
  bool insert(std::string key, ObjectPtr object, TimePoint now);
  bool erase(std::string_view key);
  // insert() of make(the object stored now, or null), read and replaced under one shard lock.
  bool insert_with(std::string key, const std::function<ObjectPtr(const ObjectPtr&)>& make, TimePoint now);
  // Removes `key` only while it still holds `expected`.
  bool erase_if_same(std::string_view key, const ObjectPtr& expected);
  std::size_t erase_prefix(std::string_view prefix);                      // purge by prefix, returns count
  std::size_t reclaim_expired(TimePoint now, std::size_t max_per_shard);  // frees objects past all their bounds
  CacheStats stats() const;  // summed over shards
  PolicyKind policy() const;
  std::size_t shard_count() const;

  // Added: presence check without side effects (no counters, no policy update).
  bool contains(std::string_view key) const;
  // The object stored under `key` whatever its state (a Vary marker included), without side effects.
  ObjectPtr peek(std::string_view key) const;
  // Largest object charge (Object::charge(key.size())) a shard accepts: the shard
  // budget, or a quarter of it for S4LRU.
  std::uint64_t max_object_charge() const;

 private:
  using Impl = std::variant<ShardedCache<Fifo>, ShardedCache<Lru>, ShardedCache<S4lru>>;
  static Impl make(PolicyKind policy, std::uint64_t capacity_bytes, std::size_t shards);

  Impl impl_;
};

}  // namespace hlscache
