// Synthetic MPEG-TS for the segmenter's tests and benchmark: a TsWriter that
// packetizes PAT/PMT sections and PES packets (with continuity counters, PCR,
// random_access/discontinuity flags and stuffing), builders for H.264/H.265 access
// units (AUD, parameter sets, SEI, slice NAL headers) and ADTS frames, SPS writers
// (Exp-Golomb) for a chosen picture size, a whole-stream generator, and a retimer
// that repeats a recorded stream with continuous timestamps and counters.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hlscache::testing {

using Bytes = std::vector<std::uint8_t>;

struct EsInfo {
  std::uint8_t stream_type = 0x1B;
  std::uint16_t pid = 0x100;
};

struct PesOptions {
  bool random_access = false;
  bool discontinuity = false;
  bool with_pcr = false;
  bool with_dts = false;
  std::uint64_t pts = 0;
  std::uint64_t dts = 0;
  std::uint64_t pcr = 0;  // 90 kHz base
  std::uint8_t stream_id = 0xE0;
};

class TsWriter {
 public:
  std::uint16_t pmt_pid = 0x1000;
  std::uint16_t program_number = 1;
  std::uint8_t pat_version = 0;
  std::uint8_t pmt_version = 0;

  void pat();
  void pmt(const std::vector<EsInfo>& streams, std::uint16_t pcr_pid);
  // Writes a whole PES packet for `payload` on `pid`, split over as many packets as needed.
  void pes(std::uint16_t pid, const Bytes& payload, const PesOptions& o);
  void null_packet();
  // A packet with only an adaptation field (no payload): its CC must not advance.
  void adaptation_only(std::uint16_t pid, bool discontinuity = false);
  void raw_packet(const std::array<std::uint8_t, 188>& p) { out.insert(out.end(), p.begin(), p.end()); }
  // Overrides the next continuity counter of `pid` (to inject errors).
  void set_cc(std::uint16_t pid, std::uint8_t cc) { cc_[pid] = cc & 0x0F; }

  Bytes out;

 private:
  void section_packets(std::uint16_t pid, const Bytes& section);
  std::uint8_t next_cc(std::uint16_t pid);
  std::array<std::uint8_t, 8192> cc_{};
};

// PAT/PMT sections with a correct CRC32.
Bytes pat_section(std::uint16_t program_number, std::uint16_t pmt_pid, std::uint8_t version);
Bytes pmt_section(std::uint16_t program_number, std::uint16_t pcr_pid, const std::vector<EsInfo>& streams,
                  std::uint8_t version);

// SPS NAL units (header included, emulation prevention applied).
Bytes h264_sps(int width, int height, std::uint8_t profile_idc = 100, std::uint8_t level_idc = 31);
Bytes h265_sps(int width, int height);

enum class Codec { h264, h265 };

struct AccessUnitOptions {
  Codec codec = Codec::h264;
  bool keyframe = false;
  bool parameter_sets = false;  // SPS/PPS (and VPS) before the slice
  std::size_t sei_bytes = 0;    // an SEI NAL of this size before the slice
  std::size_t slice_bytes = 200;
  int width = 640;
  int height = 360;
  std::uint8_t h265_key_type = 19;  // IDR_W_RADL; 21 = CRA
};

// Annex B bytes of one access unit: AUD, [parameter sets], [SEI], one slice.
Bytes access_unit(const AccessUnitOptions& o);
// One ADTS frame (AAC LC, 44.1 kHz, stereo) with `payload_bytes` of filler.
Bytes adts_frame(std::size_t payload_bytes = 64);

struct StreamOptions {
  Codec codec = Codec::h264;
  bool video = true;
  bool audio = true;
  bool random_access = true;     // set RAI on keyframes
  int frames = 100;
  int fps = 25;
  int gop = 25;                  // frames per keyframe interval
  std::uint64_t first_pts = 900'000;
  std::size_t key_bytes = 20'000;
  std::size_t frame_bytes = 4'000;
  std::size_t sei_bytes = 0;     // SEI on keyframes (pushes the IDR slice into a later packet)
  int psi_every = 25;            // PAT/PMT before every n-th frame (and before each keyframe)
  double audio_pes_seconds = 0.1;
  int width = 640;
  int height = 360;
};

// A whole program: PAT/PMT, video PID 0x100 (PCR), audio PID 0x101.
Bytes make_stream(const StreamOptions& o);

// Appends `src` (whole packets) to `dst` with every PTS/DTS/PCR moved by `offset`
// (90 kHz) and continuity counters carried on from `cc` (per PID, updated; start
// with every entry -1 to keep the source's first counter).
void append_retimed(Bytes& dst, const Bytes& src, std::int64_t offset, std::array<int, 8192>& cc);

}  // namespace hlscache::testing
