// The ingest route of role local (PUT/POST /ingest/{stream}[/{rendition}]): who may
// publish (stream key, allow list, one publisher per rendition, method, names), and
// what bad input does — a truncated TS, a garbled one (resynced), bytes that are not
// TS at all (refused with 400) — while another stream keeps serving throughout.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <random>
#include <regex>
#include <thread>

#include "local_test_util.hpp"

namespace hlscache::test {
namespace {

using LocalIngestTest = LocalTest;

// Sends the head and a little TS, then reads the (early) answer.
HttpResponse try_publish(std::uint16_t port, const std::string& target, std::string_view ts,
                         std::vector<std::pair<std::string, std::string>> headers = {}) {
  Pusher p(port, target, std::move(headers));
  if (!p.connected()) return HttpResponse{};
  p.send(ts.substr(0, 188 * 20));
  return p.finish(5s);
}

TEST_F(LocalIngestTest, OnlyTheKeyHolderFromAnAllowedAddressPublishesAndOnlyOneAtATime) {
  LOCAL_REQUIRE_FFMPEG();
  const std::string clip = make_clip(4);
  ASSERT_FALSE(clip.empty());
  const std::string ts = read_file(clip);
  ASSERT_NO_FATAL_FAILURE(start(local_yaml(fmt::format("  - name: push\n"
                                                       "    target_duration: 1s\n"
                                                       "    source: {{ingest: true, key: \"K\", allow: [127.0.0.1]}}\n"
                                                       "  - name: fenced\n"
                                                       "    target_duration: 1s\n"
                                                       "    source: {{ingest: true, allow: [10.1.2.3]}}\n"
                                                       "  - name: looped\n"
                                                       "    target_duration: 1s\n"
                                                       "    source: {{file: {}, loop: true}}\n",
                                                       clip))));

  // Method and names.
  auto r = get("/ingest/push?key=K");
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 405);
  EXPECT_NE(r.header("Allow").value_or("").find("PUT"), std::string::npos) << r.describe();
  EXPECT_EQ(try_publish(port_, "/ingest/nosuch?key=K", ts).status, 404);
  EXPECT_EQ(try_publish(port_, "/ingest/push/nosuch?key=K", ts).status, 404);
  EXPECT_EQ(try_publish(port_, "/ingest/looped", ts).status, 404) << "a file-sourced rendition takes no ingest";

  // Key: missing, wrong (query and header) -> 403.
  EXPECT_EQ(try_publish(port_, "/ingest/push", ts).status, 403);
  EXPECT_EQ(try_publish(port_, "/ingest/push?key=k", ts).status, 403);
  EXPECT_EQ(try_publish(port_, "/ingest/push?key=KK", ts).status, 403);
  EXPECT_EQ(try_publish(port_, "/ingest/push", ts, {{"X-Stream-Key", "wrong"}}).status, 403);
  // Allow list: 127.0.0.1 is not 10.1.2.3.
  EXPECT_EQ(try_publish(port_, "/ingest/fenced", ts).status, 403);
  EXPECT_EQ(metric("hlscache_segmenter_publishing", "stream=\"push\",rendition=\"main\"").value_or(-1), 0)
      << "a refused publisher must not hold the rendition";

  // A publisher with the key (as a header) goes live; a second one meanwhile gets 409.
  Pusher first(port_, "/ingest/push", {{"X-Stream-Key", "K"}});
  ASSERT_TRUE(first.connected());
  const std::size_t half = ts.size() / 2 / 188 * 188;
  ASSERT_TRUE(first.send(std::string_view(ts).substr(0, half)));
  const auto t0 = LocalClock::now();
  while (metric("hlscache_segmenter_publishing", "stream=\"push\",rendition=\"main\"").value_or(0) != 1 &&
         ms_since(t0) < 5000)
    std::this_thread::sleep_for(20ms);
  EXPECT_EQ(metric("hlscache_segmenter_publishing", "stream=\"push\",rendition=\"main\"").value_or(-1), 1);
  auto second = try_publish(port_, "/ingest/push?key=K", ts);
  EXPECT_EQ(second.status, 409) << second.describe();

  // The first one is unaffected: it finishes, and the stream ends with all its media.
  ASSERT_TRUE(first.send(std::string_view(ts).substr(half)));
  auto done = first.finish();
  ASSERT_TRUE(done.ok()) << done.describe();
  EXPECT_EQ(done.status, 200) << done.describe();
  auto p1 = wait_playlist("/live/push/index.m3u8", [](const MediaPlaylist& p) { return p.ended; }, 5s);
  ASSERT_TRUE(p1.valid && p1.ended) << p1.error << "\n" << p1.text;
  double total = 0;
  for (const auto& e : p1.entries) total += e.duration;
  EXPECT_NEAR(total, 4.0, 0.1) << p1.text;

  // The claim is released: the same key publishes again, and the numbering continues.
  auto again = push_body(port_, "/ingest/push?key=K", ts);
  EXPECT_EQ(again.status, 200) << again.describe();
  auto p2 = wait_playlist(
      "/live/push/index.m3u8",
      [&](const MediaPlaylist& p) { return p.ended && !p.entries.empty() && p.entries.front().sequence > p1.entries.back().sequence; },
      5s);
  ASSERT_TRUE(p2.valid && p2.ended) << p2.error << "\n" << p2.text;
  EXPECT_GT(p2.entries.front().sequence, p1.entries.back().sequence)
      << "a new session numbers on, never reusing a name\nbefore:\n" << p1.text << "after:\n" << p2.text;
  // Its URIs carry its own session id: no name of the earlier run can come back.
  const auto& run2 = p2.entries.front();
  EXPECT_EQ(run2.session.size(), 8u) << run2.uri;
  EXPECT_EQ(run2.uri, fmt::format("seg_{}_{}.ts", run2.session, run2.sequence));
  EXPECT_NE(run2.session, p1.entries.back().session) << "a new run, a new session id";
  for (const auto& e : p2.entries) EXPECT_EQ(e.session, run2.session) << e.uri;
  EXPECT_TRUE(run2.discontinuity) << "a new run's first segment marks the break\n" << p2.text;
  ASSERT_TRUE(p2.discontinuity_sequence.has_value()) << p2.text;
  EXPECT_GE(*p2.discontinuity_sequence, p1.discontinuity_sequence.value_or(0)) << p2.text;
  auto seg = get("/live/push/" + p2.entries.front().uri);
  EXPECT_EQ(seg.status, 200) << seg.describe();
}

// `curl -T file` and `ffmpeg -chunked_post 0` send a Content-Length, usually far over
// limits.max_request_body (64 KiB), which bounds bodies on other routes only.
TEST_F(LocalIngestTest, BodiesWithContentLengthArePublishedToo) {
  LOCAL_REQUIRE_FFMPEG();
  const std::string clip = make_clip(4);
  ASSERT_FALSE(clip.empty());
  const std::string ts = read_file(clip);
  ASSERT_GT(ts.size(), 64u * 1024);
  ASSERT_NO_FATAL_FAILURE(start(local_yaml("  - name: cl\n    target_duration: 1s\n    source: {ingest: true}\n")));

  std::uint64_t next = 0;
  for (const char* method : {"PUT", "POST"}) {
    SCOPED_TRACE(method);
    auto c = Connection::open(port_);
    ASSERT_TRUE(c.connected());
    const std::string head = make_request(
        method, "/ingest/cl", {{"Content-Type", "video/mp2t"}, {"Content-Length", std::to_string(ts.size())}});
    ASSERT_TRUE(c.send(head + ts, 10s));
    auto r = c.read_response(10s);
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.status, 200) << r.describe();
    EXPECT_NE(r.body.find(fmt::format("ingested {} bytes", ts.size())), std::string::npos) << r.body;
    auto p = wait_playlist(
        "/live/cl/index.m3u8",
        [&](const MediaPlaylist& pl) { return pl.ended && !pl.entries.empty() && pl.entries.front().sequence >= next; },
        5s);
    ASSERT_TRUE(p.valid && p.ended) << p.error << "\n" << p.text;
    EXPECT_GE(p.entries.front().sequence, next) << "a new session numbers on\n" << p.text;
    double total = 0;
    for (const auto& e : p.entries) total += e.duration;
    EXPECT_NEAR(total, 4.0, 0.1) << p.text;
    next = p.next_sequence();
  }
  // The bound still holds on other routes: a 1 MB Content-Length elsewhere is refused up front.
  auto r = send_raw(port_, make_request("POST", "/healthz", {{"Content-Length", "1000000"}}));
  EXPECT_EQ(r.status, 413) << r.describe();
}

// A publisher that goes silent or drops the connection mid-body: local_pause_test.cpp.

// vod_keep: an ended stream stays (playlist and segments) this long, then is gone.
TEST_F(LocalIngestTest, EndedStreamIsKeptForVodKeepThenGone) {
  LOCAL_REQUIRE_FFMPEG();
  const std::string clip = make_clip(4);
  ASSERT_FALSE(clip.empty());
  ASSERT_NO_FATAL_FAILURE(start(local_yaml("  - name: vod\n    target_duration: 1s\n    vod_keep: 2s\n"
                                           "    source: {ingest: true}\n")));
  auto r = push_body(port_, "/ingest/vod", read_file(clip));
  ASSERT_EQ(r.status, 200) << r.describe();
  const auto ended = LocalClock::now();
  auto p = wait_playlist("/live/vod/index.m3u8", [](const MediaPlaylist& pl) { return pl.ended; }, 3s);
  ASSERT_TRUE(p.valid && p.ended && p.entries.size() >= 2) << p.error << "\n" << p.text;
  // Within vod_keep: a VOD, every segment served (the last one not fetched yet).
  for (std::size_t i = 0; i + 1 < p.entries.size(); ++i)
    EXPECT_EQ(get("/live/vod/" + p.entries[i].uri).status, 200) << p.entries[i].uri;
  ASSERT_LT(ms_since(ended), 1500) << "too slow to check within vod_keep";
  // After it (2 s, plus the ended playlist's one target duration in the cache): 404.
  HttpResponse pl;
  do {
    std::this_thread::sleep_for(200ms);
    pl = get("/live/vod/index.m3u8");
  } while (pl.status == 200 && ms_since(ended) < 8000);
  EXPECT_EQ(pl.status, 404) << "still served " << ms_since(ended) << " ms after the end: " << pl.describe();
  EXPECT_GE(ms_since(ended), 1800);
  EXPECT_EQ(get("/live/vod/" + p.entries.back().uri).status, 404) << "a segment never fetched is gone too";
}

// Polls /healthz and another stream's playlist every 100 ms on its own thread.
class Watchdog {
 public:
  Watchdog(std::uint16_t port, std::string playlist) : port_(port), playlist_(std::move(playlist)) {
    thread_ = std::thread([this] {
      while (!stop_) {
        for (const std::string& t : {std::string("/healthz"), playlist_}) {
          auto r = get(port_, t, {}, 3s);
          ++checks_;
          if (!r.ok() || r.status != 200) {
            std::lock_guard lock(mu_);
            if (failures_.size() < 5) failures_.push_back(t + ": " + r.describe());
          }
        }
        std::this_thread::sleep_for(100ms);
      }
    });
  }
  ~Watchdog() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int checks() const { return checks_; }
  std::vector<std::string> failures() {
    std::lock_guard lock(mu_);
    return failures_;
  }

 private:
  std::uint16_t port_;
  std::string playlist_;
  std::atomic<bool> stop_{false};
  std::atomic<int> checks_{0};
  std::mutex mu_;
  std::vector<std::string> failures_;
  std::thread thread_;
};

// Every listed segment can be fetched and is TS; returns the summed EXTINF.
double check_segments(LocalTest& t, const MediaPlaylist& p, const std::string& dir,
                      const std::function<HttpResponse(const std::string&)>& fetch) {
  double total = 0;
  for (const auto& e : p.entries) {
    auto s = fetch(dir + e.uri);
    EXPECT_EQ(s.status, 200) << e.uri << ": " << s.describe();
    EXPECT_TRUE(!s.body.empty() && static_cast<unsigned char>(s.body[0]) == 0x47) << e.uri;
    EXPECT_EQ(s.body.size() % 188, 0u) << e.uri;
    total += e.duration;
  }
  (void)t;
  return total;
}

TEST_F(LocalIngestTest, TruncatedGarbledAndNonTsUploadsDoNotHurtTheDaemonOrOtherStreams) {
  LOCAL_REQUIRE_FFMPEG();
  const std::string loop_clip = make_clip(3);
  const std::string clip = make_clip(4);
  ASSERT_FALSE(clip.empty() || loop_clip.empty());
  const std::string ts = read_file(clip);
  std::string streams = fmt::format("  - name: other\n"
                                    "    target_duration: 1s\n"
                                    "    source: {{file: {}, loop: true}}\n",
                                    loop_clip);
  for (const char* name : {"trunc", "garbled", "junk", "text"})
    streams += fmt::format("  - name: {}\n    target_duration: 1s\n    source: {{ingest: true}}\n", name);
  ASSERT_NO_FATAL_FAILURE(start(local_yaml(streams)));
  auto other = wait_playlist("/live/other/index.m3u8", [](const MediaPlaylist& p) { return !p.entries.empty(); }, 5s);
  ASSERT_TRUE(other.valid) << other.error;
  Watchdog watchdog(port_, "/live/other/index.m3u8");
  auto fetch = [this](const std::string& t) { return get(t); };

  // 1. Truncated mid-packet: everything up to the cut is segmented, the stream ends.
  std::size_t cut = ts.size() - 1000;
  if (cut % 188 == 0) cut -= 57;
  auto r = push_body(port_, "/ingest/trunc", std::string_view(ts).substr(0, cut));
  EXPECT_EQ(r.status, 200) << r.describe();
  auto p = wait_playlist("/live/trunc/index.m3u8", [](const MediaPlaylist& pl) { return pl.ended; }, 5s);
  ASSERT_TRUE(p.valid && p.ended) << p.error << "\n" << p.text;
  EXPECT_GE(p.entries.size(), 3u) << p.text;
  const double trunc_total = check_segments(*this, p, "/live/trunc/", fetch);
  EXPECT_GT(trunc_total, 3.5) << p.text;
  EXPECT_LE(trunc_total, 4.0 + 0.05) << p.text;

  // 2. Garbled: 37 random bytes injected every 4 KiB. The reader resyncs; segments are still cut.
  std::mt19937 rng(1234);
  std::string garbled;
  for (std::size_t off = 0; off < ts.size(); off += 4096) {
    garbled.append(ts, off, 4096);
    for (int i = 0; i < 37; ++i) garbled.push_back(static_cast<char>(rng() & 0xff));
  }
  r = push_body(port_, "/ingest/garbled", garbled);
  EXPECT_EQ(r.status, 200) << r.describe();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.body, m, std::regex(R"((\d+) resyncs)"))) << r.body;
  EXPECT_GT(std::stoul(m[1]), 50u) << "about one resync per injection expected: " << r.body;
  p = wait_playlist("/live/garbled/index.m3u8", [](const MediaPlaylist& pl) { return pl.ended; }, 5s);
  ASSERT_TRUE(p.valid && p.ended) << p.error << "\n" << p.text;
  EXPECT_GE(p.entries.size(), 2u) << p.text;
  EXPECT_GT(check_segments(*this, p, "/live/garbled/", fetch), 2.0) << p.text;
  const std::string log = daemon_.log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(garbled/main: publishing ended: .*?(\d+) resyncs)"))) << log;
  EXPECT_GT(std::stoul(m[1]), 0u) << "the log should count the resyncs";

  // 3. 2 MiB of random bytes with no sync byte at all: refused once 1 MiB had no packet.
  std::string junk(2 << 20, '\0');
  for (auto& c : junk) {
    c = static_cast<char>(rng() & 0xff);
    if (c == 0x47) c = 0x48;
  }
  r = push_body(port_, "/ingest/junk", junk);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 400) << r.describe();
  EXPECT_EQ(get("/live/junk/index.m3u8").status, 404) << "a refused upload publishes nothing";
  EXPECT_EQ(metric("hlscache_segmenter_publishing", "stream=\"junk\",rendition=\"main\"").value_or(-1), 0);

  // 4. A text file (shorter than 1 MiB): refused when the body ends.
  std::string text;
  while (text.size() < 20000) text += "this is not a transport stream, just lowercase words in a text file.\n";
  r = push_body(port_, "/ingest/text", text);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 400) << r.describe();

  // Throughout, the other stream and /healthz kept answering 200.
  watchdog.stop();
  EXPECT_GT(watchdog.checks(), 4);
  for (const auto& f : watchdog.failures()) ADD_FAILURE() << "while bad uploads ran: " << f;
  auto after = playlist("/live/other/index.m3u8");
  EXPECT_TRUE(after.valid && !after.ended) << after.error;
  // And the refused streams can still be published to.
  r = push_body(port_, "/ingest/junk", ts);
  EXPECT_EQ(r.status, 200) << r.describe();
}

}  // namespace
}  // namespace hlscache::test
