// Micro-benchmarks of ShardedCache<Policy> with 16 and 256 shards (the argument):
// fresh lookups, miss + insert with eviction, and a Zipf(0.8) mix over 100k keys
// with the cache at 15% of the working set. Keys, objects and the Zipf sequence
// are prepared outside the timed loop; thread 0 builds the shared cache.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cache/policy/fifo.hpp"
#include "cache/policy/lru.hpp"
#include "cache/policy/s4lru.hpp"
#include "cache/sharded_cache.hpp"
#include "cachesim/sim.hpp"

namespace hlscache {
namespace {

constexpr std::size_t kKeys = 100'000;
constexpr std::size_t kZipfRequests = 1 << 20;
constexpr std::size_t kZipfWarmup = 1 << 18;  // requests replayed before timing, to fill the cache
const TimePoint kNow = TimePoint{} + std::chrono::hours(1);

// 100k segment-like keys and one object each; the objects share one 16 KiB body
// chunk, so the cache charges realistic sizes without the memory behind them.
struct Workload {
  std::vector<std::string> keys;
  std::vector<ObjectPtr> objects;
  std::vector<std::uint32_t> zipf;  // indices into keys, Zipf(0.8)
  std::uint64_t working_set = 0;

  Workload() {
    const Chunk body = Chunk::allocate(16 * 1024);
    char buf[64];
    for (std::size_t i = 0; i < kKeys; ++i) {
      std::snprintf(buf, sizeof buf, "/live/channel%02zu/720p/seg_%07zu.ts", i % 50, i);
      keys.emplace_back(buf);
      auto o = std::make_shared<Object>();
      o->body.push_back(body);
      o->body_size = body.capacity;
      o->fresh_until = o->stale_until = kNow + std::chrono::hours(1);
      working_set += o->charge(keys.back().size());
      objects.push_back(std::move(o));
    }
    const cachesim::ZipfSampler sampler(static_cast<std::uint32_t>(kKeys), 0.8);
    std::mt19937_64 rng(42);
    zipf.resize(kZipfRequests);
    for (auto& z : zipf) z = sampler(rng);
  }
};
const Workload& workload() {
  static const Workload w;
  return w;
}

template <class P>
std::unique_ptr<ShardedCache<P>>& shared_cache() {
  static std::unique_ptr<ShardedCache<P>> cache;
  return cache;
}

// Every lookup is a fresh hit: 10k keys in a cache with room for all of them
// at every S4LRU level.
template <class P>
void BM_LookupHit(benchmark::State& state) {
  constexpr std::size_t kHot = 10'000;
  const Workload& w = workload();
  auto& cache = shared_cache<P>();
  if (state.thread_index() == 0) {
    cache = std::make_unique<ShardedCache<P>>(8 * w.working_set, static_cast<std::size_t>(state.range(0)));
    for (std::size_t i = 0; i < kHot; ++i) cache->insert(w.keys[i], w.objects[i], kNow);
  }
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 4999;
  for (auto _ : state) {
    auto r = cache->lookup(w.keys[i % kHot], kNow);
    benchmark::DoNotOptimize(r);
    i += 7;
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) cache.reset();
}

// Every operation misses and inserts, evicting one object: keys cycle over 100k
// with the cache holding about 2% of them.
template <class P>
void BM_MissInsert(benchmark::State& state) {
  const Workload& w = workload();
  auto& cache = shared_cache<P>();
  if (state.thread_index() == 0)
    cache = std::make_unique<ShardedCache<P>>(w.working_set / 50, static_cast<std::size_t>(state.range(0)));
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * (kKeys / 2);
  for (auto _ : state) {
    const std::size_t k = i++ % kKeys;
    auto r = cache->lookup(w.keys[k], kNow);
    if (r.state == LookupState::miss) cache->insert(w.keys[k], w.objects[k], kNow);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) cache.reset();
}

// Zipf(0.8) requests over 100k keys, cache at 15% of the working set: lookup,
// insert on a miss. Warmed with the first kZipfWarmup requests before timing.
template <class P>
void BM_Zipf(benchmark::State& state) {
  const Workload& w = workload();
  auto& cache = shared_cache<P>();
  if (state.thread_index() == 0) {
    cache = std::make_unique<ShardedCache<P>>(w.working_set * 15 / 100, static_cast<std::size_t>(state.range(0)));
    for (std::size_t i = 0; i < kZipfWarmup; ++i) {
      const std::uint32_t k = w.zipf[i];
      if (cache->lookup(w.keys[k], kNow).state == LookupState::miss) cache->insert(w.keys[k], w.objects[k], kNow);
    }
  }
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * (kZipfRequests / 2);
  std::uint64_t hits = 0;
  for (auto _ : state) {
    const std::uint32_t k = w.zipf[i++ % kZipfRequests];
    auto r = cache->lookup(w.keys[k], kNow);
    if (r.state == LookupState::miss) cache->insert(w.keys[k], w.objects[k], kNow);
    else ++hits;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["hit_ratio"] = benchmark::Counter(static_cast<double>(hits) / static_cast<double>(state.iterations()),
                                                   benchmark::Counter::kAvgThreads);
  if (state.thread_index() == 0) cache.reset();
}

// Arg = shard count. With two threads, 16 shards means the threads often meet on
// one shard's lock, counters and list heads; 256 makes that rare.
#define HLSCACHE_BENCH_ALL_POLICIES(fn)                                                 \
  BENCHMARK_TEMPLATE(fn, Fifo)->Arg(16)->Arg(256)->Threads(1)->Threads(2)->UseRealTime(); \
  BENCHMARK_TEMPLATE(fn, Lru)->Arg(16)->Arg(256)->Threads(1)->Threads(2)->UseRealTime();  \
  BENCHMARK_TEMPLATE(fn, S4lru)->Arg(16)->Arg(256)->Threads(1)->Threads(2)->UseRealTime()

HLSCACHE_BENCH_ALL_POLICIES(BM_LookupHit);
HLSCACHE_BENCH_ALL_POLICIES(BM_MissInsert);
HLSCACHE_BENCH_ALL_POLICIES(BM_Zipf);

}  // namespace
}  // namespace hlscache

BENCHMARK_MAIN();
