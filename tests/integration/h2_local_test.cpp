// HTTP/2 in role local: a publisher pushes MPEG-TS over h2c (curl -T, a streamed
// PUT whose DATA the handler reads as it arrives, the window reopened only for what
// it read) and the playlist and segments are read over h2c, through the same
// handlers as HTTP/1.1; a request body on a non-ingest route over the limit is 413.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "h2_test_util.hpp"
#include "local_test_util.hpp"

namespace hlscache::test {
namespace {

using H2LocalTest = LocalTest;

std::string with_h2c(std::string yaml) {
  const std::string plain = "  - address: 127.0.0.1:0\n";
  auto at = yaml.find(plain);
  if (at != std::string::npos) yaml.replace(at, plain.size(), "  - {address: 127.0.0.1:0, http2: true}\n");
  return yaml;
}

TEST_F(H2LocalTest, IngestOverH2cThenPlaylistAndSegmentsOverH2c) {
  LOCAL_REQUIRE_FFMPEG();
  H2_REQUIRE_TOOLS();
  const std::string clip = make_clip(4);
  ASSERT_FALSE(clip.empty());
  ASSERT_NO_FATAL_FAILURE(
      start(with_h2c(local_yaml("  - name: h2push\n    target_duration: 1s\n    source: {ingest: true, key: K}\n"))));
  const std::string base = "http://127.0.0.1:" + std::to_string(port_);
  auto put = run_command({"curl", "-sS", "--max-time", "20", "--http2-prior-knowledge", "-T", clip, "-H",
                          "Content-Type: video/mp2t", "-w", "\n%{http_version} %{http_code}",
                          base + "/ingest/h2push?key=K"},
                         std::chrono::seconds(25));
  ASSERT_EQ(put.exit_code, 0) << put.err;
  EXPECT_NE(put.out.find("\n2 200"), std::string::npos) << put.out;
  EXPECT_NE(put.out.find(fmt::format("ingested {} bytes", read_file(clip).size())), std::string::npos)
      << put.out << " (clip: " << read_file(clip).size() << " bytes)";

  const std::string pl_file = tmp_ + "/index.m3u8";
  auto pl = run_command({"curl", "-sS", "--max-time", "10", "--http2-prior-knowledge", "-o", pl_file, "-w",
                         "%{http_version} %{http_code}", base + "/live/h2push/index.m3u8"},
                        std::chrono::seconds(15));
  EXPECT_EQ(pl.out, "2 200") << pl.err;
  auto p = parse_media_playlist(read_file(pl_file));
  ASSERT_TRUE(p.valid && p.ended && !p.entries.empty()) << p.error << "\n" << p.text;
  double total = 0;
  for (const auto& e : p.entries) total += e.duration;
  EXPECT_NEAR(total, 4.0, 0.1) << p.text;

  // The first segment over h2c decodes and starts with a keyframe.
  const std::string seg_file = tmp_ + "/seg.ts";
  auto seg = run_command({"curl", "-sS", "--max-time", "10", "--http2-prior-knowledge", "-o", seg_file, "-w",
                          "%{http_version} %{http_code}", base + "/live/h2push/" + p.entries.front().uri},
                         std::chrono::seconds(15));
  EXPECT_EQ(seg.out, "2 200") << seg.err;
  auto v = probe_video(seg_file);
  ASSERT_TRUE(v.ok) << v.error;
  EXPECT_TRUE(v.first_is_key);
  EXPECT_GT(v.frames, 0);

  // A 1 MB body on a non-ingest route: 413, and the connection stays usable for others.
  const std::string big = tmp_ + "/big.bin";
  write_file(big, std::string(1'000'000, 'x'));
  auto r413 = run_command({"curl", "-sS", "--max-time", "10", "--http2-prior-knowledge", "--data-binary", "@" + big,
                           "-o", "/dev/null", "-w", "%{http_code}", base + "/healthz"},
                          std::chrono::seconds(15));
  EXPECT_EQ(r413.out, "413") << r413.err;
}

}  // namespace
}  // namespace hlscache::test
