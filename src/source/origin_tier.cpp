#include "source/origin_tier.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <unordered_map>

#include "cache/freshness.hpp"

namespace hlscache {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::uint32_t kMaxUpstreamHeader = 64 * 1024;
constexpr std::size_t kUpstreamReadBytes = 64 * 1024;

struct Connection {
  // Beast reads the socket into `buffer` before the parser moves body bytes into the
  // Fetch, asking for max(512, free capacity) bytes per read. Left at the few hundred
  // bytes the header needed, a 1 MiB body arrives in ~2000 reads, each a commit that
  // wakes every follower; with room reserved each read takes up to 64 KiB.
  explicit Connection(const asio::any_io_executor& ex) : stream(ex) { buffer.reserve(kUpstreamReadBytes); }
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
};

// Idle keep-alive connections of this thread, per (tier, host). A fetch runs on one
// io_context thread from start to end, so a thread-local pool needs no lock.
using PoolKey = std::string;
thread_local std::unordered_map<PoolKey, std::vector<std::unique_ptr<Connection>>> t_pools;

Error upstream_error(Errc code, std::string msg, bool retryable = true) {
  return Error::make(ErrorSource::upstream, code, std::move(msg), retryable);
}

Errc classify(const beast::error_code& ec) {
  if (ec == beast::error::timeout) return Errc::timeout;
  if (ec == http::error::partial_message || ec == asio::error::eof || ec == http::error::end_of_stream ||
      ec == asio::error::connection_reset)
    return Errc::truncated;
  return Errc::protocol;
}

}  // namespace

struct OriginTier::Impl {
  ConfigPtr config;
  Metrics& metrics;
  std::string pool_prefix;

  Impl(ConfigPtr c, Metrics& m) : config(std::move(c)), metrics(m), pool_prefix(fmt::format("{}|", fmt::ptr(this))) {}

  std::chrono::steady_clock::duration remaining(TimePoint deadline, Millis cap) const {
    auto left = deadline - SteadyClock::now();
    return std::max<Duration>(std::chrono::milliseconds(1), std::min<Duration>(left, cap));
  }

  std::unique_ptr<Connection> take_pooled(const PoolKey& key) {
    auto it = t_pools.find(key);
    if (it == t_pools.end() || it->second.empty()) return nullptr;
    auto c = std::move(it->second.back());
    it->second.pop_back();
    return c;
  }

  void give_back(const PoolKey& key, std::unique_ptr<Connection> c) {
    auto& pool = t_pools[key];
    if (pool.size() < config->upstream.pool_per_thread && c->buffer.size() == 0) pool.push_back(std::move(c));
  }

  asio::awaitable<Result<std::unique_ptr<Connection>>> connect(const HostPort& host, TimePoint deadline) {
    auto ex = co_await asio::this_coro::executor;
    auto conn = std::make_unique<Connection>(ex);
    tcp::resolver resolver(ex);
    auto [rec, results] = co_await resolver.async_resolve(host.host, std::to_string(host.port), kTuple);
    if (rec) co_return upstream_error(Errc::connect_failed, fmt::format("resolve {}: {}", host.to_string(), rec.message()));
    conn->stream.expires_after(remaining(deadline, config->timeouts.upstream_connect));
    auto [cec, ep] = co_await conn->stream.async_connect(results, kTuple);
    (void)ep;
    if (cec)
      co_return upstream_error(cec == beast::error::timeout ? Errc::timeout : Errc::connect_failed,
                               fmt::format("connect {}: {}", host.to_string(), cec.message()));
    metrics.upstream_connects.fetch_add(1, std::memory_order_relaxed);
    beast::error_code ignored;
    conn->stream.socket().set_option(tcp::no_delay(true), ignored);
    co_return conn;
  }

  std::string request_head(const SourceRequest& req, const HostPort& host) const {
    std::string out = fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\n", req.target, host.to_string());
    for (const auto& [k, v] : req.headers) fmt::format_to(std::back_inserter(out), "{}: {}\r\n", k, v);
    fmt::format_to(std::back_inserter(out), "Via: 1.1 {}\r\n", config->server_name);
    if (!req.client_address.empty()) fmt::format_to(std::back_inserter(out), "X-Forwarded-For: {}\r\n", req.client_address);
    out += "Connection: keep-alive\r\n\r\n";
    return out;
  }

  asio::awaitable<void> fetch(const SourceRequest& req, const FetchPtr& into, const HostPort& host) {
    const TimePoint deadline = SteadyClock::now() + config->timeouts.upstream_total;
    const PoolKey key = pool_prefix + host.to_string();
    const std::string head = request_head(req, host);
    metrics.upstream_requests.fetch_add(1, std::memory_order_relaxed);

    std::unique_ptr<Connection> conn;
    std::optional<http::response_parser<http::buffer_body>> parser;
    for (int attempt = 0; attempt < 2; ++attempt) {
      conn = take_pooled(key);
      const bool reused = conn != nullptr;
      if (!conn) {
        auto c = co_await connect(host, deadline);
        if (!c) co_return fail(into, std::move(c).error());
        conn = std::move(*c);
      }
      conn->stream.expires_after(remaining(deadline, config->timeouts.upstream_first_byte));
      auto [wec, wn] = co_await asio::async_write(conn->stream, asio::buffer(head), kTuple);
      (void)wn;
      parser.emplace();
      parser->header_limit(kMaxUpstreamHeader);
      parser->body_limit(boost::none);  // the Fetch enforces limits.max_object_bytes
      beast::error_code ec = wec;
      if (!ec) {
        auto [rec, rn] = co_await http::async_read_header(conn->stream, conn->buffer, *parser, kTuple);
        (void)rn;
        ec = rec;
      }
      if (!ec) break;
      // A pooled connection the upstream closed while idle: retry once on a new one.
      bool stale_pooled = reused && (ec == http::error::end_of_stream || ec == asio::error::eof ||
                                     ec == asio::error::connection_reset || ec == asio::error::broken_pipe);
      if (stale_pooled && attempt == 0) continue;
      Errc code = ec == beast::error::timeout ? Errc::timeout : Errc::protocol;
      co_return fail(into, upstream_error(code, fmt::format("{} {}: {}", host.to_string(), req.target,
                                                            code == Errc::timeout ? "no response in time" : ec.message())));
    }

    auto& res = parser->get();
    ResponseHead rh;
    rh.status = static_cast<int>(res.result_int());
    std::string_view connection_tokens = res[http::field::connection];
    for (const auto& f : res) {
      auto name = f.name_string();
      // Date stays in the head: freshness counts Expires from it (RFC 9111 §4.2.1), and the
      // cache handler drops it where it builds the client's response (the session writes its own).
      if (is_hop_by_hop(name, connection_tokens) || f.name() == http::field::content_length ||
          f.name() == http::field::server)
        continue;
      rh.headers.emplace_back(std::string(name), std::string(f.value()));
    }
    if (auto len = parser->content_length()) rh.content_length = *len;
    into->set_head(std::move(rh));

    std::uint64_t received = 0;
    while (!parser->is_done()) {
      auto [ptr, room] = into->writable();
      if (room == 0)
        co_return fail(into, Error::make(ErrorSource::upstream, Errc::too_large,
                                         fmt::format("{} body over limits.max_object_bytes", req.target)));
      res.body().data = ptr;
      res.body().size = room;
      res.body().more = true;
      conn->stream.expires_after(remaining(deadline, config->timeouts.upstream_idle));
      auto [ec, n] = co_await http::async_read_some(conn->stream, conn->buffer, *parser, kTuple);
      (void)n;
      std::size_t got = room - res.body().size;
      received += got;
      into->commit(got);
      if (ec == http::error::need_buffer) continue;
      if (ec) {
        Errc code = SteadyClock::now() >= deadline ? Errc::timeout : classify(ec);
        co_return fail(into, upstream_error(code, fmt::format("{} {}: body cut after {} bytes: {}", host.to_string(),
                                                              req.target, received, ec.message())));
      }
    }
    metrics.upstream_bytes.fetch_add(received, std::memory_order_relaxed);
    into->complete();
    if (parser->keep_alive()) give_back(key, std::move(conn));
  }

  void fail(const FetchPtr& into, Error e) {
    metrics.upstream_errors.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("upstream fetch failed: {}", e.describe());
    into->fail(std::move(e));
  }
};

OriginTier::OriginTier(ConfigPtr config, Metrics& metrics) : impl_(std::make_unique<Impl>(std::move(config), metrics)) {}
OriginTier::~OriginTier() = default;

const HostPort& OriginTier::pick_host(const std::string& /*key*/) const {
  // One host for now; the consistent-hash ring over many hosts plugs in here.
  return impl_->config->upstream.hosts.front();
}

asio::awaitable<void> OriginTier::fetch(SourceRequest request, FetchPtr into) {
  co_await impl_->fetch(request, into, pick_host(request.key));
}

}  // namespace hlscache
