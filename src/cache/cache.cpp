#include "cache/cache.hpp"

#include <stdexcept>
#include <type_traits>
#include <utility>

namespace hlscache {

const char* to_string(PolicyKind p) {
  switch (p) {
    case PolicyKind::fifo: return Fifo::kName;
    case PolicyKind::lru: return Lru::kName;
    case PolicyKind::s4lru: return S4lru::kName;
  }
  return "unknown";
}

std::optional<PolicyKind> parse_policy(std::string_view s) {
  for (PolicyKind p : {PolicyKind::fifo, PolicyKind::lru, PolicyKind::s4lru})
    if (s == to_string(p)) return p;
  return std::nullopt;
}

Cache::Impl Cache::make(PolicyKind policy, std::uint64_t capacity_bytes, std::size_t shards) {
  switch (policy) {
    case PolicyKind::fifo: return Impl(std::in_place_type<ShardedCache<Fifo>>, capacity_bytes, shards);
    case PolicyKind::lru: return Impl(std::in_place_type<ShardedCache<Lru>>, capacity_bytes, shards);
    case PolicyKind::s4lru: return Impl(std::in_place_type<ShardedCache<S4lru>>, capacity_bytes, shards);
  }
  throw std::invalid_argument("cache: unknown policy");
}

Cache::Cache(PolicyKind policy, std::uint64_t capacity_bytes, std::size_t shards)
    : impl_(make(policy, capacity_bytes, shards)) {}

LookupResult Cache::lookup(std::string_view key, TimePoint now) {
  return std::visit([&](auto& c) { return c.lookup(key, now); }, impl_);
}

ObjectPtr Cache::find_fresh(std::string_view key, TimePoint now) {
  return std::visit([&](auto& c) { return c.find_fresh(key, now); }, impl_);
}

bool Cache::insert(std::string key, ObjectPtr object, TimePoint now) {
  return std::visit([&](auto& c) { return c.insert(std::move(key), std::move(object), now); }, impl_);
}

bool Cache::insert_with(std::string key, const std::function<ObjectPtr(const ObjectPtr&)>& make, TimePoint now) {
  return std::visit([&](auto& c) { return c.insert_with(std::move(key), make, now); }, impl_);
}

bool Cache::erase_if_same(std::string_view key, const ObjectPtr& expected) {
  return std::visit([&](auto& c) { return c.erase_if_same(key, expected); }, impl_);
}

bool Cache::erase(std::string_view key) {
  return std::visit([&](auto& c) { return c.erase(key); }, impl_);
}

std::size_t Cache::erase_prefix(std::string_view prefix) {
  return std::visit([&](auto& c) { return c.erase_prefix(prefix); }, impl_);
}

std::size_t Cache::reclaim_expired(TimePoint now, std::size_t max_per_shard) {
  return std::visit([&](auto& c) { return c.reclaim_expired(now, max_per_shard); }, impl_);
}

CacheStats Cache::stats() const {
  return std::visit([](const auto& c) { return c.stats(); }, impl_);
}

PolicyKind Cache::policy() const {
  static_assert(std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(PolicyKind::s4lru), Impl>,
                               ShardedCache<S4lru>>,
                "Impl's alternatives are listed in PolicyKind order");
  return static_cast<PolicyKind>(impl_.index());
}

std::size_t Cache::shard_count() const {
  return std::visit([](const auto& c) { return c.shard_count(); }, impl_);
}

bool Cache::contains(std::string_view key) const {
  return std::visit([&](const auto& c) { return c.contains(key); }, impl_);
}

ObjectPtr Cache::peek(std::string_view key) const {
  return std::visit([&](const auto& c) { return c.peek(key); }, impl_);
}

std::uint64_t Cache::max_object_charge() const {
  return std::visit([](const auto& c) { return c.max_charge(); }, impl_);
}

}  // namespace hlscache
