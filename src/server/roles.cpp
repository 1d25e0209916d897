#include "server/roles.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "cache/cache.hpp"
#include "coalesce/coalescer.hpp"
#include "http/cache_handler.hpp"
#include "http/ingest_handler.hpp"
#include "segmenter/publishers.hpp"
#include "source/origin_tier.hpp"
#include "source/segmenter_source.hpp"

namespace hlscache {

namespace asio = boost::asio;

namespace {

void collect_cache(std::string& out, const Cache& cache) {
  CacheStats s = cache.stats();
  const std::string policy = fmt::format("policy=\"{}\"", to_string(cache.policy()));
  auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    prom_family(out, name, "counter", help);
    prom_sample(out, name, policy, static_cast<double>(v));
  };
  auto gauge = [&](const char* name, const char* help, std::uint64_t v) {
    prom_family(out, name, "gauge", help);
    prom_sample(out, name, policy, static_cast<double>(v));
  };
  counter("hlscache_cache_hits_total", "Cache lookups that found a fresh object.", s.hits);
  counter("hlscache_cache_misses_total", "Cache lookups that found nothing servable.", s.misses);
  counter("hlscache_cache_stale_hits_total", "Cache lookups that found a stale object within grace.", s.stale_hits);
  counter("hlscache_cache_inserts_total", "Objects stored.", s.inserts);
  counter("hlscache_cache_evictions_total", "Objects evicted to make room.", s.evictions);
  counter("hlscache_cache_expired_total", "Objects dropped past their stale deadline.", s.expired);
  counter("hlscache_cache_rejected_too_large_total", "Objects too large for a shard (its budget; for S4LRU a quarter of it), served but not stored.",
          s.rejected_too_large);
  gauge("hlscache_cache_objects", "Objects stored now.", s.objects);
  gauge("hlscache_cache_bytes", "Bytes charged now (bodies, headers and metadata).", s.bytes);
  gauge("hlscache_cache_capacity_bytes", "Configured capacity.", s.capacity);
  prom_family(out, "hlscache_cache_level_objects", "gauge", "Objects per S4LRU queue (other policies: level 0).");
  for (int l = 0; l < 4; ++l)
    prom_sample(out, "hlscache_cache_level_objects", fmt::format("{},level=\"{}\"", policy, l),
                static_cast<double>(s.level_objects[l]));
}

void collect_coalescer(std::string& out, const Coalescer& c) {
  CoalescerStats s = c.stats();
  prom_family(out, "hlscache_coalesce_leaders_total", "counter", "Misses that started an upstream fetch.");
  prom_sample(out, "hlscache_coalesce_leaders_total", "", static_cast<double>(s.leaders));
  prom_family(out, "hlscache_coalesce_followers_total", "counter", "Misses that joined a fetch already in flight.");
  prom_sample(out, "hlscache_coalesce_followers_total", "", static_cast<double>(s.followers));
  prom_family(out, "hlscache_coalesce_rejected_total", "counter", "Misses answered 503 at a coalescing bound.");
  prom_sample(out, "hlscache_coalesce_rejected_total", "bound=\"followers_per_key\"",
              static_cast<double>(s.rejected_followers));
  prom_sample(out, "hlscache_coalesce_rejected_total", "bound=\"inflight_fetches\"",
              static_cast<double>(s.rejected_inflight));
  prom_family(out, "hlscache_coalesce_inflight", "gauge", "Upstream fetches in flight now.");
  prom_sample(out, "hlscache_coalesce_inflight", "", static_cast<double>(s.inflight));
}

// What every role shares: the cache and the coalescer behind the cache handler,
// their metrics, and a background task reclaiming expired objects.
class CachingRole : public RoleWiring {
 public:
  explicit CachingRole(ConfigPtr config)
      : config_(std::move(config)),
        cache_(*parse_policy(config_->cache.policy), config_->cache.capacity, config_->cache.shards),
        coalescer_(CoalescerLimits{config_->limits.max_followers_per_key, config_->limits.max_inflight_fetches,
                                   std::chrono::duration_cast<Duration>(config_->timeouts.follower_wait),
                                   config_->limits.max_object_bytes}) {}

  Status wire(Router& router, Metrics& metrics, std::vector<asio::io_context*> ios) override {
    source_ = make_source(metrics);
    handler_ = std::make_unique<CacheHandler>(config_, cache_, coalescer_, *source_, SystemClock::instance());
    router.set_media(handler_.get());
    metrics.add_collector([this](std::string& out) {
      collect_cache(out, cache_);
      collect_coalescer(out, coalescer_);
      source_->collect_metrics(out);
    });
    asio::co_spawn(*ios.front(), housekeeping(), asio::detached);
    return wire_role(router, metrics, ios);
  }

 protected:
  virtual std::unique_ptr<Source> make_source(Metrics& metrics) = 0;
  virtual Status wire_role(Router&, Metrics&, std::vector<asio::io_context*>) { return Ok{}; }
  virtual void every_second(TimePoint now) { cache_.reclaim_expired(now, 1024); }

  ConfigPtr config_;

 private:
  asio::awaitable<void> housekeeping() {
    asio::steady_timer t(co_await asio::this_coro::executor);
    for (;;) {
      t.expires_after(std::chrono::seconds(1));
      auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      every_second(SteadyClock::now());
    }
  }

  Cache cache_;
  Coalescer coalescer_;
  std::unique_ptr<Source> source_;
  std::unique_ptr<CacheHandler> handler_;
};

// Edge and origin: the cache in front of the upstream tier.
class ProxyRole final : public CachingRole {
 public:
  using CachingRole::CachingRole;

 protected:
  std::unique_ptr<Source> make_source(Metrics& metrics) override {
    auto tier = std::make_unique<OriginTier>(config_, metrics);
    tier_ = tier.get();
    return tier;
  }

  Status wire_role(Router&, Metrics&, std::vector<asio::io_context*> ios) override {
    tier_->start(*ios.front());
    return Ok{};
  }

 private:
  OriginTier* tier_ = nullptr;
};

// Local: the same cache in front of the in-process segmenter, its ingest route,
// and the file/UDP publishers the config names (spread over the worker threads).
class LocalRole final : public CachingRole {
 public:
  explicit LocalRole(ConfigPtr config) : CachingRole(config), streams_(config->streams) {}

 protected:
  std::unique_ptr<Source> make_source(Metrics&) override { return std::make_unique<SegmenterSource>(streams_); }

  Status wire_role(Router& router, Metrics& metrics, std::vector<asio::io_context*> ios) override {
    ingest_ = std::make_unique<IngestHandler>(config_, streams_);
    router.set_ingest(ingest_.get());
    std::size_t next = 0;
    const Duration idle = std::chrono::duration_cast<Duration>(config_->timeouts.ingest_idle);
    for (auto& stream : streams_.all()) {
      for (auto& r : stream->renditions()) {
        auto& io = *ios[next++ % ios.size()];
        const auto& rc = r->config();
        if (!rc.source_file.empty())
          asio::co_spawn(io, run_file_source(*r, rc.source_file, rc.loop), asio::detached);
        else if (rc.udp)
          asio::co_spawn(io, run_udp_source(*r, *rc.udp, idle), asio::detached);
      }
    }
    metrics.add_collector([this](std::string& out) { collect_streams(out); });
    return Ok{};
  }

  void every_second(TimePoint now) override {
    CachingRole::every_second(now);
    streams_.expire(now);
  }

 private:
  void collect_streams(std::string& out) {
    prom_family(out, "hlscache_segmenter_segments_total", "counter", "Segments cut, per rendition (current session).");
    for (auto& s : streams_.all())
      for (auto& r : s->renditions()) {
        auto w = r->window(SteadyClock::now());
        double added = w ? static_cast<double>(w->stats().segments_added) : 0;
        prom_sample(out, "hlscache_segmenter_segments_total",
                    fmt::format("stream=\"{}\",rendition=\"{}\"", s->name(), r->name()), added);
      }
    prom_family(out, "hlscache_segmenter_publishing", "gauge", "1 while a publisher feeds the rendition.");
    for (auto& s : streams_.all())
      for (auto& r : s->renditions())
        prom_sample(out, "hlscache_segmenter_publishing",
                    fmt::format("stream=\"{}\",rendition=\"{}\"", s->name(), r->name()), r->publishing() ? 1 : 0);
  }

  LiveStreams streams_;
  std::unique_ptr<IngestHandler> ingest_;
};

}  // namespace

std::unique_ptr<RoleWiring> make_role(ConfigPtr config) {
  if (config->role == Role::local) return std::make_unique<LocalRole>(std::move(config));
  return std::make_unique<ProxyRole>(std::move(config));
}

}  // namespace hlscache
