// The fetch task's ownership (miss/fetch_task.hpp): however the task ends — the
// source completes, throws, or its frame is destroyed with its io_context while
// the source still waits — every waiter on the Fetch gets an answer (never a hang),
// the key's in-flight entry is finished (a new miss leads a new fetch), and an
// exception is logged and counted (hlscache_internal_errors_total).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <stdexcept>

#include "cache/cache.hpp"
#include "core/spawn.hpp"
#include "fetch_test_util.hpp"
#include "miss/fetch_task.hpp"

namespace hlscache {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace hlscache::test;

enum class Behaviour { answer, throw_before_head, wait_for_ever };

class ScriptedSource final : public Source {
 public:
  explicit ScriptedSource(Behaviour b) : b_(b) {}
  asio::awaitable<void> fetch(SourceRequest, SinkPtr into) override {
    ++calls;
    if (b_ == Behaviour::throw_before_head) throw std::runtime_error("scripted failure");
    if (b_ == Behaviour::wait_for_ever) {
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::hours(1));
      co_await t.async_wait(asio::use_awaitable);
    }
    ResponseHead h;
    h.status = 200;
    h.headers = {{"Content-Type", "video/mp2t"}, {"Cache-Control", "max-age=60"}, {"Content-Length", "5"}};
    h.content_length = 5;
    into->set_head(std::move(h));
    into->append("hello");
    into->complete();
  }
  int calls = 0;

 private:
  Behaviour b_;
};

struct Rig {
  ManualClock clock;
  std::shared_ptr<Config> config = std::make_shared<Config>();
  Cache cache{PolicyKind::lru, 64 << 20, 4};
  Coalescer coalescer{CoalescerLimits{}};
  std::atomic<std::uint64_t> restarts{0};
  LiveEdges live_edges;

  // Leads a miss on `key` the way the miss path does and spawns its task on `io`.
  FetchPtr lead(asio::io_context& io, Source& source, const std::string& key) {
    auto ticket = coalescer.acquire(key, clock.now(), nullptr);
    EXPECT_EQ(ticket.outcome, Coalescer::Outcome::leader);
    FetchTask t;
    t.config = config;
    t.fetch = ticket.fetch;
    t.request.key = key;
    t.request.target = key;
    LeaderRequest lr;
    lr.key = key;
    lr.store_key = key;
    lr.path = key;
    t.sink = std::make_shared<LeaderSink>(ticket.fetch, std::move(lr), config, coalescer, clock);
    spawn_fetch(io.get_executor(), FetchDeps{cache, coalescer, source, clock, restarts, live_edges}, std::move(t));
    return ticket.fetch;
  }
};

TEST(FetchTask, ACompleteAnswerIsStoredBeforeTheKeyIsReleased) {
  Rig rig;
  ScriptedSource source(Behaviour::answer);
  asio::io_context io;
  FetchPtr fetch = rig.lead(io, source, "/a.ts");
  ReadOutcome out;
  asio::co_spawn(io, read_to_end(fetch, out), log_escape("test reader"));
  io.run_for(2s);
  ASSERT_TRUE(out.done);
  EXPECT_EQ(out.status, 200);
  EXPECT_EQ(out.body, "hello");
  EXPECT_EQ(rig.coalescer.stats().inflight, 0u);
  ObjectPtr stored = rig.cache.find_fresh("/a.ts", rig.clock.now());
  ASSERT_NE(stored, nullptr);
  EXPECT_EQ(stored->body_size, 5u);
}

TEST(FetchTask, AnExceptionFailsEveryWaiterFinishesTheKeyAndIsCounted) {
  Rig rig;
  ScriptedSource source(Behaviour::throw_before_head);
  asio::io_context io;
  const std::uint64_t errors_before = internal_errors();
  FetchPtr fetch = rig.lead(io, source, "/b.ts");
  ReadOutcome leader, follower;
  auto joined = rig.coalescer.acquire("/b.ts", rig.clock.now(), nullptr);
  ASSERT_EQ(joined.outcome, Coalescer::Outcome::follower);
  asio::co_spawn(io, read_to_end(fetch, leader), log_escape("test reader"));
  asio::co_spawn(io, read_to_end(joined.fetch, follower), log_escape("test reader"));
  io.run_for(2s);
  ASSERT_TRUE(leader.done);
  ASSERT_TRUE(follower.done);
  EXPECT_EQ(leader.end, StreamState::failed);
  EXPECT_EQ(follower.end, StreamState::failed);
  EXPECT_EQ(internal_errors(), errors_before + 1);
  EXPECT_EQ(rig.coalescer.stats().inflight, 0u);
  // The key is free: the next miss leads a fetch of its own.
  EXPECT_EQ(rig.coalescer.acquire("/b.ts", rig.clock.now(), nullptr).outcome, Coalescer::Outcome::leader);
}

TEST(FetchTask, ATaskDestroyedWithItsIoContextStillAnswersWaitersElsewhere) {
  Rig rig;
  ScriptedSource source(Behaviour::wait_for_ever);
  FetchPtr fetch;
  {
    asio::io_context io;
    fetch = rig.lead(io, source, "/c.ts");
    io.run_for(100ms);  // the source is now waiting on its timer
    EXPECT_EQ(source.calls, 1);
    EXPECT_EQ(rig.coalescer.stats().inflight, 1u);
  }  // the io_context goes, and with it the task's frame
  EXPECT_EQ(fetch->phase(), Fetch::Phase::failed);
  EXPECT_EQ(rig.coalescer.stats().inflight, 0u);
  // A follower on another io_context that comes now reads the failure, not a hang.
  asio::io_context other;
  ReadOutcome late;
  asio::co_spawn(other, read_to_end(fetch, late), log_escape("test reader"));
  other.run_for(2s);
  ASSERT_TRUE(late.done);
  EXPECT_EQ(late.end, StreamState::failed);
}

}  // namespace
}  // namespace hlscache
