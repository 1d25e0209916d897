// Cutter, packet side: reading, continuity, PSI, run-based copying into the
// segment buffer, stream facts. The timeline (verdicts and cuts) is in
// cutter_timeline.cpp.
#include "segmenter/cutter.hpp"

#include <algorithm>

#include "segmenter/audio_format.hpp"
#include "segmenter/timestamp.hpp"
#include "segmenter/video_sps.hpp"

namespace hlscache {

using namespace ts;

Cutter::Cutter(CutterConfig config, SegmentSink sink)
    : config_(config),
      sink_(std::move(sink)),
      target_ticks_(millis_to_ticks(config.target_duration.count())),
      max_ticks_(millis_to_ticks(config.max_segment_duration.count())),
      gap_ticks_(millis_to_ticks(config.max_timestamp_gap.count())),
      buffer_(config.chunk_capacity),
      next_sequence_(config.first_sequence) {
  started_ = config.continues_timeline;
  tail_.reserve(NalScanner::kMaxScanBytes + 4 * kPacketSize);
}

void Cutter::feed(const std::uint8_t* data, std::size_t size, WallTime arrived) {
  stats_.bytes_in += size;
  arrived_ = arrived;
  reader_.feed(data, size, [this](const std::uint8_t* first, std::size_t count) { on_batch(first, count); });
}

void Cutter::on_batch(const std::uint8_t* first, std::size_t count) {
  run_begin_ = first;
  const std::uint8_t* end = first + count * kPacketSize;
  for (const std::uint8_t* p = first; p != end; p += kPacketSize) on_packet(p);
  flush_run(end);
  run_begin_ = nullptr;
}

std::size_t Cutter::position_of(const std::uint8_t* p) const {
  return buffer_.size() + static_cast<std::size_t>(p - run_begin_);
}

// Appends the packets [run_begin_, upto) to the segment in one copy.
void Cutter::flush_run(const std::uint8_t* upto) {
  if (run_begin_ == nullptr) return;
  if (upto > run_begin_) buffer_.append(run_begin_, static_cast<std::size_t>(upto - run_begin_));
  run_begin_ = upto;
}

void Cutter::drop_packet(const std::uint8_t* p) {
  flush_run(p);
  run_begin_ = p + kPacketSize;
}

void Cutter::on_packet(const std::uint8_t* p) {
  current_ = p;
  const std::uint16_t pid = packet_pid(p);
  if (pid == kNullPid) {
    ++stats_.null_packets;
    drop_packet(p);
    return;
  }
  const PacketInfo info = parse_packet(p);
  if (!info.valid) {
    ++stats_.invalid_packets;
  } else if (info.transport_error) {
    ++stats_.transport_errors;
  } else {
    const Continuity cc = continuity_.check(pid, info.continuity_counter, info.has_payload, info.discontinuity);
    if (cc != Continuity::duplicate) {
      if (info.discontinuity && pid == program_.pcr_pid()) indicator_pending_ = true;
      const PidRole role = program_.role(pid);
      if (role == PidRole::pat || role == PidRole::pmt) {
        if (program_.on_psi_packet(p, info, cc == Continuity::error)) on_program_change();
      } else if (pid == timeline_pid_) {
        on_timeline_packet(p, info);
      } else if (role == PidRole::audio && audio_probe_pending_ && info.payload_unit_start) {
        probe_audio(p, info);
      }
    }
  }
  if (!open_ && !au_.active) {  // before the first keyframe: nothing to hold these bytes
    stats_.bytes_before_start += kPacketSize;
    drop_packet(p);
    return;
  }
  if (position_of(p) + kPacketSize > config_.max_segment_bytes) force_cut_for_size();
}

void Cutter::on_program_change() {
  const StreamKind vk = program_.video_kind();
  const std::uint16_t video = program_.video_pid();
  const std::uint16_t timeline = video != kNullPid ? video : program_.audio_pid();
  const VideoCodec codec = vk == StreamKind::h264 ? VideoCodec::h264
                           : vk == StreamKind::h265 ? VideoCodec::h265
                                                    : VideoCodec::unknown;
  if (timeline != timeline_pid_ || codec != video_codec_) {
    if (open_) deferred_discontinuity_ = true;  // new encoding: the next keyframe starts a new timeline
    au_ = AccessUnit{};
    have_last_dts_ = false;
    have_last_key_ = false;
    last_sps_.clear();
    facts_.width = facts_.height = 0;
    facts_.video_codec_string.clear();
  }
  timeline_pid_ = timeline;
  timeline_is_video_ = video != kNullPid;
  video_codec_ = codec;
  facts_.has_video = video != kNullPid;
  facts_.video_codec = codec;
  facts_.has_audio = program_.audio_pid() != kNullPid;
  facts_.audio_codec_string = audio_codec_string(program_.audio_kind());
  audio_probe_pending_ = program_.audio_kind() == StreamKind::aac_adts;
}

// Reads the AAC object type from the first ADTS header of an audio PES (if it is
// in the PES's first packet; otherwise the next PES is tried).
void Cutter::probe_audio(const std::uint8_t* p, const PacketInfo& info) {
  if (!info.has_payload) return;
  const std::uint8_t* payload = p + info.payload_offset;
  const std::size_t n = kPacketSize - info.payload_offset;
  PesHeader h;
  if (parse_pes_header(payload, n, h) != PesParse::ok || h.header_size + kAdtsHeaderSize > n) return;
  if (auto f = parse_adts(payload + h.header_size, n - h.header_size)) {
    facts_.audio_codec_string = f->codec_string;
    audio_probe_pending_ = false;
  }
}

void Cutter::update_video_facts() {
  const auto sps = scanner_.sps();
  if (sps.empty() || std::equal(sps.begin(), sps.end(), last_sps_.begin(), last_sps_.end())) return;
  last_sps_.assign(sps.begin(), sps.end());
  if (auto f = parse_sps(video_codec_, sps)) {
    facts_.width = f->width;
    facts_.height = f->height;
    facts_.video_codec_string = f->codec_string;
  }
}

CutterStats Cutter::stats() const {
  CutterStats s = stats_;
  const auto& r = reader_.stats();
  s.packets = r.packets;
  s.sync_losses = r.sync_losses;
  s.resyncs = r.resyncs;
  s.bytes_skipped = r.bytes_skipped;
  s.cc_errors = continuity_.errors();
  s.duplicate_packets = continuity_.duplicates();
  const ProgramStats ps = program_.stats();
  s.psi_errors = ps.crc_errors + ps.section_errors;
  s.pat_changes = ps.pat_changes;
  s.pmt_changes = ps.pmt_changes;
  return s;
}

}  // namespace hlscache
