#include "source/hash_ring.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/hash.hpp"

namespace hlscache {

namespace {
constexpr std::uint64_t kKeySeed = 0x6b657461ull;  // "keta"
}

HashRing::HashRing(std::vector<Member> members, std::uint32_t vnodes) : members_(std::move(members)) {
  std::size_t total = 0;
  for (const auto& m : members_) total += static_cast<std::size_t>(vnodes) * std::max<std::uint32_t>(1, m.weight);
  points_.reserve(total);
  std::string label;
  for (std::uint32_t i = 0; i < members_.size(); ++i) {
    const std::uint32_t n = vnodes * std::max<std::uint32_t>(1, members_[i].weight);
    for (std::uint32_t v = 0; v < n; ++v) {
      label.clear();
      fmt::format_to(std::back_inserter(label), "{}#{}", members_[i].id, v);
      points_.push_back(Point{hash64(label), i});
    }
  }
  // Ties (vanishingly rare with 64-bit points) are broken by member id so that
  // every tier builds the same circle from the same member list, in any order.
  std::sort(points_.begin(), points_.end(), [this](const Point& a, const Point& b) {
    return a.hash != b.hash ? a.hash < b.hash : members_[a.member].id < members_[b.member].id;
  });
}

std::uint64_t HashRing::hash_key(std::string_view key) noexcept { return hash64(key, kKeySeed); }

std::size_t HashRing::first_point(std::uint64_t key_hash) const noexcept {
  auto it = std::lower_bound(points_.begin(), points_.end(), key_hash,
                             [](const Point& p, std::uint64_t h) { return p.hash < h; });
  return it == points_.end() ? 0 : static_cast<std::size_t>(it - points_.begin());
}

std::size_t HashRing::owner(std::uint64_t key_hash) const noexcept { return points_[first_point(key_hash)].member; }

std::size_t HashRing::walk(std::uint64_t key_hash, std::size_t max, std::vector<std::uint32_t>& out) const {
  out.clear();
  if (points_.empty() || max == 0) return 0;
  max = std::min(max, members_.size());
  const std::size_t start = first_point(key_hash);
  for (std::size_t i = 0; i < points_.size() && out.size() < max; ++i) {
    const std::uint32_t m = points_[(start + i) % points_.size()].member;
    if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
  }
  return out.size();
}

}  // namespace hlscache
