// Coalescer: the miss queue. Per cache key at most one Fetch is in flight; the
// first miss becomes its Leader (and starts the fetch task), every later miss for
// the key is a Follower attached to the same Fetch, whatever its thread. Both
// bounds are enforced here: followers per key and distinct fetches in flight
// (past either, acquire says overloaded and the caller answers 503). Sharded by
// the key's hash so unrelated misses don't contend on one lock.
#pragma once

#include <array>
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
};

class Coalescer {
 public:
  enum class Outcome { leader, follower, fresh_hit, overloaded };
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
  Ticket acquire(const std::string& key, TimePoint now, const std::function<ObjectPtr()>& recheck);
  // The leader's fetch is over (object inserted or failed): new misses start anew.
  void finish(const std::string& key, const FetchPtr& fetch);

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
  };
  static constexpr std::size_t kShards = 16;
  Shard& shard_for(const std::string& key);

  const CoalescerLimits limits_;
  std::array<Shard, kShards> shards_;
  std::atomic<std::uint32_t> inflight_{0};
  std::atomic<std::uint64_t> leaders_{0}, followers_{0}, rejected_followers_{0}, rejected_inflight_{0};
  Histogram followers_per_fetch_{Histogram::count_buckets()};
};

}  // namespace hlscache
