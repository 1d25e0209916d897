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
  const TimePoint deadline = SteadyClock::now() + cfg.timeouts.upstream_total;
  for (std::size_t i = 0; i < attempts; ++i) {
    const bool last = i + 1 == attempts || SteadyClock::now() >= deadline;
    if (i > 0) impl->retries.fetch_add(1, std::memory_order_relaxed);
    const auto outcome = co_await impl->attempt(*routing, request, into, *hosts[i], deadline, last);
    if (outcome == Impl::Attempt::done) co_return;
  }
}

// --- what every attempt shares, HTTP/1.1 or HTTP/2 -------------------------

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
