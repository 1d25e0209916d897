#include "segmenter/audio_format.hpp"

namespace hlscache::ts {

Result<AudioFormat> parse_adts(const std::uint8_t* d, std::size_t n) {
  if (n < kAdtsHeaderSize) return Error::make(ErrorSource::upstream, Errc::truncated, "ADTS header truncated");
  if (d[0] != 0xFF || (d[1] & 0xF6) != 0xF0) {  // syncword 0xFFF, layer 00
    return Error::make(ErrorSource::upstream, Errc::protocol, "no ADTS syncword");
  }
  static constexpr int kRates[16] = {96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050,
                                     16000, 12000, 11025, 8000,  7350,  0,     0,     0};
  const int profile = (d[2] >> 6) & 0x03;
  const int rate_index = (d[2] >> 2) & 0x0F;
  AudioFormat f;
  f.codec_string = "mp4a.40." + std::to_string(profile + 1);
  f.sample_rate = kRates[rate_index];
  f.channels = ((d[2] & 0x01) << 2) | (d[3] >> 6);
  return f;
}

std::string audio_codec_string(StreamKind kind) {
  switch (kind) {
    case StreamKind::aac_adts:
    case StreamKind::aac_latm: return "mp4a.40.2";
    case StreamKind::mpeg_audio: return "mp4a.40.34";
    case StreamKind::ac3: return "ac-3";
    case StreamKind::eac3: return "ec-3";
    default: return {};
  }
}

}  // namespace hlscache::ts
