// OriginTier's HTTP/1.1 exchange against FakeOrigin on loopback, driven on the test's
// own io_context (one thread: one connection pool), the sink a RecordingSink:
// - every 1xx before the final response is read past on the same connection (a 103's
//   fields reach the sink's interim(), 100/102 do not; 101 or more than 16 fail the
//   attempt), and the next request on that connection gets its own answer;
// - a connection goes back to the pool only when its response was read to the end;
// - before reuse a pooled connection is probed: closed by the origin, or holding bytes
//   nobody asked for, it is discarded; the origin's Keep-Alive timeout and
//   upstream.pool_idle bound how long it waits;
// - a request that fails before any response byte on a reused connection is resent
//   once on a new connection (never another pooled one), not counted against the host.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <thread>

#include "config/config.hpp"
#include "source/origin_tier.hpp"
#include "support/fake_origin.hpp"
#include "support/recording_sink.hpp"

namespace hlscache::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr const char* kEarlyHints = "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n";
constexpr const char* kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr const char* kProcessing = "HTTP/1.1 102 Processing\r\n\r\n";

OriginReply body(std::string b) {
  OriginReply r;
  r.body = std::move(b);
  r.headers = {{"Content-Type", "video/mp2t"}};
  return r;
}

// The value of one sample line "name{labels} value" of an exposition; -1 if absent.
double sample(const std::string& exposition, const std::string& name_and_labels) {
  const std::string key = name_and_labels + " ";
  for (std::size_t pos = 0; (pos = exposition.find(key, pos)) != std::string::npos; pos += key.size())
    if (pos == 0 || exposition[pos - 1] == '\n') return std::stod(exposition.substr(pos + key.size()));
  return -1;
}

class OriginTierH1Test : public ::testing::Test {
 protected:
  // `extra` goes inside the upstream map, e.g. "pool_idle: 200ms".
  void start(const std::string& extra = "", std::vector<std::uint16_t> ports = {}) {
    if (ports.empty()) ports.push_back(origin_.port());
    std::string hosts;
    for (auto p : ports) hosts += (hosts.empty() ? "'127.0.0.1:" : ", '127.0.0.1:") + std::to_string(p) + "'";
    auto cfg = load_config_string("role: edge\nlisten: [{address: '127.0.0.1:0'}]\nserver_name: edge-t\n"
                                  "timeouts: {upstream_first_byte: 2s, upstream_total: 5s}\n"
                                  "upstream: {hosts: [" + hosts + "]" + (extra.empty() ? "" : ", " + extra) + "}\n",
                                  "t.yaml");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    tier_ = std::make_unique<OriginTier>(*cfg, metrics_);
  }

  std::shared_ptr<RecordingSink> fetch(const std::string& target, std::vector<Header> headers = {}) {
    auto sinks = fetch_all({target}, std::move(headers));
    return sinks.front();
  }

  // Runs one fetch per target, all at once on this thread's io_context (bounded).
  std::vector<std::shared_ptr<RecordingSink>> fetch_all(const std::vector<std::string>& targets,
                                                        std::vector<Header> headers = {}) {
    std::vector<std::shared_ptr<RecordingSink>> sinks;
    if (!tier_) {  // start() failed (and said why)
      for (std::size_t i = 0; i < targets.size(); ++i) sinks.push_back(std::make_shared<RecordingSink>());
      return sinks;
    }
    std::vector<std::future<void>> done;
    for (const auto& t : targets) {
      auto sink = std::make_shared<RecordingSink>();
      SourceRequest req{t, t, headers, "127.0.0.1", std::nullopt};
      done.push_back(asio::co_spawn(io_, tier_->fetch(std::move(req), sink), asio::use_future));
      sinks.push_back(std::move(sink));
    }
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    io_.restart();
    auto all = [&] {
      for (auto& f : done)
        if (f.wait_for(0s) != std::future_status::ready) return false;
      return true;
    };
    while (!all() && std::chrono::steady_clock::now() < deadline) io_.run_one_for(20ms);
    for (auto& s : sinks) EXPECT_TRUE(s->ended()) << "a fetch did not end in time";
    return sinks;
  }

  double metric(const std::string& name_and_labels) const {
    std::string out;
    tier_->collect_metrics(out);
    return sample(out, name_and_labels);
  }

  static void expect_answer(const RecordingSink& s, int status, const std::string& b) {
    ASSERT_TRUE(s.head.has_value()) << (s.error ? s.error->describe() : "no head");
    EXPECT_EQ(s.head->status, status);
    EXPECT_EQ(s.body, b);
    EXPECT_TRUE(s.completed) << (s.error ? s.error->describe() : "");
  }

  FakeOrigin origin_;
  Metrics metrics_;
  asio::io_context io_;
  std::unique_ptr<OriginTier> tier_;
};

TEST_F(OriginTierH1Test, EarlyHintsReachTheSinkAndTheFinalResponseIsTheAnswer) {
  OriginReply early = body("A1");
  early.interim = {kContinue, kEarlyHints, kProcessing};
  early.interim_pause = 20ms;  // each 1xx in a read of its own: the final response is not yet buffered
  origin_.set("/early1", early);
  origin_.set("/a", body("A"));
  origin_.set("/b", body("B"));
  start("retries: 0");

  auto e = fetch("/early1");
  expect_answer(*e, 200, "A1");
  ASSERT_EQ(e->interims.size(), 1u) << "only the 103 is passed on";
  EXPECT_EQ(e->interims[0].first, 103);
  EXPECT_EQ(field_value(e->interims[0].second, "link"), "</a.css>; rel=preload");
  EXPECT_EQ(field_value(e->head->headers, "Content-Type"), "video/mp2t");
  expect_answer(*fetch("/a"), 200, "A");
  expect_answer(*fetch("/b"), 200, "B");
  EXPECT_EQ(origin_.connections_accepted(), 1u) << "the 1xx exchange left the connection reusable";
  EXPECT_EQ(origin_.requests_on_reused_connections(), 2u);
}

TEST_F(OriginTierH1Test, SixteenInterimResponsesAreReadPastASeventeenthFailsTheAttempt) {
  OriginReply sixteen = body("ok");
  for (int i = 0; i < 16; ++i) sixteen.interim.push_back(i % 2 ? kEarlyHints : kProcessing);
  origin_.set("/16", sixteen);
  OriginReply seventeen = sixteen;
  seventeen.interim.push_back(kContinue);
  origin_.set("/17", seventeen);
  origin_.set("/after", body("after"));
  start("retries: 0");
  auto ok = fetch("/16");
  expect_answer(*ok, 200, "ok");
  EXPECT_EQ(ok->interims.size(), 8u);
  auto bad = fetch("/17");
  EXPECT_FALSE(bad->head.has_value());
  ASSERT_TRUE(bad->error.has_value());
  EXPECT_EQ(bad->error->code, Errc::protocol);
  EXPECT_NE(bad->error->message.find("more than 16 interim"), std::string::npos) << bad->error->message;
  expect_answer(*fetch("/after"), 200, "after");
  EXPECT_EQ(origin_.connections_accepted(), 2u) << "the refused exchange's connection was closed, not pooled";
}

TEST_F(OriginTierH1Test, SwitchingProtocolsIsRefusedAndItsConnectionClosed) {
  OriginReply upgrade = body("not for us");
  upgrade.interim = {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"};
  origin_.set("/101", upgrade);
  origin_.set("/next", body("next"));
  start("retries: 0");
  auto r = fetch("/101");
  EXPECT_FALSE(r->head.has_value()) << "a 101 is never an answer";
  ASSERT_TRUE(r->error.has_value());
  EXPECT_NE(r->error->message.find("101"), std::string::npos) << r->error->message;
  expect_answer(*fetch("/next"), 200, "next");
  EXPECT_EQ(origin_.connections_accepted(), 2u);
}

TEST_F(OriginTierH1Test, BodilessAndChunkedAnswersLeaveTheConnectionReusable) {
  OriginReply nc;
  nc.status = 204;
  origin_.set("/204", nc);
  OriginReply chunked = body(std::string(100'000, 'c'));
  chunked.chunked = true;
  chunked.slow_chunk = 30'000;
  origin_.set("/chunked", chunked);
  origin_.set("/last", body("last"));
  start("retries: 0");
  expect_answer(*fetch("/204"), 204, "");
  expect_answer(*fetch("/chunked"), 200, std::string(100'000, 'c'));
  expect_answer(*fetch("/last"), 200, "last");
  EXPECT_EQ(origin_.connections_accepted(), 1u);
}

TEST_F(OriginTierH1Test, ACloseDelimitedOrCutBodyIsNeverPooled) {
  OriginReply to_eof;
  to_eof.raw = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close";
  origin_.set("/eof", to_eof);
  OriginReply cut = body(std::string(1000, 'x'));
  cut.cut_after = 10;
  origin_.set("/cut", cut);
  origin_.set("/ok", body("ok"));
  start("retries: 0");
  expect_answer(*fetch("/eof"), 200, "until close");
  expect_answer(*fetch("/ok"), 200, "ok");
  EXPECT_EQ(origin_.connections_accepted(), 2u);
  auto c = fetch("/cut");
  EXPECT_TRUE(c->error.has_value());
  expect_answer(*fetch("/ok"), 200, "ok");
  EXPECT_EQ(origin_.connections_accepted(), 3u) << "the cut exchange's connection was not reused";
}

TEST_F(OriginTierH1Test, UnsolicitedBytesOnAnIdlePooledConnectionKeepItFromBeingUsed) {
  OriginReply first = body("first");
  // A whole response nobody asked for, 30 ms after the answer: taken as the next answer it would poison.
  first.after = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\npoison";
  first.after_delay = 30ms;
  origin_.set("/first", first);
  origin_.set("/second", body("second"));
  start("retries: 0");
  expect_answer(*fetch("/first"), 200, "first");
  std::this_thread::sleep_for(150ms);
  expect_answer(*fetch("/second"), 200, "second");
  EXPECT_EQ(origin_.connections_accepted(), 2u);
  EXPECT_EQ(metric("hlscache_upstream_pool_discarded_total{reason=\"unsolicited\"}"), 1);
  EXPECT_EQ(metric("hlscache_upstream_pool_reuses_total"), 0);
}

TEST_F(OriginTierH1Test, AConnectionTheOriginClosedWhileIdleIsDiscardedBeforeUse) {
  origin_.set("/x", body("x"));
  origin_.set("/y", body("y"));
  origin_.set_idle_close(100ms);
  start("retries: 0");
  expect_answer(*fetch("/x"), 200, "x");
  std::this_thread::sleep_for(300ms);
  expect_answer(*fetch("/y"), 200, "y");
  EXPECT_EQ(origin_.idle_closes(), 1u);
  EXPECT_EQ(metric("hlscache_upstream_pool_discarded_total{reason=\"peer_closed\"}"), 1);
  EXPECT_EQ(metric("hlscache_upstream_stale_retries_total"), 0) << "found before use, not by a failed request";
}

TEST_F(OriginTierH1Test, KeepAliveTimeoutIsHonoured) {
  OriginReply r = body("k");
  r.headers.emplace_back("Keep-Alive", "timeout=1");  // but the origin keeps the connection open longer
  origin_.set("/k", r);
  start("retries: 0");
  expect_answer(*fetch("/k"), 200, "k");
  std::this_thread::sleep_for(100ms);
  expect_answer(*fetch("/k"), 200, "k");
  EXPECT_EQ(origin_.connections_accepted(), 1u) << "reused well within the announced timeout";
  std::this_thread::sleep_for(850ms);  // past 1 s - min(1 s, 1 s / 4) = 750 ms
  expect_answer(*fetch("/k"), 200, "k");
  EXPECT_EQ(origin_.connections_accepted(), 2u) << "not reused within the last quarter of timeout=1";
  EXPECT_EQ(metric("hlscache_upstream_pool_discarded_total{reason=\"expired\"}"), 1);

  OriginReply last = body("m");
  last.headers.emplace_back("Keep-Alive", "timeout=5, max=0");
  origin_.set("/m", last);
  expect_answer(*fetch("/m"), 200, "m");
  expect_answer(*fetch("/k"), 200, "k");
  EXPECT_EQ(origin_.connections_accepted(), 3u) << "max=0: no further request on that connection";
}

TEST_F(OriginTierH1Test, PoolIdleCapsHowLongAConnectionWaits) {
  origin_.set("/p", body("p"));
  start("retries: 0, pool_idle: 500ms");
  expect_answer(*fetch("/p"), 200, "p");
  std::this_thread::sleep_for(50ms);
  expect_answer(*fetch("/p"), 200, "p");
  EXPECT_EQ(origin_.connections_accepted(), 1u);
  std::this_thread::sleep_for(700ms);
  expect_answer(*fetch("/p"), 200, "p");
  EXPECT_EQ(origin_.connections_accepted(), 2u);
}

TEST_F(OriginTierH1Test, ClientFieldsReachTheOriginAsGivenAndUnsafeLinesNever) {
  origin_.set("/h", body("h"));
  start("retries: 0");
  expect_answer(*fetch("/h", {{"User-Agent", "X"},
                              {"x-custom", "Mixed Case"},
                              {"X-Split", "a\r\nInjected: yes"},
                              {"X-Lf", "b\nAlso-Injected: yes"},
                              {"X-Nul", std::string("c\0d", 3)},
                              {"Bad Name", "1"},
                              {"Host", "evil.example"},
                              {"Content-Length", "5"}}),
                200, "h");
  const auto log = origin_.log();
  ASSERT_EQ(log.size(), 1u);
  const auto& seen = log[0];
  EXPECT_EQ(seen.header("User-Agent").value_or(""), "X");
  EXPECT_EQ(seen.header("X-Custom").value_or(""), "Mixed Case");
  for (const char* gone : {"Injected", "Also-Injected", "X-Split", "X-Lf", "X-Nul", "Content-Length"})
    EXPECT_FALSE(seen.header(gone).has_value()) << gone << " reached the origin";
  EXPECT_EQ(seen.header("Host").value_or(""), "127.0.0.1:" + std::to_string(origin_.port()));
  std::size_t hosts = 0;
  for (const auto& [k, v] : seen.headers) hosts += k == "Host" || k == "host";
  EXPECT_EQ(hosts, 1u);
}

// The origin closes a reused connection as the request arrives (the race an idle
// timeout makes): not visible to the probe, so the request fails before any byte.
std::optional<OriginReply> drop_on_reused(const OriginRequest& req) {
  if (req.nth > 1) {
    OriginReply r;
    r.drop = true;
    return r;
  }
  return std::nullopt;
}

TEST_F(OriginTierH1Test, AStaleReusedConnectionIsRetriedOnANewOneWithoutCountingAgainstTheHost) {
  origin_.set("/r/1", body("one"));
  origin_.set("/r/2", body("two"));
  origin_.set_handler(drop_on_reused);
  start("retries: 0, health: {fail_threshold: 1}");
  expect_answer(*fetch("/r/1"), 200, "one");
  expect_answer(*fetch("/r/2"), 200, "two");
  EXPECT_EQ(origin_.connections_accepted(), 2u);
  EXPECT_EQ(origin_.requests("/r/2"), 2u) << "sent on the reused connection, then on a new one";
  EXPECT_EQ(metric("hlscache_upstream_stale_retries_total"), 1);
  const std::string host = "127.0.0.1:" + std::to_string(origin_.port());
  EXPECT_EQ(metric("hlscache_upstream_host_errors_total{group=\"default\",host=\"" + host + "\"}"), 0);
  EXPECT_EQ(metric("hlscache_upstream_host_up{group=\"default\",host=\"" + host + "\"}"), 1);
  EXPECT_EQ(metric("hlscache_upstream_retries_total"), 0) << "no failover to another host";
}

TEST_F(OriginTierH1Test, TheStaleRetryNeverTakesAnotherPooledConnection) {
  OriginReply held = body("held");
  held.hold = "both";
  origin_.set("/h/1", held);
  origin_.set("/h/2", held);
  origin_.set("/h/3", body("three"));
  start("retries: 0");
  std::thread releaser([&] {
    origin_.wait_for_held("both", 2, 5s);
    origin_.release("both");
  });
  auto both = fetch_all({"/h/1", "/h/2"});  // two connections, both pooled afterwards
  releaser.join();
  expect_answer(*both[0], 200, "held");
  expect_answer(*both[1], 200, "held");
  ASSERT_EQ(origin_.connections_accepted(), 2u);
  origin_.set_handler(drop_on_reused);  // every pooled connection now fails its next request
  expect_answer(*fetch("/h/3"), 200, "three");
  EXPECT_EQ(origin_.connections_accepted(), 3u) << "the retry went to a new connection";
  EXPECT_EQ(origin_.requests("/h/3"), 2u);
  EXPECT_EQ(metric("hlscache_upstream_stale_retries_total"), 1);
}

TEST_F(OriginTierH1Test, AFailureOnTheNewConnectionFollowsTheFailoverRules) {
  FakeOrigin other;
  start("retries: 1", {origin_.port(), other.port()});
  const auto order = tier_->route("/f/2", "/f/2").hosts;
  ASSERT_EQ(order.size(), 2u);
  FakeOrigin& first = order[0].port == origin_.port() ? origin_ : other;
  FakeOrigin& second = &first == &origin_ ? other : origin_;
  // A path the ring also sends to `first`: it leaves a pooled connection there.
  std::string warm;
  for (int i = 0; i < 1000 && warm.empty(); ++i) {
    const std::string p = "/f/w" + std::to_string(i);
    if (tier_->route(p, p).hosts[0].port == first.port()) warm = p;
  }
  ASSERT_FALSE(warm.empty());
  first.set(warm, body("warm"));
  second.set("/f/2", body("two"));
  OriginReply dropped;
  dropped.drop = true;
  first.set("/f/2", dropped);  // on the reused connection and on the new one

  expect_answer(*fetch(warm), 200, "warm");
  expect_answer(*fetch("/f/2"), 200, "two");
  EXPECT_EQ(first.requests("/f/2"), 2u) << "the reused connection, then a new one";
  EXPECT_EQ(first.connections_accepted(), 2u);
  EXPECT_EQ(second.requests("/f/2"), 1u);
  EXPECT_EQ(metric("hlscache_upstream_stale_retries_total"), 1);
  const std::string id = "127.0.0.1:" + std::to_string(first.port());
  EXPECT_EQ(metric("hlscache_upstream_host_errors_total{group=\"default\",host=\"" + id + "\"}"), 1)
      << "the failure on the new connection counts, the stale one does not";
  EXPECT_EQ(metric("hlscache_upstream_retries_total"), 1) << "and fails over to the next host";
}

}  // namespace
}  // namespace hlscache::test
