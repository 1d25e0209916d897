// A reset flood from many connections against the real edge and a FakeOrigin that
// holds its answers: 20 HTTP/2 connections, each sending HEADERS for unique paths
// and resetting them. Every reset stream's fetch goes on upstream; without a bound
// each stream is a free origin request (4,146 from 20 such connections, measured).
// With http2.max_orphaned_fetches the origin sees about 20 x (bound + one round)
// requests, and a cache hit is still served on a flooded connection.
//
// The session sets may_lead_fetch = false at the bound; the cache handler leading
// the miss sets led_fetch and honours may_lead_fetch (503).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "edge_test_util.hpp"
#include "h2_test_util.hpp"

namespace hlscache::test {
namespace {

TEST_F(H2Test, AResetFloodFromManyConnectionsLeavesABoundedNumberOfOriginFetches) {
  constexpr int kConnections = 20, kRounds = 25, kPerRound = 8, kBound = 16;
  OriginReply held;
  held.body = "segment";
  held.headers = {{"Cache-Control", "max-age=60"}};
  held.hold = "flood";
  origin_.set_handler([held](const OriginRequest& r) -> std::optional<OriginReply> {
    if (r.path().rfind("/live/flood/", 0) == 0) return held;
    return std::nullopt;
  });
  OriginReply hit;
  hit.body = "cached";
  hit.headers = {{"Cache-Control", "max-age=60"}};
  origin_.set("/live/s/hit.ts", hit);
  OriginReply probe;
  probe.body = "probe";
  origin_.set("/live/s/probe.ts", probe);
  // The rapid-reset limiter is not what this test is about: out of the way.
  start("reset_burst: 100000, reset_rate: 100000, max_orphaned_fetches: " + std::to_string(kBound));
  ASSERT_EQ(get(port_, "/live/s/hit.ts").status, 200);  // cached now

  std::vector<std::unique_ptr<h2::RawClient>> clients;
  for (int i = 0; i < kConnections; ++i) {
    clients.push_back(std::make_unique<h2::RawClient>(port_));
    ASSERT_TRUE(clients.back()->start());
  }
  std::atomic<int> sent{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kConnections; ++i) {
    threads.emplace_back([&, i] {
      auto& c = *clients[i];
      std::uint32_t id = 1;
      for (int round = 0; round < kRounds; ++round) {
        std::string headers, resets;
        for (int k = 0; k < kPerRound; ++k, id += 2) {
          headers += h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, id,
                               h2::request_block("/live/flood/c" + std::to_string(i) + "_" + std::to_string(id) + ".ts"));
          resets += h2::rst_stream(id, h2::kCancel);
        }
        c.send(headers);
        std::this_thread::sleep_for(40ms);  // the streams' handlers run and lead their fetches
        c.send(resets);
        sent += kPerRound;
      }
    });
  }
  for (auto& t : threads) t.join();
  std::this_thread::sleep_for(300ms);
  const std::size_t flood_requests = origin_.total_requests() - origin_.requests("/live/s/hit.ts");

  // On a flooded connection: a hit is served; a new miss is refused (503) while its
  // connection's abandoned fetches are at the bound.
  auto& c0 = *clients[0];
  const std::uint32_t next = 1 + 2 * kRounds * kPerRound;
  ASSERT_TRUE(c0.send(h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, next, h2::request_block("/live/s/hit.ts"))));
  std::optional<h2::Frame> hit_answer;
  for (;;) {
    auto f = c0.read_frame(5s);
    if (!f) break;
    if (f->type == h2::kHeaders && f->stream == next) {
      hit_answer = f;
      break;
    }
  }
  ASSERT_TRUE(hit_answer.has_value()) << "no answer to a cache hit on a flooded connection\n" << daemon_.log();
  EXPECT_EQ(hit_answer->status(), 200);
  ASSERT_TRUE(c0.send(h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, next + 2,
                                h2::request_block("/live/s/probe.ts"))));
  int probe_status = 0;
  for (;;) {
    auto f = c0.read_frame(5s);
    if (!f) break;
    if (f->type == h2::kHeaders && f->stream == next + 2) {
      probe_status = f->status();
      break;
    }
  }
  // A request that would fetch on its own (Cache-Control: no-store) is refused the same way.
  ASSERT_TRUE(c0.send(h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, next + 4,
                                h2::request_block("/live/s/own.ts", {{"cache-control", "no-store"}}))));
  int own_status = 0;
  for (;;) {
    auto f = c0.read_frame(5s);
    if (!f) break;
    if (f->type == h2::kHeaders && f->stream == next + 4) {
      own_status = f->status();
      break;
    }
  }
  origin_.release("flood");

  std::cerr << "reset flood: " << sent.load() << " streams reset on " << kConnections << " connections, "
            << flood_requests << " origin requests, probe miss answered " << probe_status << "\n";
  EXPECT_LE(flood_requests, static_cast<std::size_t>(kConnections * (kBound + kPerRound)))
      << "reset streams still amplify into origin requests";
  EXPECT_EQ(probe_status, 503) << "a new miss on a connection at the bound must not go upstream";
  EXPECT_EQ(own_status, 503) << "nor a fetch of one request's own";
  EXPECT_EQ(origin_.requests("/live/s/own.ts"), 0u);
}

}  // namespace
}  // namespace hlscache::test
