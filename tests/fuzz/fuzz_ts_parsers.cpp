// The segmenter's parsers one by one, where a fuzzer reaches their corners faster than
// through whole transport streams (fuzz_segmenter.cpp drives them together): the H.264
// and H.265 SPS readers, the ADTS header, PAT and PMT sections, the PES header (at once
// and assembled from pieces) and the NAL scanner. Input: a selector byte, then the bytes
// of that one structure (the low 3 bits pick it, the rest vary how it is fed).
#include <cstring>

#include "fuzz_support.hpp"
#include "segmenter/audio_format.hpp"
#include "segmenter/nal_scanner.hpp"
#include "segmenter/pes.hpp"
#include "segmenter/psi_section.hpp"
#include "segmenter/psi_tables.hpp"
#include "segmenter/video_sps.hpp"

using namespace hlscache;
using namespace hlscache::ts;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const std::uint8_t which = in.byte();
  const std::uint8_t* d = in.data();
  const std::size_t n = in.size();
  switch (which & 7) {
    case 0:
    case 1: {
      const auto f = parse_sps((which & 7) == 0 ? VideoCodec::h264 : VideoCodec::h265, {d, n});
      if (f.ok()) FUZZ_CHECK(f->width >= 0 && f->height >= 0);
      break;
    }
    case 2:
      if (n >= kAdtsHeaderSize) (void)parse_adts(d, n);
      break;
    case 3:
      if (auto pat = parse_pat(d, n); pat.ok()) FUZZ_CHECK(pat->programs.size() <= n);
      break;
    case 4:
      if (auto pmt = parse_pmt(d, n); pmt.ok()) FUZZ_CHECK(pmt->streams.size() <= n);
      break;
    case 5: {
      // The PES header at once, and assembled from 1..16-byte pieces: the same verdict.
      PesHeader whole;
      const PesParse r = parse_pes_header(d, n, whole);
      if (r == PesParse::ok) FUZZ_CHECK(whole.header_size <= n);
      PesHeaderAssembler asm_;
      asm_.start();
      const std::size_t piece = 1 + (which >> 4);
      PesHeader pieced;
      PesParse pr = PesParse::need_more;
      std::size_t fed = 0;
      for (std::size_t at = 0; at < n && pr == PesParse::need_more; at += piece) {
        const std::size_t len = std::min(piece, n - at);
        std::size_t consumed = 0;
        pr = asm_.feed(d + at, len, pieced, consumed);
        if (pr == PesParse::ok) {
          FUZZ_CHECK(consumed <= len);
          fed = at + consumed;
        }
      }
      if (pr == PesParse::ok && r == PesParse::ok) {
        FUZZ_CHECK(fed == whole.header_size);
        FUZZ_CHECK(pieced.pts == whole.pts && pieced.dts == whole.dts && pieced.stream_id == whole.stream_id);
      }
      break;
    }
    default: {
      NalScanner scanner;
      scanner.start((which & 8) ? VideoCodec::h265 : VideoCodec::h264);
      const std::size_t piece = 1 + (which >> 5) * 61;
      for (std::size_t at = 0; at < n && !scanner.feed(d + at, std::min(piece, n - at)); at += piece) {
      }
      const auto sps = scanner.sps();
      FUZZ_CHECK(sps.size() <= NalScanner::kMaxSps);
      if (!sps.empty()) (void)parse_sps((which & 8) ? VideoCodec::h265 : VideoCodec::h264, sps);
      break;
    }
  }
  return 0;
}
