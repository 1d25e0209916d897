#include "core/spawn.hpp"
#include "source/origin_tier.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "core/http_fields.hpp"
#include "source/h2_upstream.hpp"
#include "source/h1_connection.hpp"
#include "source/h1_pool.hpp"
#include "source/hash_ring.hpp"
#include "source/upstream_host.hpp"
#include "source/upstream_request.hpp"
#include "source/tls_client.hpp"

namespace hlscache {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

using h1_upstream::Connection;
using h1_upstream::remaining;
using h1_upstream::kTuple;
using h1_upstream::TlsStream;

Error upstream_error(Errc code, std::string msg, bool retryable = true) {
  return Error::make(ErrorSource::upstream, code, std::move(msg), retryable);
}

Errc classify(const beast::error_code& ec) {
  if (ec == beast::error::timeout) return Errc::timeout;
  if (ec == http::error::partial_message || ec == asio::error::eof || ec == http::error::end_of_stream ||
      ec == asio::error::connection_reset || ec == asio::ssl::error::stream_truncated)
    return Errc::truncated;
  return Errc::protocol;
}


// An immutable membership snapshot: the ring and the state of each member.
struct Membership {
  HashRing ring;
  std::vector<HostStatePtr> hosts;  // index = ring member index
};

struct GroupRuntime {
  UpstreamGroup config;
  std::atomic<std::shared_ptr<const Membership>> members;
  std::mutex states_mutex;
  std::map<std::string, HostStatePtr> states;  // by address, for reuse across rebuilds

  // Builds a snapshot of `addresses` (weights from config for static hosts, 1 for DNS ones).
  std::shared_ptr<const Membership> build(const std::vector<UpstreamHost>& hosts, std::uint64_t tier) {
    std::lock_guard lock(states_mutex);
    std::vector<HashRing::Member> ring_members;
    std::vector<HostStatePtr> host_states;
    std::map<std::string, HostStatePtr> kept;
    for (const auto& h : hosts) {
      const std::string id = h.address.to_string();
      if (kept.count(id)) continue;
      auto it = states.find(id);
      HostStatePtr s = it != states.end() ? it->second : std::make_shared<HostState>(config.name, h.address, tier);
      kept.emplace(id, s);
      ring_members.push_back(HashRing::Member{id, h.weight});
      host_states.push_back(std::move(s));
    }
    states = std::move(kept);
    return std::make_shared<const Membership>(Membership{HashRing(std::move(ring_members)), std::move(host_states)});
  }
};
using GroupPtr = std::shared_ptr<GroupRuntime>;

// Routes and groups of one config generation.
struct Routing {
  ConfigPtr config;
  std::shared_ptr<asio::ssl::context> https;  // protocol https: the client context
  std::string https_error;                    // ...or why there is none
  std::vector<std::pair<std::string, GroupPtr>> routes;  // longest prefix first
  std::vector<GroupPtr> groups;

  const std::pair<std::string, GroupPtr>* match(std::string_view path) const {
    for (const auto& r : routes)
      if (path.substr(0, r.first.size()) == r.first) return &r;
    return nullptr;
  }
};

std::vector<UpstreamHost> resolve_members(const UpstreamGroup& g, const std::vector<tcp::endpoint>& resolved) {
  std::vector<UpstreamHost> out = g.hosts;
  for (const auto& ep : resolved) out.push_back(UpstreamHost{HostPort{ep.address().to_string(), ep.port()}, 1});
  return out;
}

std::set<std::string> ids_of(const Membership& m) {
  std::set<std::string> ids;
  for (const auto& h : m.hosts) ids.insert(h->id);
  return ids;
}

}  // namespace

// This thread's HTTP/2 upstream clients, by tier instance.
static thread_local std::unordered_map<std::uint64_t, std::unique_ptr<H2Upstream>> t_h2_clients;

struct OriginTier::Impl : std::enable_shared_from_this<OriginTier::Impl> {
  Metrics& metrics;
  std::atomic<std::shared_ptr<const Routing>> routing;
  Counter retries{0}, no_route{0}, no_host{0};
  h1_upstream::PoolStats pool;  // this tier's HTTP/1.1 connection reuse

  asio::io_context* io = nullptr;  // where DNS and health loops run (set by start())
  // Names this tier's pooled connections and HTTP/2 clients in the per-thread tables:
  // unique in the process (an address could be reused by a later tier).
  const std::uint64_t instance = next_instance.fetch_add(1, std::memory_order_relaxed);
  static inline std::atomic<std::uint64_t> next_instance{1};

  explicit Impl(Metrics& m) : metrics(m) {}

  void start_loops(const Routing& r) {
    for (const auto& g : r.groups) {
      if (g->config.dns) asio::co_spawn(*io, dns_loop(weak_from_this(), g), log_escape("DNS loop"));
      if (r.config->upstream.health.check_interval.count() > 0)
        asio::co_spawn(*io, health_loop(weak_from_this(), g), log_escape("health loop"));
    }
  }

  // --- membership -----------------------------------------------------------

  std::shared_ptr<const Routing> build_routing(const ConfigPtr& config, const Routing* previous) {
    auto r = std::make_shared<Routing>();
    r->config = config;
    if (config->upstream.protocol == UpstreamProtocol::https) {
      const auto& t = config->upstream.tls;
      auto ctx = make_tls_client_context(t.verify, t.ca_file, std::string_view("\x08http/1.1", 9));
      if (ctx) r->https = std::move(*ctx);
      else spdlog::error("{}", (r->https_error = ctx.error().message));
    }
    for (const auto& gc : config->upstream.groups) {
      auto g = std::make_shared<GroupRuntime>();
      g->config = gc;
      // Host state survives a reload for a group of the same name.
      if (previous)
        for (const auto& old : previous->groups)
          if (old->config.name == gc.name) {
            std::lock_guard lock(old->states_mutex);
            g->states = old->states;
          }
      std::vector<tcp::endpoint> resolved;
      if (gc.dns) resolved = resolve_now(*gc.dns);
      g->members.store(g->build(resolve_members(gc, resolved), instance));
      r->groups.push_back(std::move(g));
    }
    for (const auto& route : config->upstream.routes)
      for (const auto& g : r->groups)
        if (g->config.name == route.group) r->routes.emplace_back(route.prefix, g);
    return r;
  }

  static std::vector<tcp::endpoint> resolve_now(const HostPort& name) {
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

  static asio::awaitable<void> dns_loop(std::weak_ptr<Impl> self_weak, std::weak_ptr<GroupRuntime> group_weak) {
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
  bool apply_resolved(GroupRuntime& g, const std::vector<tcp::endpoint>& eps) {
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

  // --- health ---------------------------------------------------------------

  static asio::awaitable<void> health_loop(std::weak_ptr<Impl> self_weak, std::weak_ptr<GroupRuntime> group_weak) {
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

  asio::awaitable<void> check_host(std::shared_ptr<Impl> self, HostStatePtr h) {
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

  // --- one HTTP/1.1 exchange -------------------------------------------------

  // Clear and TLS connections to one host are pooled apart (a reload may switch).
  static std::string pool_key(const HostState& host, const Routing& r) {
    return r.config->upstream.protocol == UpstreamProtocol::https ? host.pool_key + "|tls" : host.pool_key;
  }

  // A new connection to `host`: TCP, then for protocol https the TLS handshake (SNI,
  // the certificate checked against the host's name or upstream.tls.server_name).
  asio::awaitable<Result<std::unique_ptr<Connection>>> connect(const Routing& r, const HostPort& host, TimePoint deadline) {
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

  enum class Attempt { done, retry };

  // How long a host that answered "going away" is to be left alone: a 503 with
  // Connection: close and Retry-After in delta-seconds (an HTTP-date counts as
  // health.eject_base), clamped to [1 s, health.eject_max]. nullopt for any other answer.
  template <class Message>
  static std::optional<Duration> going_away(const Message& res, const HealthConfig& health) {
    if (res.result_int() != 503 || res.keep_alive()) return std::nullopt;
    const auto it = res.find(http::field::retry_after);
    if (it == res.end()) return std::nullopt;
    const std::string_view v = it->value();
    Duration period = std::chrono::duration_cast<Duration>(health.eject_base);
    if (!v.empty() && v.size() <= 9 && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
      period = std::chrono::seconds(std::stol(std::string(v)));
    return std::clamp<Duration>(period, std::chrono::seconds(1), std::chrono::duration_cast<Duration>(health.eject_max));
  }

  // Every attempt, whatever the protocol: counted on the host; returns when it started.
  TimePoint count_attempt(HostState& host) {
    metrics.upstream_requests.fetch_add(1, std::memory_order_relaxed);
    host.requests.fetch_add(1, std::memory_order_relaxed);
    return SteadyClock::now();
  }

  // A failure before the head was published: counts against the host's health, then
  // either lets the caller try the next host or, on the last attempt, fails the fetch.
  Attempt fail_attempt(const Config& cfg, const SinkPtr& into, HostState& host, bool last, Error e) {
    host.record_failure(cfg.upstream.health, e.message);
    if (!last) {
      spdlog::info("upstream {} {}: {}; trying the next host", host.group, host.id, e.message);
      return Attempt::retry;
    }
    fail(into, std::move(e));
    return Attempt::done;
  }

  // Whether a failed exchange on a reused connection means only that the upstream had
  // closed it while idle: nothing of a response arrived, and the connection ended (EOF,
  // reset, a write into a closed socket). A GET is idempotent, so it may be sent again
  // (RFC 9110 §9.2.2, RFC 9112 §9.3.1); a timeout is not this case.
  static bool stale(const h1_upstream::HeadRead& head) {
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
  asio::awaitable<Attempt> attempt(const Routing& routing, const SourceRequest& req, const SinkPtr& into,
                                   HostState& host, TimePoint deadline, bool last) {
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
      conn->tcp().expires_after(remaining(deadline, cfg.timeouts.upstream_first_byte));
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
      co_return give_up(upstream_error(code, fmt::format("{} {}: {}", host.id, req.target,
                                                         code == Errc::timeout ? "no response in time" : hr.ec.message())));
    }

    auto& res = parser->get();
    const int status = static_cast<int>(res.result_int());
    if (status < 100 || status > 599)  // Beast takes any three digits; RFC 9110 §15: only 100..599 are valid
      co_return give_up(upstream_error(Errc::protocol, fmt::format("{} {}: invalid status {}", host.id, req.target, status)));
    host.first_byte.observe(std::chrono::duration<double>(SteadyClock::now() - started).count());
    // A host going away says so: 503 + Retry-After + Connection: close (an hlscache draining
    // after SIGTERM, or shedding load). It is ejected for Retry-After at once — not after
    // fail_threshold failures, and not counted as one — and the request tries the next host.
    if (const auto leaving = going_away(res, cfg.upstream.health)) {
      host.eject_for(*leaving, fmt::format("answered 503 with Retry-After and Connection: close (draining or shedding)"));
      if (!last) co_return Attempt::retry;
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

  // This thread's HTTP/2 client (h2c or h2 upstreams): its connections multiplex every
  // fetch of this thread to a host. Made on first use, with the settings of that moment.
  H2Upstream& h2_client(const Config& cfg, const asio::any_io_executor& ex) {
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
  asio::awaitable<Attempt> attempt_h2(const Config& cfg, const SourceRequest& req, const SinkPtr& into,
                                      HostState& host, TimePoint deadline, bool last) {
    const TimePoint started = count_attempt(host);
    auto give_up = [&](Error e) { return fail_attempt(cfg, into, host, last, std::move(e)); };
    H2UpstreamRequest r;
    r.host = host.address;
    r.target = req.target;
    r.headers = upstream_request::h2_fields(req, cfg.server_name);
    r.interim = into.get();
    r.first_byte_deadline = std::min(deadline, started + cfg.timeouts.upstream_first_byte);
    auto& client = h2_client(cfg, co_await asio::this_coro::executor);
    auto response = co_await client.request(std::move(r));
    if (!response) co_return give_up(std::move(response).error());
    auto& resp = **response;
    const int status = resp.head().status;
    host.first_byte.observe(std::chrono::duration<double>(SteadyClock::now() - started).count());
    if (status >= 500 && !last) {
      resp.cancel();
      co_return give_up(upstream_error(Errc::upstream_status, fmt::format("{} {}: status {}", host.id, req.target, status)));
    }
    if (status >= 500) host.record_failure(cfg.upstream.health, fmt::format("status {}", status));
    else host.record_success();
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

  void fail(const SinkPtr& into, Error e) {
    metrics.upstream_errors.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("upstream fetch failed: {}", e.describe());
    into->fail(std::move(e));
  }

  static void answer_locally(const SinkPtr& into, int status, std::string body) {
    ResponseHead rh;
    rh.status = status;
    // The same for every viewer (shared with collapsed requests), never kept.
    rh.headers = {{"Content-Type", "text/plain; charset=utf-8"}, {"Cache-Control", "max-age=0, must-revalidate"}};
    rh.content_length = body.size();
    into->set_head(std::move(rh));
    into->append(body);
    into->complete();
  }

  // Candidate hosts for a request: ring order, hosts that are not ejected first.
  // When every candidate is ejected they are all tried anyway, in ring order: a
  // request is better sent to a host that may have recovered than failed unsent.
  static void candidates(const Membership& m, std::uint64_t key_hash, TimePoint now, std::vector<HostState*>& out) {
    thread_local std::vector<std::uint32_t> order;
    m.ring.walk(key_hash, m.ring.size(), order);
    out.clear();
    for (auto i : order)
      if (!m.hosts[i]->ejected(now)) out.push_back(m.hosts[i].get());
    for (auto i : order)
      if (m.hosts[i]->ejected(now)) out.push_back(m.hosts[i].get());
  }

  static std::uint64_t key_hash(const GroupRuntime& g, std::string_view prefix, const std::string& target,
                                const std::string& key) {
    if (g.config.hash == HashKey::stream) {
      std::string_view path = std::string_view(target).substr(0, target.find('?'));
      return HashRing::hash_key(OriginTier::stream_key(path, prefix));
    }
    return HashRing::hash_key(key);
  }
};

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

std::string OriginTier::stream_key(std::string_view path, std::string_view prefix) {
  if (path.substr(0, prefix.size()) != prefix) return std::string(path);
  std::string_view rest = path.substr(prefix.size());
  while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  const auto slash = rest.find('/');
  std::string out(prefix);
  if (!out.empty() && out.back() != '/') out += '/';
  out += rest.substr(0, slash);
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
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

RouteChoice OriginTier::route(const std::string& target, const std::string& key) const {
  RouteChoice choice;
  auto routing = impl_->routing.load();
  std::string_view path = std::string_view(target).substr(0, target.find('?'));
  const auto* r = routing->match(path);
  if (!r) return choice;
  choice.group = r->second->config.name;
  auto members = r->second->members.load();
  std::vector<HostState*> hosts;
  Impl::candidates(*members, Impl::key_hash(*r->second, r->first, target, key), SteadyClock::now(), hosts);
  for (auto* h : hosts) choice.hosts.push_back(h->address);
  return choice;
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

// The status page's view of the tier (source/upstream_status.hpp): one self-contained
// function reading the current routing's groups, their membership snapshots and each
// member's health counters; nothing is locked but the snapshots' atomics.
namespace hlscache {

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
