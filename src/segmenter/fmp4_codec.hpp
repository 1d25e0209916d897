// From the elementary streams an MPEG-TS carries to what an fMP4 track holds:
// H.264/H.265 access units in Annex B form (start codes) -> samples of 4-byte
// length-prefixed NAL units, without the NAL units that belong in the sample entry
// instead (access unit delimiters, VPS/SPS/PPS); the decoder configuration records
// built from those parameter sets (avcC: ISO/IEC 14496-15 §5.3.3.1, hvcC:
// §8.3.3.1); and ADTS frames (ISO/IEC 14496-3 §1.A.2) -> raw AAC frames and the
// AudioSpecificConfig (§1.6.2.1) the esds carries.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/result.hpp"
#include "segmenter/fmp4_writer.hpp"
#include "segmenter/nal_scanner.hpp"

namespace hlscache::fmp4 {

using NalUnit = std::span<const std::uint8_t>;

// The NAL units of an Annex B byte string, without their start codes and the zero
// bytes that may precede a start code (trailing_zero_8bits). Bytes before the first
// start code are not a NAL unit and are left out.
std::vector<NalUnit> split_annexb(std::span<const std::uint8_t> es);

// Parameter sets as NAL units (header included), each kind in the order met, repeats left out.
struct ParameterSets {
  std::vector<std::vector<std::uint8_t>> vps;  // H.265 only
  std::vector<std::vector<std::uint8_t>> sps;
  std::vector<std::vector<std::uint8_t>> pps;

  bool empty() const noexcept { return vps.empty() && sps.empty() && pps.empty(); }
  // Enough for a decoder configuration record of `codec`.
  bool complete(ts::VideoCodec codec) const noexcept;
  friend bool operator==(const ParameterSets&, const ParameterSets&) = default;
};

struct VideoAccessUnit {
  std::vector<std::uint8_t> sample;  // the NAL units to decode, each behind its 4-byte length
  bool keyframe = false;             // holds an H.264 IDR / H.265 IRAP slice
  ParameterSets parameter_sets;      // those the access unit carried (taken out of `sample`)
};

VideoAccessUnit to_video_sample(ts::VideoCodec codec, std::span<const std::uint8_t> annexb);

// The video track of `codec` (h264 or h265) configured by `ps`: its decoder
// configuration record and picture size from the first SPS.
Result<TrackInfo> video_track(ts::VideoCodec codec, const ParameterSets& ps);

// The records alone (what video_track puts into TrackInfo::decoder_config).
Result<std::vector<std::uint8_t>> avc_decoder_config(const ParameterSets& ps);
Result<std::vector<std::uint8_t>> hevc_decoder_config(const ParameterSets& ps);

struct AdtsFrame {
  std::span<const std::uint8_t> raw;      // the raw_data_block, header and CRC stripped
  std::array<std::uint8_t, 2> audio_specific_config{};
  std::uint32_t sample_rate = 0;          // Hz
  std::uint16_t channels = 0;             // 0: signalled in-band (a PCE), not supported
  static constexpr std::uint32_t kSamples = 1024;  // PCM samples per frame (AAC LC; the core of HE-AAC)
};

// The ADTS frames of a PES payload, in order. Stops at the first byte that does not
// start a valid, complete frame of one raw data block; `skipped` gets the bytes left
// over from there.
std::vector<AdtsFrame> split_adts(std::span<const std::uint8_t> es, std::size_t& skipped);

// The AAC track of frames like `f`; timescale: the sample rate.
TrackInfo audio_track(const AdtsFrame& f);

}  // namespace hlscache::fmp4
