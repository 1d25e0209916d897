#include "source/upstream_host.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace hlscache {

namespace {
std::int64_t to_ns(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
}  // namespace

HostState::HostState(std::string g, HostPort a, std::uint64_t tier)
    : group(std::move(g)), address(std::move(a)), id(address.to_string()),
      pool_key(fmt::format("{}|{}|{}", tier, group, id)) {}

bool HostState::ejected(TimePoint now) const { return ejected_until_ns.load(std::memory_order_relaxed) > to_ns(now); }

void HostState::record_success() {
  consecutive_failures.store(0, std::memory_order_relaxed);
  if (ejection_streak.load(std::memory_order_relaxed) != 0 && !ejected(SteadyClock::now())) {
    ejection_streak.store(0, std::memory_order_relaxed);
    ejected_until_ns.store(0, std::memory_order_relaxed);
    spdlog::info("upstream {} {}: healthy again", group, id);
  }
}

void HostState::record_failure(const HealthConfig& cfg, const std::string& why) {
  failures.fetch_add(1, std::memory_order_relaxed);
  const std::uint32_t n = consecutive_failures.fetch_add(1, std::memory_order_relaxed) + 1;
  if (n < cfg.fail_threshold) return;
  const TimePoint now = SteadyClock::now();
  std::int64_t until = ejected_until_ns.load(std::memory_order_relaxed);
  if (until > to_ns(now)) return;  // already ejected
  const std::uint32_t streak = std::min<std::uint32_t>(ejection_streak.load(std::memory_order_relaxed), 20);
  const Millis capped = std::min(Millis(cfg.eject_base.count() << streak), cfg.eject_max);
  const Duration period = std::chrono::duration_cast<Duration>(capped);
  // One thread wins the ejection; the others see it done.
  if (!ejected_until_ns.compare_exchange_strong(until, to_ns(now + period))) return;
  ejection_streak.fetch_add(1, std::memory_order_relaxed);
  ejections.fetch_add(1, std::memory_order_relaxed);
  spdlog::warn("upstream {} {}: ejected for {} ms after {} consecutive failures (last: {})", group, id,
               std::chrono::duration_cast<std::chrono::milliseconds>(period).count(), n, why);
}

bool HostState::eject_for(Duration period, const std::string& why) {
  const std::int64_t until = to_ns(SteadyClock::now() + period);
  std::int64_t current = ejected_until_ns.load(std::memory_order_relaxed);
  while (current < until && !ejected_until_ns.compare_exchange_weak(current, until)) {
  }
  if (current >= until) return false;
  ejections.fetch_add(1, std::memory_order_relaxed);
  spdlog::info("upstream {} {}: {}; ejected for {} ms", group, id, why,
               std::chrono::duration_cast<std::chrono::milliseconds>(period).count());
  return true;
}

void HostState::mark_checked_healthy() {
  consecutive_failures.store(0, std::memory_order_relaxed);
  if (ejected_until_ns.exchange(0, std::memory_order_relaxed) != 0 || ejection_streak.load() != 0)
    spdlog::info("upstream {} {}: health check passed, back on the ring", group, id);
  ejection_streak.store(0, std::memory_order_relaxed);
}

}  // namespace hlscache
