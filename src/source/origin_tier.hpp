// OriginTier: the Source for edges and origins. A request is routed by path prefix
// to an upstream group (no route: 404, nothing goes upstream); the group's
// consistent-hash ring (source/hash_ring.hpp) orders its hosts for the request's
// hash key — the normalized cache key ("segment") or the stream's path prefix
// ("stream") — and the fetch goes to the first host that is not ejected. A connect
// error, a timeout or a 5xx before any byte reached the client retries on the next
// distinct host clockwise, up to upstream.retries times, on the same Fetch: the
// followers coalesced on it stay attached across the failover.
//
// Health. Passive: a host with health.fail_threshold consecutive failures is
// ejected for eject_base, doubled on each repeated ejection up to eject_max; while
// ejected its keys go to their next host on the ring, and come back when it is
// healthy again (a success, or an active check that passes). Active (optional):
// GET health.check_path on every host every check_interval.
//
// Membership. A group's hosts come from config and/or `dns: name:port`, re-resolved
// every dns_interval (every A/AAAA record is a host: a Kubernetes headless Service).
// A change builds a new immutable ring snapshot; in-flight fetches keep the one
// they started with. Host state (health, counters) is keyed by group and address,
// so it survives rebuilds.
//
// Transport: HTTP/1.1 (Beast, coroutines) with a per-thread pool of idle keep-alive
// connections per host (upstream.pool_per_thread, source/h1_pool.hpp), deadlines for
// connect, first byte, each body read and the whole fetch (all attempts together).
// A request the upstream may hold (a segment ahead of the live edge: the miss path
// sets SourceRequest::held_first_byte) waits that long for its head, the whole fetch
// that much longer; running out of it is neither a host failure nor retried.
// Only GET goes upstream; hop-by-hop headers are dropped both ways; Via is added
// (source/upstream_request.hpp). 1xx heads are read past to the final response (a
// 103 goes to the sink's interim()). A connection is pooled only once its response
// was read to the end, waits at most upstream.pool_idle (less if the host's
// Keep-Alive says so), and is probed before reuse; a request that fails before any
// response byte on a reused connection is resent once on a new connection to the
// same host, without counting against its health. The body is read straight into
// the Fetch's chunks, so followers see bytes as they arrive.
#pragma once

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "metrics/metrics.hpp"
#include "source/source.hpp"
#include "source/upstream_status.hpp"

namespace hlscache {

// What a route lookup decided for one request (exposed for tests and the bench).
struct RouteChoice {
  std::string group;               // empty: no route
  std::vector<HostPort> hosts;     // candidate order: ring order, ejected hosts last
};

class OriginTier final : public Source {
 public:
  OriginTier(ConfigPtr config, Metrics& metrics);
  ~OriginTier() override;

  // Starts DNS re-resolution and active health checks (if configured) on `io`.
  void start(boost::asio::io_context& io);
  // Swaps in new groups and routes (config reload); in-flight fetches finish on the old ones.
  void reconfigure(const ConfigPtr& config) override;

  boost::asio::awaitable<void> fetch(SourceRequest request, SinkPtr into) override;
  void collect_metrics(std::string& out) const override;
  // Ready when every upstream group a route sends requests to has at least one member
  // that is not ejected; else which group and why (no member at all — e.g. its DNS name
  // resolved to no address — or every member ejected).
  std::string not_ready(TimePoint now) const override;

  RouteChoice route(const std::string& target, const std::string& key) const;

  // What the DNS loop does with a lookup's addresses (exposed for tests): the group's
  // members become its static hosts plus `addresses`; true if that changed the ring.
  bool apply_resolved(const std::string& group, const std::vector<HostPort>& addresses);

  // The hash key of a request under a group's hash mode ("stream": the route prefix
  // plus the first path component after it, "/live/" + "demo/720p/seg_1.ts" -> "/live/demo").
  static std::string stream_key(std::string_view path, std::string_view prefix);

  // Every group of the current routing with its members and their health at `now`
  // (the status page; defined at the end of origin_tier.cpp).
  std::vector<UpstreamGroupStatus> status(TimePoint now) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace hlscache
