#include "segmenter/video_sps.hpp"

#include <fmt/format.h>

#include "segmenter/bit_reader.hpp"

namespace hlscache::ts {
namespace {

Error bad(const char* what) { return Error::make(ErrorSource::upstream, Errc::protocol, what); }

bool has_chroma_info(unsigned profile_idc) {
  switch (profile_idc) {
    case 100: case 110: case 122: case 244: case 44: case 83: case 86: case 118: case 128: case 138:
    case 139: case 134: case 135:
      return true;
    default:
      return false;
  }
}

void skip_scaling_list(BitReader& br, int size) {
  int last = 8;
  int next = 8;
  for (int j = 0; j < size && br.ok(); ++j) {
    // delta_scale is -128..127 in a valid stream; se() may say up to +-2^31: 64 bits, kept in 0..255.
    if (next != 0) next = static_cast<int>(((last + std::int64_t{br.se()}) % 256 + 256) % 256);
    last = next == 0 ? last : next;
  }
}

// SubWidthC / SubHeightC (Table 6-1 of both standards); ChromaArrayType 0 uses 1.
int sub_width(unsigned chroma_array_type) { return chroma_array_type == 1 || chroma_array_type == 2 ? 2 : 1; }
int sub_height(unsigned chroma_array_type) { return chroma_array_type == 1 ? 2 : 1; }

std::uint32_t reverse_bits(std::uint32_t v) {
  std::uint32_t r = 0;
  for (int i = 0; i < 32; ++i, v >>= 1) r = (r << 1) | (v & 1u);
  return r;
}

}  // namespace

Result<VideoFormat> parse_h264_sps(std::span<const std::uint8_t> nal) {
  if (nal.size() < 4) return bad("H.264 SPS too short");
  const std::vector<std::uint8_t> rbsp = nal_to_rbsp(nal.subspan(1));
  BitReader br(rbsp);
  const unsigned profile_idc = br.bits(8);
  const unsigned constraints = br.bits(8);
  const unsigned level_idc = br.bits(8);
  br.ue();  // seq_parameter_set_id
  unsigned chroma_format_idc = 1;
  unsigned bit_depth_luma = 8;
  unsigned bit_depth_chroma = 8;
  bool separate_colour_plane = false;
  if (has_chroma_info(profile_idc)) {
    chroma_format_idc = br.ue();
    if (chroma_format_idc == 3) separate_colour_plane = br.bit() != 0;
    bit_depth_luma = br.ue() + 8;
    bit_depth_chroma = br.ue() + 8;
    br.bit();   // qpprime_y_zero_transform_bypass_flag
    if (br.bit() != 0) {  // seq_scaling_matrix_present_flag
      const int lists = chroma_format_idc != 3 ? 8 : 12;
      for (int i = 0; i < lists && br.ok(); ++i) {
        if (br.bit() != 0) skip_scaling_list(br, i < 6 ? 16 : 64);
      }
    }
  }
  br.ue();  // log2_max_frame_num_minus4
  const unsigned poc_type = br.ue();
  if (poc_type == 0) {
    br.ue();  // log2_max_pic_order_cnt_lsb_minus4
  } else if (poc_type == 1) {
    br.bit();  // delta_pic_order_always_zero_flag
    br.se();   // offset_for_non_ref_pic
    br.se();   // offset_for_top_to_bottom_field
    const unsigned cycle = br.ue();
    if (cycle > 255) return bad("H.264 SPS: num_ref_frames_in_pic_order_cnt_cycle out of range");
    for (unsigned i = 0; i < cycle && br.ok(); ++i) br.se();
  }
  br.ue();   // max_num_ref_frames
  br.bit();  // gaps_in_frame_num_value_allowed_flag
  const unsigned width_mbs = br.ue() + 1;
  const unsigned height_map_units = br.ue() + 1;
  const unsigned frame_mbs_only = br.bit();
  if (frame_mbs_only == 0) br.bit();  // mb_adaptive_frame_field_flag
  br.bit();                            // direct_8x8_inference_flag
  unsigned crop_left = 0, crop_right = 0, crop_top = 0, crop_bottom = 0;
  if (br.bit() != 0) {
    crop_left = br.ue();
    crop_right = br.ue();
    crop_top = br.ue();
    crop_bottom = br.ue();
  }
  if (!br.ok()) return bad("H.264 SPS truncated");
  const unsigned chroma_array_type = separate_colour_plane ? 0 : chroma_format_idc;
  const int crop_x = sub_width(chroma_array_type);
  const int crop_y = sub_height(chroma_array_type) * static_cast<int>(2 - frame_mbs_only);
  // In 64 bits: the Exp-Golomb values go up to 2^32 - 2, and a stream may say anything.
  const std::int64_t width = std::int64_t{width_mbs} * 16 - crop_x * (std::int64_t{crop_left} + crop_right);
  const std::int64_t height = std::int64_t{2 - frame_mbs_only} * height_map_units * 16 -
                              crop_y * (std::int64_t{crop_top} + crop_bottom);
  if (width <= 0 || height <= 0 || width_mbs > 1024 || height_map_units > 1024) {
    return bad("H.264 SPS: implausible picture size");
  }
  VideoFormat f;
  f.codec = VideoCodec::h264;
  f.width = static_cast<int>(width);
  f.height = static_cast<int>(height);
  f.codec_string = fmt::format("avc1.{:02x}{:02x}{:02x}", profile_idc, constraints, level_idc);
  f.chroma_format_idc = chroma_format_idc;
  f.bit_depth_luma = bit_depth_luma;
  f.bit_depth_chroma = bit_depth_chroma;
  return f;
}

Result<VideoFormat> parse_h265_sps(std::span<const std::uint8_t> nal) {
  if (nal.size() < 16) return bad("H.265 SPS too short");
  const std::vector<std::uint8_t> rbsp = nal_to_rbsp(nal.subspan(2));
  BitReader br(rbsp);
  br.bits(4);  // sps_video_parameter_set_id
  const unsigned max_sub_layers_minus1 = br.bits(3);
  br.bit();  // sps_temporal_id_nesting_flag
  // profile_tier_level(1, sps_max_sub_layers_minus1)
  const unsigned profile_space = br.bits(2);
  const unsigned tier = br.bit();
  const unsigned profile_idc = br.bits(5);
  const std::uint32_t compatibility = br.bits(32);
  std::uint8_t constraint_bytes[6];
  for (std::uint8_t& c : constraint_bytes) c = static_cast<std::uint8_t>(br.bits(8));
  const unsigned level_idc = br.bits(8);
  bool sub_profile[8] = {};
  bool sub_level[8] = {};
  for (unsigned i = 0; i < max_sub_layers_minus1; ++i) {
    sub_profile[i] = br.bit() != 0;
    sub_level[i] = br.bit() != 0;
  }
  if (max_sub_layers_minus1 > 0) br.skip(2 * (8 - max_sub_layers_minus1));
  for (unsigned i = 0; i < max_sub_layers_minus1; ++i) {
    if (sub_profile[i]) br.skip(88);
    if (sub_level[i]) br.skip(8);
  }
  br.ue();  // sps_seq_parameter_set_id
  const unsigned chroma_format_idc = br.ue();
  bool separate_colour_plane = false;
  if (chroma_format_idc == 3) separate_colour_plane = br.bit() != 0;
  const unsigned width = br.ue();
  const unsigned height = br.ue();
  unsigned left = 0, right = 0, top = 0, bottom = 0;
  if (br.bit() != 0) {
    left = br.ue();
    right = br.ue();
    top = br.ue();
    bottom = br.ue();
  }
  if (!br.ok()) return bad("H.265 SPS truncated");
  const unsigned chroma_array_type = separate_colour_plane ? 0 : chroma_format_idc;
  const std::int64_t cropped_width = std::int64_t{width} - sub_width(chroma_array_type) * (std::int64_t{left} + right);
  const std::int64_t cropped_height = std::int64_t{height} - sub_height(chroma_array_type) * (std::int64_t{top} + bottom);
  if (cropped_width <= 0 || cropped_height <= 0 || width > 16384 || height > 16384) {
    return bad("H.265 SPS: implausible picture size");
  }
  // The bit depths follow the conformance window; read after the size check so an
  // SPS cut short right there still gives its size (and 8 bits is assumed).
  const unsigned bit_depth_luma = br.ue() + 8;
  const unsigned bit_depth_chroma = br.ue() + 8;
  VideoFormat f;
  f.codec = VideoCodec::h265;
  f.chroma_format_idc = chroma_format_idc;
  if (br.ok()) {
    f.bit_depth_luma = bit_depth_luma;
    f.bit_depth_chroma = bit_depth_chroma;
  }
  f.width = static_cast<int>(cropped_width);
  f.height = static_cast<int>(cropped_height);
  static constexpr const char* kSpace[] = {"", "A", "B", "C"};
  f.codec_string = fmt::format("hvc1.{}{}.{:X}.{}{}", kSpace[profile_space], profile_idc, reverse_bits(compatibility),
                               tier != 0 ? 'H' : 'L', level_idc);
  int last = 5;
  while (last >= 0 && constraint_bytes[last] == 0) --last;
  for (int i = 0; i <= last; ++i) f.codec_string += fmt::format(".{:X}", constraint_bytes[i]);
  return f;
}

Result<VideoFormat> parse_sps(VideoCodec codec, std::span<const std::uint8_t> nal) {
  switch (codec) {
    case VideoCodec::h264: return parse_h264_sps(nal);
    case VideoCodec::h265: return parse_h265_sps(nal);
    case VideoCodec::unknown: break;
  }
  return bad("SPS of an unknown codec");
}

}  // namespace hlscache::ts
