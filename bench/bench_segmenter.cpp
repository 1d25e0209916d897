// Cutter throughput: a ~300 MB transport stream held in memory, fed in 64 KiB
// chunks, cut at 2 s. Two inputs: a real x264/AAC encode (ffmpeg, 1280x720, noisy
// so it runs at ~40 Mbit/s, B-frames, GOP 2 s), repeated with continuous
// timestamps and continuity counters; and a synthetic stream from ts_builder when
// ffmpeg is absent (or as a second data point). Baselines: the packet reader alone,
// and a bare 64 KiB-chunk memcpy of the same bytes (the copy every cutter pays).
#include <benchmark/benchmark.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "segmenter/cutter.hpp"
#include "segmenter/packet_reader.hpp"
#include "ts_builder.hpp"

using namespace hlscache;
using hlscache::testing::Bytes;

namespace {

constexpr std::size_t kTargetBytes = 300u << 20;
constexpr std::size_t kFeedChunk = 64 * 1024;
constexpr int kClipSeconds = 6;

// Repeats `clip` (whose video lasts `clip_ticks`) until kTargetBytes, timestamps continuing.
Bytes repeat_continuous(const Bytes& clip, std::int64_t clip_ticks) {
  Bytes out;
  out.reserve(kTargetBytes + clip.size());
  std::array<int, 8192> cc;
  cc.fill(-1);
  for (std::int64_t k = 0; out.size() < kTargetBytes; ++k) testing::append_retimed(out, clip, k * clip_ticks, cc);
  return out;
}

const Bytes* real_stream() {
  static const Bytes* data = [] () -> const Bytes* {
    const std::filesystem::path clip = std::filesystem::temp_directory_path() / "hlscache_bench_x264_720p_6s.ts";
    if (!std::filesystem::exists(clip)) {
      const std::string cmd =
          "ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=1280x720:rate=25 "
          "-f lavfi -i sine -t " + std::to_string(kClipSeconds) +
          " -vf noise=alls=12:allf=t -c:v libx264 -preset veryfast -crf 20 -g 50 -keyint_min 50 "
          "-sc_threshold 0 -c:a aac -f mpegts '" + clip.string() + ".part' && mv '" + clip.string() + ".part' '" +
          clip.string() + "'";
      if (std::system(cmd.c_str()) != 0) return nullptr;
    }
    std::ifstream in(clip, std::ios::binary);
    const Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.empty()) return nullptr;
    return new Bytes(repeat_continuous(bytes, std::int64_t{kClipSeconds} * 90000));
  }();
  return data;
}

const Bytes* synthetic_stream() {
  static const Bytes* data = [] {
    testing::StreamOptions o;  // ~8 Mbit/s: 150 kB keyframes, 35 kB frames, GOP 2 s, AAC
    o.frames = 250;
    o.gop = 50;
    o.key_bytes = 150'000;
    o.frame_bytes = 35'000;
    o.sei_bytes = 600;
    const Bytes clip = testing::make_stream(o);
    return new Bytes(repeat_continuous(clip, std::int64_t{o.frames} * 90000 / o.fps));
  }();
  return data;
}

void run_cutter(benchmark::State& state, const Bytes* ts) {
  if (ts == nullptr) {
    state.SkipWithError("input unavailable (ffmpeg missing?)");
    return;
  }
  std::uint64_t segments = 0;
  CutterStats last{};
  for (auto _ : state) {
    Cutter cutter({}, [&](Segment&& s) {
      ++segments;
      benchmark::DoNotOptimize(s.chunks.data());
    });
    for (std::size_t at = 0; at < ts->size(); at += kFeedChunk) {
      cutter.feed(ts->data() + at, std::min(kFeedChunk, ts->size() - at));
    }
    cutter.finish();
    last = cutter.stats();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * ts->size()));
  state.counters["MB"] = static_cast<double>(ts->size()) / 1e6;
  state.counters["segments/iter"] = static_cast<double>(segments) / static_cast<double>(state.iterations());
  state.counters["cc_errors"] = static_cast<double>(last.cc_errors);
  state.counters["keyframes"] = static_cast<double>(last.keyframes);
}

void BM_CutterRealEncode(benchmark::State& state) { run_cutter(state, real_stream()); }
void BM_CutterSynthetic(benchmark::State& state) { run_cutter(state, synthetic_stream()); }

// The packet reader alone: sync checks and batching, no analysis, no copy.
void BM_PacketReaderOnly(benchmark::State& state) {
  const Bytes* ts = real_stream() != nullptr ? real_stream() : synthetic_stream();
  for (auto _ : state) {
    ts::PacketReader reader;
    std::size_t packets = 0;
    for (std::size_t at = 0; at < ts->size(); at += kFeedChunk) {
      reader.feed(ts->data() + at, std::min(kFeedChunk, ts->size() - at),
                  [&](const std::uint8_t*, std::size_t n) { packets += n; });
    }
    benchmark::DoNotOptimize(packets);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * ts->size()));
}

// Floor for any segmenter that owns its output: copy every byte into fresh 64 KiB chunks.
void BM_ChunkCopyOnly(benchmark::State& state) {
  const Bytes* ts = real_stream() != nullptr ? real_stream() : synthetic_stream();
  for (auto _ : state) {
    std::vector<Chunk> chunks;
    for (std::size_t at = 0; at < ts->size(); at += kFeedChunk) {
      const std::size_t n = std::min(kFeedChunk, ts->size() - at);
      Chunk c = Chunk::allocate(Chunk::kDefaultCapacity);
      std::memcpy(c.bytes.get(), ts->data() + at, n);
      c.size = n;
      chunks.push_back(std::move(c));
      if (chunks.size() == 64) chunks.clear();  // ~4 MB live, like a freed segment
    }
    benchmark::DoNotOptimize(chunks.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * ts->size()));
}

}  // namespace

BENCHMARK(BM_CutterRealEncode)->Unit(benchmark::kMillisecond)->MinTime(3.0);
BENCHMARK(BM_CutterSynthetic)->Unit(benchmark::kMillisecond)->MinTime(3.0);
BENCHMARK(BM_PacketReaderOnly)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_ChunkCopyOnly)->Unit(benchmark::kMillisecond)->MinTime(2.0);

BENCHMARK_MAIN();
