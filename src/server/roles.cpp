#include "core/spawn.hpp"
#include "server/roles.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cache/cache.hpp"
#include "coalesce/coalescer.hpp"
#include "http/cache_handler.hpp"
#include "http/ingest_handler.hpp"
#include "metrics/viewers.hpp"
#include "core/strings.hpp"
#include "http/status_handler.hpp"
#include "segmenter/publishers.hpp"
#include "server/stream_activity.hpp"
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
  counter("hlscache_cache_inserts_total", "Objects stored.", s.inserts);
  counter("hlscache_cache_evictions_total", "Objects evicted to make room.", s.evictions);
  prom_family(out, "hlscache_cache_level_evictions_total", "counter",
              "Objects evicted, by the policy queue they were evicted from (S4LRU evicts from level 0 only; LRU/FIFO have level 0).");
  for (int l = 0; l < 4; ++l)
    prom_sample(out, "hlscache_cache_level_evictions_total", fmt::format("{},level=\"{}\"", policy, l),
                static_cast<double>(s.level_evictions[l]));
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
  prom_family(out, "hlscache_cache_level_bytes", "gauge", "Bytes charged per S4LRU queue (other policies: level 0).");
  for (int l = 0; l < 4; ++l)
    prom_sample(out, "hlscache_cache_level_bytes", fmt::format("{},level=\"{}\"", policy, l),
                static_cast<double>(s.level_bytes[l]));
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
  prom_family(out, "hlscache_coalesce_private_fetches_total", "counter",
              "Fetches made for one request alone: a pass on a hit-for-miss key, or a follower whose leader's "
              "answer could not be shared with it (private, no-store, Set-Cookie, another Vary variant).");
  prom_sample(out, "hlscache_coalesce_private_fetches_total", "", static_cast<double>(s.private_fetches));
  prom_family(out, "hlscache_coalesce_uncacheable_marks_total", "counter",
              "Keys marked hit-for-miss (freshness.hit_for_miss) because an answer could not be shared.");
  prom_sample(out, "hlscache_coalesce_uncacheable_marks_total", "", static_cast<double>(s.uncacheable_marks));
  prom_family(out, "hlscache_coalesce_inflight", "gauge", "Upstream fetches in flight now.");
  prom_sample(out, "hlscache_coalesce_inflight", "", static_cast<double>(s.inflight));
  prom_family(out, "hlscache_coalesce_followers_per_fetch", "histogram",
              "Followers that joined each finished upstream fetch (0: nobody waited on the leader).");
  c.followers_per_fetch().render(out, "hlscache_coalesce_followers_per_fetch");
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
    router.set_media(media_front(handler_.get()));
    metrics.add_collector([this](std::string& out) {
      collect_cache(out, cache_);
      collect_coalescer(out, coalescer_);
      prom_family(out, "hlscache_stream_restarts_total", "counter",
                  "Streams whose upstream restarted with reused names (a playlist going back, a segment's "
                  "bytes changing under its name): their cached objects were purged.");
      prom_sample(out, "hlscache_stream_restarts_total", "", static_cast<double>(handler_->stream_restarts()));
      source_->collect_metrics(out);
    });
    if (config_->status_page) {
      status_ = std::make_unique<StatusHandler>(config_, metrics, SystemClock::instance());
      spdlog::info("status page on /: {}", status_->load_assets());
      router.set_status(status_.get());
    }
    asio::co_spawn(*ios.front(), housekeeping(), log_escape("cache housekeeping"));
    return wire_role(router, metrics, ios);
  }

  Cache* cache() override { return &cache_; }
  std::string not_ready(TimePoint now) const override { return source_ ? source_->not_ready(now) : std::string{}; }

  void reconfigure(const ConfigPtr& config) override {
    handler_->reconfigure(config);
    source_->reconfigure(config);
  }

 protected:
  // What the router calls for media requests (LocalRole puts viewer counting in front).
  virtual Handler* media_front(Handler* cache_handler) { return cache_handler; }
  virtual std::unique_ptr<Source> make_source(Metrics& metrics) = 0;
  virtual Status wire_role(Router&, Metrics&, std::vector<asio::io_context*>) { return Ok{}; }
  virtual void every_second(TimePoint now) { cache_.reclaim_expired(now, 1024); }

  ConfigPtr config_;
  std::unique_ptr<StatusHandler> status_;  // null with status_page: false

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
    if (status_) status_->set_upstream([this] { return tier_->status(SteadyClock::now()); });
    return Ok{};
  }

 private:
  OriginTier* tier_ = nullptr;
};

// Counts viewers (ViewerTracker) from playlist requests /live/{stream}/...m3u8 and
// every request under /live/{stream}/ (StreamActivity, for the status page), then
// hands the request on — the fast path too: a fresh hit is counted and answered by
// answer_now; a request that falls through to handle() was counted there already.
class ViewerCounting final : public Handler {
 public:
  ViewerCounting(Handler& next, ViewerTracker& viewers, StreamActivity& activity)
      : next_(next), viewers_(viewers), activity_(activity) {}
  std::optional<Response> answer_now(RequestContext& req) override {
    note(req);
    return next_.answer_now(req);
  }
  asio::awaitable<Response> handle(RequestContext& req) override {
    if (!req.viewer_noted) note(req);
    co_return co_await next_.handle(req);
  }

 private:
  void note(RequestContext& req) {
    req.viewer_noted = true;
    const std::string_view path = req.path();
    const std::string_view stream = live_stream_of(path);
    if (stream.empty()) return;
    activity_.note_request(stream);
    if (path.ends_with(".m3u8")) viewers_.note(stream, req.remote.to_string(), SteadyClock::now());
  }
  Handler& next_;
  ViewerTracker& viewers_;
  StreamActivity& activity_;
};

// Local: the same cache in front of the in-process segmenter, its ingest route,
// and the file/UDP publishers the config names (spread over the worker threads).
class LocalRole final : public CachingRole {
 public:
  explicit LocalRole(ConfigPtr config) : CachingRole(config), streams_(config->streams), activity_(streams_) {}

  // [{"name", "viewers", "viewers_window_seconds", "renditions": [{"name", "publishing", "ended",
  //   "media_sequence", "next_sequence", "segments", "target_duration", "bandwidth", "average_bandwidth"}]}]
  std::string streams_json(TimePoint now) override {
    std::string out = "[";
    for (auto& s : streams_.all()) {
      const Duration window = 2 * std::chrono::duration_cast<Duration>(s->config().target_duration);
      const auto viewers = viewers_.count(s->name(), now, window);
      std::string renditions;
      for (auto& r : s->renditions()) {
        auto w = r->window(now);
        auto snap = w ? w->playlist() : nullptr;
        const RenditionInfo info = w ? w->rendition_info(r->name()) : RenditionInfo{};
        renditions += fmt::format(
            R"({}{{"name":"{}","publishing":{},"ended":{},"media_sequence":{},"next_sequence":{},"segments":{},"target_duration":{},"bandwidth":{},"average_bandwidth":{},"segments_cut_total":{}}})",
            renditions.empty() ? "" : ",", json_escape(r->name()), r->publishing() ? "true" : "false",
            snap && snap->ended ? "true" : "false", snap ? snap->media_sequence : 0, snap ? snap->next_sequence : 0,
            snap ? snap->segment_count : 0, snap ? snap->target_duration : 0, info.bandwidth, info.average_bandwidth,
            r->segments_cut());
      }
      out += fmt::format(R"({}{{"name":"{}","viewers":{},"viewers_saturated":{},"viewers_window_seconds":{},"renditions":[{}]}})",
                         out.size() > 1 ? "," : "", json_escape(s->name()), viewers.viewers,
                         viewers.saturated ? "true" : "false", std::chrono::duration<double>(window).count(), renditions);
    }
    return out + "]";
  }

 protected:
  Handler* media_front(Handler* cache_handler) override {
    viewer_counting_ = std::make_unique<ViewerCounting>(*cache_handler, viewers_, activity_);
    return viewer_counting_.get();
  }

  std::unique_ptr<Source> make_source(Metrics&) override {
    return std::make_unique<CountingSource>(std::make_unique<SegmenterSource>(streams_), activity_);
  }

  Status wire_role(Router& router, Metrics& metrics, std::vector<asio::io_context*> ios) override {
    ingest_ = std::make_unique<IngestHandler>(config_, streams_);
    router.set_ingest(ingest_.get());
    std::size_t next = 0;
    const Duration idle = std::chrono::duration_cast<Duration>(config_->timeouts.ingest_idle);
    for (auto& stream : streams_.all()) {
      for (auto& r : stream->renditions()) {
        r->on_session_start = [this](const LiveRendition& rendition) {
          activity_.session_started(rendition, SteadyClock::now());
        };
        // A new window's first segment makes the cached playlists (the last session's
        // ended one, kept for a target duration) wrong at once: drop them.
        r->on_first_segment = [this, name = stream->name()](const LiveRendition& rendition) {
          cache()->erase(fmt::format("/live/{}/index.m3u8", name));
          cache()->erase(fmt::format("/live/{}/{}/index.m3u8", name, rendition.name()));
        };
        auto& io = *ios[next++ % ios.size()];
        const auto& rc = r->config();
        if (!rc.source_file.empty())
          asio::co_spawn(io, run_file_source(*r, rc.source_file, rc.loop), log_escape("file source"));
        else if (rc.udp)
          asio::co_spawn(io, run_udp_source(*r, *rc.udp, idle), log_escape("UDP source"));
      }
    }
    metrics.add_collector([this](std::string& out) { collect_streams(out); });
    if (status_) status_->set_streams([this] { return status_streams(); });
    return Ok{};
  }

  void every_second(TimePoint now) override {
    CachingRole::every_second(now);
    streams_.expire(now);
  }

 private:
  // The streams as the status page lists them, with the URLs docs/segmenter.md gives,
  // their state (stream_activity.hpp), viewers and request counts.
  std::vector<StatusStream> status_streams() {
    const TimePoint now = SteadyClock::now();
    auto age = [&](std::optional<TimePoint> t) -> std::optional<double> {
      if (!t) return std::nullopt;
      return std::chrono::duration<double>(std::max(Duration::zero(), now - *t)).count();
    };
    std::vector<StatusStream> out;
    for (auto& s : streams_.all()) {
      StatusStream st;
      st.name = s->name();
      st.url = fmt::format("/live/{}/index.m3u8", s->name());
      st.viewers = viewers_.count(s->name(), now, 2 * std::chrono::duration_cast<Duration>(s->config().target_duration)).viewers;
      st.requests = activity_.requests(s->name());
      st.origin_requests = activity_.origin_fetches(s->name());
      std::vector<LiveState> states;
      for (auto& r : s->renditions()) {
        StatusStream::Rendition rs;
        rs.name = r->name();
        rs.url = s->single() ? st.url : fmt::format("/live/{}/{}/index.m3u8", s->name(), r->name());
        rs.publishing = r->publishing();
        const LiveState state = rendition_state(activity_.facts(*r, now));
        states.push_back(state);
        rs.state = to_string(state);
        rs.last_segment_age_s = age(activity_.rendition(*r).last_segment);
        if (rs.last_segment_age_s && (!st.last_segment_age_s || *rs.last_segment_age_s < *st.last_segment_age_s))
          st.last_segment_age_s = rs.last_segment_age_s;
        st.renditions.push_back(std::move(rs));
      }
      st.state = to_string(stream_state(states));
      out.push_back(std::move(st));
    }
    return out;
  }

  void collect_streams(std::string& out) {
    const TimePoint now = SteadyClock::now();
    prom_family(out, "hlscache_segmenter_streams", "gauge", "Configured live streams.");
    prom_sample(out, "hlscache_segmenter_streams", "", static_cast<double>(streams_.all().size()));
    auto per_rendition = [&](const char* name, const char* type, const char* help, auto value) {
      prom_family(out, name, type, help);
      for (auto& s : streams_.all())
        for (auto& r : s->renditions())
          prom_sample(out, name, fmt::format("stream=\"{}\",rendition=\"{}\"", s->name(), r->name()),
                      static_cast<double>(value(*r)));
    };
    per_rendition("hlscache_segmenter_segments_total", "counter", "Segments cut, per rendition (current session).",
                  [&](LiveRendition& r) {
                    auto w = r.window(now);
                    return w ? w->stats().segments_added : 0;
                  });
    per_rendition("hlscache_segmenter_pdt_resyncs_total", "counter",
                  "Segments whose PROGRAM-DATE-TIME restarted from their ingest time: they came more than 50 ms earlier "
                  "or a target duration later than the chain (previous PDT + EXTINF) said (current session).",
                  [&](LiveRendition& r) {
                    auto w = r.window(now);
                    return w ? w->stats().program_date_time_resyncs : 0;
                  });
    per_rendition("hlscache_segmenter_pdt_drift_seconds", "gauge",
                  "Ingest time minus the chained PROGRAM-DATE-TIME of the last segment (0 when it was not chained).",
                  [&](LiveRendition& r) {
                    auto w = r.window(now);
                    return w ? w->stats().program_date_time_drift : 0.0;
                  });
    per_rendition("hlscache_segmenter_segments_cut_total", "counter", "Segments cut, per rendition, since start.",
                  [](LiveRendition& r) { return r.segments_cut(); });
    per_rendition("hlscache_segmenter_ingest_bytes_total", "counter", "MPEG-TS bytes fed to the segmenter, since start.",
                  [](LiveRendition& r) { return r.ingest_bytes(); });
    per_rendition("hlscache_segmenter_ingest_errors_total", "counter",
                  "Input errors: sync losses, continuity and transport errors, invalid packets, PSI/PES errors.",
                  [](LiveRendition& r) { return r.ingest_errors(); });
    prom_family(out, "hlscache_segmenter_viewers", "gauge",
                "Distinct client addresses that fetched a playlist of the stream within 2 x its target duration.");
    for (auto& s : streams_.all())
      prom_sample(out, "hlscache_segmenter_viewers", fmt::format("stream=\"{}\"", s->name()),
                  static_cast<double>(
                      viewers_.count(s->name(), now, 2 * std::chrono::duration_cast<Duration>(s->config().target_duration)).viewers));
    prom_family(out, "hlscache_segmenter_publishing", "gauge", "1 while a publisher feeds the rendition.");
    for (auto& s : streams_.all())
      for (auto& r : s->renditions())
        prom_sample(out, "hlscache_segmenter_publishing",
                    fmt::format("stream=\"{}\",rendition=\"{}\"", s->name(), r->name()), r->publishing() ? 1 : 0);
  }

  LiveStreams streams_;
  StreamActivity activity_;  // after streams_: built from it
  std::unique_ptr<IngestHandler> ingest_;
  ViewerTracker viewers_;
  std::unique_ptr<ViewerCounting> viewer_counting_;
};

}  // namespace

std::unique_ptr<RoleWiring> make_role(ConfigPtr config) {
  if (config->role == Role::local) return std::make_unique<LocalRole>(std::move(config));
  return std::make_unique<ProxyRole>(std::move(config));
}

}  // namespace hlscache
