// OriginTier's background loops: a group's DNS name resolved at build time and
// re-resolved every dns_interval (a changed answer is a new ring snapshot), and the
// active health checks, GET health.check_path on every member every check_interval.
#include "source/origin_tier_impl.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <set>

#include "core/spawn.hpp"

namespace hlscache {

using namespace detail;

namespace {

std::set<std::string> ids_of(const Membership& m) {
  std::set<std::string> ids;
  for (const auto& h : m.hosts) ids.insert(h->id);
  return ids;
}

}  // namespace

void OriginTier::Impl::start_loops(const Routing& r) {
  for (const auto& g : r.groups) {
    if (g->config.dns) asio::co_spawn(*io, dns_loop(weak_from_this(), g), log_escape("DNS loop"));
    if (r.config->upstream.health.check_interval.count() > 0)
      asio::co_spawn(*io, health_loop(weak_from_this(), g), log_escape("health loop"));
  }
}

// --- membership from DNS ----------------------------------------------------

std::vector<tcp::endpoint> OriginTier::Impl::resolve_now(const HostPort& name) {
  asio::io_context io;
  tcp::resolver resolver(io);
  boost::system::error_code ec;
  auto results = resolver.resolve(name.host, std::to_string(name.port), ec);
  std::vector<tcp::endpoint> out;
  if (ec) {
    spdlog::warn("upstream dns {}: {}", name.to_string(), ec.message());
    return out;
  }
  for (const auto& e : results) out.push_back(e.endpoint());
  return out;
}

asio::awaitable<void> OriginTier::Impl::dns_loop(std::weak_ptr<Impl> self_weak,
                                                 std::weak_ptr<GroupRuntime> group_weak) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex);
  tcp::resolver resolver(ex);
  for (;;) {
    Millis interval{};
    HostPort name;
    {
      auto g = group_weak.lock();
      if (!g) co_return;
      interval = g->config.dns_interval;
      name = *g->config.dns;
    }
    timer.expires_after(interval);
    auto [tec] = co_await timer.async_wait(kTuple);
    if (tec) co_return;
    auto [rec, results] = co_await resolver.async_resolve(name.host, std::to_string(name.port), kTuple);
    auto g = group_weak.lock();
    auto self = self_weak.lock();
    if (!g || !self) co_return;
    if (rec) {
      // Keep the last good membership: a DNS hiccup must not empty the ring.
      spdlog::warn("upstream group {}: dns {}: {} (membership kept)", g->config.name, name.to_string(), rec.message());
      continue;
    }
    std::vector<tcp::endpoint> eps;
    for (const auto& e : results) eps.push_back(e.endpoint());
    self->apply_resolved(*g, eps);
  }
}

// A new ring snapshot if the resolved members differ from the current ones. Fetches
// in flight keep the snapshot they loaded; host state (health, counters) carries over.
bool OriginTier::Impl::apply_resolved(GroupRuntime& g, const std::vector<tcp::endpoint>& eps) {
  auto next = g.build(resolve_members(g.config, eps), instance);
  auto current = g.members.load();
  if (ids_of(*next) == ids_of(*current)) return false;
  std::string list;
  for (const auto& h : next->hosts) list += (list.empty() ? "" : ",") + h->id;
  spdlog::info("upstream group {}: membership from dns {} is now [{}]", g.config.name,
               g.config.dns ? g.config.dns->to_string() : "-", list);
  g.members.store(std::move(next));
  return true;
}

bool OriginTier::apply_resolved(const std::string& group, const std::vector<HostPort>& addresses) {
  auto routing = impl_->routing.load();
  for (const auto& g : routing->groups)
    if (g->config.name == group) {
      std::vector<tcp::endpoint> eps;
      for (const auto& a : addresses) eps.emplace_back(asio::ip::make_address(a.host), a.port);
      return impl_->apply_resolved(*g, eps);
    }
  return false;
}

// --- health -----------------------------------------------------------------

asio::awaitable<void> OriginTier::Impl::health_loop(std::weak_ptr<Impl> self_weak,
                                                    std::weak_ptr<GroupRuntime> group_weak) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex);
  for (;;) {
    Millis interval{};
    {
      auto self = self_weak.lock();
      if (!self) co_return;
      interval = self->routing.load()->config->upstream.health.check_interval;
    }
    if (interval.count() <= 0) co_return;
    timer.expires_after(interval);
    auto [tec] = co_await timer.async_wait(kTuple);
    if (tec) co_return;
    auto g = group_weak.lock();
    auto self = self_weak.lock();
    if (!g || !self) co_return;
    auto members = g->members.load();
    for (const auto& h : members->hosts) asio::co_spawn(ex, self->check_host(self, h), log_escape("health check"));
  }
}

asio::awaitable<void> OriginTier::Impl::check_host(std::shared_ptr<Impl> self, HostStatePtr h) {
  (void)self;  // keeps the tier alive while the check runs
  auto r = routing.load();
  auto cfg = r->config;
  h->checks.fetch_add(1, std::memory_order_relaxed);
  const TimePoint deadline = SteadyClock::now() + cfg->timeouts.upstream_connect + cfg->timeouts.upstream_first_byte;
  auto conn = co_await connect(*r, h->address, deadline);
  std::string why;
  int status = 0;
  if (!conn) {
    why = conn.error().message;
  } else {
    auto& c = **conn;
    const std::string req = fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}-health\r\nConnection: close\r\n\r\n",
                                        cfg->upstream.health.check_path, h->address.to_string(), cfg->server_name);
    c.tcp().expires_after(remaining(deadline, cfg->timeouts.upstream_first_byte));
    std::optional<h1_upstream::ResponseParser> parser;
    const h1_upstream::HeadRead head = co_await h1_upstream::exchange_head(c, req, parser, nullptr);
    if (head.ec) why = head.ec.message();
    else if (!head.refused.empty()) why = head.refused;
    else status = static_cast<int>(parser->get().result_int());
  }
  if (status >= 200 && status < 300) {
    h->mark_checked_healthy();
  } else {
    h->check_failures.fetch_add(1, std::memory_order_relaxed);
    h->record_failure(cfg->upstream.health, why.empty() ? fmt::format("health check answered {}", status) : "health check: " + why);
  }
}

}  // namespace hlscache
