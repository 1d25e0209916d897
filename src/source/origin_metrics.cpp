// OriginTier's readiness (not_ready) and its Prometheus text: per host, per group,
// retries, unrouted misses and the HTTP/1.1 pool's reuse.
#include "source/origin_tier_impl.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace hlscache {

using namespace detail;

std::string OriginTier::not_ready(TimePoint now) const {
  auto routing = impl_->routing.load();
  std::set<const GroupRuntime*> seen;
  std::string why;
  for (const auto& [prefix, group] : routing->routes) {
    if (!seen.insert(group.get()).second) continue;
    auto members = group->members.load();
    std::string problem;
    if (members->hosts.empty())
      problem = fmt::format("upstream group {} has no hosts{}", group->config.name,
                            group->config.dns ? " (dns " + group->config.dns->to_string() + " resolved to no address)" : "");
    else if (std::all_of(members->hosts.begin(), members->hosts.end(), [&](const auto& h) { return h->ejected(now); }))
      problem = fmt::format("every host of upstream group {} is ejected", group->config.name);
    if (!problem.empty()) why += (why.empty() ? "" : "; ") + problem;
  }
  return why;
}

void OriginTier::collect_metrics(std::string& out) const {
  auto routing = impl_->routing.load();
  const TimePoint now = SteadyClock::now();
  auto family = [&](const char* name, const char* type, const char* help, auto value_of) {
    prom_family(out, name, type, help);
    for (const auto& g : routing->groups) {
      auto members = g->members.load();
      for (const auto& h : members->hosts)
        prom_sample(out, name, fmt::format("group=\"{}\",host=\"{}\"", g->config.name, h->id),
                    static_cast<double>(value_of(*h)));
    }
  };
  auto rel = [](const Counter& c) { return c.load(std::memory_order_relaxed); };
  family("hlscache_upstream_host_requests_total", "counter", "Requests sent to the host (each attempt counts).",
         [&](const HostState& h) { return rel(h.requests); });
  family("hlscache_upstream_host_errors_total", "counter",
         "Failed attempts on the host: connect errors, timeouts, protocol errors, 5xx, cut bodies.",
         [&](const HostState& h) { return rel(h.failures); });
  family("hlscache_upstream_host_ejections_total", "counter", "Times the host was ejected by passive or active health.",
         [&](const HostState& h) { return rel(h.ejections); });
  family("hlscache_upstream_host_up", "gauge", "1 while the host takes its keys, 0 while ejected.",
         [&](const HostState& h) { return h.ejected(now) ? 0 : 1; });
  family("hlscache_upstream_host_consecutive_failures", "gauge", "Failures since the host's last success.",
         [&](const HostState& h) { return h.consecutive_failures.load(std::memory_order_relaxed); });
  family("hlscache_upstream_host_health_checks_total", "counter", "Active health checks sent to the host.",
         [&](const HostState& h) { return rel(h.checks); });
  family("hlscache_upstream_host_health_check_failures_total", "counter", "Active health checks that failed.",
         [&](const HostState& h) { return rel(h.check_failures); });
  prom_family(out, "hlscache_upstream_host_first_byte_seconds", "histogram",
              "Time from sending the request to the response head, per host.");
  for (const auto& g : routing->groups) {
    auto members = g->members.load();
    for (const auto& h : members->hosts)
      h->first_byte.render(out, "hlscache_upstream_host_first_byte_seconds",
                           fmt::format("group=\"{}\",host=\"{}\"", g->config.name, h->id));
  }
  prom_family(out, "hlscache_upstream_group_hosts", "gauge", "Members on the group's ring now.");
  for (const auto& g : routing->groups)
    prom_sample(out, "hlscache_upstream_group_hosts", fmt::format("group=\"{}\"", g->config.name),
                static_cast<double>(g->members.load()->hosts.size()));
  prom_family(out, "hlscache_upstream_retries_total", "counter", "Fetches retried on the next host of the ring.");
  prom_sample(out, "hlscache_upstream_retries_total", "", static_cast<double>(rel(impl_->retries)));
  prom_family(out, "hlscache_upstream_held_timeouts_total", "counter",
              "Requests for a segment ahead of the live edge that got no response head within their held wait "
              "(answered 504; not counted against the host).");
  prom_sample(out, "hlscache_upstream_held_timeouts_total", "", static_cast<double>(rel(impl_->held_timeouts)));
  prom_family(out, "hlscache_upstream_no_route_total", "counter", "Misses that matched no upstream route (answered 404).");
  prom_sample(out, "hlscache_upstream_no_route_total", "", static_cast<double>(rel(impl_->no_route)));
  const auto& pool = impl_->pool;
  prom_family(out, "hlscache_upstream_pool_reuses_total", "counter",
              "Idle HTTP/1.1 upstream connections taken from the pool for another request.");
  prom_sample(out, "hlscache_upstream_pool_reuses_total", "", static_cast<double>(rel(pool.reuses)));
  prom_family(out, "hlscache_upstream_pool_discarded_total", "counter",
              "Idle HTTP/1.1 upstream connections closed instead of reused: peer_closed (EOF or error), "
              "unsolicited (bytes nobody asked for), expired (pool_idle or the host's Keep-Alive timeout).");
  for (std::size_t i = 0; i < h1_upstream::kDiscardNames.size(); ++i)
    prom_sample(out, "hlscache_upstream_pool_discarded_total", fmt::format("reason=\"{}\"", h1_upstream::kDiscardNames[i]),
                static_cast<double>(rel(pool.discarded[i])));
  prom_family(out, "hlscache_upstream_stale_retries_total", "counter",
              "Requests resent on a new connection because a reused one failed before any response byte.");
  prom_sample(out, "hlscache_upstream_stale_retries_total", "", static_cast<double>(rel(pool.stale_retries)));
}

}  // namespace hlscache
