// HashRing: consistent hashing of request keys onto upstream hosts, ketama-style —
// each host is placed at `vnodes x weight` pseudo-random points on a 64-bit circle
// and a key belongs to the first point clockwise from its hash.
//
// Why ketama and not Maglev or rendezvous: failover needs, for every key, an
// ordered list of distinct fallback hosts that is the same on every tier and that
// moves as little as possible when membership changes. Walking the circle
// clockwise gives exactly that for free (owner, then next distinct host, ...), and
// the fallback of a dead host's keys is spread over all survivors in proportion
// to their weight, not dumped on one neighbour. Rendezvous gives the same order
// but costs O(hosts) hashes per lookup; Maglev's O(1) table has no natural
// "next host" and moves somewhat more than 1/N of the keys on a change. A lookup
// here is one binary search over hosts x vnodes points (bench/bench_ring.cpp
// measures it, and the key balance, in docs/performance.md).
//
// A HashRing is immutable: membership changes build a new one (see OriginTier).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hlscache {

class HashRing {
 public:
  static constexpr std::uint32_t kDefaultVnodes = 160;

  struct Member {
    std::string id;            // what is hashed onto the circle, e.g. "10.0.0.7:8080"
    std::uint32_t weight = 1;
  };

  explicit HashRing(std::vector<Member> members, std::uint32_t vnodes = kDefaultVnodes);

  std::size_t size() const noexcept { return members_.size(); }
  bool empty() const noexcept { return members_.empty(); }
  const Member& member(std::size_t i) const { return members_[i]; }

  static std::uint64_t hash_key(std::string_view key) noexcept;

  // The index of the member owning `key_hash`. The ring must not be empty.
  std::size_t owner(std::uint64_t key_hash) const noexcept;

  // Distinct members clockwise from `key_hash`, the owner first, at most `max`.
  // `out` is cleared first; returns out.size().
  std::size_t walk(std::uint64_t key_hash, std::size_t max, std::vector<std::uint32_t>& out) const;

 private:
  struct Point {
    std::uint64_t hash;
    std::uint32_t member;
  };
  std::size_t first_point(std::uint64_t key_hash) const noexcept;
  std::vector<Member> members_;
  std::vector<Point> points_;  // sorted by hash
};

}  // namespace hlscache
