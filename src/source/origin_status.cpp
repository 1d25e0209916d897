// The status page's view of the tier (source/upstream_status.hpp): the current
// routing's groups, their membership snapshots and each member's health counters;
// nothing is locked but the snapshots' atomics.
#include "source/origin_tier_impl.hpp"

namespace hlscache {

using namespace detail;

std::vector<UpstreamGroupStatus> OriginTier::status(TimePoint now) const {
  auto routing = impl_->routing.load();
  const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  auto rel = [](const auto& c) { return c.load(std::memory_order_relaxed); };
  std::vector<UpstreamGroupStatus> out;
  for (const auto& g : routing->groups) {
    UpstreamGroupStatus gs;
    gs.name = g->config.name;
    if (g->config.dns) gs.dns = g->config.dns->to_string();
    for (const auto& [prefix, group] : routing->routes)
      if (group == g) gs.prefixes.push_back(prefix);
    auto members = g->members.load();
    for (const auto& h : members->hosts) {
      UpstreamHostStatus hs;
      hs.address = h->id;
      hs.consecutive_failures = rel(h->consecutive_failures);
      hs.requests = rel(h->requests);
      hs.failures = rel(h->failures);
      hs.ejections = rel(h->ejections);
      hs.checks = rel(h->checks);
      hs.check_failures = rel(h->check_failures);
      const std::int64_t until = rel(h->ejected_until_ns);
      if (until > now_ns) {
        hs.state = "ejected";
        hs.ejected_for_s = static_cast<double>(until - now_ns) / 1e9;
      } else {
        hs.state = hs.consecutive_failures > 0 ? "down" : "up";
      }
      gs.hosts.push_back(std::move(hs));
    }
    out.push_back(std::move(gs));
  }
  return out;
}

}  // namespace hlscache
