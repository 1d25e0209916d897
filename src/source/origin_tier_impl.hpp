// OriginTier's insides, shared by the files that implement it (included only from
// source/origin_*.cpp): the routing snapshot of one config generation (routes →
// groups → an immutable membership: the hash ring and each member's HostState) and
// OriginTier::Impl, split by job —
//   origin_tier.cpp         the public OriginTier methods, fetch() and the outcome of an attempt
//   origin_routing.cpp      groups, membership, the ring's candidate order, route(), stream_key()
//   origin_dns_health.cpp   DNS resolution and its re-resolution loop; the active health-check loop
//   origin_attempt_h1.cpp   one HTTP/1.1 exchange: connect (clear or TLS), pool, head, body
//   origin_attempt_h2.cpp   the same over this thread's HTTP/2 client
//   origin_metrics.cpp      the Prometheus text and readiness
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "metrics/metrics.hpp"
#include "source/h1_connection.hpp"
#include "source/h1_pool.hpp"
#include "source/h2_upstream.hpp"
#include "source/hash_ring.hpp"
#include "source/origin_tier.hpp"
#include "source/upstream_host.hpp"

namespace hlscache {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace detail {

using h1_upstream::Connection;
using h1_upstream::remaining;
using h1_upstream::kTuple;

inline Error upstream_error(Errc code, std::string msg, bool retryable = true) {
  return Error::make(ErrorSource::upstream, code, std::move(msg), retryable);
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

// A group's members: its static hosts plus the addresses its DNS name resolved to (origin_routing.cpp).
std::vector<UpstreamHost> resolve_members(const UpstreamGroup& g, const std::vector<tcp::endpoint>& resolved);

// This thread's HTTP/2 upstream clients, by tier instance (origin_attempt_h2.cpp).
extern thread_local std::unordered_map<std::uint64_t, std::unique_ptr<H2Upstream>> t_h2_clients;

}  // namespace detail

struct OriginTier::Impl : std::enable_shared_from_this<OriginTier::Impl> {
  using Routing = detail::Routing;
  using GroupRuntime = detail::GroupRuntime;
  using Membership = detail::Membership;
  using Connection = detail::Connection;

  Metrics& metrics;
  std::atomic<std::shared_ptr<const Routing>> routing;
  Counter retries{0}, no_route{0}, no_host{0}, held_timeouts{0};
  h1_upstream::PoolStats pool;  // this tier's HTTP/1.1 connection reuse

  asio::io_context* io = nullptr;  // where DNS and health loops run (set by start())
  // Names this tier's pooled connections and HTTP/2 clients in the per-thread tables:
  // unique in the process (an address could be reused by a later tier).
  const std::uint64_t instance = next_instance.fetch_add(1, std::memory_order_relaxed);
  static inline std::atomic<std::uint64_t> next_instance{1};

  explicit Impl(Metrics& m) : metrics(m) {}

  // --- membership and routing (origin_routing.cpp) ---------------------------
  std::shared_ptr<const Routing> build_routing(const ConfigPtr& config, const Routing* previous);
  static void candidates(const Membership& m, std::uint64_t key_hash, TimePoint now, std::vector<HostState*>& out);
  static std::uint64_t key_hash(const GroupRuntime& g, std::string_view prefix, const std::string& target,
                                const std::string& key);

  // --- DNS and health (origin_dns_health.cpp) ---------------------------------
  void start_loops(const Routing& r);
  static std::vector<tcp::endpoint> resolve_now(const HostPort& name);
  static asio::awaitable<void> dns_loop(std::weak_ptr<Impl> self_weak, std::weak_ptr<GroupRuntime> group_weak);
  bool apply_resolved(GroupRuntime& g, const std::vector<tcp::endpoint>& eps);
  static asio::awaitable<void> health_loop(std::weak_ptr<Impl> self_weak, std::weak_ptr<GroupRuntime> group_weak);
  asio::awaitable<void> check_host(std::shared_ptr<Impl> self, HostStatePtr h);

  // --- one attempt, whatever the protocol (origin_tier.cpp) -------------------
  enum class Attempt { done, retry };
  static Duration first_byte_wait(const Config& cfg, const SourceRequest& req);
  TimePoint count_attempt(HostState& host);
  Attempt fail_attempt(const Config& cfg, const SinkPtr& into, HostState& host, bool last, Error e);
  Attempt held_timeout(const SinkPtr& into, const HostState& host, Error e);
  // A held request (SourceRequest::held_first_byte) the upstream answered 503 or 504: it
  // gave up waiting for the segment or part, which says nothing of the host. Passed on
  // as it is: not a host failure, not retried on another host (it would wait as long).
  static bool held_gave_up(const SourceRequest& req, int status) {
    return req.held_first_byte && (status == 503 || status == 504);
  }
  void fail(const SinkPtr& into, Error e);
  static void answer_locally(const SinkPtr& into, int status, std::string body);

  // --- one HTTP/1.1 exchange (origin_attempt_h1.cpp) --------------------------
  static std::string pool_key(const HostState& host, const Routing& r);
  asio::awaitable<Result<std::unique_ptr<Connection>>> connect(const Routing& r, const HostPort& host,
                                                               TimePoint deadline);
  template <class Message>
  static std::optional<Duration> going_away(const Message& res, const HealthConfig& health);
  static bool stale(const h1_upstream::HeadRead& head);
  asio::awaitable<Attempt> attempt(const Routing& routing, const SourceRequest& req, const SinkPtr& into,
                                   HostState& host, TimePoint deadline, bool last);

  // --- one HTTP/2 exchange (origin_attempt_h2.cpp) ----------------------------
  H2Upstream& h2_client(const Config& cfg, const asio::any_io_executor& ex);
  asio::awaitable<Attempt> attempt_h2(const Config& cfg, const SourceRequest& req, const SinkPtr& into,
                                      HostState& host, TimePoint deadline, bool last);
};

}  // namespace hlscache
