// An origin that closes idle keep-alive connections after 1 s (as Node does after 5 s)
// in front of the edge, 2,000 misses at random spacing from 80 client loops at once:
// every one must be a 200 with its own body. Before, a miss that took a pooled
// connection the origin had closed failed, its one retry took another pooled (dead)
// connection, and the client got a 502 (2 of 29 requests at 1 s). The load comes in
// waves, as players' requests do: every loop sends one request per wave, at a random
// offset (0-80 ms) into it, and the waves are a random 100-300 ms or 850-1150 ms
// apart. A wave after a long gap finds dozens of pooled connections idle for about
// the origin's 1 s: some already closed, some closed just as a request goes out. The
// test checks that all of that happened. About 20 s.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "edge_test_util.hpp"

namespace hlscache::test {
namespace {

using UpstreamIdleCloseTest = EdgeTest;

TEST_F(UpstreamIdleCloseTest, TwoThousandMissesAgainstAnOriginClosingIdleConnectionsAfterOneSecondAllSucceed) {
  origin_.set_idle_close(1000ms);
  origin_.set_handler([](const OriginRequest& req) -> std::optional<OriginReply> {
    OriginReply r;
    r.body = req.path();
    r.headers = {{"Content-Type", "video/mp2t"}, {"Cache-Control", "no-store"}};
    return r;
  });
  start();

  constexpr int kLoops = 80, kPerLoop = 25;
  // The waves' start times, shared by every loop.
  std::vector<Millis> waves;
  {
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> short_gap(100, 300), long_gap(850, 1150);
    Millis at{200};
    for (int j = 0; j < kPerLoop; ++j) {
      waves.push_back(at);
      at += Millis(j % 2 == 0 ? long_gap(rng) : short_gap(rng));
    }
  }
  std::atomic<int> ok{0};
  std::mutex mu;
  std::vector<std::string> failures;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> loops;
  for (int i = 0; i < kLoops; ++i)
    loops.emplace_back([&, i] {
      std::mt19937 rng(static_cast<std::uint32_t>(1000 + i));
      std::uniform_int_distribution<int> offset(0, 80);
      for (int j = 0; j < kPerLoop; ++j) {
        std::this_thread::sleep_until(t0 + waves[j] + Millis(offset(rng)));
        const std::string path = "/idle/" + std::to_string(i) + "/" + std::to_string(j) + ".ts";
        auto r = get(path, {}, 5s);
        if (r.ok() && r.status == 200 && r.body == path) {
          ++ok;
          continue;
        }
        std::lock_guard lock(mu);
        failures.push_back(path + ": " + r.describe());
      }
    });
  for (auto& t : loops) t.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  EXPECT_EQ(ok.load(), kLoops * kPerLoop);
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, the first:\n" << (failures.empty() ? "" : failures.front());
  const double reuses = edge_metric(port_, "hlscache_upstream_pool_reuses_total").value_or(0);
  const double closed = edge_metric(port_, "hlscache_upstream_pool_discarded_total", "reason=\"peer_closed\"").value_or(0);
  const double stale = edge_metric(port_, "hlscache_upstream_stale_retries_total").value_or(0);
  // The scenario happened: connections were reused, and the origin closed idle ones.
  EXPECT_GT(origin_.requests_on_reused_connections(), 100u);
  EXPECT_GT(reuses, 100);
  EXPECT_GT(origin_.idle_closes(), 10u);
  EXPECT_GT(closed + stale, 0) << "no closed pooled connection was ever met";
  std::printf("%d requests in %.1f s: %zu upstream connections, %zu requests on reused ones, %zu idle closes by the "
              "origin; edge: %.0f reuses, %.0f pooled connections found closed, %.0f stale retries\n",
              kLoops * kPerLoop, seconds, origin_.connections_accepted(), origin_.requests_on_reused_connections(),
              origin_.idle_closes(), reuses, closed, stale);
}

}  // namespace
}  // namespace hlscache::test
