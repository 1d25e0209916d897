#include "segmenter/live_stream.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <utility>

namespace hlscache {

LiveRendition::LiveRendition(std::string stream, RenditionConfig config, const StreamConfig& sc)
    : stream_(std::move(stream)), config_(std::move(config)), target_(sc.target_duration),
      window_segments_(sc.window), vod_keep_(sc.vod_keep), pause_grace_(sc.effective_pause_grace()),
      container_(sc.container), part_target_(sc.part_target) {}

std::shared_ptr<RenditionWindow> LiveRendition::window(TimePoint now) const {
  std::lock_guard lock(mu_);
  // A new session without a segment yet: viewers keep the previous session's window.
  if (kept_ && (!kept_ended_at_ || now - *kept_ended_at_ <= vod_keep_)) return kept_;
  if (ended_at_ && now - *ended_at_ > vod_keep_) return nullptr;
  return window_;
}

std::shared_ptr<RenditionWindow> LiveRendition::current_window() const {
  std::lock_guard lock(mu_);
  return window_;
}

std::optional<TimePoint> LiveRendition::paused_since() const {
  std::lock_guard lock(mu_);
  return paused_at_;
}

boost::asio::awaitable<bool> LiveRendition::wait_for_segment(TimePoint deadline) {
  std::unique_lock lock(mu_);
  co_return co_await waiters_.wait(lock, deadline);
}

void LiveRendition::expire(TimePoint now) {
  std::shared_ptr<RenditionWindow> w, grace_over;
  std::optional<TimePoint> silent_since;
  {
    std::lock_guard lock(mu_);
    w = window_;
    if (paused_at_ && now - *paused_at_ > pause_grace_ && !publishing_.load()) {
      grace_over = window_;
      silent_since = paused_at_;
      ended_at_ = *paused_at_ + pause_grace_;
      paused_at_.reset();
    }
  }
  if (grace_over) {
    grace_over->end();
    spdlog::info("{}/{}: no publisher for {} ms (pause_grace {} ms): the stream ends (ENDLIST)", stream_,
                 config_.name, std::chrono::duration_cast<std::chrono::milliseconds>(now - *silent_since).count(),
                 pause_grace_.count());
    std::unique_lock lock(mu_);
    waiters_.notify_all(lock);
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
  if (cutter_) w->set_stream_facts(cutter_->facts());
  if (cmaf()) return;  // the cutter only reports facts: the muxer's parts make the segments
  // A window without a segment yet is a new session's (a resumed one has its segments).
  const bool announce = !w->playlist() || w->playlist()->segment_count == 0;
  segments_cut_.fetch_add(1, std::memory_order_relaxed);
  if (auto st = w->add(std::move(s), SteadyClock::now()); !st)
    spdlog::warn("{}/{}: segment not added: {}", stream_, config_.name, st.error().message);
  announce_first(*w, announce);
}

// Wakes the requests waiting for the window to grow; when it has its first content,
// the previous session's window goes and on_first_segment tells the local role.
void LiveRendition::announce_first(RenditionWindow& w, bool first) {
  std::unique_lock lock(mu_);
  if (first && window_.get() == &w) {
    kept_.reset();
    kept_ended_at_.reset();
  }
  waiters_.notify_all(lock);  // releases the lock
  if (first && on_first_segment) on_first_segment(*this);
}

void LiveRendition::on_cmaf_part(CmafPart&& p) {
  std::unique_lock lock(mu_);
  auto w = window_;
  lock.unlock();
  if (!w || !p.init) return;
  // Only this publisher's thread adds parts and segments: the snapshot stays as read.
  auto snap = w->playlist();
  const bool first = snap->segment_count == 0 && snap->open_parts == 0;
  if (p.starts_segment && snap->open_parts > 0) {
    close_open_segment(*w);
    snap = w->playlist();
  }
  Part part;
  part.sequence = snap->next_sequence;
  part.index = static_cast<std::uint32_t>(snap->open_parts);
  part.duration = p.duration;
  part.independent = p.independent;
  part.discontinuity = part.index == 0 && (p.discontinuity || std::exchange(cmaf_discontinuity_, false));
  part.size = p.bytes.size();
  part.chunks.push_back(Chunk::copy_of(p.bytes));
  // The part is handed over when the frame after it arrives: its first frame came
  // about its duration earlier.
  part.ingest_time = std::chrono::system_clock::now() -
                     std::chrono::duration_cast<WallTime::duration>(std::chrono::duration<double>(p.duration));
  part.map = w->add_init(*p.init);
  if (auto st = w->add_part(std::move(part), SteadyClock::now()); !st)
    spdlog::warn("{}/{}: part not added: {}", stream_, config_.name, st.error().message);
  announce_first(*w, first);
  // Cut at a segment boundary: the segment is whole now, not a part later, and the
  // preload hint names the next segment's first part.
  if (p.ends_segment) close_open_segment(*w);
}

void LiveRendition::close_open_segment(RenditionWindow& w) {
  const auto before = w.playlist();
  if (!before || before->open_parts == 0) return;
  segments_cut_.fetch_add(1, std::memory_order_relaxed);
  if (auto st = w.close_parts(SteadyClock::now()); !st)
    spdlog::warn("{}/{}: segment not added: {}", stream_, config_.name, st.error().message);
  announce_first(w, false);
}

std::uint64_t sequence_floor(std::chrono::milliseconds target, WallTime now) {
  const auto half = std::max<std::int64_t>(1, target.count() / 2);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  return ms > 0 ? static_cast<std::uint64_t>(ms / half) : 0;
}

std::string new_session_id() {
  static std::mutex mu;
  static std::random_device device;  // getrandom(2)
  std::lock_guard lock(mu);
  return fmt::format("{:08x}", static_cast<std::uint32_t>(device()));
}

std::unique_ptr<PublishSession> PublishSession::begin(LiveRendition& r) {
  if (r.publishing_.exchange(true)) return nullptr;
  std::unique_lock lock(r.mu_);
  std::uint64_t first = 0;
  if (r.window_) first = r.window_->playlist() ? r.window_->playlist()->next_sequence : 0;
  const bool resume = r.window_ && r.paused_at_ && !r.ended_at_;
  // A new window never numbers below what an earlier run of the stream, in this process
  // or before a restart, can have used (sequence_floor).
  const std::uint64_t floor = resume ? 0 : sequence_floor(r.target_, std::chrono::system_clock::now());
  first = std::max(first, floor);
  CutterConfig cc;
  cc.target_duration = r.target_;
  cc.first_sequence = first;
  cc.continues_timeline = resume;  // its first segment is flagged EXT-X-DISCONTINUITY
  r.cutter_ = std::make_unique<Cutter>(cc, [&r](Segment&& s) { r.on_segment(std::move(s)); });
  if (r.cmaf()) {
    CmafConfig mc;
    mc.part_target = r.part_target_;
    mc.segment_target = r.target_;
    r.muxer_ = std::make_unique<CmafMuxer>(mc, [&r](CmafPart&& p) { r.on_cmaf_part(std::move(p)); });
    r.cmaf_discontinuity_ = resume;  // a resumed session's first segment is discontinuous
  }
  if (resume) {
    // Back within the pause grace: the same window goes on after a discontinuity.
    const auto silent = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - *r.paused_at_);
    r.paused_at_.reset();
    lock.unlock();
    spdlog::info("{}/{}: publishing resumes after {} ms at media sequence {} (discontinuity)", r.stream_,
                 r.config_.name, silent.count(), first);
    return std::unique_ptr<PublishSession>(new PublishSession(r));
  }
  // A new window. The previous one, if it ended with segments, is what viewers get
  // until this one has its first segment.
  if (r.window_ && r.ended_at_ && r.window_->playlist() && r.window_->playlist()->segment_count > 0) {
    r.kept_ = r.window_;
    r.kept_ended_at_ = r.ended_at_;
  }
  RenditionWindowConfig wc;
  wc.target_duration = r.target_;
  wc.window_segments = r.window_segments_;
  wc.first_sequence = first;
  wc.first_discontinuity_sequence = floor;  // above any earlier run's: a restart is a new discontinuity
  wc.first_segment_discontinuity = true;
  const std::string session = new_session_id();
  wc.segment_prefix = fmt::format("seg_{}_", session);
  if (r.cmaf()) {
    wc.segment_suffix = ".m4s";
    wc.part_target = r.part_target_;
    wc.part_prefix = fmt::format("part_{}_", session);
    wc.map_prefix = fmt::format("init_{}_", session);
  }
  r.window_ = std::make_shared<RenditionWindow>(wc);
  r.ended_at_.reset();
  r.paused_at_.reset();
  lock.unlock();
  spdlog::info("{}/{}: publishing starts: session {}, media sequence {}", r.stream_, r.config_.name, session, first);
  if (r.on_session_start) r.on_session_start(r);
  return std::unique_ptr<PublishSession>(new PublishSession(r));
}

PublishSession::~PublishSession() { end(); }

void PublishSession::feed(const char* data, std::size_t n) { feed(data, n, std::chrono::system_clock::now()); }

void PublishSession::feed(const char* data, std::size_t n, WallTime arrived) {
  last_byte_ = SteadyClock::now();
  r_.cutter_->feed(data, n, arrived);
  if (r_.muxer_) r_.muxer_->feed(data, n);
  r_.ingest_bytes_.fetch_add(n, std::memory_order_relaxed);
  const CutterStats st = r_.cutter_->stats();
  const std::uint64_t errors = st.sync_losses + st.cc_errors + st.transport_errors + st.invalid_packets +
                               st.psi_errors + st.pes_errors;
  if (errors > errors_seen_) {
    r_.ingest_errors_.fetch_add(errors - errors_seen_, std::memory_order_relaxed);
    errors_seen_ = errors;
  }
}
void PublishSession::discontinuity() {
  r_.cutter_->mark_discontinuity();
  r_.cmaf_discontinuity_ = true;
}
CutterStats PublishSession::stats() const { return r_.cutter_->stats(); }
std::uint64_t PublishSession::segments() const { return r_.cutter_->next_sequence(); }

void PublishSession::end() { finish(true); }
void PublishSession::suspend() { finish(false); }

void PublishSession::finish(bool clean) {
  if (ended_) return;
  ended_ = true;
  std::unique_lock lock(r_.mu_);
  const bool cut_any = r_.window_ && r_.window_->playlist() &&
                       (r_.window_->playlist()->segment_count > 0 || r_.window_->playlist()->open_parts > 0);
  lock.unlock();
  // A publisher gone before its first whole segment leaves nothing behind: its partial
  // segment is dropped, not flushed (which would replace a kept window with a stub).
  if (clean || cut_any) {
    r_.cutter_->finish();
    if (r_.muxer_) {
      r_.muxer_->finish();
      if (auto w = r_.current_window()) r_.close_open_segment(*w);
    }
  }
  CutterStats st = r_.cutter_->stats();
  lock.lock();
  auto w = r_.window_;
  r_.last_stats_ = st;
  const bool has_segments = w && w->playlist() && w->playlist()->segment_count > 0;
  const char* how = "ended";
  if (!has_segments && r_.kept_) {
    // Refused or broken before its first segment: the previous session's ended window
    // stays what it was (issue 15: a failed publish never removes another's content).
    r_.window_ = std::exchange(r_.kept_, nullptr);
    r_.ended_at_ = std::exchange(r_.kept_ended_at_, std::nullopt);
    w = nullptr;
    how = "ended without a segment; the previous session's window stays";
  } else if (clean || !has_segments) {
    r_.ended_at_ = SteadyClock::now();
    r_.paused_at_.reset();
  } else {
    r_.paused_at_ = last_byte_;
    w = nullptr;  // no ENDLIST: live for the pause grace
    how = "paused (no ENDLIST while the pause grace runs)";
  }
  lock.unlock();
  if (w) w->end();
  spdlog::info("{}/{}: publishing {}: {} bytes, {} packets, {} resyncs ({} bytes skipped), {} continuity errors",
               r_.stream_, r_.config_.name, how, st.bytes_in, st.packets, st.resyncs, st.bytes_skipped, st.cc_errors);
  lock.lock();
  r_.cutter_.reset();
  r_.muxer_.reset();
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
