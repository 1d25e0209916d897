// The MPEG-TS ingest path: bytes through the Cutter exactly as a publisher feeds it
// (src/segmenter/live_stream.cpp: PublishSession::feed -> Cutter::feed, discontinuity,
// finish), which runs the packet reader, continuity tracking, PSI assembly and PAT/PMT
// parsing, PES headers, the NAL scanner, SPS and ADTS parsing and the cut decision.
// Input: two bytes of settings (chunk size, target duration, byte/duration bounds,
// chunk capacity, a signalled discontinuity), then the stream.
// Invariants: every segment is whole TS packets, each starting with the sync byte; its
// chunks add up to its size; sequences are consecutive; durations finite and not
// negative; a segment starts without a keyframe only after a forced cut or a
// discontinuity; stats count the segments emitted; and the chunk size of the feed does
// not change the output (a second run feeds the whole input at once).
#include <array>
#include <chrono>
#include <cmath>
#include <vector>

#include "fuzz_support.hpp"
#include "segmenter/cutter.hpp"

using namespace hlscache;
using namespace std::chrono_literals;

namespace {

struct Run {
  std::vector<std::vector<std::uint8_t>> bodies;
  std::vector<Segment> segments;  // chunks moved out into bodies
  CutterStats stats;
};

Run cut(const CutterConfig& cfg, const std::uint8_t* d, std::size_t n, std::size_t piece, std::size_t mid,
        bool signal) {
  Run r;
  Cutter cutter(cfg, [&](Segment&& s) {
    std::vector<std::uint8_t> body;
    std::uint64_t sum = 0;
    for (const Chunk& c : s.chunks) {
      FUZZ_CHECK(c.size > 0 || s.chunks.size() == 1);
      body.insert(body.end(), c.bytes.get(), c.bytes.get() + c.size);
      sum += c.size;
    }
    FUZZ_CHECK(sum == s.size);
    FUZZ_CHECK(s.size % 188 == 0);
    for (std::size_t at = 0; at < body.size(); at += 188) FUZZ_CHECK(body[at] == 0x47);
    FUZZ_CHECK(std::isfinite(s.duration) && s.duration >= 0);
    FUZZ_CHECK(s.sequence == cfg.first_sequence + r.segments.size());
    s.chunks.clear();
    r.bodies.push_back(std::move(body));
    r.segments.push_back(std::move(s));
  });
  auto feed = [&](std::size_t from, std::size_t to) {
    for (std::size_t at = from; at < to; at += piece) cutter.feed(d + at, std::min(piece, to - at));
  };
  feed(0, mid);
  if (signal) cutter.signal_discontinuity();
  feed(mid, n);
  cutter.finish();
  r.stats = cutter.stats();
  FUZZ_CHECK(r.stats.segments == r.segments.size());
  FUZZ_CHECK(r.stats.bytes_in == n);
  std::uint64_t no_key = 0;
  for (const Segment& s : r.segments) no_key += s.starts_with_keyframe ? 0 : 1;
  FUZZ_CHECK(no_key <= r.stats.forced_cuts + r.stats.discontinuities);
  return r;
}

constexpr std::array<std::size_t, 8> kPieces{1, 7, 187, 188, 189, 376, 1316, 65536};
constexpr std::array<std::chrono::milliseconds, 4> kTargets{40ms, 200ms, 1000ms, 2000ms};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const std::uint8_t a = in.byte(), b = in.byte();
  CutterConfig cfg;
  cfg.target_duration = kTargets[a & 3];
  cfg.max_segment_duration = (a & 4) ? 400ms : 30'000ms;
  cfg.max_segment_bytes = (a & 8) ? 188 * 40 : std::size_t{128} << 20;
  cfg.max_timestamp_gap = (a & 16) ? 100ms : 5'000ms;
  cfg.chunk_capacity = (a & 32) ? 1000 : Chunk::kDefaultCapacity;
  cfg.first_sequence = (a & 64) ? 1000 : 0;
  const bool signal = a & 128;
  const std::size_t piece = kPieces[b & 7];
  const std::size_t n = in.size();
  const std::size_t mid = signal ? (b >> 3) * n / 32 : n;

  const Run pieces = cut(cfg, in.data(), n, piece, mid, signal);
  const Run whole = cut(cfg, in.data(), n, std::max<std::size_t>(n, 1), mid, signal);
  FUZZ_CHECK(pieces.bodies == whole.bodies);
  for (std::size_t i = 0; i < pieces.segments.size(); ++i) {
    FUZZ_CHECK(pieces.segments[i].duration == whole.segments[i].duration);
    FUZZ_CHECK(pieces.segments[i].first_pts == whole.segments[i].first_pts);
    FUZZ_CHECK(pieces.segments[i].starts_with_keyframe == whole.segments[i].starts_with_keyframe);
    FUZZ_CHECK(pieces.segments[i].discontinuity == whole.segments[i].discontinuity);
  }
  return 0;
}
