// OriginTier's HTTP/2 attempt (upstream.protocol h2c or h2): the exchange runs as a
// stream on this thread's H2Upstream, with the HTTP/1.1 attempt's outcomes and rules.
#include "source/origin_tier_impl.hpp"

#include <boost/asio/this_coro.hpp>
#include <fmt/format.h>

#include <algorithm>

#include "source/upstream_request.hpp"

namespace hlscache {

using namespace detail;

// This thread's HTTP/2 upstream clients, by tier instance.
thread_local std::unordered_map<std::uint64_t, std::unique_ptr<H2Upstream>> detail::t_h2_clients;

// This thread's HTTP/2 client (h2c or h2 upstreams): its connections multiplex every
// fetch of this thread to a host. Made on first use, with the settings of that moment.
H2Upstream& OriginTier::Impl::h2_client(const Config& cfg, const asio::any_io_executor& ex) {
  auto& c = t_h2_clients[instance];
  if (!c) {
    H2UpstreamSettings s;
    s.tls = cfg.upstream.protocol == UpstreamProtocol::h2;
    s.verify = cfg.upstream.tls.verify;
    s.ca_file = cfg.upstream.tls.ca_file;
    s.server_name = cfg.upstream.tls.server_name;
    s.connect_timeout = cfg.timeouts.upstream_connect;
    s.max_connections_per_host = cfg.upstream.h2_connections_per_host;
    c = std::make_unique<H2Upstream>(ex, s, &metrics);
  }
  return *c;
}

// attempt() over HTTP/2: the same outcomes, retry rules, health accounting and deadlines.
asio::awaitable<OriginTier::Impl::Attempt> OriginTier::Impl::attempt_h2(const Config& cfg, const SourceRequest& req,
                                                                        const SinkPtr& into, HostState& host,
                                                                        TimePoint deadline, bool last) {
  const TimePoint started = count_attempt(host);
  auto give_up = [&](Error e) { return fail_attempt(cfg, into, host, last, std::move(e)); };
  H2UpstreamRequest r;
  r.host = host.address;
  r.target = req.target;
  r.headers = upstream_request::h2_fields(req, cfg.server_name);
  r.interim = into.get();
  r.first_byte_deadline = std::min(deadline, started + first_byte_wait(cfg, req));
  const TimePoint first_byte_deadline = r.first_byte_deadline;
  auto& client = h2_client(cfg, co_await asio::this_coro::executor);
  auto response = co_await client.request(std::move(r));
  if (!response) {
    Error e = std::move(response).error();
    // A connect that timed out ended before the head's deadline: a failure like any other.
    if (e.code == Errc::timeout && req.held_first_byte && SteadyClock::now() >= first_byte_deadline)
      co_return held_timeout(into, host, std::move(e));
    co_return give_up(std::move(e));
  }
  auto& resp = **response;
  const int status = resp.head().status;
  if (!req.held_first_byte) host.first_byte.observe(std::chrono::duration<double>(SteadyClock::now() - started).count());
  const bool gave_up = held_gave_up(req, status);  // the stream's wait, not the host's failure
  if (status >= 500 && !last && !gave_up) {
    resp.cancel();
    co_return give_up(upstream_error(Errc::upstream_status, fmt::format("{} {}: status {}", host.id, req.target, status)));
  }
  if (status >= 500 && !gave_up) host.record_failure(cfg.upstream.health, fmt::format("status {}", status));
  else if (!gave_up) host.record_success();
  into->set_head(resp.head());
  const std::uint64_t before = into->published();
  Status body = co_await resp.read_body_into(*into, cfg.timeouts.upstream_idle, deadline);
  const std::uint64_t received = into->published() - before;
  metrics.upstream_bytes.fetch_add(received, std::memory_order_relaxed);
  if (!body) {
    Error e = body.error();
    e.message = fmt::format("{} {}: body cut after {} bytes: {}", host.id, req.target, received, e.message);
    if (e.code != Errc::too_large) host.record_failure(cfg.upstream.health, e.message);
    fail(into, std::move(e));
    co_return Attempt::done;
  }
  into->complete();
  co_return Attempt::done;
}

}  // namespace hlscache
