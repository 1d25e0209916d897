// Fmp4Writer: the fragmented-MP4 (ISO/IEC 14496-12) byte layout of one stream of
// up to two tracks, a video track (H.264 'avc1' / H.265 'hvc1') and an AAC audio
// track ('mp4a'), as HLS serves it (RFC 8216bis §3.1.2, EXT-X-MAP):
//   init segment = ftyp + moov (mvhd, one trak per track with empty sample tables,
//                  mvex/trex)
//   fragment     = moof (mfhd, one traf per track that has samples: tfhd, tfdt,
//                  trun) + mdat
// It only lays out bytes: samples come in with their decode times, durations and
// flags already decided (CmafMuxer does that from the transport stream). See
// docs/segmenter.md, "fMP4/CMAF output".
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace hlscache::fmp4 {

enum class Codec : std::uint8_t { h264, h265, aac };

struct TrackInfo {
  Codec codec = Codec::h264;
  std::uint32_t timescale = 90'000;
  // The sample entry's configuration: the avcC / hvcC record (ISO/IEC 14496-15) or
  // the AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1) the esds carries.
  std::vector<std::uint8_t> decoder_config;
  std::uint16_t width = 0;  // video: the picture after cropping
  std::uint16_t height = 0;
  std::uint16_t channels = 0;     // audio
  std::uint32_t sample_rate = 0;  // audio, Hz

  friend bool operator==(const TrackInfo&, const TrackInfo&) = default;
};

struct Sample {
  std::uint64_t dts = 0;       // decode time in the track's timescale
  std::uint32_t duration = 0;  // to the next sample's decode time
  std::int32_t composition_offset = 0;  // presentation - decode time (negative allowed)
  bool sync = true;            // decodes on its own (keyframe; every audio frame)
  std::vector<std::uint8_t> data;  // length-prefixed NAL units, or one raw AAC frame
};

class Fmp4Writer {
 public:
  // At least one track. Track IDs are 1, 2 in the order video, audio. A writer that
  // replaces another (a new init segment mid-stream) may go on with its sequence numbers.
  Fmp4Writer(std::optional<TrackInfo> video, std::optional<TrackInfo> audio, std::uint32_t first_sequence = 1);

  const std::optional<TrackInfo>& video() const noexcept { return video_; }
  const std::optional<TrackInfo>& audio() const noexcept { return audio_; }

  // ftyp + moov: what EXT-X-MAP names. The same bytes on every call.
  std::string init_segment() const;

  // styp: may precede a segment's first fragment (ISO/IEC 14496-12 §8.16.2).
  static std::string segment_type();

  // One moof + mdat holding each track's samples, in decode order. A track's tfdt is
  // its first sample's dts; later samples' times follow from the durations, so they
  // must be contiguous. A track without samples gets no traf; with no samples at all
  // the result is empty. Each call takes the next mfhd sequence number (from 1).
  std::string fragment(std::span<const Sample> video, std::span<const Sample> audio);

  std::uint32_t next_sequence_number() const noexcept { return sequence_; }

 private:
  std::optional<TrackInfo> video_;
  std::optional<TrackInfo> audio_;
  std::uint32_t sequence_ = 1;
};

}  // namespace hlscache::fmp4
