// OriginTier's public face and fetch(): a request's route, its candidate hosts and
// one attempt after another until one is done; what every attempt shares (its count,
// a failure's accounting, the fetch's failure, a local answer). The parts of
// OriginTier::Impl are in the files source/origin_tier_impl.hpp lists.
#include "source/origin_tier.hpp"

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "source/origin_tier_impl.hpp"

namespace hlscache {

using namespace detail;

OriginTier::OriginTier(ConfigPtr config, Metrics& metrics) : impl_(std::make_shared<Impl>(metrics)) {
  impl_->routing.store(impl_->build_routing(config, nullptr));
}

// Connections idle in this thread's tables go with the tier (other threads' go when
// their threads end, while their io_contexts still exist): a test that runs a tier on
// its own io_context leaves nothing behind to be closed after that io_context is gone.
OriginTier::~OriginTier() {
  h1_upstream::drop_pooled(fmt::format("{}|", impl_->instance));
  t_h2_clients.erase(impl_->instance);
}

void OriginTier::start(asio::io_context& io) {
  impl_->io = &io;
  impl_->start_loops(*impl_->routing.load());
}

void OriginTier::reconfigure(const ConfigPtr& config) {
  auto previous = impl_->routing.load();
  auto next = impl_->build_routing(config, previous.get());
  impl_->routing.store(next);
  // The old groups' background loops end once their GroupRuntime is released (when the
  // last fetch that pinned the old routing is done); the new groups get their own.
  if (impl_->io) asio::post(*impl_->io, [impl = impl_, next] { impl->start_loops(*next); });
}

asio::awaitable<void> OriginTier::fetch(SourceRequest request, SinkPtr into) {
  // Everything this fetch uses is pinned here: a reload or a DNS change swaps the
  // snapshots under us without disturbing it.
  std::shared_ptr<Impl> impl = impl_;
  std::shared_ptr<const Routing> routing = impl->routing.load();
  const Config& cfg = *routing->config;
  std::string_view path = std::string_view(request.target).substr(0, request.target.find('?'));
  const auto* route = routing->match(path);
  if (!route) {
    impl->no_route.fetch_add(1, std::memory_order_relaxed);
    Impl::answer_locally(into, 404, fmt::format("no upstream route for {}\n", path));
    co_return;
  }
  const GroupPtr group = route->second;
  const std::shared_ptr<const Membership> members = group->members.load();
  if (members->ring.empty()) {
    impl->no_host.fetch_add(1, std::memory_order_relaxed);
    impl->fail(into, upstream_error(Errc::connect_failed, fmt::format("upstream group {} has no hosts", group->config.name)));
    co_return;
  }
  std::vector<HostState*> hosts;
  Impl::candidates(*members, Impl::key_hash(*group, route->first, request.target, request.key), SteadyClock::now(), hosts);
  const std::size_t attempts = std::min<std::size_t>(hosts.size(), std::size_t{cfg.upstream.retries} + 1);
  // A held request's longer wait for its head comes on top of the whole fetch's bound.
  const Duration held_extra = Impl::first_byte_wait(cfg, request) - cfg.timeouts.upstream_first_byte;
  const TimePoint deadline = SteadyClock::now() + cfg.timeouts.upstream_total + held_extra;
  for (std::size_t i = 0; i < attempts; ++i) {
    const bool last = i + 1 == attempts || SteadyClock::now() >= deadline;
    if (i > 0) impl->retries.fetch_add(1, std::memory_order_relaxed);
    const auto outcome = co_await impl->attempt(*routing, request, into, *hosts[i], deadline, last);
    if (outcome == Impl::Attempt::done) co_return;
  }
}

// --- what every attempt shares, HTTP/1.1 or HTTP/2 -------------------------

// How long the response head may take: timeouts.upstream_first_byte, or what the miss
// path allowed a request the upstream may hold (SourceRequest::held_first_byte).
Duration OriginTier::Impl::first_byte_wait(const Config& cfg, const SourceRequest& req) {
  return std::max<Duration>(req.held_first_byte.value_or(Duration::zero()), cfg.timeouts.upstream_first_byte);
}

// Every attempt, whatever the protocol: counted on the host; returns when it started.
TimePoint OriginTier::Impl::count_attempt(HostState& host) {
  metrics.upstream_requests.fetch_add(1, std::memory_order_relaxed);
  host.requests.fetch_add(1, std::memory_order_relaxed);
  return SteadyClock::now();
}

// A failure before the head was published: counts against the host's health, then
// either lets the caller try the next host or, on the last attempt, fails the fetch.
OriginTier::Impl::Attempt OriginTier::Impl::fail_attempt(const Config& cfg, const SinkPtr& into, HostState& host,
                                                         bool last, Error e) {
  host.record_failure(cfg.upstream.health, e.message);
  if (!last) {
    spdlog::info("upstream {} {}: {}; trying the next host", host.group, host.id, e.message);
    return Attempt::retry;
  }
  fail(into, std::move(e));
  return Attempt::done;
}

// No head in time for a held request: the segment did not come while the upstream held
// it, which says nothing of the host — not a failure of its health, not an upstream
// error, and not retried (another host would hold it as long). Its waiters get a 504.
OriginTier::Impl::Attempt OriginTier::Impl::held_timeout(const SinkPtr& into, const HostState& host, Error e) {
  held_timeouts.fetch_add(1, std::memory_order_relaxed);
  spdlog::info("upstream {} {}: {} (a request the upstream holds for a segment ahead of the live edge)", host.group,
               host.id, e.message);
  into->fail(std::move(e));
  return Attempt::done;
}

void OriginTier::Impl::fail(const SinkPtr& into, Error e) {
  metrics.upstream_errors.fetch_add(1, std::memory_order_relaxed);
  spdlog::warn("upstream fetch failed: {}", e.describe());
  into->fail(std::move(e));
}

void OriginTier::Impl::answer_locally(const SinkPtr& into, int status, std::string body) {
  ResponseHead rh;
  rh.status = status;
  // The same for every viewer (shared with collapsed requests), never kept.
  rh.headers = {{"Content-Type", "text/plain; charset=utf-8"}, {"Cache-Control", "max-age=0, must-revalidate"}};
  rh.content_length = body.size();
  into->set_head(std::move(rh));
  into->append(body);
  into->complete();
}

}  // namespace hlscache
