// Shard<Policy>: one lock's worth of the cache — an index (key -> node), the
// eviction policy ordering those nodes through intrusive hooks, an expiry heap,
// and a byte budget that counts metadata (Object::charge). Inserting evicts the
// policy's victims until the budget holds again. The mutex covers only index and
// policy updates: objects removed under it are released after it is dropped.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "cache/cache_types.hpp"
#include "cache/expiry_heap.hpp"
#include "cache/object.hpp"
#include "cache/policy/policy.hpp"
#include "core/clock.hpp"
#include "core/hash.hpp"

namespace hlscache {

// Index hash with heterogeneous lookup (find by string_view without a copy). The
// seed differs from the one that picks the shard, so keys of one shard spread.
// Deliberately not noexcept: libstdc++ then stores each node's hash code, so a
// bucket walk compares stored codes instead of rehashing every key it passes.
struct CacheKeyHash {
  using is_transparent = void;
  static constexpr std::uint64_t kSeed = 0x5eed'cac4e;
  std::size_t operator()(std::string_view k) const { return hash64(k, kSeed); }
};

template <EvictionPolicy Policy>
class alignas(64) Shard {
 public:
  explicit Shard(std::uint64_t capacity_bytes) : capacity_(capacity_bytes), policy_(capacity_bytes) {}
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // Only a fresh object, counted and promoted as lookup() does; otherwise nothing is
  // counted or changed (the caller goes on to lookup()). A live Vary marker is
  // returned too, touched but not counted: the caller looks its variant up next.
  ObjectPtr find_fresh(std::string_view key, TimePoint now) {
    Dropped dropped;  // declared before the lock: released after it
    std::lock_guard lock(mu_);
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    Node& n = it->second;
    if (n.object->is_vary_marker()) return now < n.object->fresh_until ? touch(n, dropped) : nullptr;
    if (!(now < n.object->fresh_until)) return nullptr;
    return fresh_hit(n, dropped);
  }

  // fresh: counted as a hit and the policy is told; stale (servable, before
  // stale_until): returned, not promoted; kept for revalidation only (before
  // keep_until): returned as `validate`, counted as a miss; past all of them:
  // removed (expired) and reported as a miss. A live Vary marker comes back as
  // `vary` (touched, not counted): the caller looks its variant up next.
  LookupResult lookup(std::string_view key, TimePoint now) {
    Dropped dropped;  // declared before the lock: released after it
    std::lock_guard lock(mu_);
    auto it = index_.find(key);
    if (it == index_.end()) {
      ++stats_.misses;
      return {};
    }
    Node& n = it->second;
    if (n.object->is_vary_marker()) {
      if (now < n.object->fresh_until) return {touch(n, dropped), LookupState::vary};
    } else {
      if (now < n.object->fresh_until) return {fresh_hit(n, dropped), LookupState::fresh};
      if (now < n.object->stale_until) {
        ++stats_.stale_hits;
        return {n.object, LookupState::stale};
      }
      if (now < n.object->keep_until) {
        ++stats_.misses;
        return {n.object, LookupState::validate};
      }
    }
    remove(it, dropped);
    ++stats_.expired;
    ++stats_.misses;
    return {};
  }

  // Stores `object` under `key`, replacing any previous object (which is dropped
  // even if the new one is refused: it is outdated). Refused, returning false:
  // a charge above the policy's max_charge(), or an object already past every bound.
  bool insert(std::string key, ObjectPtr object, TimePoint now) {
    assert(object);
    Dropped dropped;
    std::lock_guard lock(mu_);
    return insert_locked(std::move(key), std::move(object), now, dropped);
  }

  // Stores make(current object or null) under `key`, reading and replacing in one step
  // under the shard's lock (a Vary marker's list of variants, built from the marker
  // another thread may have just stored). `make` runs under the lock: keep it small.
  template <class Make>
  bool insert_with(std::string key, Make&& make, TimePoint now) {
    Dropped dropped;
    std::lock_guard lock(mu_);
    auto it = index_.find(key);
    ObjectPtr object = make(it == index_.end() ? ObjectPtr{} : it->second.object);
    assert(object);
    return insert_locked(std::move(key), std::move(object), now, dropped);
  }

  // Removes `key` only while it still holds `expected` (not a newer object stored meanwhile).
  bool erase_if_same(std::string_view key, const ObjectPtr& expected) {
    Dropped dropped;
    std::lock_guard lock(mu_);
    auto it = index_.find(key);
    if (it == index_.end() || it->second.object != expected) return false;
    remove(it, dropped);
    return true;
  }

  bool erase(std::string_view key) {
    Dropped dropped;
    std::lock_guard lock(mu_);
    auto it = index_.find(key);
    if (it == index_.end()) return false;
    remove(it, dropped);
    return true;
  }

  // Purge: one pass over the index under the lock (O(objects in the shard)).
  std::size_t erase_prefix(std::string_view prefix) {
    std::vector<ObjectPtr> dropped;
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (auto it = index_.begin(); it != index_.end();) {
      if (std::string_view(it->first).starts_with(prefix)) {
        it = remove(it, dropped);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }

  // Frees up to `max` objects past all their bounds (Object::expires_at), earliest first.
  std::size_t reclaim_expired(TimePoint now, std::size_t max) {
    std::vector<ObjectPtr> dropped;
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (ExpiryHook* top = expiry_.top(); n < max && top && top->expires_at <= now; top = expiry_.top()) {
      Node& node = static_cast<Node&>(*top);
      remove(index_.find(node.key), dropped);
      ++stats_.expired;
      ++n;
    }
    return n;
  }

  CacheStats stats() const {
    std::lock_guard lock(mu_);
    CacheStats s = stats_;
    s.objects = index_.size();
    s.bytes = policy_.bytes();
    s.capacity = capacity_;
    for (std::size_t i = 0; i < Policy::kLevels && i < s.level_objects.size(); ++i) {
      s.level_objects[i] = policy_.level_objects(i);
      s.level_bytes[i] = policy_.level_bytes(i);
    }
    return s;
  }

  std::uint64_t capacity() const noexcept { return capacity_; }
  // Largest charge insert() accepts. Lock-free: the policy's limit never changes.
  std::uint64_t max_charge() const noexcept { return policy_.max_charge(); }

  // Introspection without side effects (no counters, no policy update).
  bool contains(std::string_view key) const {
    std::lock_guard lock(mu_);
    return index_.find(key) != index_.end();
  }
  ObjectPtr peek(std::string_view key) const {
    std::lock_guard lock(mu_);
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : it->second.object;
  }
  std::optional<std::size_t> level_of(std::string_view key) const {
    std::lock_guard lock(mu_);
    auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    return it->second.level;
  }
  // Keys of one policy queue from head (newest / most recent) to tail (next victim).
  std::vector<std::string> keys_at_level(std::size_t level) const {
    std::lock_guard lock(mu_);
    std::vector<std::string> keys;
    if (level >= Policy::kLevels) return keys;
    policy_.queue(level).for_each(
        [&](const PolicyHook& h) { keys.emplace_back(static_cast<const Node&>(h).key); });
    return keys;
  }

 private:
  // Both hooks are bases, so the policy's and the heap's pointers convert back
  // to the node with a static_cast.
  struct Node final : PolicyHook, ExpiryHook {
    std::string_view key;  // views the index's own key: unordered_map never moves entries
    ObjectPtr object;
  };
  using Index = std::unordered_map<std::string, Node, CacheKeyHash, std::equal_to<>>;
  using Dropped = boost::container::small_vector<ObjectPtr, 4>;

  // A fresh hit on `n` (lock held): counted, and the policy told.
  ObjectPtr fresh_hit(Node& n, Dropped& dropped) {
    ++stats_.hits;
    ObjectPtr found = n.object;
    policy_.on_hit(n);
    evict_over_budget(dropped);  // S4LRU: a promotion may demote into a full queue 0
    return found;
  }

  bool insert_locked(std::string key, ObjectPtr object, TimePoint now, Dropped& dropped) {
    const std::uint64_t charge = object->charge(key.size());
    const TimePoint expires_at = object->expires_at();
    if (auto old = index_.find(key); old != index_.end()) remove(old, dropped);
    if (charge > policy_.max_charge()) {
      ++stats_.rejected_too_large;
      return false;
    }
    if (expires_at <= now) {
      ++stats_.rejected_expired;
      return false;
    }
    expiry_.reserve_one();  // the only allocations happen before anything is linked
    auto [pos, inserted] = index_.try_emplace(std::move(key));
    assert(inserted);
    Node& n = pos->second;
    n.key = pos->first;
    n.object = std::move(object);
    n.charge = charge;
    n.expires_at = expires_at;
    expiry_.push(n);
    policy_.on_insert(n);
    ++stats_.inserts;
    evict_over_budget(dropped);
    assert(n.is_linked());  // never its own victim: charge <= max_charge()
    return true;
  }

  // A use that is not a hit (a Vary marker on the way to its variant): the policy is
  // told, so a marker stays as long as its variants are used, but nothing is counted.
  ObjectPtr touch(Node& n, Dropped& dropped) {
    ObjectPtr found = n.object;
    policy_.on_hit(n);
    evict_over_budget(dropped);
    return found;
  }

  template <class Sink>
  typename Index::iterator remove(typename Index::iterator it, Sink& dropped) {
    Node& n = it->second;
    policy_.on_erase(n);
    expiry_.erase(n);
    dropped.push_back(std::move(n.object));
    return index_.erase(it);
  }

  template <class Sink>
  void evict_over_budget(Sink& dropped) {
    while (policy_.over_budget()) {
      PolicyHook* victim = policy_.victim();
      assert(victim);
      const std::size_t level = std::min<std::size_t>(victim->level, stats_.level_evictions.size() - 1);
      remove(index_.find(static_cast<Node*>(victim)->key), dropped);
      ++stats_.evictions;
      ++stats_.level_evictions[level];
    }
  }

  mutable std::mutex mu_;
  const std::uint64_t capacity_;
  Policy policy_;
  ExpiryHeap expiry_;
  Index index_;
  CacheStats stats_;  // counters only; gauges are filled in by stats()
};

}  // namespace hlscache
