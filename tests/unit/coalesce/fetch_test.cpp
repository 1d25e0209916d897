// Fetch, the growing object of a coalesced miss: the writer publishes a head then
// bytes; readers poll slices that share the writer's chunks and are woken on their
// own executors (posted timer cancels, never polling); failure and the follower
// deadline reach every reader as values.
#include <gtest/gtest.h>

#include "core/spawn.hpp"
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstring>
#include <thread>

#include "fetch_test_util.hpp"

namespace hlscache {
namespace {

using namespace hlscache::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

FetchPtr make_fetch(Duration follower_wait = kLongWait, std::uint64_t max_body = kMaxBody) {
  return std::make_shared<Fetch>(SteadyClock::now(), follower_wait, max_body);
}

std::string joined(const std::vector<ChunkSlice>& slices) {
  std::string s;
  for (const auto& sl : slices) s.append(sl.chunk.bytes.get() + sl.begin, sl.end - sl.begin);
  return s;
}

// Writes `bytes` through writable()/commit(), filling at most `step` of the room each time.
void write_in_steps(Fetch& f, std::string_view bytes, std::size_t step) {
  while (!bytes.empty()) {
    auto [p, room] = f.writable();
    ASSERT_GT(room, 0u);
    std::size_t n = std::min({room, step, bytes.size()});
    std::memcpy(p, bytes.data(), n);
    f.commit(n);
    bytes.remove_prefix(n);
  }
}

TEST(Fetch, HeadThenBytesArePublishedInOrder) {
  auto f = make_fetch();
  EXPECT_EQ(f->phase(), Fetch::Phase::head_pending);
  std::vector<ChunkSlice> out;
  EXPECT_EQ(f->poll(0, out), StreamState::more);
  EXPECT_TRUE(out.empty());

  ResponseHead h = head_200();
  h.headers.emplace_back("ETag", "\"v1\"");
  f->set_head(h);
  EXPECT_EQ(f->phase(), Fetch::Phase::streaming);
  EXPECT_EQ(f->head().status, 200);
  ASSERT_EQ(f->head().headers.size(), 2u);
  EXPECT_EQ(f->head().headers[1].second, "\"v1\"");

  f->append("abc");
  EXPECT_EQ(f->published(), 3u);
  EXPECT_EQ(f->poll(0, out), StreamState::more);
  EXPECT_EQ(joined(out), "abc");

  f->append("defg");
  out.clear();
  EXPECT_EQ(f->poll(3, out), StreamState::more);
  EXPECT_EQ(joined(out), "defg");
  out.clear();
  EXPECT_EQ(f->poll(5, out), StreamState::more);
  EXPECT_EQ(joined(out), "fg");
  out.clear();
  EXPECT_EQ(f->poll(7, out), StreamState::more);  // caught up: nothing new yet
  EXPECT_TRUE(out.empty());

  f->complete();
  EXPECT_EQ(f->phase(), Fetch::Phase::complete);
  EXPECT_EQ(f->poll(7, out), StreamState::complete);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(f->poll(0, out), StreamState::complete);
  EXPECT_EQ(joined(out), "abcdefg");
  EXPECT_FALSE(f->error());

  // A finished fetch ignores a second head and a late failure.
  f->set_head(ResponseHead{500, {}, std::nullopt});
  EXPECT_EQ(f->head().status, 200);
  f->fail(Error::make(ErrorSource::upstream, Errc::io, "late"));
  EXPECT_EQ(f->phase(), Fetch::Phase::complete);
}

TEST(Fetch, PollSharesTheWritersChunksWithoutCopying) {
  auto f = make_fetch();
  f->set_head(head_200(1000));
  auto [p, room] = f->writable();
  ASSERT_NE(p, nullptr);
  std::memcpy(p, "0123456789", 10);
  f->commit(10);

  std::vector<ChunkSlice> a, b;
  f->poll(0, a);
  f->poll(4, b);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].chunk.bytes.get(), p);  // the very buffer the writer wrote into
  EXPECT_EQ(b[0].chunk.bytes.get(), p);
  EXPECT_EQ(a[0].begin, 0u);
  EXPECT_EQ(a[0].end, 10u);
  EXPECT_EQ(b[0].begin, 4u);
  EXPECT_EQ(b[0].end, 10u);
  EXPECT_EQ(joined(b), "456789");
  EXPECT_GE(a[0].chunk.bytes.use_count(), 3);  // the fetch and both readers share it

  // More bytes land in the same chunk: an older slice keeps its bounds.
  auto [p2, room2] = f->writable();
  EXPECT_EQ(p2, p + 10);
  EXPECT_EQ(room2, room - 10);
  std::memcpy(p2, "abc", 3);
  f->commit(3);
  EXPECT_EQ(joined(a), "0123456789");
  std::vector<ChunkSlice> c;
  f->poll(10, c);
  EXPECT_EQ(joined(c), "abc");
  EXPECT_EQ(c[0].chunk.bytes.get(), p);
}

TEST(Fetch, PollFromAnOffsetSpansChunks) {
  const std::string body = pattern(100'000);
  auto f = make_fetch();
  f->set_head(head_200(body.size()));
  f->append(body);
  f->complete();

  const auto chunks = f->body_chunks();
  ASSERT_EQ(chunks.size(), 2u);
  std::vector<ChunkSlice> out;
  EXPECT_EQ(f->poll(100, out), StreamState::complete);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].chunk.bytes, chunks[0].bytes);
  EXPECT_EQ(out[0].begin, 100u);
  EXPECT_EQ(out[0].end, Chunk::kDefaultCapacity);
  EXPECT_EQ(out[1].chunk.bytes, chunks[1].bytes);
  EXPECT_EQ(out[1].begin, 0u);
  EXPECT_EQ(joined(out), body.substr(100));

  out.clear();
  f->poll(Chunk::kDefaultCapacity, out);  // exactly at a chunk boundary
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].begin, 0u);
  EXPECT_EQ(joined(out), body.substr(Chunk::kDefaultCapacity));

  out.clear();
  f->poll(70'000, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].begin, 70'000 - Chunk::kDefaultCapacity);
  EXPECT_EQ(joined(out), body.substr(70'000));

  out.clear();
  EXPECT_EQ(f->poll(body.size(), out), StreamState::complete);
  EXPECT_TRUE(out.empty());
}

TEST(Fetch, WritableAllocatesRightSizedChunksWhenContentLengthIsKnown) {
  {
    auto f = make_fetch();
    f->set_head(head_200(1000));
    auto [p, room] = f->writable();
    EXPECT_EQ(room, 1000u);
    write_in_steps(*f, pattern(1000), 300);
    f->complete();
    const auto chunks = f->body_chunks();
    ASSERT_EQ(chunks.size(), 1u);
    EXPECT_EQ(chunks[0].capacity, 1000u);
    EXPECT_EQ(chunks[0].size, 1000u);
    EXPECT_EQ(chunks[0].bytes.get(), p);  // fitted exactly: not re-copied on complete
  }
  {
    auto f = make_fetch();
    f->set_head(head_200(100'000));
    write_in_steps(*f, pattern(100'000), 10'000);
    f->complete();
    const auto chunks = f->body_chunks();
    ASSERT_EQ(chunks.size(), 2u);
    EXPECT_EQ(chunks[0].capacity, Chunk::kDefaultCapacity);
    EXPECT_EQ(chunks[1].capacity, 100'000 - Chunk::kDefaultCapacity);
    EXPECT_EQ(chunks[1].size, chunks[1].capacity);
  }
  {  // unknown length: default-sized chunks
    auto f = make_fetch();
    f->set_head(head_200());
    EXPECT_EQ(f->writable().second, Chunk::kDefaultCapacity);
  }
}

TEST(Fetch, ATrailingMostlyEmptyChunkIsShrunkOnComplete) {
  auto f = make_fetch();
  f->set_head(head_200());  // no Content-Length: 64 KiB chunks
  const std::string body = pattern(Chunk::kDefaultCapacity + 10);
  f->append(body);
  auto before = f->body_chunks();
  ASSERT_EQ(before.size(), 2u);
  EXPECT_EQ(before[1].capacity, Chunk::kDefaultCapacity);
  std::vector<ChunkSlice> held;  // a reader still holding the old trailing chunk
  f->poll(Chunk::kDefaultCapacity, held);

  f->complete();
  auto after = f->body_chunks();
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0].bytes, before[0].bytes);  // full chunks are kept as they are
  EXPECT_EQ(after[1].capacity, 10u);
  EXPECT_EQ(after[1].size, 10u);
  std::vector<ChunkSlice> out;
  EXPECT_EQ(f->poll(0, out), StreamState::complete);
  EXPECT_EQ(joined(out), body);
  EXPECT_EQ(joined(held), body.substr(Chunk::kDefaultCapacity));  // still valid

  // A trailing chunk that is mostly used is left alone.
  auto g = make_fetch();
  g->set_head(head_200());
  g->append(pattern(40'000));
  g->complete();
  ASSERT_EQ(g->body_chunks().size(), 1u);
  EXPECT_EQ(g->body_chunks()[0].capacity, Chunk::kDefaultCapacity);
}

TEST(Fetch, MaxBodyLeavesNoRoomAndAppendFails) {
  auto f = make_fetch(kLongWait, 100);
  f->set_head(head_200());
  auto [p, room] = f->writable();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(room, 100u);
  f->commit(60);
  EXPECT_EQ(f->writable().second, 40u);
  f->commit(40);
  auto [p2, room2] = f->writable();
  EXPECT_EQ(p2, nullptr);
  EXPECT_EQ(room2, 0u);
  EXPECT_EQ(f->phase(), Fetch::Phase::streaming);  // the writer decides to fail

  auto g = make_fetch(kLongWait, 100);
  g->set_head(head_200());
  g->append(pattern(101));
  EXPECT_EQ(g->phase(), Fetch::Phase::failed);
  ASSERT_TRUE(g->error());
  EXPECT_EQ(g->error()->code, Errc::too_large);
  std::vector<ChunkSlice> out;
  EXPECT_EQ(g->poll(0, out), StreamState::failed);
}

TEST(Fetch, CompleteWithoutAHeadIsAFailure) {
  auto f = make_fetch();
  f->complete();
  EXPECT_EQ(f->phase(), Fetch::Phase::failed);
  ASSERT_TRUE(f->error());
  EXPECT_EQ(f->error()->code, Errc::protocol);
}

TEST(Fetch, WaitReturnsAtOnceWhenBytesAreAlreadyThere) {
  asio::io_context io;
  auto f = make_fetch();
  f->set_head(head_200());
  f->append("hello");
  ReadOutcome r;
  std::optional<Status> w1, w2;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    w1 = co_await f->wait(0);  // 5 > 0 published
    w2 = co_await f->wait(2);
  }, log_escape("fetch test task"));
  io.run();
  ASSERT_TRUE(w1 && w2);
  EXPECT_TRUE(*w1);
  EXPECT_TRUE(*w2);

  f->complete();
  spawn_reader(io, f, r);
  io.restart();
  io.run();
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.end, StreamState::complete);
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(r.wakeups, 0);
}

// A writer holding more bytes publishes them with Wake::later and wakes the readers
// once: a follower then sends the head and the whole batch in one write, not one per read.
TEST(Fetch, WakeLaterPublishesWithoutWakingUntilAWakeNow) {
  asio::io_context io;
  auto f = make_fetch();
  ReadOutcome r;
  spawn_reader(io, f, r);
  io.poll();  // the reader suspends in wait_head
  ASSERT_FALSE(r.done);

  const std::string body = pattern(3 * 65536 + 100);
  f->set_head(head_200(body.size()), Fetch::Wake::later);
  std::string_view rest = body;
  while (!rest.empty()) {
    auto [p, room] = f->writable();
    ASSERT_GT(room, 0u);
    const std::size_t n = std::min(room, rest.size());
    std::memcpy(p, rest.data(), n);
    f->commit(n, Fetch::Wake::later);
    rest.remove_prefix(n);
  }
  io.poll();
  EXPECT_EQ(r.status, 0) << "woken by a Wake::later publication";
  EXPECT_EQ(f->published(), body.size());  // published all the same: a new reader's poll sees it
  std::vector<ChunkSlice> seen;
  EXPECT_EQ(f->poll(0, seen), StreamState::more);
  EXPECT_EQ(joined(seen), body);

  f->commit(0);  // Wake::now with nothing more: wakes them for what is published
  io.poll();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, body);  // the whole batch in its first poll after the head
  EXPECT_EQ(r.wakeups, 0);
  EXPECT_FALSE(r.done);

  f->complete();  // completion always wakes
  io.poll();
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.end, StreamState::complete);
  EXPECT_EQ(r.wakeups, 1);
}

TEST(Fetch, FailAfterHeadWakesReadersAndPollReportsFailed) {
  asio::io_context io;
  auto f = make_fetch();
  ReadOutcome r1, r2;
  spawn_reader(io, f, r1);
  spawn_reader(io, f, r2);
  io.poll();  // both suspended in wait_head
  f->set_head(head_200());
  f->append("partial");
  io.poll();
  EXPECT_FALSE(r1.done);
  EXPECT_EQ(r1.body, "partial");

  const auto start = SteadyClock::now();
  f->fail(Error::make(ErrorSource::upstream, Errc::truncated, "origin cut the body"));
  io.run();
  EXPECT_LT(SteadyClock::now() - start, 2s);
  for (const auto* r : {&r1, &r2}) {
    EXPECT_TRUE(r->done);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->end, StreamState::failed);
    EXPECT_FALSE(r->error);  // the wait itself was a wake-up, poll says failed
  }
  std::vector<ChunkSlice> out;
  EXPECT_EQ(f->poll(0, out), StreamState::failed);
  EXPECT_TRUE(out.empty());  // nothing partial is handed out after a failure
  EXPECT_EQ(f->error()->code, Errc::truncated);
}

TEST(Fetch, WaitHeadReturnsTheErrorWhenTheFetchFailsBeforeItsHead) {
  asio::io_context io;
  auto f = make_fetch();
  ReadOutcome r;
  spawn_reader(io, f, r);
  io.poll();
  EXPECT_FALSE(r.done);
  f->fail(Error::make(ErrorSource::upstream, Errc::connect_failed, "no upstream", true));
  io.run();
  ASSERT_TRUE(r.done);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, Errc::connect_failed);
  EXPECT_EQ(r.error->source, ErrorSource::upstream);
  EXPECT_TRUE(r.error->retryable);

  // A reader arriving after the failure gets it at once.
  ReadOutcome late;
  spawn_reader(io, f, late);
  io.restart();
  io.run();
  ASSERT_TRUE(late.error);
  EXPECT_EQ(late.error->code, Errc::connect_failed);
}

TEST(Fetch, WaitTimesOutAtTheFollowerDeadlineWhenTheWriterStalls) {
  // The io_context is declared first: a reader that timed out stays registered in
  // the fetch (its timer belongs to this io_context) until the next wake-up.
  asio::io_context io;
  auto f = make_fetch(100ms);
  f->set_head(head_200());
  f->append("abc");
  ReadOutcome r;
  spawn_reader(io, f, r);
  const auto start = SteadyClock::now();
  io.run();
  const auto took = SteadyClock::now() - start;
  ASSERT_TRUE(r.done);
  EXPECT_EQ(r.body, "abc");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, Errc::timeout);
  EXPECT_GE(took, 95ms);
  EXPECT_LT(took, 2s);

  // wait_head too.
  auto g = make_fetch(100ms);
  ReadOutcome h;
  spawn_reader(io, g, h);
  io.restart();
  io.run();
  ASSERT_TRUE(h.error);
  EXPECT_EQ(h.error->code, Errc::timeout);
}

// Two io_contexts on two threads, two readers each; the writer is a third thread.
TEST(Fetch, ReadersOnTwoExecutorsAreWokenByAWriterOnAThirdThread) {
  asio::io_context io[2];
  auto f = make_fetch(kLongWait);  // a polling timer would make this take seconds
  ReadOutcome r[4];
  std::thread::id resumed_on[4];
  std::thread::id runs_on[2];
  for (int i = 0; i < 4; ++i) {
    asio::co_spawn(io[i % 2], [&, i]() -> asio::awaitable<void> {
      co_await read_to_end(f, r[i]);
      resumed_on[i] = std::this_thread::get_id();
    }, log_escape("fetch test task"));
  }
  const auto start = SteadyClock::now();
  std::thread t0([&] { runs_on[0] = std::this_thread::get_id(); io[0].run(); });
  std::thread t1([&] { runs_on[1] = std::this_thread::get_id(); io[1].run(); });

  const std::string body = pattern(5 * 7000);
  std::thread writer([&] {
    std::this_thread::sleep_for(20ms);  // let the readers suspend in wait_head
    f->set_head(head_200());
    for (int k = 0; k < 5; ++k) {
      std::this_thread::sleep_for(10ms);
      f->append(std::string_view(body).substr(k * 7000, 7000));
    }
    f->complete();
  });
  writer.join();
  t0.join();
  t1.join();
  EXPECT_LT(SteadyClock::now() - start, 2s);
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    EXPECT_TRUE(r[i].done);
    EXPECT_FALSE(r[i].error);
    EXPECT_EQ(r[i].status, 200);
    EXPECT_EQ(r[i].end, StreamState::complete);
    EXPECT_EQ(r[i].body, body);
    EXPECT_GE(r[i].wakeups, 1);                  // it did wait and was woken
    EXPECT_EQ(resumed_on[i], runs_on[i % 2]);    // on its own executor's thread
  }
}

TEST(Fetch, StressOneWriterEightReadersOnTwoThreads) {
  asio::io_context io[2];
  auto f = make_fetch(kLongWait);
  ReadOutcome r[8];
  for (int i = 0; i < 8; ++i) spawn_reader(io[i % 2], f, r[i]);
  std::thread t0([&] { io[0].run(); });
  std::thread t1([&] { io[1].run(); });

  // 1000 commits of 1..397 bytes, some splitting a chunk boundary.
  std::string written;
  std::thread writer([&] {
    f->set_head(head_200());
    for (int k = 0; k < 1000; ++k) {
      std::size_t want = 1 + (k * 37) % 397;
      auto [p, room] = f->writable();
      std::size_t n = std::min(want, room);
      std::string piece = pattern(n, static_cast<unsigned>(k));
      std::memcpy(p, piece.data(), n);
      f->commit(n);
      written += piece;
      if (k % 100 == 0) std::this_thread::yield();
    }
    f->complete();
  });
  writer.join();
  t0.join();
  t1.join();
  ASSERT_GT(written.size(), Chunk::kDefaultCapacity);  // crossed chunk boundaries
  for (int i = 0; i < 8; ++i) {
    SCOPED_TRACE(i);
    EXPECT_TRUE(r[i].done);
    EXPECT_FALSE(r[i].error);
    EXPECT_EQ(r[i].end, StreamState::complete);
    EXPECT_EQ(r[i].body.size(), written.size());
    EXPECT_TRUE(r[i].body == written);
  }
}

}  // namespace
}  // namespace hlscache
