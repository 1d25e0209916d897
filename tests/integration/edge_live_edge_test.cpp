// Ahead of the live edge through the real edge (miss/live_edge.hpp, issue 15 item 6):
// a FakeOrigin plays a live stream whose segments are named seg_s9x_<N>.ts (not our
// segmenter's names) and answers a segment past its last one the way a test sets. A
// request for the next segment that the upstream holds longer than
// timeouts.upstream_first_byte is served when it comes, and the host is not counted
// failed; a held request that gets nothing within its held wait is a 504 that is no
// failure of the host either (not ejected at fail_threshold 1, not retried on another
// host); a 404 for a segment ahead of the edge is never kept, whatever negative_ttl
// says — while a 404 for a name the playlist does not place still is. The same held
// wait over an HTTP/2 upstream. About 10 s.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <map>
#include <mutex>
#include <regex>

#include "edge_test_util.hpp"

namespace hlscache::test {
namespace {

using Clock = std::chrono::steady_clock;

const std::string kPlaylist = "/live/a/index.m3u8";
std::string segment_path(int n) { return fmt::format("/live/a/seg_s9x_{}.ts", n); }
std::string segment_body(int n) { return fmt::format("segment {}\n", n); }

// A live stream on a FakeOrigin: a 1 s target duration, three segments listed up to
// `last`, six kept; a segment after `last` answers what ahead() set for it, else a
// plain 404, as does an expired one.
class LiveStream {
 public:
  explicit LiveStream(FakeOrigin& origin) : state_(std::make_shared<State>()) {
    origin.set_handler([state = state_](const OriginRequest& req) -> std::optional<OriginReply> {
      std::lock_guard lock(state->mu);
      if (req.path() == kPlaylist) {
        OriginReply r;
        r.headers = {{"Content-Type", "application/vnd.apple.mpegurl"}};
        r.body = fmt::format("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:{}\n", state->last - 2);
        for (int n = state->last - 2; n <= state->last; ++n) r.body += "#EXTINF:1.000,\n" + segment_path(n).substr(8) + "\n";
        return r;
      }
      static const std::regex segment(R"(/live/a/seg_s9x_(\d+)\.ts)");
      std::smatch m;
      const std::string path = req.path();
      if (!std::regex_match(path, m, segment)) return std::nullopt;
      const int n = std::stoi(m[1]);
      if (n <= state->last && n > state->last - 6) {  // older ones have expired
        OriginReply r;
        r.headers = {{"Content-Type", "video/mp2t"}};
        r.body = segment_body(n);
        return r;
      }
      if (auto it = state->ahead.find(n); it != state->ahead.end()) return it->second;
      OriginReply nf;
      nf.status = 404;
      nf.headers = {{"Content-Type", "text/plain"}};
      nf.body = "not yet\n";
      return nf;
    });
  }
  void ahead(int n, OriginReply r) {
    std::lock_guard lock(state_->mu);
    state_->ahead[n] = std::move(r);
  }
  void publish(int last) {
    std::lock_guard lock(state_->mu);
    state_->last = last;
  }

 private:
  struct State {
    std::mutex mu;
    int last = 10;
    std::map<int, OriginReply> ahead;
  };
  std::shared_ptr<State> state_;
};

OriginReply segment_after(int n, Millis delay) {
  OriginReply r;
  r.headers = {{"Content-Type", "video/mp2t"}};
  r.body = segment_body(n);
  r.delay = delay;
  return r;
}

double metric_or(std::uint16_t port, std::string_view name, std::string_view labels, double fallback = -1) {
  return edge_metric(port, name, labels).value_or(fallback);
}

class EdgeLiveEdgeTest : public EdgeTest {
 protected:
  std::string host_labels() const { return fmt::format("group=\"default\",host=\"127.0.0.1:{}\"", origin_.port()); }
  LiveStream stream_{origin_};
};

TEST_F(EdgeLiveEdgeTest, TheNextSegmentHeldPastTheFirstByteTimeoutIsServedAndNoHostFailure) {
  start(EdgeYaml().with_timeouts("upstream_first_byte: 500ms").with_upstream("health: {fail_threshold: 1}"));
  ASSERT_EQ(get(kPlaylist).status, 200);
  // The upstream holds the next segment 1.2 s, until it exists: the held wait is two
  // target durations (2 s), not upstream_first_byte (500 ms).
  stream_.ahead(11, segment_after(11, 1200ms));
  const auto t0 = Clock::now();
  auto r = get(segment_path(11), {}, 5s);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.body, segment_body(11));
  EXPECT_GE(ms_between(t0, Clock::now()), 1100);
  EXPECT_EQ(metric_or(port_, "hlscache_upstream_host_errors_total", host_labels()), 0);
  EXPECT_EQ(metric_or(port_, "hlscache_upstream_host_up", host_labels()), 1);
  EXPECT_EQ(metric_or(port_, "hlscache_upstream_held_timeouts_total", ""), 0);
  // Stored like any segment: the next viewer is a HIT.
  EXPECT_EQ(get(segment_path(11)).header("X-Cache").value_or(""), "HIT");

  // The same wait for a name the playlist does not place goes by upstream_first_byte,
  // and counts against the host, as before.
  origin_.set("/live/a/other.ts", segment_after(0, 1200ms));
  EXPECT_EQ(get("/live/a/other.ts", {}, 5s).status, 504);
  EXPECT_EQ(metric_or(port_, "hlscache_upstream_host_errors_total", host_labels()), 1);
}

TEST_F(EdgeLiveEdgeTest, ANotFoundAheadOfTheLiveEdgeIsNeverKept) {
  start(EdgeYaml().with_freshness("negative_ttl: 30s"));
  ASSERT_EQ(get(kPlaylist).status, 200);
  // Two segments ahead: not there yet, whatever negative_ttl says — not a HIT the next time.
  for (int i = 0; i < 2; ++i) {
    auto nf = get(segment_path(12));
    EXPECT_EQ(nf.status, 404) << nf.describe();
    EXPECT_EQ(nf.header("X-Cache").value_or(""), "MISS") << nf.describe();
  }
  EXPECT_EQ(origin_.requests(segment_path(12)), 2u);
  // Once it exists it is served, not the 404 of a moment ago.
  stream_.publish(12);
  auto r = get(segment_path(12));
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.body, segment_body(12));

  // A 404 for a segment behind the window, or a name the playlist does not place, is
  // kept for negative_ttl as before.
  for (const std::string path : {segment_path(3), std::string("/live/a/other.ts")}) {
    EXPECT_EQ(get(path).status, 404);
    auto again = get(path);
    EXPECT_EQ(again.status, 404);
    EXPECT_EQ(again.header("X-Cache").value_or(""), "HIT") << path;
    EXPECT_EQ(origin_.requests(path), 1u) << path;
  }
}

// Two hosts, the stream's keys on one: it holds a request for a segment ahead and
// never answers. After the held wait the waiters get a 504; the host is not failed
// (fail_threshold 1 would eject it), nor is the request tried on the other host.
TEST(EdgeLiveEdge, AHeldRequestWithoutAnAnswerIsA504ButNoHostFailure) {
  FakeOrigin a, b;
  LiveStream on_a(a), on_b(b);
  OriginReply never;
  never.never_answer = true;
  on_a.ahead(11, never);
  on_b.ahead(11, never);
  Daemon d = Daemon::start(fmt::format(R"(role: edge
threads: 2
listen: [{{address: 127.0.0.1:0}}]
upstream:
  groups:
    o: {{hosts: ['127.0.0.1:{}', '127.0.0.1:{}'], hash: stream}}
  routes: [{{prefix: /live/, group: o}}]
  retries: 1
  health: {{fail_threshold: 1}}
timeouts: {{upstream_first_byte: 500ms, drain: 1s}}
logging: {{level: error}}
)", a.port(), b.port()));
  ASSERT_TRUE(d.running()) << d.error();
  ASSERT_EQ(get(d.port(), kPlaylist).status, 200);
  FakeOrigin& owner = a.requests(kPlaylist) == 1 ? a : b;
  FakeOrigin& other = &owner == &a ? b : a;
  const auto t0 = Clock::now();
  auto r = get(d.port(), segment_path(11), {}, 5s);
  const double waited = ms_between(t0, Clock::now());
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 504) << r.describe();
  EXPECT_GE(waited, 1900) << "the held wait is two target durations (2 s)";
  EXPECT_LT(waited, 4000);
  EXPECT_EQ(owner.requests(segment_path(11)), 1u);
  EXPECT_EQ(other.requests(segment_path(11)), 0u) << "a held request is not retried on another host";
  const std::string labels = fmt::format("group=\"o\",host=\"127.0.0.1:{}\"", owner.port());
  EXPECT_EQ(metric_or(d.port(), "hlscache_upstream_host_errors_total", labels), 0);
  EXPECT_EQ(metric_or(d.port(), "hlscache_upstream_host_up", labels), 1);
  EXPECT_EQ(metric_or(d.port(), "hlscache_upstream_errors_total", ""), 0);
  EXPECT_EQ(metric_or(d.port(), "hlscache_upstream_held_timeouts_total", ""), 1);
  EXPECT_EQ(get(d.port(), "/readyz").status, 200);
  EXPECT_TRUE(d.stop().exited);
}

// The same over an HTTP/2 upstream: an edge (h2c) in front of an origin tier in front
// of the FakeOrigin, every tier with a 500 ms upstream_first_byte. The next segment
// held 1.2 s is served; one never answered is a 504 after the held wait, and no tier
// counts a failure against its host — the edge, asking first, gives up first.
TEST(EdgeLiveEdge, OverHttp2UpstreamsTheHeldWaitIsTheSame) {
  FakeOrigin o;
  LiveStream stream(o);
  stream.ahead(11, segment_after(11, 1200ms));
  OriginReply never;
  never.never_answer = true;
  stream.ahead(12, never);
  const std::string tiers = "threads: 1\ntimeouts: {upstream_first_byte: 500ms, drain: 1s}\nlogging: {level: error}\n";
  Daemon mid = Daemon::start(fmt::format("role: origin\nlisten: [{{address: 127.0.0.1:0, http2: true}}]\n"
                                         "upstream: {{hosts: ['127.0.0.1:{}'], health: {{fail_threshold: 1}}}}\n",
                                         o.port()) +
                             tiers);
  ASSERT_TRUE(mid.running()) << mid.error();
  Daemon edge = Daemon::start(fmt::format("role: edge\nlisten: [{{address: 127.0.0.1:0}}]\n"
                                          "upstream: {{hosts: ['127.0.0.1:{}'], protocol: h2c, "
                                          "health: {{fail_threshold: 1}}}}\n",
                                          mid.port()) +
                              tiers);
  ASSERT_TRUE(edge.running()) << edge.error();
  ASSERT_EQ(get(edge.port(), kPlaylist).status, 200);

  const auto t0 = Clock::now();
  auto r = get(edge.port(), segment_path(11), {}, 5s);
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.body, segment_body(11));
  EXPECT_GE(ms_between(t0, Clock::now()), 1100);

  auto timed_out = get(edge.port(), segment_path(12), {}, 5s);
  EXPECT_EQ(timed_out.status, 504) << timed_out.describe();
  EXPECT_EQ(metric_or(edge.port(), "hlscache_upstream_held_timeouts_total", ""), 1);
  EXPECT_TRUE(wait_metric_at_least(mid.port(), "hlscache_upstream_held_timeouts_total", "", 1, 2s));
  for (auto [d, host] : {std::pair{&edge, mid.port()}, std::pair{&mid, o.port()}}) {
    const std::string labels = fmt::format("group=\"default\",host=\"127.0.0.1:{}\"", host);
    EXPECT_EQ(metric_or(d->port(), "hlscache_upstream_host_errors_total", labels), 0) << host;
    EXPECT_EQ(metric_or(d->port(), "hlscache_upstream_host_up", labels), 1) << host;
  }
  for (Daemon* d : {&edge, &mid}) EXPECT_TRUE(d->stop().exited);
}

}  // namespace
}  // namespace hlscache::test
