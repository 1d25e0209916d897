// Role local with file sources played at real-time pace: a looped file is one live
// channel with one timeline across its seams (RFC 8216 §6.2.1/§6.2.2 checked over
// several loops; ffmpeg decodes the segments back to back without an error), a
// source stopped for longer than a target duration resumes at real-time pace with
// one discontinuity instead of a burst, a request for the segment being cut next waits for it (and
// anything further ahead or unknown is a quick 404), a two-rendition stream has a
// master playlist describing both, and segments are served from the cache.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <csignal>
#include <set>
#include <thread>

#include "local_test_util.hpp"

namespace hlscache::test {
namespace {

using LocalFileSourceTest = LocalTest;

std::string file_stream(const std::string& name, const std::string& clip, const std::string& extra = "") {
  return fmt::format("  - name: {}\n    target_duration: 1s\n{}    source: {{file: {}, loop: true}}\n", name, extra,
                     clip);
}

TEST_F(LocalFileSourceTest, LoopedFileIsOneContinuousLiveChannel) {
  LOCAL_REQUIRE_FFMPEG();
  const std::string clip = make_clip(2);  // keyframes at 0 and 1 s: two segments per pass
  ASSERT_FALSE(clip.empty());
  ASSERT_NO_FATAL_FAILURE(start(local_yaml(file_stream("loop", clip, "    window: 3\n"))));
  constexpr std::uint64_t kPerLoop = 2;

  std::optional<std::uint64_t> held_back;  // not fetched while listed: fetched first after it left
  bool held_back_checked = false;
  std::map<std::uint64_t, std::string> bodies;
  std::set<std::uint64_t> seen;
  std::optional<std::uint64_t> last_media_sequence, first_discontinuity_sequence;
  int polls = 0;
  std::uint64_t window_first = 0;  // the window's first segment (the first poll comes before it slides)
  const auto t0 = LocalClock::now();
  // Until the fifth pass has started (>= 4 seams, all fetched) and the held-back segment was checked; ~9 s.
  // Sequence numbers start at the clock floor (sequence_floor); the passes count from
  // the first segment, the lowest one seen.
  while (!(seen.size() && *seen.rbegin() - *seen.begin() >= 4 * kPerLoop + 1 && held_back_checked)) {
    ASSERT_LT(ms_since(t0), 20'000) << "the loop did not get far enough; last seen " << (seen.empty() ? 0 : *seen.rbegin());
    std::this_thread::sleep_for(150ms);
    auto r = get("/live/loop/index.m3u8");
    if (r.status == 404 && seen.empty()) continue;  // no segment yet
    ASSERT_EQ(r.status, 200) << r.describe();
    auto p = parse_media_playlist(r.body);
    ASSERT_TRUE(p.valid) << p.error << "\n" << r.body;
    ASSERT_FALSE(p.entries.empty()) << r.body;
    ASSERT_FALSE(p.ended) << "a looped file never ends\n" << r.body;
    ++polls;
    SCOPED_TRACE(r.body);
    // MEDIA-SEQUENCE never decreases, and the listed segments are consecutive from it.
    if (last_media_sequence) {
      EXPECT_GE(p.media_sequence, *last_media_sequence);
    }
    last_media_sequence = p.media_sequence;
    for (std::size_t i = 0; i < p.entries.size(); ++i) EXPECT_EQ(p.entries[i].sequence, p.media_sequence + i);
    // One timeline: no discontinuity at the seams or anywhere else. Only the window's
    // first segment carries the tag (a new run's break with whatever came before); when
    // it leaves, DISCONTINUITY-SEQUENCE (seeded from the clock) gains one, and no more.
    if (!first_discontinuity_sequence) {
      first_discontinuity_sequence = p.discontinuity_sequence.value_or(0);
      window_first = p.media_sequence;
      EXPECT_TRUE(p.entries.front().discontinuity) << "the window's first segment marks the new run";
    }
    EXPECT_EQ(p.discontinuity_sequence.value_or(0), *first_discontinuity_sequence + (p.media_sequence > window_first ? 1 : 0));
    for (const auto& e : p.entries) EXPECT_EQ(e.discontinuity, e.sequence == window_first) << "seg " << e.sequence;
    for (const auto& e : p.entries) {
      EXPECT_LE(rounded(e.extinf), p.target_duration) << "seg " << e.sequence;
      EXPECT_NEAR(e.duration, 1.0, 0.05) << "seg " << e.sequence;  // the seam's: 1 s + a priming frame
      EXPECT_TRUE(e.pdt_ms.has_value());
      seen.insert(e.sequence);
      if (!held_back) held_back = e.sequence;
      if (e.sequence == *held_back || bodies.count(e.sequence)) continue;
      auto s = get("/live/loop/" + e.uri);
      EXPECT_EQ(s.status, 200) << e.uri << ": " << s.describe();
      EXPECT_TRUE(!s.body.empty() && static_cast<unsigned char>(s.body[0]) == 0x47) << e.uri;
      bodies[e.sequence] = s.body;
    }
    // PROGRAM-DATE-TIME runs with EXTINF across the seams.
    for (std::size_t i = 1; i < p.entries.size(); ++i) {
      const auto& a = p.entries[i - 1];
      const auto& b = p.entries[i];
      if (a.pdt_ms && b.pdt_ms) {
        EXPECT_NEAR(static_cast<double>(*b.pdt_ms - *a.pdt_ms), a.duration * 1000, 2.0) << "PDT of seg " << b.sequence;
      }
    }
    // A segment that just left the playlist is still served (§6.2.2), first time from the segmenter.
    if (held_back && !held_back_checked && p.media_sequence > *held_back) {
      auto s = get("/live/loop/" + p.uri_for(*held_back));
      EXPECT_EQ(s.status, 200) << "seg " << *held_back << " left the window and is gone already: " << s.describe();
      EXPECT_EQ(s.header("X-Cache").value_or(""), "MISS") << "it must come from the segmenter, not the cache";
      EXPECT_TRUE(!s.body.empty() && static_cast<unsigned char>(s.body[0]) == 0x47);
      bodies[*held_back] = s.body;
      held_back_checked = true;
    }
  }
  EXPECT_GT(polls, 20);

  // The segments back to back are one stream: ffmpeg decodes them across >= 3 seams
  // without an error, and in every stream DTS only goes forward, frames never overlap.
  ASSERT_FALSE(bodies.empty());
  const std::uint64_t first = bodies.begin()->first, last = bodies.rbegin()->first;
  ASSERT_EQ(last - first + 1, bodies.size()) << "a segment was missed";
  const std::uint64_t origin = *seen.begin();  // the first pass's first segment
  EXPECT_GE((last - origin) / kPerLoop - (first - origin) / kPerLoop, 3u) << "fewer than three seams collected";
  std::string all;
  for (const auto& [seq, body] : bodies) all += body;
  const std::string file = path("loop.ts");
  write_file(file, all);
  EXPECT_EQ(ffmpeg_decode_errors(file), "") << "segments " << first << ".." << last;
  const auto packets = probe_packets(file);
  ASSERT_EQ(packets.size(), 2u) << "video and audio";
  EXPECT_EQ(check_timeline(packets), "");
  // A segment after a seam decodes on its own from a keyframe, like any other.
  const std::uint64_t seam = origin + ((first - origin) / kPerLoop + 1) * kPerLoop;
  const std::string seam_file = path(fmt::format("seam_{}.ts", seam));
  write_file(seam_file, bodies.at(seam));
  auto v = probe_video(seam_file);
  ASSERT_TRUE(v.ok) << "seg " << seam << ": " << v.error;
  EXPECT_TRUE(v.first_is_key) << "seg " << seam;
  EXPECT_NEAR(v.duration, 1.0, 0.1) << "seg " << seam;
  EXPECT_EQ(metric("hlscache_segmenter_ingest_errors_total", "stream=\"loop\",rendition=\"main\"").value_or(-1), 0)
      << "continuity counters go on across the seams";
}

// The daemon stopped (SIGSTOP) for 5 s, longer than the 1 s tolerance (one target
// duration): the file source does not send the 5 s it is behind in a burst, it goes
// on at real-time pace from the moment it runs again, and the playlist marks the gap
// once, at the next keyframe, where PROGRAM-DATE-TIME starts again from the wall clock.
TEST_F(LocalFileSourceTest, PausedSourceResumesAtRealTimePaceWithOneDiscontinuity) {
  LOCAL_REQUIRE_FFMPEG();
  const std::string clip = make_clip(2);
  ASSERT_FALSE(clip.empty());
  ASSERT_NO_FATAL_FAILURE(start(local_yaml(file_stream("pause", clip, "    window: 12\n"))));
  SegmentCollector collector(port_, "/live/pause/index.m3u8");
  auto p = wait_playlist("/live/pause/index.m3u8", [](const MediaPlaylist& pl) { return pl.entries.size() >= 2; }, 6s);
  ASSERT_TRUE(p.valid && p.entries.size() >= 2) << p.error << "\n" << p.text;
  collector.poll();
  const std::uint64_t before_pause = collector.segments().rbegin()->first;

  constexpr auto kPause = 5s;
  daemon_.signal(SIGSTOP);
  std::this_thread::sleep_for(kPause);
  daemon_.signal(SIGCONT);
  const auto resumed = LocalClock::now();
  const auto resumed_wall = std::chrono::system_clock::now();

  // Poll every 100 ms for 5 s: how many new segments each poll finds, and the media they add.
  std::size_t known = collector.segments().size();
  std::size_t most_at_once = 0;
  while (ms_since(resumed) < 5000) {
    std::this_thread::sleep_for(100ms);
    collector.poll();
    most_at_once = std::max(most_at_once, collector.segments().size() - known);
    known = collector.segments().size();
  }
  const double observed_s = ms_since(resumed) / 1000;
  for (const auto& f : collector.failures()) ADD_FAILURE() << f;
  const auto& segs = collector.segments();
  double media_after = 0;
  std::vector<std::uint64_t> tagged;
  for (const auto& [seq, s] : segs) {
    if (seq <= before_pause) continue;
    media_after += s.entry.duration;
    if (s.entry.discontinuity) tagged.push_back(seq);
  }
  // No burst: the 5 s of backlog would be 5 segments in one poll and 5 s more media.
  // (Allowed beyond real time: the segment in progress at the pause, one cut just
  // before it and not yet polled, and the segment granularity.)
  EXPECT_LE(most_at_once, 2u) << "segments published at once after the pause";
  EXPECT_LE(media_after, observed_s + 3.2) << "media published after the pause, in " << observed_s
                                           << " s: more than real time";
  EXPECT_GE(media_after, observed_s - 2.1) << "it should go on at real-time pace";
  // One discontinuity, at the first keyframe after the resume; PDT restarts there from the wall clock.
  ASSERT_EQ(tagged.size(), 1u) << "segments tagged EXT-X-DISCONTINUITY after the pause";
  const auto& disc = segs.at(tagged[0]);
  const auto& prev = segs.at(tagged[0] - 1);
  ASSERT_TRUE(disc.entry.pdt_ms && prev.entry.pdt_ms);
  const auto resumed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(resumed_wall.time_since_epoch()).count();
  EXPECT_GE(*disc.entry.pdt_ms, resumed_ms - 200) << "the discontinuous segment's PDT is its ingest time, after the pause";
  EXPECT_LE(*disc.entry.pdt_ms, resumed_ms + 1500);
  EXPECT_GE(*disc.entry.pdt_ms - (*prev.entry.pdt_ms + std::llround(prev.entry.duration * 1000)), 3000)
      << "the PDT gap is the pause";
  // Before it, only the run's first segment (the lowest) is tagged: a new window's.
  for (const auto& [seq, s] : segs) {
    if (seq < tagged[0]) {
      EXPECT_EQ(s.entry.discontinuity, seq == segs.begin()->first) << "seg " << seq;
    }
  }
  EXPECT_NE(daemon_.log().find("behind real time"), std::string::npos) << daemon_.log();

  // The media itself has no gap: the segments across the pause decode as one stream.
  std::string all;
  for (const auto& [seq, s] : segs) all += s.body;
  const std::string file = path("pause.ts");
  write_file(file, all);
  EXPECT_EQ(ffmpeg_decode_errors(file), "");
  EXPECT_EQ(check_timeline(probe_packets(file)), "");
}

TEST_F(LocalFileSourceTest, NextSegmentWaitsFurtherOrUnknownIsAQuick404) {
  LOCAL_REQUIRE_FFMPEG();
  const std::string clip = make_clip(3);
  const std::string stall_clip = make_clip(4);
  ASSERT_FALSE(clip.empty() || stall_clip.empty());
  ASSERT_NO_FATAL_FAILURE(start(local_yaml(file_stream("wait", clip) +
                                           "  - name: stall\n    target_duration: 1s\n    source: {ingest: true}\n")));
  auto p = wait_playlist("/live/wait/index.m3u8", [](const MediaPlaylist& pl) { return !pl.entries.empty(); }, 5s);
  ASSERT_TRUE(p.valid) << p.error;

  // Walk forward from the last listed segment until a request had to wait for its cut:
  // then the following one is the segment being cut next, about a target duration away.
  std::uint64_t k = p.next_sequence();
  bool waited = false;
  for (int i = 0; i < 8 && !waited; ++i, ++k) {
    const auto t = LocalClock::now();
    auto r = get("/live/wait/" + p.uri_for(k));
    ASSERT_EQ(r.status, 200) << "seg " << k << " (listed or next): " << r.describe();
    waited = ms_since(t) >= 250;
  }
  ASSERT_TRUE(waited) << "no request ever waited for a cut";
  const std::uint64_t next = k;  // the one after the segment just cut
  auto t = LocalClock::now();
  auto r = get("/live/wait/" + p.uri_for(next));
  const double waited_ms = ms_since(t);
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_GE(waited_ms, 500) << "it should have waited for the cut (~1 s)";
  EXPECT_LE(waited_ms, 1500 + 500) << "the wait is bounded by 1.5 x target";
  EXPECT_TRUE(!r.body.empty() && static_cast<unsigned char>(r.body[0]) == 0x47);
  EXPECT_EQ(r.header("X-Cache").value_or(""), "MISS");

  // Many viewers waiting for the same next segment (a blocking reload, a herd at the
  // live edge): all get it when it is cut, through one fetch from the segmenter.
  {
    constexpr int kViewers = 20;
    const std::string herd_target = "/live/wait/" + p.uri_for(next + 1);
    std::vector<HttpResponse> rs(kViewers);
    std::vector<std::thread> threads;
    t = LocalClock::now();
    for (int i = 0; i < kViewers; ++i)
      threads.emplace_back([&, i] { rs[i] = ::hlscache::test::get(port_, herd_target, {}, 5s); });
    for (auto& th : threads) th.join();
    EXPECT_GE(ms_since(t), 300) << "the herd should have waited for the cut";
    int miss = 0;
    for (const auto& x : rs) {
      ASSERT_EQ(x.status, 200) << x.describe();
      EXPECT_EQ(x.body, rs[0].body);
      if (x.header("X-Cache").value_or("") == "MISS") ++miss;
    }
    EXPECT_EQ(miss, 1) << "one fetch from the segmenter, the others coalesced on it (or hit)";
  }

  // Further ahead than the next segment, or unknown names: 404 without waiting.
  for (const std::string& target :
       {"/live/wait/" + p.uri_for(next + 5), "/live/wait/main/" + p.uri_for(next + 7),
        std::string("/live/nosuch/index.m3u8"), std::string("/live/nosuch/seg_0.ts"),
        std::string("/live/wait/nosuch/index.m3u8"), std::string("/live/wait/nosuch/seg_1.ts"),
        std::string("/live/wait/seg_x.ts"), std::string("/live/wait/main/other.txt"), std::string("/live/wait"),
        // the next segment's number under another run's name, or under none: never this run's
        fmt::format("/live/wait/seg_zz_{}.ts", next), fmt::format("/live/wait/seg_{}.ts", next)}) {
    t = LocalClock::now();
    r = get(target);
    EXPECT_EQ(r.status, 404) << target << ": " << r.describe();
    EXPECT_LT(ms_since(t), 400) << target << " should not wait";
  }
  // The single rendition is also reachable by its name, "main".
  EXPECT_EQ(get("/live/wait/main/index.m3u8").status, 200);
  EXPECT_EQ(get("/live/wait/main/" + p.uri_for(next)).status, 200);

  // A publisher that stalls mid-segment: the wait for its next segment ends at 1.5 x target with 404.
  const std::string ts = read_file(stall_clip);
  Pusher pusher(port_, "/ingest/stall");
  const std::size_t part = ts.size() * 6 / 10 / 188 * 188;  // ~2.4 s of media: cuts at 1 s and 2 s
  ASSERT_TRUE(pusher.send(std::string_view(ts).substr(0, part)));
  auto sp = wait_playlist("/live/stall/index.m3u8", [](const MediaPlaylist& pl) { return pl.entries.size() >= 2; }, 5s);
  ASSERT_TRUE(sp.valid && sp.entries.size() == 2) << sp.error << "\n" << sp.text;
  const std::uint64_t open = sp.next_sequence();
  t = LocalClock::now();
  r = get("/live/stall/" + sp.uri_for(open));
  const double stall_ms = ms_since(t);
  EXPECT_EQ(r.status, 404) << r.describe();
  EXPECT_GE(stall_ms, 1400) << "it should have waited 1.5 x target";
  EXPECT_LE(stall_ms, 2500) << "it should not wait longer than 1.5 x target";
  // The publisher resumes and ends: the segment appears (after the cached 404 expires,
  // freshness.negative_ttl = 1 s by default) and the playlist ends.
  ASSERT_TRUE(pusher.send(std::string_view(ts).substr(part)));
  auto done = pusher.finish();
  EXPECT_EQ(done.status, 200) << done.describe();
  sp = wait_playlist("/live/stall/index.m3u8", [](const MediaPlaylist& pl) { return pl.ended; }, 5s);
  ASSERT_TRUE(sp.valid && sp.ended) << sp.error << "\n" << sp.text;
  EXPECT_GT(sp.next_sequence(), open);
  t = LocalClock::now();
  do {
    r = get("/live/stall/" + sp.uri_for(open));
    if (r.status == 200) break;
    std::this_thread::sleep_for(100ms);
  } while (ms_since(t) < 3000);
  EXPECT_EQ(r.status, 200) << r.describe();
  // After the end, asking past the last segment is a quick 404 (nothing will come).
  t = LocalClock::now();
  r = get("/live/stall/" + sp.uri_for(sp.next_sequence()));
  EXPECT_EQ(r.status, 404) << r.describe();
  EXPECT_LT(ms_since(t), 400);
}

int profile_idc(const std::string& name) {
  if (name == "Baseline" || name == "Constrained Baseline") return 66;
  if (name == "Main") return 77;
  if (name == "High") return 100;
  return -1;
}

TEST_F(LocalFileSourceTest, MasterPlaylistDescribesBothRenditions) {
  LOCAL_REQUIRE_FFMPEG();
  const std::string hi = make_clip(3, 640, 360);
  const std::string lo = make_clip(3, 320, 180);
  ASSERT_FALSE(hi.empty() || lo.empty());
  ASSERT_NO_FATAL_FAILURE(start(local_yaml(fmt::format("  - name: abr\n"
                                                       "    target_duration: 1s\n"
                                                       "    renditions:\n"
                                                       "      - name: hi\n"
                                                       "        source: {{file: {}, loop: true}}\n"
                                                       "      - name: lo\n"
                                                       "        source: {{file: {}, loop: true}}\n",
                                                       hi, lo))));
  HttpResponse r;
  const auto t0 = LocalClock::now();
  do {
    r = get("/live/abr/index.m3u8");
    if (r.status == 200) break;
    std::this_thread::sleep_for(100ms);
  } while (ms_since(t0) < 6000);
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_NE(r.header("Content-Type").value_or("").find("mpegurl"), std::string::npos);
  auto variants = parse_master_playlist(r.body);
  ASSERT_TRUE(variants.has_value()) << r.body;
  ASSERT_EQ(variants->size(), 2u) << r.body;
  EXPECT_EQ(r.body.find("#EXTINF"), std::string::npos) << "a master playlist lists no segments";

  std::map<std::string, Variant> by_uri;
  for (const auto& v : *variants) by_uri[v.uri] = v;
  ASSERT_TRUE(by_uri.count("hi/index.m3u8") && by_uri.count("lo/index.m3u8")) << r.body;
  const struct {
    std::string name, clip;
    int w, h;
  } expect[] = {{"hi", hi, 640, 360}, {"lo", lo, 320, 180}};
  for (const auto& x : expect) {
    SCOPED_TRACE(x.name + "\n" + r.body);
    const Variant& v = by_uri[x.name + "/index.m3u8"];
    EXPECT_GT(v.bandwidth, 0u);
    EXPECT_GT(v.average_bandwidth, 0u);
    EXPECT_LE(v.average_bandwidth, v.bandwidth);
    EXPECT_EQ(v.width, x.w);
    EXPECT_EQ(v.height, x.h);
    ASSERT_EQ(v.codecs.substr(0, 5), "avc1.");
    EXPECT_NE(v.codecs.find("mp4a.40.2"), std::string::npos) << "AAC-LC audio";
    // avc1.PPCCLL agrees with the stream's SPS as ffprobe reads it.
    auto probe = probe_video(x.clip);
    ASSERT_TRUE(probe.ok) << probe.error;
    EXPECT_EQ(std::stoi(v.codecs.substr(5, 2), nullptr, 16), profile_idc(probe.profile)) << probe.profile;
    EXPECT_EQ(std::stoi(v.codecs.substr(9, 2), nullptr, 16), probe.level) << "level_idc";
    // The variant's playlist and segments are served, and the segments are that size.
    auto p = playlist("/live/abr/" + v.uri);
    ASSERT_TRUE(p.valid && !p.entries.empty()) << p.error;
    auto seg = get("/live/abr/" + x.name + "/" + p.entries.back().uri);
    ASSERT_EQ(seg.status, 200) << seg.describe();
    const std::string file = path(x.name + ".ts");
    write_file(file, seg.body);
    auto sp = probe_video(file);
    ASSERT_TRUE(sp.ok) << sp.error;
    EXPECT_EQ(sp.width, x.w);
    EXPECT_EQ(sp.height, x.h);
  }
  EXPECT_GT(by_uri["hi/index.m3u8"].bandwidth, by_uri["lo/index.m3u8"].bandwidth)
      << "four times the pixels, more bits";
  // With several renditions, a bare /live/abr/seg_N.ts names no rendition.
  EXPECT_EQ(get("/live/abr/seg_0.ts").status, 404);
}

TEST_F(LocalFileSourceTest, SegmentsAreServedFromTheCacheAfterTheFirstFetch) {
  LOCAL_REQUIRE_FFMPEG();
  const std::string clip = make_clip(3);
  ASSERT_FALSE(clip.empty());
  ASSERT_NO_FATAL_FAILURE(start(local_yaml(file_stream("cached", clip))));
  auto p = wait_playlist("/live/cached/index.m3u8", [](const MediaPlaylist& pl) { return !pl.entries.empty(); }, 5s);
  ASSERT_TRUE(p.valid) << p.error;
  const std::string target = "/live/cached/" + p.entries.front().uri;

  auto first = get(target);
  ASSERT_EQ(first.status, 200) << first.describe();
  EXPECT_EQ(first.header("X-Cache").value_or(""), "MISS");
  for (int i = 0; i < 3; ++i) {
    auto again = get(target);
    ASSERT_EQ(again.status, 200) << again.describe();
    EXPECT_EQ(again.header("X-Cache").value_or(""), "HIT") << again.describe();
    EXPECT_EQ(again.body, first.body);
    EXPECT_TRUE(again.has_header("Age"));
  }
  // The playlist goes through the same cache (fresh for half a target duration).
  int playlist_hits = 0;
  for (int i = 0; i < 3; ++i)
    if (get("/live/cached/index.m3u8").header("X-Cache").value_or("") == "HIT") ++playlist_hits;
  EXPECT_GE(playlist_hits, 2);

  auto segments = metric("hlscache_segmenter_segments_total", "stream=\"cached\",rendition=\"main\"");
  ASSERT_TRUE(segments.has_value()) << get("/metrics").body;
  EXPECT_GE(*segments, 1);
  EXPECT_EQ(metric("hlscache_segmenter_publishing", "stream=\"cached\",rendition=\"main\"").value_or(-1), 1);
  EXPECT_GE(metric("hlscache_requests_by_cache_total", "cache=\"HIT\"").value_or(0), 3);
  // The counter follows the cutting: about one more per second.
  std::this_thread::sleep_for(1500ms);
  EXPECT_GT(metric("hlscache_segmenter_segments_total", "stream=\"cached\",rendition=\"main\"").value_or(0), *segments);
}

}  // namespace
}  // namespace hlscache::test
