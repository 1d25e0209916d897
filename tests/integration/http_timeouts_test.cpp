// Deadlines and shutdown over real sockets: a slowloris client and a silent one are
// cut off after ~timeouts.header_read, an idle keep-alive connection after
// ~timeouts.idle, and SIGTERM ends the daemon with exit code 0 promptly even with
// idle connections open. Upper bounds are generous (a loaded 2-core CI box);
// lower bounds show that the configured deadline, not something else, did it.
//
// The send deadline (a client that never reads a large response) needs a large
// object, i.e. an upstream: the edge-proxy integration tests cover it.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "http_fixture.hpp"

namespace hlscache::test {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kDeadline = 300ms;   // header_read and idle below
constexpr auto kEarliest = 200ms;   // closing sooner would not be the deadline's doing
constexpr auto kEarliestIdle = 100ms;  // measured from when the client got its response, a bit after the server's clock started
constexpr auto kLatest = 3000ms;    // generous: scheduling on a busy box

Millis since(Clock::time_point t0) { return std::chrono::duration_cast<Millis>(Clock::now() - t0); }

class HttpTimeoutsTest : public HttpDaemonTest {
 protected:
  void SetUp() override { start(edge_config("{}", "{header_read: 300ms, idle: 300ms, send: 300ms}")); }
};

TEST_F(HttpTimeoutsTest, SlowlorisIsCutOffAfterHeaderRead) {
  auto c = connect();
  auto t0 = Clock::now();
  ASSERT_TRUE(c.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
  // Trickle one byte every 50 ms: each write arrives well within any per-read
  // timeout, so only a deadline on the whole header block stops this.
  std::string received;
  bool closed = false;
  while (!closed && since(t0) < 5s) {
    if (!c.send("a", 500ms)) {
      closed = true;
      break;
    }
    closed = c.wait_closed(50ms, &received);
  }
  auto elapsed = since(t0);
  ASSERT_TRUE(closed) << "a slowloris client was still connected after " << elapsed.count() << " ms";
  EXPECT_GE(elapsed, kEarliest);
  EXPECT_LT(elapsed, kLatest);
  // A request was begun, so it is answered: 408, then the close.
  EXPECT_EQ(received.rfind("HTTP/1.1 408 ", 0), 0u) << received;
}

TEST_F(HttpTimeoutsTest, SilentConnectionIsClosedAfterHeaderRead) {
  auto c = connect();
  auto t0 = Clock::now();
  std::string received;
  ASSERT_TRUE(c.wait_closed(5s, &received)) << "a connection that never sent a byte was kept open";
  auto elapsed = since(t0);
  EXPECT_GE(elapsed, kEarliest);
  EXPECT_LT(elapsed, kLatest);
  if (!received.empty()) {
    EXPECT_EQ(received.rfind("HTTP/1.1 408 ", 0), 0u) << received;
  }
}

TEST_F(HttpTimeoutsTest, IdleKeepAliveConnectionIsClosedAfterIdle) {
  auto c = connect();
  auto r = c.roundtrip(make_request("GET", "/healthz"));
  ASSERT_TRUE(r.ok() && r.status == 200) << r.describe();
  auto t0 = Clock::now();
  std::string received;
  ASSERT_TRUE(c.wait_closed(5s, &received)) << "an idle keep-alive connection was kept open";
  auto elapsed = since(t0);
  EXPECT_GE(elapsed, kEarliestIdle);
  EXPECT_LT(elapsed, kLatest);
  EXPECT_EQ(received, "") << "nothing is sent to an idle connection before closing it";
}

TEST_F(HttpTimeoutsTest, ActiveKeepAliveConnectionOutlivesTheIdleDeadline) {
  // Requests every 60 ms for well over timeouts.idle: each one restarts the idle clock.
  auto c = connect();
  auto t0 = Clock::now();
  int n = 0;
  while (since(t0) < 3 * kDeadline) {
    auto r = c.roundtrip(make_request("GET", "/healthz"));
    ASSERT_TRUE(r.ok() && r.status == 200) << "request " << n << " after " << since(t0).count()
                                           << " ms: " << r.describe();
    ++n;
    std::this_thread::sleep_for(60ms);
  }
  EXPECT_GE(n, 5);
}

TEST_F(HttpTimeoutsTest, WholeRequestJustInsideHeaderReadIsServed) {
  // Header sent in two parts 100 ms apart (under the 300 ms deadline): answered normally.
  auto c = connect();
  ASSERT_TRUE(c.send("GET /healthz HTTP/1.1\r\n"));
  std::this_thread::sleep_for(100ms);
  auto r = c.roundtrip("Host: 127.0.0.1\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 200);
}

// ---- SIGTERM --------------------------------------------------------------------------

using HttpShutdownTest = HttpDaemonTest;  // default timeouts: idle 5 s, drain 10 s

TEST_F(HttpShutdownTest, SigtermExitsZero) {
  auto r = get(port_, "/healthz");
  ASSERT_TRUE(r.ok() && r.status == 200) << r.describe();
  auto t0 = Clock::now();
  auto st = daemon_.stop(SIGTERM, 5s);
  EXPECT_TRUE(st.exited) << st.describe();
  EXPECT_EQ(st.code, 0) << st.describe();
  EXPECT_LT(since(t0), kLatest);
  auto log = daemon_.log();
  EXPECT_NE(log.find("signal 15 received"), std::string::npos) << log;
  EXPECT_NE(log.find("stopped"), std::string::npos) << log;
}

TEST_F(HttpShutdownTest, SigintAlsoExitsZero) {
  auto st = daemon_.stop(SIGINT, 5s);
  EXPECT_TRUE(st.exited && st.code == 0) << st.describe();
}

TEST_F(HttpShutdownTest, SigtermWithIdleConnectionsExitsWellBeforeDrain) {
  // An idle keep-alive connection (one request answered) and one mid-header: neither is
  // in flight, so the drain closes both at once instead of waiting timeouts.drain (10 s)
  // or timeouts.idle (5 s).
  auto idle = connect();
  auto r = idle.roundtrip(make_request("GET", "/healthz"));
  ASSERT_TRUE(r.ok() && r.status == 200) << r.describe();
  auto partial = connect();
  ASSERT_TRUE(partial.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  std::this_thread::sleep_for(50ms);  // let the daemon read it

  auto t0 = Clock::now();
  auto st = daemon_.stop(SIGTERM, 8s);
  auto elapsed = since(t0);
  EXPECT_TRUE(st.exited && st.code == 0) << st.describe() << "\n" << daemon_.log();
  EXPECT_LT(elapsed, 2500ms) << "exit took " << elapsed.count() << " ms";
  EXPECT_TRUE(idle.wait_closed(1s));
  EXPECT_TRUE(partial.wait_closed(1s));
  // Nothing listens any more.
  auto after = Connection::open(port_, 500ms);
  EXPECT_FALSE(after.connected());
}

TEST(HttpShutdownDrain, SigtermWithAResponseInFlightExitsZeroAtTheDrainDeadline) {
  // A media request to an upstream that accepts and never answers keeps one response
  // in flight; SIGTERM must wait for it no longer than timeouts.drain, then exit 0.
  SilentListener upstream;
  ASSERT_NE(upstream.port(), 0);
  std::string yaml = edge_config("{}", "{drain: 300ms, upstream_first_byte: 20s, upstream_total: 30s}");
  yaml.replace(yaml.find("127.0.0.1:1\""), 12, "127.0.0.1:" + std::to_string(upstream.port()) + "\"");
  auto d = Daemon::start(yaml);
  ASSERT_TRUE(d.running()) << d.error();
  auto c = Connection::open(d.port());
  ASSERT_TRUE(c.send(make_request("GET", "/live/stream1/seg_1.ts")));
  auto busy = wait_for_metric(d.port(), "hlscache_connections_active", "", [](double v) { return v >= 2; });
  ASSERT_GE(busy, 2) << "the media request is not in flight";
  std::this_thread::sleep_for(100ms);

  auto t0 = Clock::now();
  auto st = d.stop(SIGTERM, 8s);
  auto elapsed = since(t0);
  EXPECT_TRUE(st.exited && st.code == 0) << st.describe() << "\n" << d.log();
  EXPECT_GE(elapsed, 250ms) << "the in-flight response was not given timeouts.drain";
  EXPECT_LT(elapsed, kLatest);
  EXPECT_TRUE(c.wait_closed(1s));
}

}  // namespace
}  // namespace hlscache::test
