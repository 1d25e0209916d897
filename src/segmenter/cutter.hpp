// Cutter: the segmenter's engine. Fed the transport stream in chunks of any size,
// it cuts it into Segments at the first keyframe at or after the target duration
// (audio-only: the first audio PES at or after it), each starting with the last
// PAT and PMT seen, so every segment decodes on its own. Durations come from PTS
// (33-bit wrap handled), never the wall clock. It buffers at most the one segment
// being built (bound: max_segment_duration / max_segment_bytes, then a forced cut).
// Work per packet is a header scan: payloads are only looked at for PES headers,
// the NAL types at the start of each video access unit, the SPS and one ADTS
// header. Single-threaded; see docs/segmenter.md for the cut rule and the counters.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "segmenter/continuity.hpp"
#include "segmenter/nal_scanner.hpp"
#include "segmenter/packet_reader.hpp"
#include "segmenter/pes.hpp"
#include "segmenter/program_tracker.hpp"
#include "segmenter/segment.hpp"
#include "segmenter/segment_buffer.hpp"

namespace hlscache {

struct CutterConfig {
  std::chrono::milliseconds target_duration{2000};
  // Hard bounds on the segment being built; past either, the next access unit
  // (or, for bytes, the next packet) starts a new segment even without a keyframe.
  std::chrono::milliseconds max_segment_duration{30'000};
  std::size_t max_segment_bytes = std::size_t{128} << 20;
  // A DTS step backwards, or forwards by more than this, is a discontinuity.
  std::chrono::milliseconds max_timestamp_gap{5'000};
  std::size_t chunk_capacity = Chunk::kDefaultCapacity;
  std::uint64_t first_sequence = 0;
  // The first segment follows another timeline in the same playlist (a publisher that
  // came back within the pause grace): it is flagged as a discontinuity.
  bool continues_timeline = false;
};

class Cutter {
 public:
  // Receives each finished segment, on the thread that called feed()/finish().
  // It must not call back into this Cutter.
  using SegmentSink = std::function<void(Segment&&)>;

  Cutter(CutterConfig config, SegmentSink sink);

  // Feeds the next bytes of the stream (any size, packets may straddle calls).
  // `arrived`: the wall-clock time these bytes were received; a segment's
  // ingest_time is that of the bytes carrying its first access unit.
  void feed(const std::uint8_t* data, std::size_t size, WallTime arrived = {});
  void feed(const char* data, std::size_t size, WallTime arrived = {}) {
    feed(reinterpret_cast<const std::uint8_t*>(data), size, arrived);
  }

  // The bytes that follow start a new timeline (e.g. a looped file starts over):
  // the next access unit starts a new segment flagged `discontinuity`, and
  // continuity counters and partial packets are forgotten.
  void signal_discontinuity();

  // The timeline goes on, but not in step with the wall clock any more (the source
  // was paused and resumes from now): the segment that starts at the next keyframe
  // is flagged `discontinuity` (cut there whatever its elapsed time), so the
  // playlist marks the gap and PROGRAM-DATE-TIME starts again from that segment's
  // ingest time. Continuity and partial packets are kept.
  void mark_discontinuity();

  // End of stream: emits the segment being built (its duration extrapolated by one
  // frame from its last PTS). Data fed afterwards starts a new, discontinuous timeline.
  void finish();

  const StreamFacts& facts() const noexcept { return facts_; }
  CutterStats stats() const;
  const CutterConfig& config() const noexcept { return config_; }
  std::uint64_t next_sequence() const noexcept { return next_sequence_; }

 private:
  // The access unit (video) or PES (audio timeline) whose keyframe verdict is pending.
  struct AccessUnit {
    bool active = false;          // its bytes belong to the buffer; verdict may be pending
    bool decided = false;
    bool header_pending = false;  // PES header continues in the next packet
    std::size_t offset = 0;       // where its first packet starts in the buffer
    bool has_pts = false;
    std::uint64_t pts = 0;
    std::uint64_t dts = 0;
    bool random_access = false;
    bool indicated_discontinuity = false;
    WallTime arrived{};  // when its first packet was fed
  };

  void on_batch(const std::uint8_t* first, std::size_t count);
  void on_packet(const std::uint8_t* p);
  void flush_run(const std::uint8_t* upto);
  void drop_packet(const std::uint8_t* p);
  std::size_t position_of(const std::uint8_t* p) const;
  void on_program_change();
  void probe_audio(const std::uint8_t* p, const ts::PacketInfo& info);

  // Timeline (cutter_timeline.cpp)
  void on_timeline_packet(const std::uint8_t* p, const ts::PacketInfo& info);
  void begin_access_unit(const std::uint8_t* p, const ts::PacketInfo& info);
  void on_pes_header(const ts::PesHeader& h, const std::uint8_t* es, std::size_t n);
  void scan(const std::uint8_t* es, std::size_t n);
  void conclude_access_unit();
  void decide(bool keyframe);
  void cut(bool keyframe, bool discontinuity, std::int64_t closing_duration);
  void emit(std::int64_t duration_ticks);
  void force_cut_for_size();
  std::int64_t extrapolated_duration() const;
  void update_video_facts();

  CutterConfig config_;
  SegmentSink sink_;
  std::int64_t target_ticks_;
  std::int64_t max_ticks_;
  std::int64_t gap_ticks_;

  ts::PacketReader reader_;
  ts::ContinuityTracker continuity_;
  ts::ProgramTracker program_;
  ts::NalScanner scanner_;
  ts::PesHeaderAssembler pes_header_;

  SegmentBuffer buffer_;
  std::vector<std::uint8_t> tail_;  // scratch for split_off (bound: one access unit's scan window)
  const std::uint8_t* run_begin_ = nullptr;  // first packet of the batch not yet copied
  const std::uint8_t* current_ = nullptr;    // the packet being looked at (valid within a batch)
  WallTime arrived_{};                       // the feed() being processed

  // Timeline: the video PID, or the audio PID when there is no video.
  std::uint16_t timeline_pid_ = ts::kNullPid;
  bool timeline_is_video_ = false;
  ts::VideoCodec video_codec_ = ts::VideoCodec::unknown;
  AccessUnit au_;
  bool have_last_dts_ = false;
  std::uint64_t last_dts_ = 0;
  std::int64_t frame_ticks_ = 0;         // last positive DTS step: one frame (video) or one PES (audio)
  bool indicator_pending_ = false;       // discontinuity_indicator seen, not yet given to an AU
  bool deferred_discontinuity_ = false;  // flag the next keyframe's segment
  bool signalled_discontinuity_ = false; // signal_discontinuity()/finish(): cut at the next AU
  bool have_last_key_ = false;
  std::uint64_t last_key_pts_ = 0;

  // The segment being built.
  bool open_ = false;
  bool started_ = false;  // some segment was opened before
  bool seg_keyframe_ = false;
  bool seg_discontinuity_ = false;
  std::uint64_t seg_first_pts_ = 0;
  WallTime seg_ingest_time_{};
  std::uint64_t seg_last_pts_ = 0;  // highest PTS in it (B-frames arrive out of order)
  std::uint64_t next_sequence_;

  // Facts
  bool audio_probe_pending_ = false;
  std::vector<std::uint8_t> last_sps_;
  StreamFacts facts_;
  double total_seconds_ = 0.0;
  double total_bits_ = 0.0;
  CutterStats stats_;
};

}  // namespace hlscache
