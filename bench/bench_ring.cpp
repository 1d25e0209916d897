// The consistent-hash ring (src/source/hash_ring.hpp): lookup cost and key balance.
//   build/bench/bench_ring
// BM_RingOwner/N    : hash a segment key + find its owner on a ring of N hosts (160 vnodes each).
// BM_RingWalk/N     : the failover order for a key: the owner and the next 2 distinct hosts.
// BM_RingBalance/N  : 100k segment keys over N hosts; counters max_over_mean (worst host's
//                     load / mean load) and moved_on_removal (fraction of keys that change
//                     owner when one of the N hosts is removed; ideal 1/N).
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "source/hash_ring.hpp"

using namespace hlscache;

namespace {

std::vector<HashRing::Member> hosts(int n) {
  std::vector<HashRing::Member> m;
  for (int i = 0; i < n; ++i) m.push_back({fmt::format("10.0.{}.{}:8080", i / 250, i % 250 + 1), 1});
  return m;
}

std::vector<std::string> keys(int n) {
  std::vector<std::string> k;
  k.reserve(n);
  for (int i = 0; i < n; ++i) k.push_back(fmt::format("/live/stream{}/720p/seg_{}.ts", i % 97, i));
  return k;
}

void BM_RingOwner(benchmark::State& state) {
  HashRing ring(hosts(static_cast<int>(state.range(0))));
  auto ks = keys(4096);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ring.owner(HashRing::hash_key(ks[i++ & 4095])));
  }
}
BENCHMARK(BM_RingOwner)->Arg(2)->Arg(5)->Arg(20)->Arg(100);

void BM_RingWalk(benchmark::State& state) {
  HashRing ring(hosts(static_cast<int>(state.range(0))));
  auto ks = keys(4096);
  std::vector<std::uint32_t> out;
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ring.walk(HashRing::hash_key(ks[i++ & 4095]), 3, out));
  }
}
BENCHMARK(BM_RingWalk)->Arg(2)->Arg(5)->Arg(20)->Arg(100);

void BM_RingBalance(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  auto ks = keys(100'000);
  double max_over_mean = 0, moved = 0;
  for (auto _ : state) {
    auto members = hosts(n);
    HashRing ring(members);
    std::vector<int> load(n, 0);
    std::vector<std::uint32_t> owner(ks.size());
    for (std::size_t i = 0; i < ks.size(); ++i) ++load[owner[i] = static_cast<std::uint32_t>(ring.owner(HashRing::hash_key(ks[i])))];
    max_over_mean = *std::max_element(load.begin(), load.end()) / (static_cast<double>(ks.size()) / n);
    auto fewer = members;
    fewer.erase(fewer.begin());
    HashRing without(fewer);
    int changed = 0;
    for (std::size_t i = 0; i < ks.size(); ++i)
      changed += members[owner[i]].id != without.member(without.owner(HashRing::hash_key(ks[i]))).id;
    moved = static_cast<double>(changed) / ks.size();
  }
  state.counters["max_over_mean"] = max_over_mean;
  state.counters["moved_on_removal"] = moved;
  state.counters["ideal_moved"] = 1.0 / n;
}
BENCHMARK(BM_RingBalance)->Arg(2)->Arg(5)->Arg(20)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_RingBuild(benchmark::State& state) {
  auto members = hosts(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    HashRing ring(members);
    benchmark::DoNotOptimize(ring.size());
  }
}
BENCHMARK(BM_RingBuild)->Arg(2)->Arg(20)->Arg(100)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
