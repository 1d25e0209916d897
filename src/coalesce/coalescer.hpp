// Coalescer: the miss queue. Per cache key at most one Fetch is in flight; the
// first miss becomes its Leader (and starts the fetch task), every later miss for
// the key is a Follower attached to the same Fetch, whatever its thread. Both
// bounds are enforced here: followers per key and distinct fetches in flight
// (past either, acquire says overloaded and the caller answers 503). Sharded by
// the key's hash so unrelated misses don't contend on one lock.
//
// Hit-for-miss: a key whose last answer could not be shared (private, no-store,
// per-viewer cookies...) is remembered for a while (freshness.hit_for_miss, a
// bounded table per shard): its misses are then `pass` — each request fetches on
// its own, without waiting on a leader whose answer it could not use (Varnish's
// hit-for-miss). Such private fetches hold an in-flight slot like a leader's.
#pragma once

#include <array>
#include <deque>
#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

#include "coalesce/fetch.hpp"
#include "metrics/metrics.hpp"

namespace hlscache {

struct CoalescerLimits {
  std::uint32_t max_followers_per_key = 10'000;
  std::uint32_t max_inflight = 1024;
  Duration follower_wait = std::chrono::seconds(30);
  std::uint64_t max_body = 256ull << 20;
};

struct CoalescerStats {
  std::uint64_t leaders = 0, followers = 0, rejected_followers = 0, rejected_inflight = 0, inflight = 0;
  std::uint64_t private_fetches = 0;  // fetches of one request's own (passes and unshareable followers)
  std::uint64_t uncacheable_marks = 0;  // keys marked hit-for-miss
};

class Coalescer {
 public:
  // refused: no fetch in flight and the caller may not start one (its connection left
  // too many running, RequestContext::may_lead_fetch).
  enum class Outcome { leader, follower, fresh_hit, overloaded, pass, refused };
  struct Ticket {
    Outcome outcome = Outcome::overloaded;
    FetchPtr fetch;       // leader and follower
    ObjectPtr object;     // fresh_hit: what the re-check found
  };

  explicit Coalescer(CoalescerLimits limits) : limits_(limits) {}

  // `recheck` runs under the key's lock when no fetch is in flight: a leader that
  // completed between the caller's cache miss and now has already inserted its
  // object (leaders insert before they finish()), so a fresh object is returned
  // instead of starting a second fetch.
  Ticket acquire(const std::string& key, TimePoint now, const std::function<ObjectPtr()>& recheck,
                 bool may_lead = true);
  // The leader's fetch is over (object inserted or failed): new misses start anew.
  void finish(const std::string& key, const FetchPtr& fetch);

  // A fetch of one request's own (a pass, or a follower whose leader's answer it may
  // not use): takes an in-flight slot (false: at the bound, answer 503) ...
  bool reserve_private();
  // ... given back when that fetch ends.
  void release_private();

  // Hit-for-miss: the key's misses pass until `until` (or until cleared: an answer
  // that could be stored arrived). A key already marked keeps its mark. A full table
  // drops its oldest mark (O(1) a mark: one deque entry per mark).
  void mark_uncacheable(const std::string& key, TimePoint until, TimePoint now);
  void clear_uncacheable(const std::string& key);

  CoalescerStats stats() const;
  const CoalescerLimits& limits() const { return limits_; }
  // Followers each finished fetch had (observed at finish()).
  const Histogram& followers_per_fetch() const { return followers_per_fetch_; }

 private:
  struct Entry {
    FetchPtr fetch;
    std::uint32_t followers = 0;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Entry> inflight;
    // Hit-for-miss marks, at most kMarksPerShard: the time each ends, and the keys in
    // the order they were marked (an entry whose key was re-marked or cleared since is skipped).
    std::unordered_map<std::string, TimePoint> uncacheable;
    std::deque<std::pair<std::string, TimePoint>> marked;
  };
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kMarksPerShard = 4096;
  bool reserve_slot();
  Shard& shard_for(const std::string& key);

  const CoalescerLimits limits_;
  std::array<Shard, kShards> shards_;
  std::atomic<std::uint32_t> inflight_{0};
  std::atomic<std::uint64_t> leaders_{0}, followers_{0}, rejected_followers_{0}, rejected_inflight_{0};
  std::atomic<std::uint64_t> private_fetches_{0}, uncacheable_marks_{0};
  Histogram followers_per_fetch_{Histogram::count_buckets()};
};

}  // namespace hlscache
