// PageStore: page-backed body chunks for sendfile (cache.sendfile). What must hold:
// ranges come back only after their pages were punched out (so bytes a socket still
// holds keep their content), classes and the reserve are honoured, and chunks made
// concurrently never overlap.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/chunk.hpp"
#include "core/page_store.hpp"

namespace hlscache {
namespace {

TEST(PageStore, ChunksLieInTheStoreAndAFreedRangeComesBackEmptied) {
  auto store = PageStore::create(64 << 20);
  ASSERT_TRUE(store);
  auto a = store->allocate(100 * 1024);
  ASSERT_TRUE(a);
  ASSERT_TRUE(store->offset_of(a.get(), 100 * 1024));
  std::fill_n(a.get(), 100 * 1024, 'A');
  EXPECT_EQ(store->stats().chunks, 1u);
  EXPECT_EQ(store->stats().bytes, 100u * 1024);
  const char* where = a.get();
  a.reset();
  EXPECT_EQ(store->stats().chunks, 0u);
  EXPECT_EQ(store->stats().bytes, 0u);

  // Same class: the freed range is reused, and it holds fresh (zero) pages, not the old bytes.
  auto b = store->allocate(128 * 1024);
  ASSERT_TRUE(b);
  EXPECT_EQ(b.get(), where);
  EXPECT_TRUE(std::all_of(b.get(), b.get() + 128 * 1024, [](char c) { return c == 0; }));
}

TEST(PageStore, SizesOutsideTheClassesAreLeftToTheHeap) {
  auto store = PageStore::create(8 << 20);
  ASSERT_TRUE(store);
  EXPECT_FALSE(store->allocate(PageStore::kMinChunk - 1));
  EXPECT_FALSE(store->allocate(PageStore::kMaxChunk + 1));
  EXPECT_TRUE(store->allocate(PageStore::kMinChunk));
  EXPECT_TRUE(store->allocate(PageStore::kMaxChunk));
  EXPECT_EQ(store->stats().fallbacks, 0u) << "a size it does not take is not a fallback";
}

TEST(PageStore, AnExhaustedReserveIsAFallbackUntilARangeIsFreed) {
  auto store = PageStore::create(2 << 20);
  ASSERT_TRUE(store);
  auto a = store->allocate(PageStore::kMaxChunk);
  auto b = store->allocate(PageStore::kMaxChunk);
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(store->allocate(PageStore::kMaxChunk));
  EXPECT_EQ(store->stats().fallbacks, 1u);
  EXPECT_EQ(store->stats().high_water, 2u << 20);
  a.reset();
  EXPECT_TRUE(store->allocate(PageStore::kMaxChunk));
}

TEST(PageStore, AFullReserveCutsAFreedLargerRangeIntoSmallerOnes) {
  auto store = PageStore::create(1 << 20);
  ASSERT_TRUE(store);
  auto big = store->allocate(PageStore::kMaxChunk);
  ASSERT_TRUE(big);
  const char* base = big.get();
  big.reset();
  // No address space left, but the freed MiB serves 64 KiB chunks: sixteen of them, then none.
  std::vector<std::shared_ptr<char[]>> small;
  for (int i = 0; i < 16; ++i) {
    small.push_back(store->allocate(64 * 1024));
    ASSERT_TRUE(small.back()) << i;
    EXPECT_GE(small.back().get(), base);
    EXPECT_LT(small.back().get(), base + PageStore::kMaxChunk);
  }
  EXPECT_FALSE(store->allocate(64 * 1024));
  std::sort(small.begin(), small.end(), [](const auto& a, const auto& b) { return a.get() < b.get(); });
  for (std::size_t i = 1; i < small.size(); ++i) EXPECT_EQ(small[i].get() - small[i - 1].get(), 64 * 1024);
}

TEST(PageStore, OffsetOfKnowsOnlyItsOwnBytes) {
  auto store = PageStore::create(4 << 20);
  ASSERT_TRUE(store);
  auto a = store->allocate(64 * 1024);
  ASSERT_TRUE(a);
  EXPECT_TRUE(store->offset_of(a.get() + 10, 100));
  std::vector<char> heap(64 * 1024);
  EXPECT_FALSE(store->offset_of(heap.data(), heap.size()));
  EXPECT_FALSE(store->offset_of(a.get(), 0));
}

// The reason ranges are punched before reuse: sendfile hands the pages themselves to
// the socket. A client that has not read yet must still get the old bytes after the
// chunk was freed and its range filled with something else.
TEST(PageStore, BytesAlreadySentKeepTheirContentWhenTheRangeIsReused) {
  auto store = PageStore::create(16 << 20);
  ASSERT_TRUE(store);
  const std::size_t size = 256 * 1024;
  auto old_chunk = store->allocate(size);
  ASSERT_TRUE(old_chunk);
  std::fill_n(old_chunk.get(), size, 'A');

  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int client = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const int server = ::accept(listener, nullptr, nullptr);
  ASSERT_GE(server, 0);

  off_t off = static_cast<off_t>(*store->offset_of(old_chunk.get(), size));
  const ssize_t sent = ::sendfile(server, store->fd(), &off, size);  // what the socket takes without a reader
  ASSERT_GT(sent, 16 * 1024);

  const char* where = old_chunk.get();
  old_chunk.reset();
  auto new_chunk = store->allocate(size);
  ASSERT_TRUE(new_chunk);
  ASSERT_EQ(new_chunk.get(), where) << "the test needs the same range back";
  std::fill_n(new_chunk.get(), size, 'B');

  std::string got;
  char buf[65536];
  while (got.size() < static_cast<std::size_t>(sent)) {
    const ssize_t n = ::read(client, buf, sizeof buf);
    ASSERT_GT(n, 0);
    got.append(buf, static_cast<std::size_t>(n));
  }
  EXPECT_EQ(got.size(), static_cast<std::size_t>(sent));
  EXPECT_EQ(std::count(got.begin(), got.end(), 'A'), sent) << "bytes in flight changed with the reused range";
  ::close(client);
  ::close(server);
  ::close(listener);
}

TEST(PageStore, ChunksMadeAndFreedOnManyThreadsNeverOverlap) {
  auto store = PageStore::create(256 << 20);
  ASSERT_TRUE(store);
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      std::vector<std::pair<std::shared_ptr<char[]>, std::size_t>> live;
      for (int i = 0; i < 400; ++i) {
        const std::size_t size = PageStore::kMinChunk + rng() % (PageStore::kMaxChunk - PageStore::kMinChunk);
        auto p = store->allocate(size);
        if (!p) continue;
        std::fill_n(p.get(), size, static_cast<char>('a' + t));
        live.emplace_back(std::move(p), size);
        if (live.size() > 8) {
          auto& [q, n] = live.front();
          if (std::count(q.get(), q.get() + n, static_cast<char>('a' + t)) != static_cast<long>(n)) ++bad;
          live.erase(live.begin());
        }
      }
      for (auto& [q, n] : live)
        if (std::count(q.get(), q.get() + n, static_cast<char>('a' + t)) != static_cast<long>(n)) ++bad;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(store->stats().chunks, 0u);
  EXPECT_EQ(store->stats().bytes, 0u);
}

// Once installed (the daemon does it for cache.sendfile), Chunk::allocate takes large
// chunks from the store and leaves small ones on the heap.
TEST(PageStore, InstalledStoreBacksLargeChunksOnly) {
  PageStore* store = PageStore::install(64 << 20);
  ASSERT_TRUE(store);
  EXPECT_EQ(PageStore::install(1 << 20), store) << "the first store stays";
  EXPECT_EQ(Chunk::max_capacity(), PageStore::kMaxChunk);
  Chunk big = Chunk::allocate(300 * 1024);
  EXPECT_TRUE(store->offset_of(big.bytes.get(), big.capacity));
  Chunk small = Chunk::allocate(4096);
  EXPECT_FALSE(store->offset_of(small.bytes.get(), small.capacity));
  Chunk copy = Chunk::copy_of(std::string(40 * 1024, 'x'));
  EXPECT_TRUE(store->offset_of(copy.bytes.get(), copy.capacity));
  EXPECT_EQ(copy.view(), std::string(40 * 1024, 'x'));

  // Switched off (a reload with cache.sendfile: false): new chunks on the heap, old ones intact.
  PageStore::switch_off();
  EXPECT_EQ(PageStore::current(), nullptr);
  EXPECT_EQ(PageStore::installed(), store);
  EXPECT_EQ(Chunk::max_capacity(), Chunk::kDefaultCapacity);
  Chunk later = Chunk::allocate(300 * 1024);
  EXPECT_FALSE(store->offset_of(later.bytes.get(), later.capacity));
  EXPECT_EQ(copy.view(), std::string(40 * 1024, 'x'));
  EXPECT_EQ(PageStore::install(1 << 20), store) << "on again, the same store";
  EXPECT_EQ(PageStore::current(), store);
}

}  // namespace
}  // namespace hlscache
