// OriginTier's HTTP/1.1 attempt: a connection from this thread's pool or a new one
// (TCP, then TLS for protocol https), the request head, the response heads up to the
// final one, the body streamed into the sink, and the connection given back when it
// may carry another request.
#include "source/origin_tier_impl.hpp"

#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "source/tls_client.hpp"
#include "source/upstream_request.hpp"

// GCC 12 reports Asio's coroutine frame allocation as mismatched (-Wmismatched-new-delete)
// once it inlines the frame's operator new (aligned_alloc) and delete (free) — a matched
// pair — into attempt(). A false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace hlscache {

namespace beast = boost::beast;
namespace http = beast::http;

using namespace detail;

namespace {

using h1_upstream::TlsStream;

Errc classify(const beast::error_code& ec) {
  if (ec == beast::error::timeout) return Errc::timeout;
  if (ec == http::error::partial_message || ec == asio::error::eof || ec == http::error::end_of_stream ||
      ec == asio::error::connection_reset || ec == asio::ssl::error::stream_truncated)
    return Errc::truncated;
  return Errc::protocol;
}

}  // namespace

// --- one HTTP/1.1 exchange ---------------------------------------------------

// Clear and TLS connections to one host are pooled apart (a reload may switch).
std::string OriginTier::Impl::pool_key(const HostState& host, const Routing& r) {
  return r.config->upstream.protocol == UpstreamProtocol::https ? host.pool_key + "|tls" : host.pool_key;
}

// A new connection to `host`: TCP, then for protocol https the TLS handshake (SNI,
// the certificate checked against the host's name or upstream.tls.server_name).
asio::awaitable<Result<std::unique_ptr<Connection>>> OriginTier::Impl::connect(const Routing& r, const HostPort& host,
                                                                                TimePoint deadline) {
  const Config& cfg = *r.config;
  auto ex = co_await asio::this_coro::executor;
  beast::tcp_stream tcp_s(ex);
  tcp::resolver resolver(ex);
  auto [rec, results] = co_await resolver.async_resolve(host.host, std::to_string(host.port), kTuple);
  if (rec) co_return upstream_error(Errc::connect_failed, fmt::format("resolve {}: {}", host.to_string(), rec.message()));
  tcp_s.expires_after(remaining(deadline, cfg.timeouts.upstream_connect));
  auto [cec, ep] = co_await tcp_s.async_connect(results, kTuple);
  (void)ep;
  if (cec)
    co_return upstream_error(cec == beast::error::timeout ? Errc::timeout : Errc::connect_failed,
                             fmt::format("connect {}: {}", host.to_string(),
                                         cec == beast::error::timeout ? "timed out" : cec.message()));
  metrics.upstream_connects.fetch_add(1, std::memory_order_relaxed);
  beast::error_code ignored;
  tcp_s.socket().set_option(tcp::no_delay(true), ignored);
  if (cfg.upstream.protocol != UpstreamProtocol::https) co_return std::make_unique<Connection>(std::move(tcp_s));

  if (!r.https) co_return upstream_error(Errc::connect_failed, r.https_error, false);
  TlsStream s(std::move(tcp_s), *r.https);
  const std::string name = cfg.upstream.tls.server_name.empty() ? host.host : cfg.upstream.tls.server_name;
  prepare_tls_client(s.native_handle(), name, cfg.upstream.tls.verify);
  beast::get_lowest_layer(s).expires_after(remaining(deadline, cfg.timeouts.upstream_connect));
  auto [hec] = co_await s.async_handshake(asio::ssl::stream_base::client, kTuple);
  if (hec) {
    const std::string why = hec == beast::error::timeout ? "timed out" : tls_handshake_error(s.native_handle(), hec);
    co_return upstream_error(hec == beast::error::timeout ? Errc::timeout : Errc::connect_failed,
                             fmt::format("TLS {}: {}", host.to_string(), why));
  }
  co_return std::make_unique<Connection>(std::move(s));
}

// How long a host that answered "going away" is to be left alone: a 503 with
// Connection: close and Retry-After in delta-seconds (an HTTP-date counts as
// health.eject_base), clamped to [1 s, health.eject_max]. nullopt for any other answer.
template <class Message>
std::optional<Duration> OriginTier::Impl::going_away(const Message& res, const HealthConfig& health) {
  if (res.result_int() != 503 || res.keep_alive()) return std::nullopt;
  const auto it = res.find(http::field::retry_after);
  if (it == res.end()) return std::nullopt;
  const std::string_view v = it->value();
  Duration period = std::chrono::duration_cast<Duration>(health.eject_base);
  if (!v.empty() && v.size() <= 9 && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
    period = std::chrono::seconds(std::stol(std::string(v)));
  return std::clamp<Duration>(period, std::chrono::seconds(1), std::chrono::duration_cast<Duration>(health.eject_max));
}

// Whether a failed exchange on a reused connection means only that the upstream had
// closed it while idle: nothing of a response arrived, and the connection ended (EOF,
// reset, a write into a closed socket). A GET is idempotent, so it may be sent again
// (RFC 9110 §9.2.2, RFC 9112 §9.3.1); a timeout is not this case.
bool OriginTier::Impl::stale(const h1_upstream::HeadRead& head) {
  const auto& ec = head.ec;
  return !head.any_byte && head.refused.empty() &&
         (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
          ec == asio::error::broken_pipe || ec == asio::error::connection_aborted ||
          ec == asio::ssl::error::stream_truncated);
}

// One exchange with `host`. Before the head is published to the Fetch, a failure
// (connect, timeout, protocol, or a 5xx status) returns Attempt::retry unless this
// is the last attempt; once the head is published the fetch is committed to this
// host and ends here, completed or failed. A pooled connection that fails before any
// response byte is replaced once by a new connection to the same host (never another
// pooled one), without counting against the host's health.
asio::awaitable<OriginTier::Impl::Attempt> OriginTier::Impl::attempt(const Routing& routing, const SourceRequest& req,
                                                                     const SinkPtr& into, HostState& host,
                                                                     TimePoint deadline, bool last) {
  const Config& cfg = *routing.config;
  if (cfg.upstream.h2_upstream()) co_return co_await attempt_h2(cfg, req, into, host, deadline, last);
  const std::string head = upstream_request::h1_head(req, host.address, cfg.server_name);
  const std::string key = pool_key(host, routing);
  const TimePoint started = count_attempt(host);
  auto give_up = [&](Error e) { return fail_attempt(cfg, into, host, last, std::move(e)); };

  std::unique_ptr<Connection> conn = h1_upstream::take_pooled(key, pool);
  bool reused = conn != nullptr;
  std::optional<h1_upstream::ResponseParser> parser;
  for (;;) {
    if (!conn) {
      auto c = co_await connect(routing, host.address, deadline);
      if (!c) co_return give_up(std::move(c).error());
      conn = std::move(*c);
    }
    conn->tcp().expires_after(remaining(deadline, first_byte_wait(cfg, req)));
    const h1_upstream::HeadRead hr = co_await h1_upstream::exchange_head(*conn, head, parser, into.get());
    if (hr.ok()) break;
    conn.reset();  // whatever is left on it is not ours to read
    if (reused && stale(hr) && SteadyClock::now() < deadline) {
      pool.stale_retries.fetch_add(1, std::memory_order_relaxed);
      spdlog::debug("upstream {} {}: pooled connection closed by the host ({}); retrying on a new one", host.id,
                    req.target, hr.ec.message());
      reused = false;
      continue;
    }
    if (!hr.refused.empty())
      co_return give_up(upstream_error(Errc::protocol, fmt::format("{} {}: {}", host.id, req.target, hr.refused)));
    const Errc code = hr.ec == beast::error::timeout ? Errc::timeout : Errc::protocol;
    Error e = upstream_error(code, fmt::format("{} {}: {}", host.id, req.target,
                                               code == Errc::timeout ? "no response in time" : hr.ec.message()));
    if (code == Errc::timeout && req.held_first_byte) co_return held_timeout(into, host, std::move(e));
    co_return give_up(std::move(e));
  }

  auto& res = parser->get();
  const int status = static_cast<int>(res.result_int());
  if (status < 100 || status > 599)  // Beast takes any three digits; RFC 9110 §15: only 100..599 are valid
    co_return give_up(upstream_error(Errc::protocol, fmt::format("{} {}: invalid status {}", host.id, req.target, status)));
  // A held request's wait is the stream's, not the host's latency.
  if (!req.held_first_byte) host.first_byte.observe(std::chrono::duration<double>(SteadyClock::now() - started).count());
  // A host going away says so: 503 + Retry-After + Connection: close (an hlscache draining
  // after SIGTERM, or shedding load). It is ejected for Retry-After at once — not after
  // fail_threshold failures, and not counted as one — and the request tries the next host.
  if (const auto leaving = going_away(res, cfg.upstream.health)) {
    host.eject_for(*leaving, fmt::format("answered 503 with Retry-After and Connection: close (draining or shedding)"));
    if (!last) co_return Attempt::retry;
  } else if (held_gave_up(req, status)) {
    // the stream's wait, not the host's failure
  } else if (status >= 500 && !last) {
    // The connection is dropped with the unread body: cheaper than draining it.
    co_return give_up(upstream_error(Errc::upstream_status, fmt::format("{} {}: status {}", host.id, req.target, status)));
  } else if (status >= 500) {
    host.record_failure(cfg.upstream.health, fmt::format("status {}", status));
  } else {
    host.record_success();
  }

  ResponseHead rh;
  rh.status = status;
  rh.headers = h1_upstream::end_to_end_fields(res);
  if (auto len = parser->content_length()) rh.content_length = *len;
  const auto window = h1_upstream::reuse_window(h1_upstream::parse_keep_alive(res), cfg.upstream.pool_idle);
  const h1_upstream::BodyRead body =
      co_await h1_upstream::stream_body_into(*conn, *parser, std::move(rh), *into, cfg.timeouts.upstream_idle, deadline);
  // Every path that returns without give_back closes the connection (conn goes out of
  // scope): a cut body, a refused one, or an exchange not read to its end.
  if (body.too_large) {
    fail(into, Error::make(ErrorSource::upstream, Errc::too_large,
                           fmt::format("{} body over limits.max_object_bytes", req.target)));
    co_return Attempt::done;
  }
  if (body.ec) {
    const Errc code = SteadyClock::now() >= deadline ? Errc::timeout : classify(body.ec);
    Error e = upstream_error(code, fmt::format("{} {}: body cut after {} bytes: {}", host.id, req.target,
                                               body.received, body.ec.message()));
    host.record_failure(cfg.upstream.health, e.message);
    fail(into, std::move(e));
    co_return Attempt::done;
  }
  metrics.upstream_bytes.fetch_add(body.received, std::memory_order_relaxed);
  into->complete();
  ++conn->exchanges;
  if (window && h1_upstream::reusable(*conn, *parser))
    h1_upstream::give_back(key, std::move(conn), cfg.upstream.pool_per_thread, *window, pool);
  co_return Attempt::done;
}

}  // namespace hlscache
