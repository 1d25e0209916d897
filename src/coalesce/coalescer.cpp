#include "coalesce/coalescer.hpp"

#include "core/hash.hpp"

namespace hlscache {

Coalescer::Shard& Coalescer::shard_for(const std::string& key) { return shards_[hash64(key, 0x5eed) % kShards]; }

Coalescer::Ticket Coalescer::acquire(const std::string& key, TimePoint now, const std::function<ObjectPtr()>& recheck) {
  Shard& s = shard_for(key);
  std::lock_guard lock(s.mu);
  if (auto it = s.inflight.find(key); it != s.inflight.end()) {
    if (it->second.followers >= limits_.max_followers_per_key) {
      rejected_followers_.fetch_add(1, std::memory_order_relaxed);
      return {Outcome::overloaded, nullptr, nullptr};
    }
    ++it->second.followers;
    followers_.fetch_add(1, std::memory_order_relaxed);
    return {Outcome::follower, it->second.fetch, nullptr};
  }
  if (recheck) {
    if (ObjectPtr o = recheck()) return {Outcome::fresh_hit, nullptr, std::move(o)};
  }
  // Reserve a slot atomically: leaders of keys in other shards race for the same bound.
  std::uint32_t n = inflight_.load(std::memory_order_relaxed);
  do {
    if (n >= limits_.max_inflight) {
      rejected_inflight_.fetch_add(1, std::memory_order_relaxed);
      return {Outcome::overloaded, nullptr, nullptr};
    }
  } while (!inflight_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
  leaders_.fetch_add(1, std::memory_order_relaxed);
  auto fetch = std::make_shared<Fetch>(now, limits_.follower_wait, limits_.max_body);
  s.inflight.emplace(key, Entry{fetch, 0});
  return {Outcome::leader, std::move(fetch), nullptr};
}

void Coalescer::finish(const std::string& key, const FetchPtr& fetch) {
  Shard& s = shard_for(key);
  std::lock_guard lock(s.mu);
  auto it = s.inflight.find(key);
  if (it != s.inflight.end() && it->second.fetch == fetch) {
    followers_per_fetch_.observe(static_cast<double>(it->second.followers));
    s.inflight.erase(it);
    inflight_.fetch_sub(1, std::memory_order_relaxed);
  }
}

CoalescerStats Coalescer::stats() const {
  return {leaders_.load(), followers_.load(), rejected_followers_.load(), rejected_inflight_.load(), inflight_.load()};
}

}  // namespace hlscache
