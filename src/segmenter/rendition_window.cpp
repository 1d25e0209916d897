#include "segmenter/rendition_window.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <cmath>

namespace hlscache {
namespace {

Duration seconds_to_duration(double s) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}

}  // namespace

RenditionWindow::RenditionWindow(RenditionWindowConfig config)
    : config_(std::move(config)),
      configured_target_(static_cast<int>(
          std::max<long long>(1, rounded_extinf(static_cast<double>(config_.target_duration.count()) / 1000.0)))),
      next_sequence_(config_.first_sequence),
      discontinuity_sequence_(config_.first_discontinuity_sequence),
      target_duration_(configured_target_),
      listeners_(std::make_shared<const ListenerList>()) {
  stats_.target_duration = target_duration_;
  publish_locked();
}

Status RenditionWindow::add(Segment segment, TimePoint now) {
  Snapshot snapshot;
  std::shared_ptr<const ListenerList> listeners;
  {
    std::lock_guard lock(mu_);
    if (ended_ || (any_segment_ && segment.sequence != next_sequence_)) {
      ++stats_.segments_rejected;
      return Error::make(ErrorSource::internal, Errc::invalid_argument,
                         ended_ ? "segment after the end of the stream"
                                : "segment " + std::to_string(segment.sequence) + " out of sequence, expected " +
                                      std::to_string(next_sequence_));
    }
    expire_locked(now);
    const long long rounded = rounded_extinf(segment.duration);
    if (rounded > configured_target_) ++stats_.segments_over_target;
    // LL-HLS: its parts are published already, and with them its start.
    const bool has_parts = !open_parts_.empty() && open_parts_.front()->sequence == segment.sequence;
    if (has_parts) segment.discontinuity = open_parts_.front()->discontinuity;
    if (!any_segment_) {
      // The first GOP may force a longer target duration; it is fixed from here on.
      target_duration_ = static_cast<int>(std::max<long long>(configured_target_, rounded));
      // Discontinuous with whatever came before this window, if anything may have.
      segment.discontinuity = config_.first_segment_discontinuity;
    } else if (rounded > target_duration_) {
      // Never publish TARGETDURATION < round(EXTINF): raise it (counted, see docs/segmenter.md).
      target_duration_ = static_cast<int>(rounded);
      ++stats_.target_duration_raises;
    }
    stats_.target_duration = target_duration_;

    auto stored = std::make_shared<StoredSegment>();
    if (has_parts) {
      stored->program_date_time = open_program_date_time_;
      stored->parts = std::move(open_parts_);
      stored->part_entries = std::move(open_part_entries_);
    } else {
      stored->program_date_time = program_date_time_locked(segment.ingest_time, segment.discontinuity);
    }
    open_parts_.clear();
    open_part_entries_.clear();
    any_discontinuity_ |= segment.discontinuity;
    if (segment.duration > 0.0) {
      const double bits = static_cast<double>(segment.size) * 8.0;
      total_bits_ += bits;
      total_seconds_ += segment.duration;
      stats_.average_bitrate = total_bits_ / total_seconds_;
      const double target = static_cast<double>(config_.target_duration.count()) / 1000.0;
      if (segment.duration >= target / 2) stats_.peak_bitrate = std::max(stats_.peak_bitrate, bits / segment.duration);
    }
    stored->segment = std::move(segment);
    next_sequence_ = stored->segment.sequence + 1;
    window_.push_back(std::move(stored));
    any_segment_ = true;
    ++stats_.segments_added;
    slide_locked(now);
    publish_locked();
    snapshot = snapshot_;
    listeners = listeners_;
  }
  notify(snapshot, listeners);
  return Ok{};
}

Status RenditionWindow::add_part(Part part, TimePoint now) {
  Snapshot snapshot;
  std::shared_ptr<const ListenerList> listeners;
  {
    std::lock_guard lock(mu_);
    const bool first_ever = !any_segment_ && open_parts_.empty();
    if (!low_latency() || ended_ || (!first_ever && part.sequence != next_sequence_) ||
        part.index != open_parts_.size()) {
      return Error::make(ErrorSource::internal, Errc::invalid_argument,
                         fmt::format("part {}.{} out of sequence, expected {}.{}", part.sequence, part.index,
                                     next_sequence_, open_parts_.size()));
    }
    expire_locked(now);
    if (open_parts_.empty()) {
      // The segment's start: what add() would decide for it, decided now.
      if (!any_segment_) part.discontinuity = config_.first_segment_discontinuity;
      open_program_date_time_ = program_date_time_locked(part.ingest_time, part.discontinuity);
      next_sequence_ = part.sequence;
    }
    open_part_entries_.push_back({part.duration, part.independent});
    open_parts_.push_back(std::make_shared<const Part>(std::move(part)));
    publish_locked();
    snapshot = snapshot_;
    listeners = listeners_;
  }
  notify(snapshot, listeners);
  return Ok{};
}

Status RenditionWindow::close_parts(TimePoint now) {
  Segment seg;
  {
    std::lock_guard lock(mu_);
    if (open_parts_.empty()) return Ok{};
    const Part& first = *open_parts_.front();
    seg.sequence = first.sequence;
    seg.starts_with_keyframe = first.independent;
    seg.discontinuity = first.discontinuity;
    seg.ingest_time = first.ingest_time;
    seg.map = first.map;
    for (const auto& p : open_parts_) {
      seg.duration += p->duration;
      seg.size += p->size;
      seg.chunks.insert(seg.chunks.end(), p->chunks.begin(), p->chunks.end());
    }
  }
  return add(std::move(seg), now);  // parts are added by one publisher thread: they stay as read
}

// PROGRAM-DATE-TIME (docs/segmenter.md, "The live window"): chained from the previous
// segment unless this one arrived more than the tolerance earlier than the chain says
// (delivery delays only make segments late: the chain was anchored on a late arrival,
// or the source runs fast) or more than a target duration later (the source runs slow
// or stalled without a discontinuity). Then it starts again from the ingest time.
WallTime RenditionWindow::program_date_time_locked(WallTime ingest_time, bool discontinuity) {
  stats_.program_date_time_drift = 0.0;
  if (window_.empty() || discontinuity) return ingest_time;
  const StoredSegment& prev = *window_.back();
  const WallTime chained = prev.program_date_time + std::chrono::round<WallTime::duration>(
                                                        std::chrono::duration<double>(prev.segment.duration));
  const auto drift = ingest_time - chained;  // > 0: it came later than the chain says
  const auto late_limit = std::max<std::chrono::milliseconds>(config_.program_date_time_tolerance,
                                                              config_.target_duration);
  if (-drift > config_.program_date_time_tolerance || drift > late_limit) {
    ++stats_.program_date_time_resyncs;
    return ingest_time;
  }
  stats_.program_date_time_drift = std::chrono::duration<double>(drift).count();
  stats_.max_program_date_time_drift =
      std::max(stats_.max_program_date_time_drift, std::abs(stats_.program_date_time_drift));
  return chained;
}

void RenditionWindow::end() {
  Snapshot snapshot;
  std::shared_ptr<const ListenerList> listeners;
  {
    std::lock_guard lock(mu_);
    if (ended_) return;
    ended_ = true;
    publish_locked();
    snapshot = snapshot_;
    listeners = listeners_;
  }
  notify(snapshot, listeners);
}

void RenditionWindow::expire(TimePoint now) {
  std::lock_guard lock(mu_);
  expire_locked(now);
}

void RenditionWindow::expire_locked(TimePoint now) {
  while (!retired_.empty() && retired_.front().expires_at <= now) {
    retired_.pop_front();
    ++stats_.segments_freed;
  }
}

double RenditionWindow::window_duration_locked() const {
  double d = 0.0;
  for (const auto& s : window_) d += s->segment.duration;
  return d;
}

// Drops segments from the window's front while it stays longer than
// window_segments and at least 3 target durations (RFC 8216 §6.2.2).
void RenditionWindow::slide_locked(TimePoint now) {
  double duration = window_duration_locked();
  const double minimum = 3.0 * target_duration_;
  while (window_.size() > config_.max_window_segments ||
         (window_.size() > config_.window_segments && duration - window_.front()->segment.duration >= minimum)) {
    std::shared_ptr<const StoredSegment> old = std::move(window_.front());
    window_.pop_front();
    duration -= old->segment.duration;
    // Its EXT-X-DISCONTINUITY tag leaves the playlist with it (RFC 8216 §6.2.2).
    if (old->segment.discontinuity) ++discontinuity_sequence_;
    // Fetchable for the longest playlist published so far (every playlist that named
    // it was one of those) plus its own duration, and at least one target duration
    // beyond that (RFC 8216 §6.2.2).
    const double keep = max_playlist_duration_ + std::max<double>(target_duration_, old->segment.duration);
    retired_.push_back({std::move(old), now + seconds_to_duration(keep)});
    ++stats_.segments_retired;
    if (retired_.size() > config_.max_retired_segments) {
      retired_.pop_front();
      ++stats_.segments_freed_early;
    }
  }
}

void RenditionWindow::publish_locked() {
  entries_.clear();
  bool independent = true;
  for (const auto& s : window_) {
    entries_.push_back(
        {s->segment.sequence, s->segment.duration, s->segment.discontinuity, s->program_date_time, {}, s->segment.map});
    independent &= s->segment.starts_with_keyframe;
  }
  max_playlist_duration_ = std::max(max_playlist_duration_, window_duration_locked());
  MediaPlaylistView view;
  view.independent_segments = independent;
  view.target_duration = target_duration_;
  view.media_sequence = window_.empty() ? next_sequence_ : window_.front()->segment.sequence;
  if (any_discontinuity_ || discontinuity_sequence_ != 0) view.discontinuity_sequence = discontinuity_sequence_;
  view.ended = ended_;
  view.uri_prefix = config_.segment_prefix;
  view.uri_suffix = config_.segment_suffix;
  view.part_prefix = config_.part_prefix;
  view.map_prefix = config_.map_prefix;
  std::size_t skippable = 0;
  if (low_latency()) {
    LowLatencyView ll;
    ll.part_target = std::chrono::duration<double>(config_.part_target).count();
    ll.part_hold_back = 3 * ll.part_target;
    ll.can_skip_until = 6.0 * target_duration_;
    ll.open_sequence = next_sequence_;
    ll.open_parts = open_part_entries_;
    if (!open_parts_.empty()) {
      ll.open_discontinuity = open_parts_.front()->discontinuity;
      ll.open_program_date_time = open_program_date_time_;
      ll.open_map = open_parts_.front()->map;
    }
    // Parts are listed for the segments that end within three target durations of the
    // playlist's end; segments that start more than CAN-SKIP-UNTIL before it may be
    // skipped in a delta update.
    double after = 0.0;  // media after entry i
    for (const auto& p : open_part_entries_) after += p.duration;
    for (std::size_t i = entries_.size(); i-- > 0;) {
      if (after < 3.0 * target_duration_) entries_[i].parts = window_[i]->part_entries;
      after += entries_[i].duration;
      if (after - entries_[i].duration >= ll.can_skip_until && skippable == 0) skippable = i + 1;
    }
    view.low_latency = ll;
    view.version = 9;  // EXT-X-SKIP (and EXT-X-MAP needs 6)
  } else if (!maps_.empty()) {
    view.version = 6;  // EXT-X-MAP
  }
  view.entries = entries_;
  auto snap = std::make_shared<PlaylistSnapshot>();
  snap->version = snapshot_ ? snapshot_->version + 1 : 0;
  snap->text = std::make_shared<const std::string>(render_media_playlist(view));
  if (view.low_latency) {
    if (skippable > 0) {
      view.low_latency->skipped_segments = skippable;
      snap->delta_text = std::make_shared<const std::string>(render_media_playlist(view));
    } else {
      snap->delta_text = snap->text;
    }
  }
  snap->open_parts = open_parts_.size();
  if (!open_parts_.empty()) {
    snap->last_part = std::pair{next_sequence_, static_cast<std::uint64_t>(open_parts_.size() - 1)};
  } else if (!window_.empty() && !window_.back()->parts.empty()) {
    snap->last_part = std::pair{window_.back()->segment.sequence,
                                static_cast<std::uint64_t>(window_.back()->parts.size() - 1)};
  }
  snap->media_sequence = view.media_sequence;
  snap->next_sequence = next_sequence_;
  snap->segment_count = window_.size();
  snap->target_duration = target_duration_;
  snap->ended = ended_;
  snapshot_ = std::move(snap);
}

RenditionWindow::Snapshot RenditionWindow::playlist() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

SegmentLookup RenditionWindow::lookup(std::uint64_t sequence) const {
  std::lock_guard lock(mu_);
  if (!window_.empty()) {
    const std::uint64_t first = window_.front()->segment.sequence;
    if (sequence >= first && sequence < next_sequence_) {
      return {SegmentState::found, window_[static_cast<std::size_t>(sequence - first)]};
    }
  }
  if (!retired_.empty()) {
    const std::uint64_t first = retired_.front().segment->segment.sequence;
    if (sequence >= first && sequence - first < retired_.size()) {
      return {SegmentState::found, retired_[static_cast<std::size_t>(sequence - first)].segment};
    }
  }
  if (!ended_ && sequence == next_sequence_) return {SegmentState::not_yet, nullptr};
  if (!ended_ && sequence > next_sequence_) return {SegmentState::ahead, nullptr};
  return {SegmentState::never, nullptr};
}

std::optional<std::uint64_t> RenditionWindow::sequence_of(std::string_view uri) const {
  const std::string_view prefix = config_.segment_prefix;
  const std::string_view suffix = config_.segment_suffix;
  if (uri.size() <= prefix.size() + suffix.size() || !uri.starts_with(prefix) || !uri.ends_with(suffix))
    return std::nullopt;
  const std::string_view digits = uri.substr(prefix.size(), uri.size() - prefix.size() - suffix.size());
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc{} || p != digits.data() + digits.size()) return std::nullopt;
  return n;
}

std::optional<std::pair<std::uint64_t, std::uint32_t>> RenditionWindow::part_of(std::string_view uri) const {
  const std::string_view prefix = config_.part_prefix;
  const std::string_view suffix = config_.segment_suffix;
  if (!low_latency() || uri.size() <= prefix.size() + suffix.size() || !uri.starts_with(prefix) ||
      !uri.ends_with(suffix))
    return std::nullopt;
  const std::string_view middle = uri.substr(prefix.size(), uri.size() - prefix.size() - suffix.size());
  const auto dot = middle.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::uint64_t sequence = 0;
  std::uint32_t index = 0;
  auto [p1, e1] = std::from_chars(middle.data(), middle.data() + dot, sequence);
  auto [p2, e2] = std::from_chars(middle.data() + dot + 1, middle.data() + middle.size(), index);
  if (e1 != std::errc{} || p1 != middle.data() + dot || dot == 0 || e2 != std::errc{} ||
      p2 != middle.data() + middle.size() || dot + 1 == middle.size())
    return std::nullopt;
  return std::pair{sequence, index};
}

int RenditionWindow::add_init(const std::string& bytes) {
  std::lock_guard lock(mu_);
  if (!maps_.empty() && maps_.back().second.view() == bytes) return maps_.back().first;
  const int index = maps_.empty() ? 0 : maps_.back().first + 1;
  maps_.emplace_back(index, Chunk::copy_of(bytes));
  if (maps_.size() > config_.max_maps) maps_.pop_front();
  return index;
}

std::optional<Chunk> RenditionWindow::lookup_init(int index) const {
  std::lock_guard lock(mu_);
  for (const auto& [i, c] : maps_)
    if (i == index) return c;
  return std::nullopt;
}

std::optional<int> RenditionWindow::map_of(std::string_view uri) const {
  const std::string_view prefix = config_.map_prefix;
  constexpr std::string_view suffix = ".mp4";
  if (uri.size() <= prefix.size() + suffix.size() || !uri.starts_with(prefix) || !uri.ends_with(suffix))
    return std::nullopt;
  const std::string_view digits = uri.substr(prefix.size(), uri.size() - prefix.size() - suffix.size());
  int n = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc{} || p != digits.data() + digits.size() || n < 0) return std::nullopt;
  return n;
}

PartLookup RenditionWindow::lookup_part(std::uint64_t sequence, std::uint32_t index) const {
  std::lock_guard lock(mu_);
  if (sequence == next_sequence_ && !ended_) {
    if (index < open_parts_.size()) return {SegmentState::found, open_parts_[index]};
    if (index == open_parts_.size()) return {SegmentState::not_yet, nullptr};  // the preload hint
    return {SegmentState::never, nullptr};
  }
  auto from = [&](const std::shared_ptr<const StoredSegment>& s) -> PartLookup {
    if (index < s->parts.size()) return {SegmentState::found, s->parts[index]};
    return {SegmentState::never, nullptr};
  };
  if (!window_.empty()) {
    const std::uint64_t first = window_.front()->segment.sequence;
    if (sequence >= first && sequence < next_sequence_) return from(window_[static_cast<std::size_t>(sequence - first)]);
  }
  if (!retired_.empty()) {
    const std::uint64_t first = retired_.front().segment->segment.sequence;
    if (sequence >= first && sequence - first < retired_.size())
      return from(retired_[static_cast<std::size_t>(sequence - first)].segment);
  }
  return {SegmentState::never, nullptr};
}

Result<RenditionWindow::ListenerId> RenditionWindow::subscribe(Listener listener) {
  std::lock_guard lock(mu_);
  if (listeners_->size() >= config_.max_listeners) {
    return Error::make(ErrorSource::internal, Errc::overloaded, "too many playlist listeners");
  }
  auto next = std::make_shared<ListenerList>(*listeners_);
  const ListenerId id = next_listener_id_++;
  next->emplace_back(id, std::move(listener));
  listeners_ = std::move(next);
  return id;
}

void RenditionWindow::unsubscribe(ListenerId id) {
  std::lock_guard lock(mu_);
  auto next = std::make_shared<ListenerList>(*listeners_);
  std::erase_if(*next, [id](const auto& l) { return l.first == id; });
  listeners_ = std::move(next);
}

void RenditionWindow::notify(const Snapshot& snapshot, const std::shared_ptr<const ListenerList>& listeners) const {
  for (const auto& [id, fn] : *listeners) fn(snapshot);
}

void RenditionWindow::set_stream_facts(const StreamFacts& facts) {
  std::lock_guard lock(mu_);
  facts_ = facts;
}

RenditionInfo RenditionWindow::rendition_info(std::string name) const {
  std::lock_guard lock(mu_);
  RenditionInfo r;
  r.name = std::move(name);
  r.average_bandwidth = static_cast<std::uint64_t>(std::ceil(stats_.average_bitrate));
  r.bandwidth = std::max(static_cast<std::uint64_t>(std::ceil(stats_.peak_bitrate)), r.average_bandwidth);
  r.width = facts_.width;
  r.height = facts_.height;
  r.codecs = facts_.codecs();
  return r;
}

WindowStats RenditionWindow::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace hlscache
