// CmafMuxer: a live MPEG-TS stream -> fragmented MP4 in LL-HLS parts. Fed the same
// bytes as the Cutter, it demuxes the H.264/H.265 video and AAC audio (EsDemuxer),
// turns access units and ADTS frames into fMP4 samples (fmp4_codec) and groups
// them into parts, each one moof+mdat (Fmp4Writer); a segment is its parts in order.
//   - A part ends on a video frame boundary, before the frame that would take it
//     past part_target, so no part is longer than the target (the LL-HLS rule).
//   - A segment starts at the first keyframe at or after segment_target (the
//     Cutter's rule), and a new part with it; its first part begins with styp.
//   - Audio goes into the part whose video span its frame starts in; a frame that
//     arrives after its part was cut goes into the next one (each traf has its own
//     tfdt, so the tracks need not start together).
//   - A sample is held until the next one on its track arrives, so its duration is
//     the exact DTS step; only the last video sample before finish() or a timestamp
//     jump gets the previous step (one frame). Audio frames are 1,024 samples each.
// The init segment is made from the parameter sets of the first keyframe and the
// first ADTS header; the first parts are held back (not re-cut) until that header
// comes, for at most a segment target. New ones (new parameter sets, audio
// appearing) start a new segment, flagged a discontinuity, at a keyframe.
// Audio-only programs are cut on the audio frames; a program that gains or loses
// its video starts over on the other timeline. Not served yet: see
// docs/segmenter.md, "fMP4/CMAF output".
// Bounds: a part holds at most kMaxPartSamples video samples; at most
// kMaxPendingAudio audio frames wait for their part (oldest dropped past it); the
// parts held back for the audio span at most a segment target and number at most
// kMaxHeldParts; EsDemuxer's PES bound.
// Single-threaded.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "segmenter/es_demuxer.hpp"
#include "segmenter/fmp4_codec.hpp"
#include "segmenter/fmp4_writer.hpp"

namespace hlscache {

struct CmafConfig {
  std::chrono::milliseconds part_target{330};      // LL-HLS PART-TARGET; Apple advises >= 0.2 s
  std::chrono::milliseconds segment_target{2000};  // the Cutter's target duration
  // A DTS step backwards, or forwards by more than this, is a new timeline.
  std::chrono::milliseconds max_timestamp_gap{5'000};
};

struct CmafPart {
  std::string bytes;                        // [styp] moof mdat
  std::shared_ptr<const std::string> init;  // the init segment it decodes with (EXT-X-MAP)
  double duration = 0.0;                    // seconds, on the video (audio-only: audio) track
  bool independent = false;                 // starts with a keyframe (EXT-X-PART INDEPENDENT=YES)
  bool starts_segment = false;
  // The last part of its segment: the next one starts a segment (known when the cut was
  // made at a segment boundary; a part cut for its length leaves it false even when the
  // segment ends after it, then the next part's starts_segment tells).
  bool ends_segment = false;
  // Its segment starts a new timeline or needs a new init segment (EXT-X-DISCONTINUITY).
  bool discontinuity = false;
  std::size_t video_samples = 0;
  std::size_t audio_samples = 0;
};

struct CmafStats {
  std::uint64_t parts = 0;
  std::uint64_t segments = 0;
  std::uint64_t init_segments = 0;
  std::uint64_t video_before_start = 0;  // access units before the first keyframe with parameter sets
  std::uint64_t video_dropped = 0;       // no PTS, no slice, or an unsupported codec
  std::uint64_t parameter_set_errors = 0;  // SPS/PPS that gave no decoder configuration
  std::uint64_t audio_dropped = 0;       // frames before the video, too many waiting, config changes, no PTS
  std::uint64_t audio_bytes_skipped = 0; // bytes that were no ADTS frame
  std::uint64_t timestamp_jumps = 0;     // new timelines (video, or audio-only)
  std::uint64_t audio_gaps = 0;          // audio PTS off the frame count: re-anchored
  std::uint64_t pes_dropped = 0;         // EsDemuxer: lost packets, bad header, too large
};

class CmafMuxer {
 public:
  static constexpr std::size_t kMaxPartSamples = 1024;
  static constexpr std::size_t kMaxPendingAudio = 1024;  // ~21 s of 48 kHz AAC
  static constexpr std::size_t kMaxHeldParts = 64;       // waiting for the audio (normally a handful)

  // Receives each part, on the thread that called feed()/finish(); must not call back into the muxer.
  using PartSink = std::function<void(CmafPart&&)>;

  CmafMuxer(CmafConfig config, PartSink sink);

  void feed(const std::uint8_t* data, std::size_t size);
  void feed(const char* data, std::size_t size) { feed(reinterpret_cast<const std::uint8_t*>(data), size); }

  // End of stream: cuts the last part. Data fed afterwards starts a new segment,
  // flagged as a discontinuity.
  void finish();

  // The init segment of the parts cut so far (null before the first part).
  std::shared_ptr<const std::string> init_segment() const { return init_; }
  CmafStats stats() const;

 private:
  // 33-bit 90 kHz timestamps -> one 64-bit timeline; a step backwards or past the gap re-anchors it.
  struct Clock {
    bool have = false;
    std::uint64_t last_raw = 0;
    std::int64_t last = 0;
    bool jumped = false;  // the last advance() re-anchored
    std::int64_t advance(std::uint64_t raw, std::int64_t gap);
  };

  // A part cut but not yet written: its audio and the init segment come when it is.
  struct CutPart {
    std::vector<fmp4::Sample> video;
    std::int64_t start = 0;  // timeline ticks
    std::int64_t end = 0;
    bool starts_segment = false;
    bool ends_segment = false;
    bool discontinuity = false;
    bool all_audio = false;  // takes every audio frame pending, not only those before `end`
  };

  void on_es(ts::EsPacket&& pkt);
  void on_video(ts::EsPacket&& pkt);
  void start_video(std::int64_t dts);
  void update_video_track(ts::VideoCodec codec, const fmp4::ParameterSets& ps);
  void close_held_video(std::int64_t duration);
  bool wants_new_init() const;
  bool waiting_for_audio(std::int64_t elapsed) const;
  void on_audio(const ts::EsPacket& pkt);
  void place_audio_frame(const fmp4::AdtsFrame& f, std::int64_t at);
  void on_audio_config(const fmp4::AdtsFrame& f);
  void on_audio_jump();
  void start_audio_only(std::int64_t t);
  void cut_audio_only(std::int64_t t);
  void begin_segment(std::int64_t at, bool discontinuity);
  void cut_part(std::int64_t end, bool all_audio, bool ends_segment = false);
  void write_unwritten();
  void write_part(CutPart&& cut);
  void make_writer();
  bool audio_before_floor(const fmp4::Sample& s) const;
  void end_timeline();

  CmafConfig config_;
  PartSink sink_;
  ts::EsDemuxer demux_;
  std::int64_t gap_ticks_;

  // Output
  std::optional<fmp4::Fmp4Writer> writer_;
  std::shared_ptr<const std::string> init_;
  bool new_init_ = false;     // the next part needs a new init segment
  std::vector<CutPart> unwritten_;  // cut while the first init segment waits for the audio
  bool cut_any_ = false;      // later segments of a new timeline are discontinuities
  bool started_ = false;      // the first keyframe (audio only: frame) was taken
  bool audio_only_ = false;   // the timeline is the audio track
  // Timeline ticks: 90 kHz with video, the sample rate audio-only.
  std::int64_t part_target_ = 0;
  std::int64_t segment_target_ = 0;
  std::int64_t cut_tolerance_ = 0;
  std::int64_t part_start_ = 0;
  std::int64_t segment_start_ = 0;
  bool next_starts_segment_ = false;
  bool next_discontinuity_ = false;

  // Video
  ts::VideoCodec video_codec_ = ts::VideoCodec::unknown;
  fmp4::ParameterSets video_ps_;
  std::optional<fmp4::TrackInfo> video_track_;
  Clock video_clock_;
  std::optional<fmp4::Sample> held_video_;  // the newest sample: its duration comes with the next one
  std::vector<fmp4::Sample> part_video_;
  std::int64_t frame_ticks_ = 0;  // the last positive DTS step

  // Audio
  std::optional<fmp4::TrackInfo> audio_track_;  // from the newest ADTS header
  Clock audio_clock_;
  bool have_audio_next_ = false;
  std::int64_t audio_next_ = 0;   // where the next frame starts if contiguous (sample-rate ticks)
  bool audio_floor_set_ = false;
  std::int64_t audio_floor_ = 0;  // 90 kHz: frames ending at or before it precede the video, dropped
  std::deque<fmp4::Sample> pending_audio_;

  CmafStats stats_;
};

}  // namespace hlscache
