// CmafMuxer: timestamps, the part and segment cut rules, and the audio frame
// count that keeps AAC samples contiguous (docs/segmenter.md, "fMP4/CMAF output").
#include "segmenter/cmaf_muxer.hpp"

#include <algorithm>
#include <cstdlib>

#include "segmenter/timestamp.hpp"

namespace hlscache {
namespace {

using fmp4::AdtsFrame;
using fmp4::Sample;

constexpr std::int64_t kAacFrame = AdtsFrame::kSamples;
// One frame at 25 fps: the last sample's duration when no DTS step is known yet (a one-frame stream).
constexpr std::int64_t kFallbackFrameTicks = 3600;

std::int64_t ms_to_ticks(std::chrono::milliseconds ms, std::int64_t timescale) { return ms.count() * timescale / 1000; }

// 90 kHz -> `rate` Hz and back, rounded to the nearest tick.
std::int64_t rescale(std::int64_t t, std::int64_t from, std::int64_t to) { return (t * to + from / 2) / from; }

}  // namespace

std::int64_t CmafMuxer::Clock::advance(std::uint64_t raw, std::int64_t gap) {
  if (!have) {
    have = true;
    jumped = false;
    last_raw = raw;
    last = static_cast<std::int64_t>(raw);
    return last;
  }
  const std::int64_t step = ts::timestamp_delta(last_raw, raw);
  last_raw = raw;
  jumped = step < 0 || step > gap;
  last = jumped ? static_cast<std::int64_t>(raw) : last + step;
  return last;
}

CmafMuxer::CmafMuxer(CmafConfig config, PartSink sink)
    : config_(config),
      sink_(std::move(sink)),
      demux_([this](ts::EsPacket&& pkt) { on_es(std::move(pkt)); }),
      gap_ticks_(ts::millis_to_ticks(config.max_timestamp_gap.count())) {}

void CmafMuxer::feed(const std::uint8_t* data, std::size_t size) { demux_.feed(data, size); }

void CmafMuxer::on_es(ts::EsPacket&& pkt) {
  if (pkt.kind == ts::EsKind::video) {
    on_video(std::move(pkt));
  } else {
    on_audio(pkt);
  }
}

// ---- video: the timeline ----

void CmafMuxer::on_video(ts::EsPacket&& pkt) {
  const ts::VideoCodec codec = demux_.video_codec();
  if (codec == ts::VideoCodec::unknown || !pkt.has_pts) {
    ++stats_.video_dropped;
    return;
  }
  if (started_ && audio_only_) end_timeline();  // the program has video now: it becomes the timeline
  if (codec != video_codec_) {  // a new encoding: its own parameter sets, from its first keyframe
    if (started_) end_timeline();
    video_codec_ = codec;
    video_ps_ = {};
    video_track_.reset();
  }
  fmp4::VideoAccessUnit au = fmp4::to_video_sample(codec, pkt.payload);
  if (au.sample.empty()) {  // no slice to decode (parameter sets alone, or garbage)
    ++stats_.video_dropped;
    return;
  }
  const std::int64_t dts = video_clock_.advance(pkt.dts, gap_ticks_);
  const auto cto = static_cast<std::int32_t>(ts::timestamp_delta(pkt.dts, pkt.pts));
  if (au.keyframe && !au.parameter_sets.empty()) update_video_track(codec, au.parameter_sets);
  if (!started_) {
    if (!au.keyframe || !video_track_) {
      ++stats_.video_before_start;
      return;
    }
    start_video(dts);
  } else {
    const bool jumped = video_clock_.jumped;
    if (jumped) {
      ++stats_.timestamp_jumps;
      close_held_video(frame_ticks_ > 0 ? frame_ticks_ : kFallbackFrameTicks);
    } else {
      const std::int64_t step = dts - static_cast<std::int64_t>(held_video_->dts);
      if (step > 0) frame_ticks_ = step;
      close_held_video(step);
    }
    const bool new_init = au.keyframe && wants_new_init();
    const std::int64_t segment_elapsed = dts - segment_start_;
    const bool segment_cut = jumped || new_init || (au.keyframe && segment_elapsed >= segment_target_ - cut_tolerance_);
    const bool part_full = dts - part_start_ + frame_ticks_ > part_target_ || part_video_.size() >= kMaxPartSamples;
    if (segment_cut || part_full) {
      const Sample& last = part_video_.back();  // after a jump, `dts` is on the new timeline
      cut_part(static_cast<std::int64_t>(last.dts) + last.duration, jumped, segment_cut);
      if (segment_cut) {
        begin_segment(dts, jumped || new_init);  // other tracks or encoding parameters: a discontinuity too
      } else {
        part_start_ = dts;
      }
      if (new_init) new_init_ = true;
    }
  }
  held_video_ = Sample{static_cast<std::uint64_t>(dts), 0, cto, au.keyframe, std::move(au.sample)};
}

void CmafMuxer::start_video(std::int64_t dts) {
  started_ = true;
  audio_only_ = false;
  part_target_ = ms_to_ticks(config_.part_target, ts::kTicksPerSecond);
  segment_target_ = ms_to_ticks(config_.segment_target, ts::kTicksPerSecond);
  cut_tolerance_ = ts::kTicksPerSecond / 1000;  // 1 ms, as the Cutter: encoders round timestamps
  begin_segment(dts, cut_any_);
  if (writer_ && wants_new_init()) new_init_ = true;
  // Audio that ends before the first picture is of no use to a player starting here.
  audio_floor_ = dts;
  audio_floor_set_ = true;
  std::erase_if(pending_audio_, [&](const Sample& s) { return audio_before_floor(s); });
}

void CmafMuxer::update_video_track(ts::VideoCodec codec, const fmp4::ParameterSets& ps) {
  if (ps == video_ps_ || !ps.complete(codec)) return;
  auto track = fmp4::video_track(codec, ps);
  if (!track) {
    ++stats_.parameter_set_errors;
    return;
  }
  video_ps_ = ps;
  video_track_ = std::move(*track);
}

void CmafMuxer::close_held_video(std::int64_t duration) {
  held_video_->duration = static_cast<std::uint32_t>(duration);
  part_video_.push_back(std::move(*held_video_));
  held_video_.reset();
}

bool CmafMuxer::wants_new_init() const {
  if (!writer_) return false;
  const bool video_differs = audio_only_ ? writer_->video().has_value() : writer_->video() != video_track_;
  return video_differs || writer_->audio() != audio_track_;
}

// The first parts wait (up to a segment target) for the audio the PMT announces,
// so that the init segment has both tracks from the start: muxers send audio late
// (ffmpeg's by up to 0.7 s), so the first ADTS header may follow several parts' video.
bool CmafMuxer::waiting_for_audio(std::int64_t elapsed) const {
  return !writer_ && !audio_only_ && demux_.audio_kind() == ts::StreamKind::aac_adts && !audio_track_ &&
         elapsed < segment_target_ && unwritten_.size() < kMaxHeldParts;
}

// ---- audio ----

void CmafMuxer::on_audio(const ts::EsPacket& pkt) {
  if (demux_.audio_kind() != ts::StreamKind::aac_adts) return;  // other audio is not packaged
  if (started_ && !audio_only_ && !demux_.has_video()) end_timeline();  // the video is gone: audio takes over
  if (!pkt.has_pts) {
    ++stats_.audio_dropped;
    return;
  }
  std::size_t skipped = 0;
  const std::vector<AdtsFrame> frames = fmp4::split_adts(pkt.payload, skipped);
  stats_.audio_bytes_skipped += skipped;
  if (frames.empty()) return;
  const std::int64_t pts = audio_clock_.advance(pkt.pts, gap_ticks_);
  if (audio_clock_.jumped) on_audio_jump();
  std::int64_t at = rescale(pts, ts::kTicksPerSecond, frames.front().sample_rate);
  for (const AdtsFrame& f : frames) {
    place_audio_frame(f, at);
    at += kAacFrame;
  }
}

// `at`: where the frame's PES timestamp puts it. The frame count decides instead
// while the two agree within half a frame: PTS are rounded to 90 kHz, the count is exact.
void CmafMuxer::place_audio_frame(const AdtsFrame& f, std::int64_t at) {
  if (!audio_track_ || !std::ranges::equal(audio_track_->decoder_config, f.audio_specific_config)) {
    on_audio_config(f);
    have_audio_next_ = false;
  }
  std::int64_t t = at;
  if (have_audio_next_) {
    const std::int64_t off = at - audio_next_;
    if (std::abs(off) <= kAacFrame / 2) {
      t = audio_next_;
    } else if (off < 0) {  // overlaps the frame before: dropped, so that audio keeps to its timestamps
      ++stats_.audio_gaps;
      ++stats_.audio_dropped;
      return;
    } else {  // a hole (lost PES): the frame before, if still here, is stretched over it
      ++stats_.audio_gaps;
      Sample* before = pending_audio_.empty() ? nullptr : &pending_audio_.back();
      if (before != nullptr && static_cast<std::int64_t>(before->dts) + before->duration == audio_next_) {
        before->duration += static_cast<std::uint32_t>(off);
      }
    }
  }
  have_audio_next_ = true;
  audio_next_ = t + kAacFrame;
  if (!started_ && !demux_.has_video()) start_audio_only(t);
  if (audio_only_ && started_) cut_audio_only(t);
  if (audio_floor_set_ && rescale(t + kAacFrame, audio_track_->timescale, ts::kTicksPerSecond) <= audio_floor_) {
    ++stats_.audio_dropped;
    return;
  }
  // Frames must match the configuration the next part is written with.
  const bool writes_new = !writer_ || new_init_;
  if (!writes_new && writer_->audio() && writer_->audio() != audio_track_) {
    ++stats_.audio_dropped;  // until the new init segment at the next keyframe
    return;
  }
  if (pending_audio_.size() >= kMaxPendingAudio) {
    pending_audio_.pop_front();
    ++stats_.audio_dropped;
  }
  pending_audio_.push_back(Sample{static_cast<std::uint64_t>(t), static_cast<std::uint32_t>(kAacFrame), 0, true,
                                  std::vector<std::uint8_t>(f.raw.begin(), f.raw.end())});
}

void CmafMuxer::on_audio_config(const AdtsFrame& f) {
  if (audio_only_ && started_) {
    // The frames so far go out with the old configuration; a new segment starts here.
    if (!pending_audio_.empty()) cut_part(0, true);
    next_starts_segment_ = true;
    next_discontinuity_ = true;
    new_init_ = true;
  }
  audio_track_ = fmp4::audio_track(f);
  if (!writer_ || new_init_) {  // they would be written with the new configuration
    stats_.audio_dropped += pending_audio_.size();
    pending_audio_.clear();
  }
}

// A new audio timeline. Audio-only, it is the stream's: the part ends and a
// discontinuous segment follows. Otherwise the video decides the cuts, and the
// frames of the old timeline still waiting for their part are dropped.
void CmafMuxer::on_audio_jump() {
  have_audio_next_ = false;
  audio_floor_set_ = false;
  if (audio_only_ && started_) {
    ++stats_.timestamp_jumps;
    if (!pending_audio_.empty()) cut_part(0, true);
    next_starts_segment_ = true;
    next_discontinuity_ = true;
    return;
  }
  stats_.audio_dropped += pending_audio_.size();
  pending_audio_.clear();
}

void CmafMuxer::start_audio_only(std::int64_t t) {
  started_ = true;
  audio_only_ = true;
  const std::int64_t rate = audio_track_->timescale;
  part_target_ = ms_to_ticks(config_.part_target, rate);
  segment_target_ = ms_to_ticks(config_.segment_target, rate);
  cut_tolerance_ = rate / 1000;
  stats_.audio_dropped += pending_audio_.size();  // left from a timeline that had video
  pending_audio_.clear();
  begin_segment(t, cut_any_);
  if (writer_ && wants_new_init()) new_init_ = true;
}

// Audio-only: every frame is a sync sample, so parts and segments are cut on frames.
void CmafMuxer::cut_audio_only(std::int64_t t) {
  if (pending_audio_.empty()) {  // the part (and the segment, if one is due) starts with this frame
    part_start_ = t;
    if (next_starts_segment_) segment_start_ = t;
    return;
  }
  const bool segment_cut = t - segment_start_ >= segment_target_ - cut_tolerance_;
  const bool part_full = t - part_start_ + kAacFrame > part_target_ || pending_audio_.size() >= kMaxPartSamples;
  if (!segment_cut && !part_full) return;
  cut_part(0, true);
  if (segment_cut) {
    begin_segment(t, false);
  } else {
    part_start_ = t;
  }
}

// ---- output ----

void CmafMuxer::begin_segment(std::int64_t at, bool discontinuity) {
  part_start_ = at;
  segment_start_ = at;
  next_starts_segment_ = true;
  next_discontinuity_ = discontinuity;
}

// Cuts a part of the video samples gathered (audio-only: the frames pending),
// ending at `end` (timeline ticks; audio-only: unused), and writes it unless the
// init segment must wait for the audio.
void CmafMuxer::cut_part(std::int64_t end, bool all_audio, bool ends_segment) {
  CutPart part{std::move(part_video_), part_start_, end, next_starts_segment_, ends_segment,
               next_starts_segment_ && next_discontinuity_, all_audio};
  part_video_.clear();
  next_starts_segment_ = false;
  next_discontinuity_ = false;
  cut_any_ = true;
  const std::int64_t first_start = unwritten_.empty() ? part.start : unwritten_.front().start;
  if (waiting_for_audio(end - first_start)) {
    unwritten_.push_back(std::move(part));
    return;
  }
  write_unwritten();
  write_part(std::move(part));
}

void CmafMuxer::write_unwritten() {
  for (CutPart& p : unwritten_) write_part(std::move(p));
  unwritten_.clear();
}

// One moof + mdat: the part's video samples and the audio frames that start
// before its end (or all of them).
void CmafMuxer::write_part(CutPart&& cut) {
  if (!writer_ || new_init_) make_writer();
  std::vector<Sample> audio;
  const bool has_audio = writer_->audio().has_value();
  const std::uint32_t rate = has_audio ? writer_->audio()->timescale : audio_track_ ? audio_track_->timescale : 0;
  const std::int64_t audio_end = rate != 0 ? rescale(cut.end, ts::kTicksPerSecond, rate) : 0;
  while (!pending_audio_.empty() &&
         (cut.all_audio || static_cast<std::int64_t>(pending_audio_.front().dts) < audio_end)) {
    if (has_audio) {
      audio.push_back(std::move(pending_audio_.front()));
    } else {
      ++stats_.audio_dropped;
    }
    pending_audio_.pop_front();
  }
  CmafPart part;
  part.init = init_;
  part.starts_segment = cut.starts_segment;
  part.ends_segment = cut.ends_segment;
  part.discontinuity = cut.discontinuity;
  part.video_samples = cut.video.size();
  part.audio_samples = audio.size();
  if (audio_only_) {
    std::int64_t samples = 0;
    for (const Sample& s : audio) samples += s.duration;
    part.independent = true;
    part.duration = has_audio ? static_cast<double>(samples) / rate : 0.0;
  } else {
    part.independent = !cut.video.empty() && cut.video.front().sync;
    part.duration = ts::ticks_to_seconds(cut.end - cut.start);
  }
  if (part.starts_segment) {
    part.bytes = fmp4::Fmp4Writer::segment_type();
    ++stats_.segments;
  }
  part.bytes += writer_->fragment(cut.video, audio);
  ++stats_.parts;
  sink_(std::move(part));
}

void CmafMuxer::make_writer() {
  const std::uint32_t sequence = writer_ ? writer_->next_sequence_number() : 1;
  writer_.emplace(audio_only_ ? std::nullopt : video_track_, audio_track_, sequence);
  init_ = std::make_shared<const std::string>(writer_->init_segment());
  new_init_ = false;
  ++stats_.init_segments;
}

bool CmafMuxer::audio_before_floor(const Sample& s) const {
  return rescale(static_cast<std::int64_t>(s.dts) + s.duration, audio_track_->timescale, ts::kTicksPerSecond) <=
         audio_floor_;
}

// The stream (or its video encoding) ends: the last part is cut, the last video
// sample lasting one frame, and what follows starts afresh.
void CmafMuxer::end_timeline() {
  if (started_) {
    if (held_video_) close_held_video(frame_ticks_ > 0 ? frame_ticks_ : kFallbackFrameTicks);
    if (!part_video_.empty()) {
      const Sample& last = part_video_.back();
      cut_part(static_cast<std::int64_t>(last.dts) + last.duration, true);
    } else if (audio_only_ && !pending_audio_.empty()) {
      cut_part(0, true);
    }
    write_unwritten();  // the audio never came: video only
  }
  started_ = false;
  audio_only_ = false;
  held_video_.reset();
  part_video_.clear();
  pending_audio_.clear();
  video_clock_ = {};
  audio_clock_ = {};
  have_audio_next_ = false;
  audio_floor_set_ = false;
}

void CmafMuxer::finish() {
  demux_.flush();
  end_timeline();
}

CmafStats CmafMuxer::stats() const {
  CmafStats s = stats_;
  s.pes_dropped = demux_.stats().dropped;
  return s;
}

}  // namespace hlscache
