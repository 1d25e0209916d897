#include "ts_builder.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace hlscache::testing {
namespace {

// Bitwise CRC-32/MPEG-2, written independently of the table-driven one under test.
std::uint32_t crc32(const Bytes& d) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (std::uint8_t b : d) {
    for (int i = 7; i >= 0; --i) {
      const bool top = ((crc >> 31) & 1u) != (((b >> i) & 1u) != 0);
      crc <<= 1;
      if (top) crc ^= 0x04C11DB7u;
    }
  }
  return crc;
}

void finish_section(Bytes& s) {
  const std::size_t section_length = s.size() - 3 + 4;
  s[1] = static_cast<std::uint8_t>(0xB0 | ((section_length >> 8) & 0x0F));
  s[2] = static_cast<std::uint8_t>(section_length & 0xFF);
  const std::uint32_t crc = crc32(s);
  for (int i = 3; i >= 0; --i) s.push_back(static_cast<std::uint8_t>(crc >> (8 * i)));
}

class BitWriter {
 public:
  void u(unsigned n, std::uint32_t v) {
    for (int i = static_cast<int>(n) - 1; i >= 0; --i) bit((v >> i) & 1u);
  }
  void ue(std::uint32_t v) {
    const std::uint64_t x = std::uint64_t{v} + 1;
    int len = 0;
    while ((x >> (len + 1)) != 0) ++len;
    u(static_cast<unsigned>(len), 0);
    for (int i = len; i >= 0; --i) bit(static_cast<std::uint32_t>((x >> i) & 1u));
  }
  void trailing() {
    bit(1);
    while (nbits_ % 8 != 0) bit(0);
  }
  // RBSP -> NAL payload with emulation prevention bytes.
  Bytes nal(const Bytes& header) const {
    Bytes out = header;
    int zeros = 0;
    for (std::uint8_t b : bytes_) {
      if (zeros >= 2 && b <= 3) {
        out.push_back(0x03);
        zeros = 0;
      }
      out.push_back(b);
      zeros = b == 0 ? zeros + 1 : 0;
    }
    return out;
  }

 private:
  void bit(std::uint32_t b) {
    if (nbits_ % 8 == 0) bytes_.push_back(0);
    if (b != 0) bytes_.back() |= static_cast<std::uint8_t>(0x80 >> (nbits_ % 8));
    ++nbits_;
  }
  Bytes bytes_;
  std::size_t nbits_ = 0;
};

void write_timestamp(std::uint8_t* p, std::uint8_t prefix, std::uint64_t ts) {
  p[0] = static_cast<std::uint8_t>((prefix << 4) | ((ts >> 29) & 0x0E) | 1);
  p[1] = static_cast<std::uint8_t>(ts >> 22);
  p[2] = static_cast<std::uint8_t>(((ts >> 14) & 0xFE) | 1);
  p[3] = static_cast<std::uint8_t>(ts >> 7);
  p[4] = static_cast<std::uint8_t>(((ts << 1) & 0xFE) | 1);
}

std::uint64_t read_ts(const std::uint8_t* p) {
  return (std::uint64_t{static_cast<std::uint8_t>((p[0] >> 1) & 7)} << 30) | (std::uint64_t{p[1]} << 22) |
         (std::uint64_t{static_cast<std::uint8_t>(p[2] >> 1)} << 15) | (std::uint64_t{p[3]} << 7) | (p[4] >> 1);
}

void append_start_code(Bytes& b) { b.insert(b.end(), {0x00, 0x00, 0x00, 0x01}); }

// Filler that never forms a start code.
void append_filler(Bytes& b, std::size_t n, std::uint8_t seed) {
  for (std::size_t i = 0; i < n; ++i) b.push_back(static_cast<std::uint8_t>(0x80 | ((seed + i * 7) & 0x7F)));
}

constexpr std::uint64_t kMask33 = (std::uint64_t{1} << 33) - 1;

}  // namespace

Bytes pat_section(std::uint16_t program_number, std::uint16_t pmt_pid, std::uint8_t version) {
  Bytes s = {0x00, 0, 0, 0x00, 0x01, static_cast<std::uint8_t>(0xC1 | (version << 1)), 0x00, 0x00};
  s.push_back(static_cast<std::uint8_t>(program_number >> 8));
  s.push_back(static_cast<std::uint8_t>(program_number));
  s.push_back(static_cast<std::uint8_t>(0xE0 | (pmt_pid >> 8)));
  s.push_back(static_cast<std::uint8_t>(pmt_pid));
  finish_section(s);
  return s;
}

Bytes pmt_section(std::uint16_t program_number, std::uint16_t pcr_pid, const std::vector<EsInfo>& streams,
                  std::uint8_t version) {
  Bytes s = {0x02, 0, 0, static_cast<std::uint8_t>(program_number >> 8), static_cast<std::uint8_t>(program_number),
             static_cast<std::uint8_t>(0xC1 | (version << 1)), 0x00, 0x00,
             static_cast<std::uint8_t>(0xE0 | (pcr_pid >> 8)), static_cast<std::uint8_t>(pcr_pid), 0xF0, 0x00};
  for (const EsInfo& es : streams) {
    s.insert(s.end(), {es.stream_type, static_cast<std::uint8_t>(0xE0 | (es.pid >> 8)),
                       static_cast<std::uint8_t>(es.pid), 0xF0, 0x00});
  }
  finish_section(s);
  return s;
}

std::uint8_t TsWriter::next_cc(std::uint16_t pid) {
  const std::uint8_t cc = cc_[pid];
  cc_[pid] = (cc + 1) & 0x0F;
  return cc;
}

void TsWriter::section_packets(std::uint16_t pid, const Bytes& section) {
  Bytes data = {0x00};  // pointer_field
  data.insert(data.end(), section.begin(), section.end());
  for (std::size_t i = 0; i < data.size(); i += 184) {
    std::array<std::uint8_t, 188> p{};
    p.fill(0xFF);
    p[0] = 0x47;
    p[1] = static_cast<std::uint8_t>((i == 0 ? 0x40 : 0x00) | (pid >> 8));
    p[2] = static_cast<std::uint8_t>(pid);
    p[3] = static_cast<std::uint8_t>(0x10 | next_cc(pid));
    const std::size_t n = std::min<std::size_t>(184, data.size() - i);
    std::memcpy(p.data() + 4, data.data() + i, n);
    raw_packet(p);
  }
}

void TsWriter::pat() { section_packets(0, pat_section(program_number, pmt_pid, pat_version)); }

void TsWriter::pmt(const std::vector<EsInfo>& streams, std::uint16_t pcr_pid) {
  section_packets(pmt_pid, pmt_section(program_number, pcr_pid, streams, pmt_version));
}

void TsWriter::pes(std::uint16_t pid, const Bytes& payload, const PesOptions& o) {
  Bytes data = {0x00, 0x00, 0x01, o.stream_id, 0x00, 0x00, 0x80,
                static_cast<std::uint8_t>(o.with_dts ? 0xC0 : 0x80), static_cast<std::uint8_t>(o.with_dts ? 10 : 5)};
  data.resize(data.size() + (o.with_dts ? 10 : 5));
  write_timestamp(data.data() + 9, o.with_dts ? 0x3 : 0x2, o.pts & kMask33);
  if (o.with_dts) write_timestamp(data.data() + 14, 0x1, o.dts & kMask33);
  const std::size_t pes_length = data.size() - 6 + payload.size();
  if (o.stream_id != 0xE0 || pes_length <= 0xFFFF) {  // video may leave it 0 (unbounded)
    data[4] = static_cast<std::uint8_t>(pes_length >> 8);
    data[5] = static_cast<std::uint8_t>(pes_length);
  }
  data.insert(data.end(), payload.begin(), payload.end());
  std::size_t at = 0;
  bool first = true;
  while (at < data.size()) {
    std::array<std::uint8_t, 188> p{};
    p[0] = 0x47;
    p[1] = static_cast<std::uint8_t>((first ? 0x40 : 0x00) | (pid >> 8));
    p[2] = static_cast<std::uint8_t>(pid);
    const bool flags = first && (o.random_access || o.discontinuity || o.with_pcr);
    const std::size_t flags_len = flags ? 1 + (o.with_pcr ? 6 : 0) : 0;
    std::size_t af_total = flags ? 1 + flags_len : 0;  // adaptation field incl. its length byte
    const std::size_t room = 184 - af_total;
    const std::size_t take = std::min(room, data.size() - at);
    if (take < room) af_total = 184 - take;  // stuffing fills the last packet
    p[3] = static_cast<std::uint8_t>((af_total > 0 ? 0x30 : 0x10) | next_cc(pid));
    if (af_total > 0) {
      p[4] = static_cast<std::uint8_t>(af_total - 1);
      if (af_total >= 2) {
        std::memset(p.data() + 5, 0xFF, af_total - 1);
        p[5] = static_cast<std::uint8_t>((flags && o.discontinuity ? 0x80 : 0) | (flags && o.random_access ? 0x40 : 0) |
                                         (flags && o.with_pcr ? 0x10 : 0));
        if (flags && o.with_pcr) {
          const std::uint64_t b = o.pcr & kMask33;
          const std::uint8_t pcr[6] = {static_cast<std::uint8_t>(b >> 25), static_cast<std::uint8_t>(b >> 17),
                                       static_cast<std::uint8_t>(b >> 9),  static_cast<std::uint8_t>(b >> 1),
                                       static_cast<std::uint8_t>(((b & 1) << 7) | 0x7E), 0x00};
          std::memcpy(p.data() + 6, pcr, 6);
        }
      }
    }
    std::memcpy(p.data() + 4 + af_total, data.data() + at, take);
    at += take;
    first = false;
    raw_packet(p);
  }
}

void TsWriter::null_packet() {
  std::array<std::uint8_t, 188> p{};
  p.fill(0xFF);
  p[0] = 0x47;
  p[1] = 0x1F;
  p[2] = 0xFF;
  p[3] = 0x10;
  raw_packet(p);
}

void TsWriter::adaptation_only(std::uint16_t pid, bool discontinuity) {
  std::array<std::uint8_t, 188> p{};
  p.fill(0xFF);
  p[0] = 0x47;
  p[1] = static_cast<std::uint8_t>(pid >> 8);
  p[2] = static_cast<std::uint8_t>(pid);
  p[3] = static_cast<std::uint8_t>(0x20 | ((cc_[pid] + 15) & 0x0F));  // repeats the last CC
  p[4] = 183;
  p[5] = discontinuity ? 0x80 : 0x00;
  raw_packet(p);
}

Bytes h264_sps(int width, int height, std::uint8_t profile_idc, std::uint8_t level_idc) {
  const int mbs_w = (width + 15) / 16;
  const int mbs_h = (height + 15) / 16;
  BitWriter w;
  w.u(8, profile_idc);
  w.u(8, 0);  // constraint flags
  w.u(8, level_idc);
  w.ue(0);  // seq_parameter_set_id
  if (profile_idc == 100) {
    w.ue(1);    // chroma_format_idc 4:2:0
    w.ue(0);    // bit_depth_luma_minus8
    w.ue(0);    // bit_depth_chroma_minus8
    w.u(1, 0);  // qpprime_y_zero_transform_bypass_flag
    w.u(1, 0);  // seq_scaling_matrix_present_flag
  }
  w.ue(0);  // log2_max_frame_num_minus4
  w.ue(0);  // pic_order_cnt_type
  w.ue(2);  // log2_max_pic_order_cnt_lsb_minus4
  w.ue(1);  // max_num_ref_frames
  w.u(1, 0);
  w.ue(static_cast<std::uint32_t>(mbs_w - 1));
  w.ue(static_cast<std::uint32_t>(mbs_h - 1));
  w.u(1, 1);  // frame_mbs_only_flag
  w.u(1, 1);  // direct_8x8_inference_flag
  const int crop_right = (mbs_w * 16 - width) / 2;
  const int crop_bottom = (mbs_h * 16 - height) / 2;
  if (crop_right != 0 || crop_bottom != 0) {
    w.u(1, 1);
    w.ue(0);
    w.ue(static_cast<std::uint32_t>(crop_right));
    w.ue(0);
    w.ue(static_cast<std::uint32_t>(crop_bottom));
  } else {
    w.u(1, 0);
  }
  w.u(1, 0);  // vui_parameters_present_flag
  w.trailing();
  return w.nal({0x67});
}

Bytes h265_sps(int width, int height) {
  const int coded_w = (width + 7) / 8 * 8;
  const int coded_h = (height + 7) / 8 * 8;
  BitWriter w;
  w.u(4, 0);  // sps_video_parameter_set_id
  w.u(3, 0);  // sps_max_sub_layers_minus1
  w.u(1, 1);  // sps_temporal_id_nesting_flag
  w.u(2, 0);  // general_profile_space
  w.u(1, 0);  // general_tier_flag
  w.u(5, 1);  // general_profile_idc: Main
  w.u(32, 0x60000000);  // compatibility flags 1 and 2
  w.u(4, 0x9);          // progressive, !interlaced, !non_packed, frame_only
  w.u(32, 0);
  w.u(12, 0);           // the other 44 constraint bits
  w.u(8, 93);           // general_level_idc: 3.1
  w.ue(0);              // sps_seq_parameter_set_id
  w.ue(1);              // chroma_format_idc
  w.ue(static_cast<std::uint32_t>(coded_w));
  w.ue(static_cast<std::uint32_t>(coded_h));
  if (coded_w != width || coded_h != height) {
    w.u(1, 1);
    w.ue(0);
    w.ue(static_cast<std::uint32_t>((coded_w - width) / 2));
    w.ue(0);
    w.ue(static_cast<std::uint32_t>((coded_h - height) / 2));
  } else {
    w.u(1, 0);
  }
  w.ue(0);  // bit_depth_luma_minus8
  w.ue(0);  // bit_depth_chroma_minus8
  w.ue(4);  // log2_max_pic_order_cnt_lsb_minus4
  w.trailing();
  return w.nal({0x42, 0x01});
}

Bytes access_unit(const AccessUnitOptions& o) {
  Bytes b;
  const bool hevc = o.codec == Codec::h265;
  append_start_code(b);
  if (hevc) b.insert(b.end(), {0x46, 0x01, 0x50});
  else b.insert(b.end(), {0x09, 0xF0});
  if (o.parameter_sets) {
    if (hevc) {
      append_start_code(b);
      b.insert(b.end(), {0x40, 0x01, 0x0C, 0x01, 0xFF, 0xFF});  // VPS (abridged)
    }
    append_start_code(b);
    const Bytes sps = hevc ? h265_sps(o.width, o.height) : h264_sps(o.width, o.height);
    b.insert(b.end(), sps.begin(), sps.end());
    append_start_code(b);
    if (hevc) b.insert(b.end(), {0x44, 0x01, 0xC1, 0x72, 0xB4});
    else b.insert(b.end(), {0x68, 0xEE, 0x3C, 0x80});
  }
  if (o.sei_bytes > 0) {
    b.insert(b.end(), {0x00, 0x00, 0x01});
    if (hevc) b.insert(b.end(), {0x4E, 0x01});
    else b.push_back(0x06);
    append_filler(b, o.sei_bytes, 0x11);
  }
  b.insert(b.end(), {0x00, 0x00, 0x01});
  if (hevc) {
    const std::uint8_t type = o.keyframe ? o.h265_key_type : 1;
    b.insert(b.end(), {static_cast<std::uint8_t>(type << 1), 0x01});
  } else {
    b.push_back(o.keyframe ? 0x65 : 0x41);
  }
  append_filler(b, o.slice_bytes, 0x23);
  return b;
}

Bytes adts_frame(std::size_t payload_bytes) {
  const std::size_t len = 7 + payload_bytes;
  Bytes b = {0xFF, 0xF1, 0x50, static_cast<std::uint8_t>(0x80 | ((len >> 11) & 0x03)),
             static_cast<std::uint8_t>(len >> 3), static_cast<std::uint8_t>(((len & 7) << 5) | 0x1F), 0xFC};
  append_filler(b, payload_bytes, 0x35);
  return b;
}

Bytes make_stream(const StreamOptions& o) {
  constexpr std::uint16_t kVideo = 0x100, kAudio = 0x101;
  std::vector<EsInfo> streams;
  if (o.video) streams.push_back({o.codec == Codec::h265 ? std::uint8_t{0x24} : std::uint8_t{0x1B}, kVideo});
  if (o.audio) streams.push_back({0x0F, kAudio});
  const std::uint16_t pcr_pid = o.video ? kVideo : kAudio;
  TsWriter w;
  const double frame_ticks = 90000.0 / o.fps;
  const double aac_frame_ticks = 1024.0 * 90000.0 / 44100.0;
  const int aac_per_pes = std::max(1, static_cast<int>(o.audio_pes_seconds * 44100.0 / 1024.0));
  double audio_pts = static_cast<double>(o.first_pts);
  for (int i = 0; i < o.frames; ++i) {
    const auto pts = static_cast<std::uint64_t>(std::llround(o.first_pts + i * frame_ticks));
    const bool key = i % o.gop == 0;
    if (key || (o.psi_every > 0 && i % o.psi_every == 0)) {
      w.pat();
      w.pmt(streams, pcr_pid);
    }
    if (o.video) {
      AccessUnitOptions au;
      au.codec = o.codec;
      au.keyframe = key;
      au.parameter_sets = key;
      au.sei_bytes = key ? o.sei_bytes : 0;
      au.slice_bytes = key ? o.key_bytes : o.frame_bytes;
      au.width = o.width;
      au.height = o.height;
      PesOptions po;
      po.random_access = key && o.random_access;
      po.with_pcr = true;
      po.pcr = pts - 3600;
      po.pts = pts;
      w.pes(kVideo, access_unit(au), po);
    }
    while (o.audio && audio_pts < pts + frame_ticks) {
      Bytes payload;
      for (int k = 0; k < aac_per_pes; ++k) {
        const Bytes f = adts_frame(300);
        payload.insert(payload.end(), f.begin(), f.end());
      }
      PesOptions po;
      po.stream_id = 0xC0;
      po.pts = static_cast<std::uint64_t>(std::llround(audio_pts));
      po.with_pcr = !o.video;
      po.pcr = po.pts;
      po.random_access = !o.video;
      w.pes(kAudio, payload, po);
      audio_pts += aac_per_pes * aac_frame_ticks;
    }
  }
  return std::move(w.out);
}

void append_retimed(Bytes& dst, const Bytes& src, std::int64_t offset, std::array<int, 8192>& cc) {
  const std::size_t start = dst.size();
  dst.insert(dst.end(), src.begin(), src.end());
  for (std::size_t at = start; at + 188 <= dst.size(); at += 188) {
    std::uint8_t* p = dst.data() + at;
    const int pid = ((p[1] & 0x1F) << 8) | p[2];
    if (pid == 0x1FFF) continue;
    const int afc = (p[3] >> 4) & 3;
    std::size_t payload = 4;
    if ((afc & 2) != 0) {
      const std::size_t len = p[4];
      if (len > 0 && (p[5] & 0x10) != 0) {  // PCR
        std::uint64_t base = (std::uint64_t{p[6]} << 25) | (std::uint64_t{p[7]} << 17) | (std::uint64_t{p[8]} << 9) |
                             (std::uint64_t{p[9]} << 1) | (p[10] >> 7);
        base = (base + static_cast<std::uint64_t>(offset)) & kMask33;
        p[6] = static_cast<std::uint8_t>(base >> 25);
        p[7] = static_cast<std::uint8_t>(base >> 17);
        p[8] = static_cast<std::uint8_t>(base >> 9);
        p[9] = static_cast<std::uint8_t>(base >> 1);
        p[10] = static_cast<std::uint8_t>((p[10] & 0x7F) | ((base & 1) << 7));
      }
      payload = 5 + len;
    }
    if ((afc & 1) != 0) {
      cc[pid] = cc[pid] < 0 ? (p[3] & 0x0F) : (cc[pid] + 1) & 0x0F;
    } else if (cc[pid] < 0) {
      cc[pid] = p[3] & 0x0F;
    }
    p[3] = static_cast<std::uint8_t>((p[3] & 0xF0) | cc[pid]);
    const bool pusi = (p[1] & 0x40) != 0;
    if (!pusi || (afc & 1) == 0 || payload + 19 > 188 || pid == 0) continue;
    std::uint8_t* h = p + payload;
    if (h[0] != 0 || h[1] != 0 || h[2] != 1 || h[3] < 0xC0 || (h[6] & 0xC0) != 0x80) continue;
    const unsigned flags = h[7] >> 6;
    if (flags >= 2) write_timestamp(h + 9, h[9] >> 4, (read_ts(h + 9) + static_cast<std::uint64_t>(offset)) & kMask33);
    if (flags == 3) write_timestamp(h + 14, h[14] >> 4, (read_ts(h + 14) + static_cast<std::uint64_t>(offset)) & kMask33);
  }
}

}  // namespace hlscache::testing
