#include "segmenter/live_stream.hpp"

#include <spdlog/spdlog.h>

namespace hlscache {

LiveRendition::LiveRendition(std::string stream, RenditionConfig config, const StreamConfig& sc)
    : stream_(std::move(stream)), config_(std::move(config)), target_(sc.target_duration),
      window_segments_(sc.window), vod_keep_(sc.vod_keep) {}

std::shared_ptr<RenditionWindow> LiveRendition::window(TimePoint now) const {
  std::lock_guard lock(mu_);
  if (ended_at_ && now - *ended_at_ > vod_keep_) return nullptr;
  return window_;
}

boost::asio::awaitable<bool> LiveRendition::wait_for_segment(TimePoint deadline) {
  std::unique_lock lock(mu_);
  co_return co_await waiters_.wait(lock, deadline);
}

void LiveRendition::expire(TimePoint now) {
  std::shared_ptr<RenditionWindow> w;
  {
    std::lock_guard lock(mu_);
    w = window_;
  }
  if (w) w->expire(now);
}

CutterStats LiveRendition::last_stats() const {
  std::lock_guard lock(mu_);
  return last_stats_;
}

void LiveRendition::on_segment(Segment&& s) {
  std::unique_lock lock(mu_);
  auto w = window_;
  lock.unlock();
  if (!w) return;
  segments_cut_.fetch_add(1, std::memory_order_relaxed);
  if (cutter_) w->set_stream_facts(cutter_->facts());
  if (auto st = w->add(std::move(s), SteadyClock::now(), std::chrono::system_clock::now()); !st)
    spdlog::warn("{}/{}: segment not added: {}", stream_, config_.name, st.error().message);
  lock.lock();
  waiters_.notify_all(lock);
}

std::unique_ptr<PublishSession> PublishSession::begin(LiveRendition& r) {
  if (r.publishing_.exchange(true)) return nullptr;
  std::unique_lock lock(r.mu_);
  std::uint64_t first = 0;
  if (r.window_) first = r.window_->playlist() ? r.window_->playlist()->next_sequence : 0;
  RenditionWindowConfig wc;
  wc.target_duration = r.target_;
  wc.window_segments = r.window_segments_;
  wc.first_sequence = first;
  r.window_ = std::make_shared<RenditionWindow>(wc);
  r.ended_at_.reset();
  CutterConfig cc;
  cc.target_duration = r.target_;
  cc.first_sequence = first;
  r.cutter_ = std::make_unique<Cutter>(cc, [&r](Segment&& s) { r.on_segment(std::move(s)); });
  lock.unlock();
  spdlog::info("{}/{}: publishing starts at media sequence {}", r.stream_, r.config_.name, first);
  if (r.on_session_start) r.on_session_start(r);
  return std::unique_ptr<PublishSession>(new PublishSession(r));
}

PublishSession::~PublishSession() { end(); }

void PublishSession::feed(const char* data, std::size_t n) {
  r_.cutter_->feed(data, n);
  r_.ingest_bytes_.fetch_add(n, std::memory_order_relaxed);
  const CutterStats st = r_.cutter_->stats();
  const std::uint64_t errors = st.sync_losses + st.cc_errors + st.transport_errors + st.invalid_packets +
                               st.psi_errors + st.pes_errors;
  if (errors > errors_seen_) {
    r_.ingest_errors_.fetch_add(errors - errors_seen_, std::memory_order_relaxed);
    errors_seen_ = errors;
  }
}
void PublishSession::discontinuity() { r_.cutter_->signal_discontinuity(); }
CutterStats PublishSession::stats() const { return r_.cutter_->stats(); }
std::uint64_t PublishSession::segments() const { return r_.cutter_->next_sequence(); }

void PublishSession::end() {
  if (ended_) return;
  ended_ = true;
  r_.cutter_->finish();
  CutterStats st = r_.cutter_->stats();
  std::unique_lock lock(r_.mu_);
  auto w = r_.window_;
  r_.last_stats_ = st;
  r_.ended_at_ = SteadyClock::now();
  lock.unlock();
  if (w) w->end();
  spdlog::info("{}/{}: publishing ended: {} bytes, {} packets, {} resyncs ({} bytes skipped), {} continuity errors",
               r_.stream_, r_.config_.name, st.bytes_in, st.packets, st.resyncs, st.bytes_skipped, st.cc_errors);
  lock.lock();
  r_.cutter_.reset();
  r_.waiters_.notify_all(lock);
  r_.publishing_.store(false);
}

LiveStream::LiveStream(const StreamConfig& config) : config_(config) {
  for (const auto& rc : config_.renditions)
    renditions_.push_back(std::make_unique<LiveRendition>(config_.name, rc, config_));
}

LiveRendition* LiveStream::rendition(std::string_view name) {
  for (auto& r : renditions_)
    if (r->name() == name) return r.get();
  return nullptr;
}

std::optional<std::string> LiveStream::master_playlist(TimePoint now) const {
  std::vector<RenditionInfo> infos;
  for (const auto& r : renditions_) {
    auto w = r->window(now);
    if (!w || !w->playlist() || w->playlist()->segment_count == 0) return std::nullopt;
    infos.push_back(w->rendition_info(r->name()));
  }
  return render_master_playlist(infos);
}

LiveStreams::LiveStreams(const std::vector<StreamConfig>& streams) {
  for (const auto& s : streams) streams_.push_back(std::make_unique<LiveStream>(s));
}

LiveStream* LiveStreams::find(std::string_view name) {
  for (auto& s : streams_)
    if (s->name() == name) return s.get();
  return nullptr;
}

void LiveStreams::expire(TimePoint now) {
  for (auto& s : streams_)
    for (auto& r : s->renditions()) r->expire(now);
}

}  // namespace hlscache
