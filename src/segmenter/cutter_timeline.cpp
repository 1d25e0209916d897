// Cutter, timeline side: one keyframe verdict per access unit of the timeline PID,
// and the cut rule (docs/segmenter.md, "Cut rule"). A verdict can arrive a few
// packets after the access unit began (the first slice NAL follows SPS/PPS/SEI);
// the packets in between are moved to the new segment, behind its PAT and PMT.
#include <algorithm>
#include <cmath>

#include "segmenter/audio_format.hpp"
#include "segmenter/cutter.hpp"
#include "segmenter/timestamp.hpp"

namespace hlscache {

using namespace ts;

namespace {

constexpr std::int64_t kCutTolerance = 90;  // 1 ms: timestamps rounded by the encoder still cut on time

// round(EXTINF) as a player sees it: the duration printed with 3 decimals, then rounded.
long long rounded_seconds(double seconds) { return (std::llround(seconds * 1000.0) + 500) / 1000; }

}  // namespace

void Cutter::on_timeline_packet(const std::uint8_t* p, const PacketInfo& info) {
  if (!info.has_payload) return;
  const std::uint8_t* payload = p + info.payload_offset;
  const std::size_t n = kPacketSize - info.payload_offset;
  if (info.payload_unit_start) {
    if (au_.active && !au_.decided) conclude_access_unit();
    begin_access_unit(p, info);
    return;
  }
  if (!au_.active) return;
  if (au_.header_pending) {
    PesHeader h;
    std::size_t consumed = 0;
    switch (pes_header_.feed(payload, n, h, consumed)) {
      case PesParse::ok:
        au_.header_pending = false;
        on_pes_header(h, payload + consumed, n - consumed);
        break;
      case PesParse::need_more:
        break;
      case PesParse::invalid:
        ++stats_.pes_errors;
        au_.header_pending = false;
        decide(false);
        break;
    }
    return;
  }
  if (timeline_is_video_) scan(payload, n);
}

void Cutter::begin_access_unit(const std::uint8_t* p, const PacketInfo& info) {
  au_ = AccessUnit{};
  au_.active = true;
  au_.random_access = info.random_access;
  au_.indicated_discontinuity = indicator_pending_;
  au_.arrived = arrived_;
  indicator_pending_ = false;
  if (!open_) {  // waiting for the first keyframe: only this access unit is worth holding
    flush_run(p);
    stats_.bytes_before_start += buffer_.size();
    buffer_.clear();
  }
  au_.offset = position_of(p);
  const std::uint8_t* payload = p + info.payload_offset;
  const std::size_t n = kPacketSize - info.payload_offset;
  PesHeader h;
  switch (parse_pes_header(payload, n, h)) {
    case PesParse::ok:
      on_pes_header(h, payload + h.header_size, n - h.header_size);
      break;
    case PesParse::need_more: {
      std::size_t consumed = 0;
      pes_header_.start();
      (void)pes_header_.feed(payload, n, h, consumed);
      au_.header_pending = true;
      break;
    }
    case PesParse::invalid:
      ++stats_.pes_errors;
      decide(false);
      break;
  }
}

void Cutter::on_pes_header(const PesHeader& h, const std::uint8_t* es, std::size_t n) {
  au_.has_pts = h.has_pts;
  au_.pts = h.pts;
  au_.dts = h.dts;
  if (!timeline_is_video_) {  // audio timeline: every PES starts with a decodable frame
    if (audio_probe_pending_ && n >= kAdtsHeaderSize) {
      if (auto f = parse_adts(es, n)) {
        facts_.audio_codec_string = f->codec_string;
        audio_probe_pending_ = false;
      }
    }
    decide(true);
    return;
  }
  scanner_.start(video_codec_);
  if (au_.random_access || video_codec_ == VideoCodec::unknown) decide(au_.random_access);
  scan(es, n);
}

// Feeds NAL scanning; the scanner keeps going after an RAI verdict only to pick up the SPS.
void Cutter::scan(const std::uint8_t* es, std::size_t n) {
  if (scanner_.done()) return;
  if (!scanner_.feed(es, n)) return;
  update_video_facts();
  if (!au_.decided) decide(scanner_.keyframe());
}

void Cutter::conclude_access_unit() {
  if (au_.header_pending) ++stats_.pes_errors;
  decide(false);  // no verdict within the access unit (or the scan budget): not a keyframe
}

void Cutter::decide(bool keyframe) {
  au_.decided = true;
  flush_run(current_);
  const bool has_ts = au_.has_pts;
  bool jump = false;
  std::int64_t step = 0;
  if (has_ts && have_last_dts_) {
    step = timestamp_delta(last_dts_, au_.dts);
    jump = step < 0 || step > gap_ticks_;
  }
  if (has_ts) {
    if (!jump && step > 0) frame_ticks_ = step;
    last_dts_ = au_.dts;
    have_last_dts_ = true;
  }
  const bool hard = jump || signalled_discontinuity_;
  if (keyframe) {
    ++stats_.keyframes;
    if (has_ts) {
      if (have_last_key_ && !hard) {
        const std::int64_t interval = timestamp_delta(last_key_pts_, au_.pts);
        stats_.max_keyframe_interval = std::max(stats_.max_keyframe_interval, ticks_to_seconds(interval));
        if (interval > target_ticks_ + kCutTolerance) ++stats_.keyframe_intervals_over_target;
      }
      last_key_pts_ = au_.pts;
      have_last_key_ = true;
    }
  }
  if (!open_) {
    if (keyframe && has_ts) {
      cut(true, true, 0);  // the first segment (flagged only if an earlier timeline existed)
    } else {
      stats_.bytes_before_start += buffer_.size();
      buffer_.clear();
      au_.active = false;
    }
    return;
  }
  const bool soft = au_.indicated_discontinuity || deferred_discontinuity_;
  if (hard || (soft && keyframe)) {
    cut(keyframe, true, extrapolated_duration());
    return;
  }
  if (soft) deferred_discontinuity_ = true;
  if (!has_ts) return;
  const std::int64_t elapsed = timestamp_delta(seg_first_pts_, au_.pts);
  if (keyframe && elapsed >= target_ticks_ - kCutTolerance) {
    cut(true, false, elapsed);
    return;
  }
  if (elapsed >= max_ticks_) {
    ++stats_.forced_cuts;
    cut(keyframe, false, elapsed);
    return;
  }
  if (timestamp_delta(seg_last_pts_, au_.pts) > 0) seg_last_pts_ = au_.pts;
}

// Ends the open segment (if any) where the current access unit begins and opens a
// new one: PAT + PMT, then the access unit's packets seen so far.
void Cutter::cut(bool keyframe, bool discontinuity, std::int64_t closing_duration) {
  buffer_.split_off(au_.offset, tail_);
  if (open_) {
    emit(closing_duration);
  } else {
    stats_.bytes_before_start += buffer_.size();
    buffer_.clear();
  }
  const auto& psi = program_.psi_packets();
  buffer_.append(psi.data(), psi.size());
  au_.offset = buffer_.size();
  buffer_.append(tail_.data(), tail_.size());
  open_ = true;
  seg_keyframe_ = keyframe;
  seg_discontinuity_ = discontinuity && started_;
  if (seg_discontinuity_) ++stats_.discontinuities;
  started_ = true;
  if (au_.has_pts) seg_first_pts_ = au_.pts;
  else seg_first_pts_ = seg_last_pts_;
  seg_ingest_time_ = au_.active ? au_.arrived : arrived_;  // a cut for size: the current packet's
  seg_last_pts_ = seg_first_pts_;
  deferred_discontinuity_ = false;
  signalled_discontinuity_ = false;
}

void Cutter::emit(std::int64_t duration_ticks) {
  Segment s;
  s.sequence = next_sequence_++;
  s.duration = ticks_to_seconds(std::max<std::int64_t>(0, duration_ticks));
  s.size = buffer_.size();
  s.chunks = buffer_.take();
  s.starts_with_keyframe = seg_keyframe_;
  s.discontinuity = seg_discontinuity_;
  s.first_pts = seg_first_pts_;
  s.ingest_time = seg_ingest_time_;

  ++stats_.segments;
  stats_.max_segment_duration = std::max(stats_.max_segment_duration, s.duration);
  const double target = static_cast<double>(config_.target_duration.count()) / 1000.0;
  if (rounded_seconds(s.duration) > rounded_seconds(target)) ++stats_.segments_over_target;
  if (s.duration > 0.0) {
    const double bits = static_cast<double>(s.size) * 8.0;
    total_bits_ += bits;
    total_seconds_ += s.duration;
    facts_.average_bitrate = total_bits_ / total_seconds_;
    if (s.duration >= target / 2) facts_.peak_bitrate = std::max(facts_.peak_bitrate, bits / s.duration);
  }
  open_ = false;
  sink_(std::move(s));
}

// The segment reached max_segment_bytes: close it before the current packet.
void Cutter::force_cut_for_size() {
  flush_run(current_);
  if (!open_) {  // a runaway access unit before the first keyframe
    stats_.bytes_before_start += buffer_.size();
    buffer_.clear();
    au_ = AccessUnit{};
    return;
  }
  ++stats_.forced_cuts;
  au_ = AccessUnit{};
  au_.offset = buffer_.size();
  cut(false, false, extrapolated_duration());
}

std::int64_t Cutter::extrapolated_duration() const {
  return timestamp_delta(seg_first_pts_, seg_last_pts_) + frame_ticks_;
}

void Cutter::signal_discontinuity() {
  if (au_.active && !au_.decided) conclude_access_unit();
  reader_.reset();
  continuity_.reset();
  signalled_discontinuity_ = true;
}

void Cutter::mark_discontinuity() {
  if (open_) deferred_discontinuity_ = true;  // before the first segment there is nothing to mark
}

void Cutter::finish() {
  if (au_.active && !au_.decided) conclude_access_unit();
  if (open_) {
    emit(extrapolated_duration());
  } else {
    stats_.bytes_before_start += buffer_.size();
  }
  buffer_.clear();
  au_ = AccessUnit{};
  reader_.reset();
  continuity_.reset();
  have_last_dts_ = false;
  have_last_key_ = false;
  signalled_discontinuity_ = true;
  deferred_discontinuity_ = false;
}

}  // namespace hlscache
