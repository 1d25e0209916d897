#include "segmenter/fmp4_codec.hpp"

#include <algorithm>

#include "segmenter/audio_format.hpp"
#include "segmenter/bit_reader.hpp"
#include "segmenter/video_sps.hpp"

namespace hlscache::fmp4 {
namespace {

using ts::VideoCodec;

Error bad(const char* what) { return Error::make(ErrorSource::upstream, Errc::protocol, what); }

enum class NalRole : std::uint8_t { other, delimiter, vps, sps, pps, key_slice };

NalRole role(VideoCodec codec, std::uint8_t header) {
  const std::uint8_t t = ts::nal_type(codec, header);
  if (codec == VideoCodec::h265) {
    if (t >= 16 && t <= 23) return NalRole::key_slice;  // IRAP
    switch (t) {
      case 32: return NalRole::vps;
      case 33: return NalRole::sps;
      case 34: return NalRole::pps;
      case 35: return NalRole::delimiter;
      default: return NalRole::other;
    }
  }
  switch (t) {
    case 5: return NalRole::key_slice;  // IDR
    case 7: return NalRole::sps;
    case 8: return NalRole::pps;
    case 9: return NalRole::delimiter;
    default: return NalRole::other;
  }
}

void add_unique(std::vector<std::vector<std::uint8_t>>& list, NalUnit nal) {
  const auto same = [&](const std::vector<std::uint8_t>& v) { return std::ranges::equal(v, nal); };
  if (std::ranges::none_of(list, same)) list.emplace_back(nal.begin(), nal.end());
}

void put16(std::vector<std::uint8_t>& out, std::size_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

void put_nal(std::vector<std::uint8_t>& out, const std::vector<std::uint8_t>& nal) {
  put16(out, nal.size());
  out.insert(out.end(), nal.begin(), nal.end());
}

bool fits(const std::vector<std::vector<std::uint8_t>>& list, std::size_t max_count) {
  return list.size() <= max_count &&
         std::ranges::all_of(list, [](const std::vector<std::uint8_t>& n) { return n.size() <= 0xFFFF; });
}

std::uint16_t clamp16(int v) { return static_cast<std::uint16_t>(std::clamp(v, 0, 0xFFFF)); }

}  // namespace

std::vector<NalUnit> split_annexb(std::span<const std::uint8_t> es) {
  std::vector<NalUnit> out;
  const std::size_t n = es.size();
  constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::size_t start = kNone;
  const auto finish = [&](std::size_t end) {
    while (end > start && es[end - 1] == 0) --end;  // trailing_zero_8bits / a 4-byte start code's first zero
    if (end > start) out.push_back(es.subspan(start, end - start));
  };
  std::size_t i = 0;
  while (i + 2 < n) {
    if (es[i + 2] > 1) {  // no start code can begin at i, i + 1 or i + 2
      i += 3;
    } else if (es[i] == 0 && es[i + 1] == 0 && es[i + 2] == 1) {
      if (start != kNone) finish(i);
      start = i + 3;
      i += 3;
    } else {
      ++i;
    }
  }
  if (start != kNone) finish(n);
  return out;
}

bool ParameterSets::complete(VideoCodec codec) const noexcept {
  return !sps.empty() && !pps.empty() && (codec != VideoCodec::h265 || !vps.empty());
}

VideoAccessUnit to_video_sample(VideoCodec codec, std::span<const std::uint8_t> annexb) {
  VideoAccessUnit au;
  const std::vector<NalUnit> nals = split_annexb(annexb);
  au.sample.reserve(annexb.size() + nals.size());
  for (const NalUnit nal : nals) {
    switch (role(codec, nal[0])) {
      case NalRole::delimiter:
        continue;  // the sample is the access unit: nothing left to delimit
      case NalRole::vps:
        add_unique(au.parameter_sets.vps, nal);
        continue;
      case NalRole::sps:
        add_unique(au.parameter_sets.sps, nal);
        continue;
      case NalRole::pps:
        add_unique(au.parameter_sets.pps, nal);
        continue;
      case NalRole::key_slice:
        au.keyframe = true;
        break;
      case NalRole::other:
        break;
    }
    const std::size_t len = nal.size();
    for (int shift = 24; shift >= 0; shift -= 8) au.sample.push_back(static_cast<std::uint8_t>(len >> shift));
    au.sample.insert(au.sample.end(), nal.begin(), nal.end());
  }
  return au;
}

Result<std::vector<std::uint8_t>> avc_decoder_config(const ParameterSets& ps) {
  if (!ps.complete(VideoCodec::h264)) return bad("avcC: no SPS or no PPS");
  if (!fits(ps.sps, 31) || !fits(ps.pps, 255)) return bad("avcC: too many or too large parameter sets");
  const std::vector<std::uint8_t>& sps = ps.sps.front();
  auto format = ts::parse_h264_sps(sps);
  if (!format) return std::move(format).error();
  std::vector<std::uint8_t> out = {1, sps[1], sps[2], sps[3],  // version, profile, compatibility, level
                                   0xFF,                        // 6 reserved bits, lengthSizeMinusOne = 3
                                   static_cast<std::uint8_t>(0xE0 | ps.sps.size())};
  for (const auto& s : ps.sps) put_nal(out, s);
  out.push_back(static_cast<std::uint8_t>(ps.pps.size()));
  for (const auto& p : ps.pps) put_nal(out, p);
  const std::uint8_t profile = sps[1];
  if (profile == 100 || profile == 110 || profile == 122 || profile == 144) {  // the High profiles' extension
    out.push_back(static_cast<std::uint8_t>(0xFC | format->chroma_format_idc));
    out.push_back(static_cast<std::uint8_t>(0xF8 | (format->bit_depth_luma - 8)));
    out.push_back(static_cast<std::uint8_t>(0xF8 | (format->bit_depth_chroma - 8)));
    out.push_back(0);  // numOfSequenceParameterSetExt
  }
  return out;
}

Result<std::vector<std::uint8_t>> hevc_decoder_config(const ParameterSets& ps) {
  if (!ps.complete(VideoCodec::h265)) return bad("hvcC: no VPS, SPS or PPS");
  if (!fits(ps.vps, 0xFFFF) || !fits(ps.sps, 0xFFFF) || !fits(ps.pps, 0xFFFF)) return bad("hvcC: parameter set too large");
  const std::vector<std::uint8_t>& sps = ps.sps.front();
  auto format = ts::parse_h265_sps(sps);
  if (!format) return std::move(format).error();
  // The SPS RBSP after its 2-byte NAL header: one byte (VPS id, max sub-layers,
  // temporal id nesting), then general_profile_tier_level's 12 bytes, which hvcC
  // repeats verbatim (profile space/tier/idc, compatibility flags, constraint flags, level).
  const std::vector<std::uint8_t> rbsp = ts::nal_to_rbsp(std::span<const std::uint8_t>(sps).subspan(2));
  if (rbsp.size() < 13) return bad("hvcC: SPS too short");
  std::vector<std::uint8_t> out = {1};
  out.insert(out.end(), rbsp.begin() + 1, rbsp.begin() + 13);
  const unsigned temporal_layers = ((rbsp[0] >> 1) & 0x07) + 1;
  const unsigned temporal_id_nested = rbsp[0] & 0x01;
  put16(out, 0xF000);  // reserved, min_spatial_segmentation_idc 0 (unknown)
  out.push_back(0xFC);  // reserved, parallelismType 0 (unknown)
  out.push_back(static_cast<std::uint8_t>(0xFC | format->chroma_format_idc));
  out.push_back(static_cast<std::uint8_t>(0xF8 | (format->bit_depth_luma - 8)));
  out.push_back(static_cast<std::uint8_t>(0xF8 | (format->bit_depth_chroma - 8)));
  put16(out, 0);  // avgFrameRate: unspecified
  // constantFrameRate 0, numTemporalLayers, temporalIdNested, lengthSizeMinusOne 3
  out.push_back(static_cast<std::uint8_t>((temporal_layers << 3) | (temporal_id_nested << 2) | 0x03));
  out.push_back(3);  // numOfArrays
  const std::pair<std::uint8_t, const std::vector<std::vector<std::uint8_t>>*> arrays[] = {
      {32, &ps.vps}, {33, &ps.sps}, {34, &ps.pps}};
  for (const auto& [type, list] : arrays) {
    out.push_back(static_cast<std::uint8_t>(0x80 | type));  // array_completeness: no other in-band
    put16(out, list->size());
    for (const auto& nal : *list) put_nal(out, nal);
  }
  return out;
}

Result<TrackInfo> video_track(VideoCodec codec, const ParameterSets& ps) {
  auto record = codec == VideoCodec::h265 ? hevc_decoder_config(ps) : avc_decoder_config(ps);
  if (!record) return std::move(record).error();
  auto format = ts::parse_sps(codec, ps.sps.front());
  if (!format) return std::move(format).error();
  TrackInfo t;
  t.codec = codec == VideoCodec::h265 ? Codec::h265 : Codec::h264;
  t.timescale = 90'000;  // the transport stream's clock: PTS/DTS carry over exactly
  t.decoder_config = std::move(*record);
  t.width = clamp16(format->width);
  t.height = clamp16(format->height);
  return t;
}

std::vector<AdtsFrame> split_adts(std::span<const std::uint8_t> es, std::size_t& skipped) {
  std::vector<AdtsFrame> frames;
  std::size_t at = 0;
  while (es.size() - at >= ts::kAdtsHeaderSize) {
    const std::uint8_t* d = es.data() + at;
    const auto format = ts::parse_adts(d, es.size() - at);
    if (!format || format->sample_rate == 0) break;
    const std::size_t header = (d[1] & 0x01) != 0 ? 7 : 9;  // protection_absent, else a CRC follows
    const std::size_t length = (std::size_t{d[3] & 0x03u} << 11) | (std::size_t{d[4]} << 3) | (d[5] >> 5);
    const unsigned blocks = (d[6] & 0x03u) + 1;
    if (length <= header || length > es.size() - at || blocks != 1) break;
    const unsigned object_type = ((d[2] >> 6) & 0x03u) + 1;  // ADTS profile + 1
    const unsigned rate_index = (d[2] >> 2) & 0x0Fu;
    AdtsFrame f;
    f.raw = es.subspan(at + header, length - header);
    f.audio_specific_config = {static_cast<std::uint8_t>((object_type << 3) | (rate_index >> 1)),
                               static_cast<std::uint8_t>(((rate_index & 1u) << 7) | (format->channels << 3))};
    f.sample_rate = static_cast<std::uint32_t>(format->sample_rate);
    f.channels = static_cast<std::uint16_t>(format->channels);
    frames.push_back(f);
    at += length;
  }
  skipped = es.size() - at;
  return frames;
}

TrackInfo audio_track(const AdtsFrame& f) {
  TrackInfo t;
  t.codec = Codec::aac;
  // The sample rate: a frame is exactly 1,024 ticks. At 90 kHz a 44.1 kHz frame
  // would be 2,089.8 ticks, and rounded durations jitter or drift.
  t.timescale = f.sample_rate;
  t.decoder_config.assign(f.audio_specific_config.begin(), f.audio_specific_config.end());
  t.channels = f.channels;
  t.sample_rate = f.sample_rate;
  return t;
}

}  // namespace hlscache::fmp4
