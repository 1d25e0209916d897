// The one concept every eviction policy satisfies (Fifo, Lru, S4lru).
// A policy is a container over PolicyHooks embedded in a shard's nodes: it keeps
// them ordered, accounts their bytes per queue, and names the next victim.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cache/policy/hook.hpp"

namespace hlscache {

// Contract, for a policy P constructed with the shard's byte budget:
//   P::kName, P::kLevels     name ("lru") and number of queues (S4LRU: 4, others: 1).
//   max_charge()             largest entry the policy can hold; the shard rejects larger ones.
//   on_insert(h)             links a new hook (h.charge set, h not linked).
//   on_hit(h)                a fresh hit: reorder h (FIFO: nothing). May push another queue
//                            over its budget (S4LRU demotion), so the shard re-checks the budget.
//   on_erase(h)              unlinks h wherever it is (erase, expiry, replacement, eviction).
//   over_budget()            true while the shard must evict victim() to restore the invariant.
//   victim()                 the hook evicted next (nullptr if empty). The policy does not unlink
//                            it: the shard calls on_erase when it removes the node.
//   bytes(), level_objects(i), level_bytes(i)   accounting; the sum over levels is the total.
//   queue(i)                 the hooks of level i, head to tail (introspection and tests).
// None of these allocate, throw or take a lock: the shard's mutex covers them.
template <class P>
concept EvictionPolicy =
    std::constructible_from<P, std::uint64_t> &&
    requires(P p, const P cp, PolicyHook& h, std::size_t level) {
      { P::kName } -> std::convertible_to<std::string_view>;
      { P::kLevels } -> std::convertible_to<std::size_t>;
      { cp.max_charge() } -> std::same_as<std::uint64_t>;
      { p.on_insert(h) } noexcept;
      { p.on_hit(h) } noexcept;
      { p.on_erase(h) } noexcept;
      { cp.over_budget() } -> std::same_as<bool>;
      { p.victim() } -> std::same_as<PolicyHook*>;
      { cp.bytes() } -> std::same_as<std::uint64_t>;
      { cp.level_objects(level) } -> std::same_as<std::size_t>;
      { cp.level_bytes(level) } -> std::same_as<std::uint64_t>;
      { cp.queue(level) } -> std::same_as<const HookList&>;
    };

}  // namespace hlscache
