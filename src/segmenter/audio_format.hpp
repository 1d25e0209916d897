// Audio stream facts for the CODECS attribute: the AAC audio object type from an
// ADTS header (ISO/IEC 14496-3 §1.A.2: profile + 1 -> "mp4a.40.<aot>"), sample
// rate and channels; other audio kinds map to their fixed RFC 6381 names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/result.hpp"
#include "segmenter/psi_tables.hpp"

namespace hlscache::ts {

struct AudioFormat {
  std::string codec_string;  // "mp4a.40.2"
  int sample_rate = 0;       // Hz, 0 when unknown
  int channels = 0;          // 0 when unknown or signalled in-band
};

inline constexpr std::size_t kAdtsHeaderSize = 7;

// Parses the ADTS header at d[0, n) (n >= kAdtsHeaderSize).
Result<AudioFormat> parse_adts(const std::uint8_t* d, std::size_t n);

// The CODECS name of an audio kind whose header we do not parse ("ac-3", "ec-3",
// "mp4a.40.34" for MPEG audio, "mp4a.40.2" assumed for LATM); empty for non-audio.
std::string audio_codec_string(StreamKind kind);

}  // namespace hlscache::ts
