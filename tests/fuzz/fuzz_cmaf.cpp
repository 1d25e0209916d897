// The fMP4/CMAF muxer on arbitrary transport streams: bytes through CmafMuxer::feed
// in chunks, then finish — EsDemuxer (PES reassembly), Annex B splitting, avcC/hvcC
// from whatever SPS/PPS/VPS the stream carries, ADTS splitting, the cut rules and the
// box writer. Input: two bytes of settings (part and segment targets, timestamp gap,
// feed size), then the stream (the segmenter target's seeds fit).
// Invariants: every part has an init segment that is ftyp + moov; a part's bytes are
// [styp] moof mdat, styp exactly on a segment's first part; each trun is read whole
// and its samples lie inside the mdat, which they fill; durations finite and not
// negative; a discontinuity only on a segment's first part; stats count the parts
// and segments; and the chunk size of the feed does not change the output.
#include <array>
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "mp4_reader.hpp"
#include "segmenter/cmaf_muxer.hpp"

using namespace hlscache;
using namespace hlscache::testing;
using namespace std::chrono_literals;

namespace {

void check_init(const std::string& init) {
  const std::vector<Mp4Box> top = mp4_boxes(init);  // throws (a crash) if the boxes do not tile it
  FUZZ_CHECK(top.size() == 2 && top[0].type == "ftyp" && top[1].type == "moov");
}

void check_part(const CmafPart& p) {
  FUZZ_CHECK(p.init != nullptr);
  FUZZ_CHECK(std::isfinite(p.duration) && p.duration >= 0);
  FUZZ_CHECK(!p.discontinuity || p.starts_segment);
  FUZZ_CHECK(p.video_samples + p.audio_samples > 0);
  const std::vector<Mp4Box> top = mp4_boxes(p.bytes);
  const std::size_t first = p.starts_segment ? 1 : 0;
  FUZZ_CHECK(top.size() == first + 2);
  FUZZ_CHECK(!p.starts_segment || top[0].type == "styp");
  const Mp4Box& moof = top[first];
  const Mp4Box& mdat = top[first + 1];
  FUZZ_CHECK(moof.type == "moof" && mdat.type == "mdat");
  std::size_t bytes = 0, samples = 0;
  for (const Mp4Box& traf : mp4_all(moof, "traf")) {
    const Mp4Trun trun = mp4_read_trun(mp4_all(traf, "trun").at(0));
    std::size_t at = moof.offset + static_cast<std::size_t>(trun.data_offset);
    FUZZ_CHECK(trun.data_offset > 0 && at >= mdat.offset + 8);
    for (const Mp4TrunSample& s : trun.samples) at += s.size;
    FUZZ_CHECK(at <= mdat.offset + mdat.size);
    bytes += at - (moof.offset + static_cast<std::size_t>(trun.data_offset));
    samples += trun.samples.size();
  }
  FUZZ_CHECK(bytes == mdat.size - 8);
  FUZZ_CHECK(samples == p.video_samples + p.audio_samples);
}

std::vector<CmafPart> mux(const CmafConfig& cfg, const std::uint8_t* d, std::size_t n, std::size_t piece) {
  std::vector<CmafPart> parts;
  CmafMuxer m(cfg, [&](CmafPart&& p) {
    check_part(p);
    if (parts.empty() || parts.back().init != p.init) check_init(*p.init);
    parts.push_back(std::move(p));
  });
  for (std::size_t at = 0; at < n; at += piece) m.feed(d + at, std::min(piece, n - at));
  m.finish();
  const CmafStats stats = m.stats();
  FUZZ_CHECK(stats.parts == parts.size());
  std::uint64_t segments = 0;
  for (const CmafPart& p : parts) segments += p.starts_segment ? 1 : 0;
  FUZZ_CHECK(stats.segments == segments);
  return parts;
}

constexpr std::array<std::size_t, 8> kPieces{1, 7, 187, 188, 189, 376, 1316, 65536};
constexpr std::array<std::chrono::milliseconds, 4> kParts{40ms, 200ms, 330ms, 1000ms};
constexpr std::array<std::chrono::milliseconds, 4> kSegments{40ms, 500ms, 1000ms, 2000ms};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const std::uint8_t a = in.byte(), b = in.byte();
  CmafConfig cfg;
  cfg.part_target = kParts[a & 3];
  cfg.segment_target = kSegments[(a >> 2) & 3];
  cfg.max_timestamp_gap = (a & 16) ? 100ms : 5'000ms;
  const std::size_t piece = kPieces[b & 7];
  const std::size_t n = in.size();

  const std::vector<CmafPart> pieces = mux(cfg, in.data(), n, piece);
  const std::vector<CmafPart> whole = mux(cfg, in.data(), n, std::max<std::size_t>(n, 1));
  FUZZ_CHECK(pieces.size() == whole.size());
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    FUZZ_CHECK(pieces[i].bytes == whole[i].bytes);
    FUZZ_CHECK(*pieces[i].init == *whole[i].init);
    FUZZ_CHECK(pieces[i].duration == whole[i].duration);
    FUZZ_CHECK(pieces[i].independent == whole[i].independent);
    FUZZ_CHECK(pieces[i].discontinuity == whole[i].discontinuity);
  }
  return 0;
}
