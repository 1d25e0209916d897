// cachesim's engine: exact hit counts on handcrafted traces, Belady at least as
// good as every policy on a Zipf trace, next-use indices, and input parsing.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "cachesim/sim.hpp"

namespace hlscache::cachesim {
namespace {

// Equal-size objects named by single letters; requests spelled as a string.
Trace letters(std::string_view seq, std::uint64_t size = 1000) {
  Trace t;
  for (char c = 'A'; c <= 'Z'; ++c) {
    t.keys.emplace_back(1, c);
    t.sizes.push_back(size);
  }
  for (char c : seq) t.requests.push_back(static_cast<std::uint32_t>(c - 'A'));
  return t;
}

std::uint64_t objects_capacity(const Trace& t, std::uint64_t n) { return n * charges(t)[0]; }

std::uint64_t hits(PolicyKind p, const Trace& t, std::uint64_t cap) { return simulate(p, t, cap).hits; }
std::uint64_t belady_hits(const Trace& t, std::uint64_t cap) {
  return simulate_belady(t, next_uses(t), cap).hits;
}

TEST(CacheSim, NextUses) {
  const Trace t = letters("ABACAB");
  EXPECT_EQ(next_uses(t), (std::vector<std::uint32_t>{2, 5, 4, kNever, kNever, kNever}));
}

TEST(CacheSim, TwoObjectCacheExactHits) {
  // A B A C A B with room for two objects:
  //  FIFO: only the third request hits (C evicts A, A evicts B, B evicts C)        -> 1
  //  LRU:  A hits twice (C evicts B)                                               -> 2
  //  Belady: C is never requested again, so it is not kept: A, A and B hit         -> 3
  const Trace t = letters("ABACAB");
  const std::uint64_t cap = objects_capacity(t, 2);
  EXPECT_EQ(hits(PolicyKind::fifo, t, cap), 1u);
  EXPECT_EQ(hits(PolicyKind::lru, t, cap), 2u);
  EXPECT_EQ(belady_hits(t, cap), 3u);
  // S4LRU's quarter (half an object) holds nothing: every object is too large.
  const SimResult s4 = simulate(PolicyKind::s4lru, t, cap);
  EXPECT_EQ(s4.hits, 0u);
  EXPECT_EQ(s4.rejected_too_large, 6u);
}

TEST(CacheSim, ScanAfterReuseExactHits) {
  // A is used twice, then nine cold objects pass once, then A again; room for eight.
  // S4LRU kept A in queue 1; LRU and FIFO let the scan push it out.
  const Trace t = letters("AABCDEFGHIJA");
  const std::uint64_t cap = objects_capacity(t, 8);
  EXPECT_EQ(hits(PolicyKind::fifo, t, cap), 1u);
  EXPECT_EQ(hits(PolicyKind::lru, t, cap), 1u);
  EXPECT_EQ(hits(PolicyKind::s4lru, t, cap), 2u);
  EXPECT_EQ(belady_hits(t, cap), 2u);
  const SimResult r = simulate(PolicyKind::s4lru, t, cap);
  EXPECT_EQ(r.requests, 12u);
  EXPECT_EQ(r.bytes_requested, 12000u);
  EXPECT_EQ(r.bytes_hit, 2000u);
}

TEST(CacheSim, BeladyBoundsEveryPolicyOnZipf) {
  ZipfSpec spec;
  spec.alpha = 0.8;
  spec.objects = 2000;
  spec.requests = 40000;
  spec.sizes = *SizeDist::parse("fixed:4096");
  spec.seed = 11;
  const Trace t = generate_zipf(spec);
  const auto next = next_uses(t);
  const std::uint64_t ws = working_set_bytes(t);
  for (double f : {0.02, 0.1, 0.3}) {
    const auto cap = static_cast<std::uint64_t>(f * double(ws));
    const SimResult opt = simulate_belady(t, next, cap);
    for (PolicyKind p : {PolicyKind::fifo, PolicyKind::lru, PolicyKind::s4lru}) {
      const SimResult r = simulate(p, t, cap);
      EXPECT_GE(opt.hits, r.hits) << to_string(p) << " at " << f;
      EXPECT_GE(opt.bytes_hit, r.bytes_hit) << to_string(p) << " at " << f;
      EXPECT_GT(r.hits, 0u);
    }
  }
  // Bigger caches hit more.
  EXPECT_LT(simulate(PolicyKind::lru, t, ws / 20).hits, simulate(PolicyKind::lru, t, ws / 2).hits);
}

TEST(CacheSim, ZipfIsSkewedAndSeeded) {
  ZipfSpec spec;
  spec.objects = 1000;
  spec.requests = 100000;
  const Trace a = generate_zipf(spec), b = generate_zipf(spec);
  EXPECT_EQ(a.requests, b.requests);
  std::vector<int> count(spec.objects);
  for (auto id : a.requests) ++count[id];
  EXPECT_GT(count[0], count[10]);
  EXPECT_GT(count[10], count[500]);
  double h = 0;  // P(rank k) = (k+1)^-0.8 / H(1000, 0.8)
  for (int k = 1; k <= 1000; ++k) h += std::pow(k, -0.8);
  EXPECT_NEAR(count[0] / double(spec.requests), 1 / h, 0.004);
  EXPECT_NEAR(count[9] / double(spec.requests), std::pow(10, -0.8) / h, 0.002);
  spec.seed = 2;
  EXPECT_NE(generate_zipf(spec).requests, a.requests);
}

TEST(CacheSim, ReadsTextTraces) {
  std::istringstream in("# comment\n/a.ts 100\n\n/b.ts 200\n/a.ts 100\n/a.ts 150\n");
  auto t = read_trace(in);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->keys, (std::vector<std::string>{"/a.ts", "/b.ts"}));
  EXPECT_EQ(t->sizes, (std::vector<std::uint64_t>{100, 200}));
  EXPECT_EQ(t->requests, (std::vector<std::uint32_t>{0, 1, 0, 0}));
  EXPECT_EQ(t->size_mismatches, 1u);

  std::istringstream bad("/a.ts 100\n/b.ts 12x\n");
  auto e = read_trace(bad);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("line 2"), std::string::npos) << e.error().message;
  std::istringstream missing("/a.ts\n");
  EXPECT_FALSE(read_trace(missing).ok());
}

TEST(CacheSim, ParsesSizeDistributions) {
  EXPECT_EQ(SizeDist::parse("fixed:10")->kind, SizeDist::Kind::fixed);
  EXPECT_TRUE(SizeDist::parse("uniform:5:9").ok());
  EXPECT_TRUE(SizeDist::parse("lognormal:10:1.5").ok());
  for (const char* bad : {"", "fixed", "fixed:0", "fixed:x", "uniform:9:5", "uniform:5", "lognormal:1", "pareto:1"})
    EXPECT_FALSE(SizeDist::parse(bad).ok()) << bad;
  std::mt19937_64 rng(1);
  const SizeDist u = *SizeDist::parse("uniform:5:9");
  for (int i = 0; i < 100; ++i) {
    const auto v = u.sample(rng);
    EXPECT_GE(v, 5u);
    EXPECT_LE(v, 9u);
  }
}

}  // namespace
}  // namespace hlscache::cachesim
