// Sequence parameter sets -> the stream facts a master playlist needs: coded
// picture size after cropping, and the RFC 6381 CODECS string ("avc1.PPCCLL" for
// H.264, ISO/IEC 14496-15 Annex E "hvc1.P.C.TL.B.." for H.265), plus the chroma
// format and bit depths an fMP4 decoder configuration record repeats. Walks the
// SPS syntax (H.264 §7.3.2.1.1, H.265 §7.3.2.2.1) only as far as the conformance
// window / frame cropping fields (H.265: and the bit depths just after), skipping
// what lies between.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "core/result.hpp"
#include "segmenter/nal_scanner.hpp"

namespace hlscache::ts {

struct VideoFormat {
  VideoCodec codec = VideoCodec::unknown;
  int width = 0;
  int height = 0;
  std::string codec_string;  // "avc1.64001f", "hvc1.1.6.L93.B0"
  unsigned chroma_format_idc = 1;  // 4:2:0 unless the SPS says otherwise
  unsigned bit_depth_luma = 8;
  unsigned bit_depth_chroma = 8;
};

// `nal` is the whole SPS NAL unit, header byte(s) included, emulation prevention bytes in place.
Result<VideoFormat> parse_h264_sps(std::span<const std::uint8_t> nal);
Result<VideoFormat> parse_h265_sps(std::span<const std::uint8_t> nal);
Result<VideoFormat> parse_sps(VideoCodec codec, std::span<const std::uint8_t> nal);

}  // namespace hlscache::ts
