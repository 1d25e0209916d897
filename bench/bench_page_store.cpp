// What a body chunk costs to make, fill and free: on the heap (reused memory) and
// in the page store (cache.sendfile: pages allocated when the chunk is made,
// punched out when it is freed). The miss path pays this once per chunk; the
// page store pays it back in the sends that no longer copy (docs/performance.md).
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <vector>

#include "core/chunk.hpp"
#include "core/page_store.hpp"

namespace hlscache {
namespace {

const std::vector<char>& source() {
  static std::vector<char> bytes(PageStore::kMaxChunk, 'x');
  return bytes;
}

void BM_HeapChunkFillFree(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  const auto& src = source();
  for (auto _ : state) {
    std::shared_ptr<char[]> p(new char[size]);
    std::memcpy(p.get(), src.data(), size);
    benchmark::DoNotOptimize(p.get());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
}

void BM_PageStoreChunkFillFree(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  const auto& src = source();
  auto store = PageStore::create(64 << 20);
  if (!store) {
    state.SkipWithError("no page store on this kernel");
    return;
  }
  for (auto _ : state) {
    auto p = store->allocate(size);
    std::memcpy(p.get(), src.data(), size);
    benchmark::DoNotOptimize(p.get());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
}

BENCHMARK(BM_HeapChunkFillFree)->Arg(64 << 10)->Arg(1 << 20);
BENCHMARK(BM_PageStoreChunkFillFree)->Arg(64 << 10)->Arg(1 << 20);

}  // namespace
}  // namespace hlscache

BENCHMARK_MAIN();
