// What the cutter produces and reports: Segment (one self-contained piece of the
// transport stream, starting with PAT, PMT and, normally, a keyframe), the
// StreamFacts a master playlist needs, and the counters a caller logs/exports.
// Bodies are shared chunks so the HTTP layer serves them without copying.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/chunk.hpp"
#include "core/clock.hpp"
#include "segmenter/nal_scanner.hpp"

namespace hlscache {

struct Segment {
  std::uint64_t sequence = 0;        // media sequence number, consecutive from CutterConfig::first_sequence
  double duration = 0.0;             // seconds, from PTS (first AU of this segment to the next's)
  std::vector<Chunk> chunks;         // the bytes, a whole number of TS packets
  std::uint64_t size = 0;            // sum of chunk sizes
  bool starts_with_keyframe = true;  // false only after a forced cut (no keyframe in time) or a mid-GOP discontinuity
  bool discontinuity = false;        // a new timeline begins here (EXT-X-DISCONTINUITY before it)
  std::uint64_t first_pts = 0;       // 90 kHz, 33 bits: PTS of the first access unit
  WallTime ingest_time{};            // wall clock when its first access unit's first packet was fed (Cutter::feed)
  int map = -1;                      // fMP4: its window's init segment (RenditionWindow::add_init); -1: TS
};

// A partial segment (LL-HLS): the index-th part of segment `sequence`, cut on a frame
// boundary about every part target; a segment's bytes are its parts' in order.
struct Part {
  std::uint64_t sequence = 0;  // its segment's media sequence number
  std::uint32_t index = 0;     // 0, 1, ... within the segment
  double duration = 0.0;       // seconds
  bool independent = false;    // starts with a keyframe
  bool discontinuity = false;  // the first part of a segment flagged discontinuous
  std::vector<Chunk> chunks;
  std::uint64_t size = 0;
  WallTime ingest_time{};      // its first frame's (for a first part: the segment's)
  int map = -1;                // fMP4: its window's init segment; -1: none
};

struct StreamFacts {
  ts::VideoCodec video_codec = ts::VideoCodec::unknown;
  bool has_video = false;
  bool has_audio = false;
  int width = 0;  // 0 until an SPS was parsed
  int height = 0;
  std::string video_codec_string;  // "avc1.64001f"; empty until an SPS was parsed
  std::string audio_codec_string;  // "mp4a.40.2"; empty until known
  double average_bitrate = 0.0;    // bits/s over every emitted segment
  double peak_bitrate = 0.0;       // bits/s of the densest emitted segment (>= target/2 long)

  // RFC 6381 CODECS value: the known strings joined by ','.
  std::string codecs() const {
    std::string s = video_codec_string;
    if (!audio_codec_string.empty()) s += (s.empty() ? "" : ",") + audio_codec_string;
    return s;
  }
};

struct CutterStats {
  // Input
  std::uint64_t bytes_in = 0;
  std::uint64_t packets = 0;
  std::uint64_t sync_losses = 0;
  std::uint64_t resyncs = 0;
  std::uint64_t bytes_skipped = 0;      // garbage dropped while (re)synchronizing
  std::uint64_t cc_errors = 0;          // continuity counter jumps
  std::uint64_t duplicate_packets = 0;  // legal repeats, ignored by analysis, kept in the output
  std::uint64_t transport_errors = 0;   // transport_error_indicator set (not analysed, kept)
  std::uint64_t invalid_packets = 0;    // reserved adaptation_field_control, bad adaptation length
  std::uint64_t null_packets = 0;       // PID 0x1FFF, dropped
  std::uint64_t psi_errors = 0;         // PAT/PMT sections rejected (CRC, structure, assembly)
  std::uint64_t pat_changes = 0;
  std::uint64_t pmt_changes = 0;
  std::uint64_t pes_errors = 0;         // unparseable PES headers on the timeline PID
  std::uint64_t bytes_before_start = 0; // dropped before the first keyframe (no segment to hold them)
  // Output
  std::uint64_t segments = 0;
  std::uint64_t keyframes = 0;
  std::uint64_t forced_cuts = 0;        // cut without a keyframe (max_segment_duration/bytes reached)
  std::uint64_t discontinuities = 0;    // segments flagged discontinuous
  std::uint64_t segments_over_target = 0;        // longer than the target: the GOP does not fit it
  std::uint64_t keyframe_intervals_over_target = 0;  // encoder problem: GOP longer than the target
  double max_keyframe_interval = 0.0;   // seconds
  double max_segment_duration = 0.0;    // seconds

  // True when the stream's GOP makes segments longer than the configured target.
  bool gop_exceeds_target() const { return keyframe_intervals_over_target > 0 || segments_over_target > 0; }
};

}  // namespace hlscache
