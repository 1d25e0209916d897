#include "coalesce/coalescer.hpp"

#include "core/hash.hpp"

#include <algorithm>

namespace hlscache {

Coalescer::Shard& Coalescer::shard_for(const std::string& key) { return shards_[hash64(key, 0x5eed) % kShards]; }

Coalescer::Ticket Coalescer::acquire(const std::string& key, TimePoint now, const std::function<ObjectPtr()>& recheck,
                                     bool may_lead) {
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
  if (!may_lead) return {Outcome::refused, nullptr, nullptr};
  if (auto mark = s.uncacheable.find(key); mark != s.uncacheable.end()) {
    if (now < mark->second) {
      if (!reserve_slot()) return {Outcome::overloaded, nullptr, nullptr};
      private_fetches_.fetch_add(1, std::memory_order_relaxed);
      return {Outcome::pass, nullptr, nullptr};
    }
    s.uncacheable.erase(mark);
  }
  if (!reserve_slot()) return {Outcome::overloaded, nullptr, nullptr};
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

// Reserves one in-flight slot atomically: fetches of keys in other shards race for the same bound.
bool Coalescer::reserve_slot() {
  std::uint32_t n = inflight_.load(std::memory_order_relaxed);
  do {
    if (n >= limits_.max_inflight) {
      rejected_inflight_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
  } while (!inflight_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
  return true;
}

bool Coalescer::reserve_private() {
  if (!reserve_slot()) return false;
  private_fetches_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void Coalescer::release_private() { inflight_.fetch_sub(1, std::memory_order_relaxed); }

void Coalescer::mark_uncacheable(const std::string& key, TimePoint until, TimePoint now) {
  Shard& s = shard_for(key);
  std::lock_guard lock(s.mu);
  // A mark that still holds stays as it is: passes on the key do not stretch it (after
  // it ends, one request leads again and finds out whether the answer is still private).
  if (auto it = s.uncacheable.find(key); it != s.uncacheable.end() && it->second > now) return;
  // Forget what has ended or was superseded, oldest first, and the oldest live mark when full.
  while (!s.marked.empty()) {
    auto& [k, t] = s.marked.front();
    auto it = s.uncacheable.find(k);
    const bool current = it != s.uncacheable.end() && it->second == t;
    if (current && t > now && s.uncacheable.size() < kMarksPerShard) break;
    if (current) s.uncacheable.erase(it);
    s.marked.pop_front();
  }
  s.uncacheable[key] = until;
  s.marked.emplace_back(key, until);
  uncacheable_marks_.fetch_add(1, std::memory_order_relaxed);
}

void Coalescer::clear_uncacheable(const std::string& key) {
  Shard& s = shard_for(key);
  std::lock_guard lock(s.mu);
  s.uncacheable.erase(key);
}

CoalescerStats Coalescer::stats() const {
  CoalescerStats st{leaders_.load(), followers_.load(), rejected_followers_.load(), rejected_inflight_.load(),
                    inflight_.load()};
  st.private_fetches = private_fetches_.load();
  st.uncacheable_marks = uncacheable_marks_.load();
  return st;
}

}  // namespace hlscache
