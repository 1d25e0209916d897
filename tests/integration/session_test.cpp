// The real h1 and h2 sessions in-process, in front of a test Handler instead of the
// router: what reaches a handler and what a handler can do through the session.
// 103 Early Hints (InterimWriter) on HTTP/1.1, not on HTTP/1.0, as a non-final
// HEADERS on HTTP/2; may_lead_fetch going false on an HTTP/2 connection once
// http2.max_orphaned_fetches fetches led by reset streams still run, and true again
// once they end (the handler plays the cache handler's side: it sets led_fetch and
// answers 503 when it may not lead); an absolute-form request's Host and target as
// the handler sees them; trailers kept out of the header fields.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include "core/spawn.hpp"
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <mutex>
#include <thread>

#include "h2_test_util.hpp"
#include "http/listener.hpp"

namespace hlscache::test {
namespace {

namespace asio = boost::asio;

// What a handler saw of one request.
struct Seen {
  std::string target;
  std::vector<Header> headers;
  bool may_lead = true;
  bool interim = false;
};

std::vector<Header> early_hints() {
  return {{"Link", "</a.css>; rel=preload; as=style"}, {"Connection", "x"}};
}

class TestHandler final : public Handler {
 public:
  std::optional<Response> answer_now(RequestContext& req) override {
    if (req.path() != "/hit") return std::nullopt;
    record(req);
    return Response::text(200, "hit\n");
  }

  asio::awaitable<Response> handle(RequestContext& req) override {
    record(req);
    const std::string path(req.path());
    if (path == "/hints" && req.interim != nullptr) {
      const std::vector<Header> hints = early_hints();
      co_await req.interim->send_interim(103, hints);
      const std::vector<Header> none;
      co_await req.interim->send_interim(101, none);  // never passed on
    }
    if (path.rfind("/lead/", 0) == 0) {
      // The cache handler's side of the contract: lead a fetch only when allowed.
      if (!req.may_lead_fetch) {
        Response refused = Response::error(503, std::string_view("too many abandoned fetches"));
        co_return refused;
      }
      auto fetch = std::make_shared<int>(0);
      req.led_fetch = fetch;
      {
        std::lock_guard lock(mu_);
        running_.push_back(std::move(fetch));  // the only strong reference: "running" until released
      }
      leads_.fetch_add(1);
      asio::steady_timer t(co_await asio::this_coro::executor);
      const auto until = std::chrono::steady_clock::now() + 10s;
      while (!released_.load() && std::chrono::steady_clock::now() < until) {
        t.expires_after(10ms);
        co_await t.async_wait(asio::use_awaitable);
      }
    }
    Response ok = Response::text(200, std::string("ok\n"));
    co_return ok;
  }

  std::vector<Seen> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }
  std::optional<Seen> seen(std::string_view target) {
    std::lock_guard lock(mu_);
    for (const auto& s : seen_)
      if (s.target == target) return s;
    return std::nullopt;
  }
  int leads() const { return leads_.load(); }
  // Ends every fetch "running" (their weak references expire) and lets waiting handlers answer.
  void release() {
    released_.store(true);
    std::lock_guard lock(mu_);
    running_.clear();
  }
  void rearm() { released_.store(false); }

 private:
  void record(const RequestContext& req) {
    std::lock_guard lock(mu_);
    seen_.push_back({req.target, req.headers, req.may_lead_fetch, req.interim != nullptr});
  }
  std::mutex mu_;
  std::vector<Seen> seen_;
  std::vector<std::shared_ptr<int>> running_;
  std::atomic<int> leads_{0};
  std::atomic<bool> released_{false};
};

class SessionTest : public ::testing::Test {
 protected:
  void start(const std::string& http2 = {}) {
    auto cfg = load_config_string("role: edge\nlisten: [{address: '127.0.0.1:0', http2: true}]\n"
                                  "upstream: {hosts: ['127.0.0.1:1']}\n"
                                  "timeouts: {header_read: 5s, idle: 5s, send: 5s}\n" +
                                  (http2.empty() ? std::string() : "http2: {" + http2 + "}\n"));
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    config_ = *cfg;
    env_.config = config_;
    env_.handler = &handler_;
    env_.metrics = &metrics_;
    env_.drain = &drain_;
    spec_.config = &config_->listen[0];
    auto a = open_acceptor(io_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    ASSERT_TRUE(a.ok()) << a.error().message;
    acceptor_.emplace(std::move(*a));
    port_ = acceptor_->local_endpoint().port();
    asio::co_spawn(io_, accept_loop(*acceptor_, spec_, env_, connections_), log_escape("test accept loop"));
    thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(io_);
      io_.run();
    });
  }
  void TearDown() override {
    handler_.release();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  TestHandler handler_;
  Metrics metrics_;
  DrainState drain_;
  ConfigPtr config_;
  SessionEnv env_;
  ListenerSpec spec_;
  ConnectionSet connections_;
  asio::io_context io_;  // destroyed before what its sessions refer to
  std::optional<asio::ip::tcp::acceptor> acceptor_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

std::string exchange_until_close(std::uint16_t port, const std::string& request) {
  auto c = Connection::open(port);
  EXPECT_TRUE(c.connected());
  EXPECT_TRUE(c.send(request));
  std::string received;
  EXPECT_TRUE(c.wait_closed(5s, &received));
  return received;
}

TEST_F(SessionTest, Http11GetsEarlyHintsBeforeTheFinalHead) {
  start();
  const std::string got =
      exchange_until_close(port_, "GET /hints HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(got.rfind("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload; as=style\r\n\r\nHTTP/1.1 200 OK\r\n", 0),
            0u)
      << got;
  EXPECT_EQ(got.find("101"), std::string::npos) << got;
  EXPECT_EQ(got.find("Connection: x"), std::string::npos) << "hop-by-hop fields stay behind";
  auto s = handler_.seen("/hints");
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->interim);
}

TEST_F(SessionTest, Http10GetsNoInformationalResponse) {
  start();
  const std::string got = exchange_until_close(port_, "GET /hints HTTP/1.0\r\n\r\n");
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  auto s = handler_.seen("/hints");
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->interim) << "RFC 9110 §15.2: no 1xx to an HTTP/1.0 client";
}

TEST_F(SessionTest, AFastHitHasNoInterimWriter) {
  start();
  const std::string got = exchange_until_close(port_, "GET /hit HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  auto s = handler_.seen("/hit");
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->interim);
}

TEST_F(SessionTest, Http2GetsA103HeadersBeforeTheFinalOne) {
  start();
  h2::RawClient c(port_);
  ASSERT_TRUE(c.start());
  ASSERT_TRUE(c.send(h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, 1, h2::request_block("/hints"))));
  auto first = c.read_until(h2::kHeaders, 5s);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->stream, 1u);
  EXPECT_EQ(first->status(), 103);
  EXPECT_EQ(first->flags & h2::kEndStream, 0) << "a 1xx never ends the stream";
  bool link = false;
  for (const auto& [k, v] : first->fields) {
    if (k == "link") link = v == "</a.css>; rel=preload; as=style";
    EXPECT_NE(k, "connection");
  }
  EXPECT_TRUE(link);
  auto final = c.read_until(h2::kHeaders, 5s);
  ASSERT_TRUE(final.has_value());
  EXPECT_EQ(final->status(), 200);
}

TEST_F(SessionTest, MayLeadFetchGoesFalseWhileTheBoundOfOrphanedFetchesRuns) {
  start("max_orphaned_fetches: 3");
  h2::RawClient c(port_);
  ASSERT_TRUE(c.start());
  std::string three;
  for (std::uint32_t id : {1u, 3u, 5u})
    three += h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, id,
                       h2::request_block("/lead/" + std::to_string(id)));
  ASSERT_TRUE(c.send(three));
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (handler_.leads() < 3 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(handler_.leads(), 3);
  // Still under the bound: a fourth stream may lead (and is reset too: 4 orphans).
  ASSERT_TRUE(c.send(h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, 7, h2::request_block("/lead/7"))));
  while (handler_.leads() < 4 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(handler_.leads(), 4);
  for (std::uint32_t id : {1u, 3u, 5u, 7u}) ASSERT_TRUE(c.send(h2::rst_stream(id, h2::kCancel)));
  std::this_thread::sleep_for(100ms);

  // At the bound: the next stream may not lead a fetch (the handler answers 503), a
  // request that leads nothing is served as usual.
  ASSERT_TRUE(c.send(h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, 9, h2::request_block("/lead/9")) +
                     h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, 11, h2::request_block("/plain"))));
  std::map<std::uint32_t, int> status;
  for (int i = 0; i < 2; ++i) {
    auto f = c.read_until(h2::kHeaders, 5s);
    ASSERT_TRUE(f.has_value());
    status[f->stream] = f->status();
  }
  EXPECT_EQ(status[9], 503);
  EXPECT_EQ(status[11], 200);
  auto s9 = handler_.seen("/lead/9");
  ASSERT_TRUE(s9);
  EXPECT_FALSE(s9->may_lead);
  EXPECT_EQ(handler_.leads(), 4);

  // Another connection has its own count.
  h2::RawClient other(port_);
  ASSERT_TRUE(other.start());
  ASSERT_TRUE(other.send(h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, 1, h2::request_block("/lead/other"))));
  while (handler_.leads() < 5 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(handler_.leads(), 5);
  auto so = handler_.seen("/lead/other");
  ASSERT_TRUE(so);
  EXPECT_TRUE(so->may_lead);

  // The fetches end (their weak references expire): the first connection may lead again.
  handler_.release();
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(c.send(h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, 13, h2::request_block("/lead/13"))));
  auto f = c.read_until(h2::kHeaders, 5s);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->stream, 13u);
  EXPECT_EQ(f->status(), 200);
  auto s13 = handler_.seen("/lead/13");
  ASSERT_TRUE(s13);
  EXPECT_TRUE(s13->may_lead);
}

TEST_F(SessionTest, CompletedStreamsLeaveNoOrphans) {
  start("max_orphaned_fetches: 1");
  handler_.release();  // fetches answer at once; the session still sees led_fetch set
  h2::RawClient c(port_);
  ASSERT_TRUE(c.start());
  for (std::uint32_t id = 1; id <= 9; id += 2) {
    ASSERT_TRUE(c.send(h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, id,
                                 h2::request_block("/lead/done" + std::to_string(id)))));
    auto f = c.read_until(h2::kHeaders, 5s);
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->status(), 200) << id;
  }
  for (const auto& s : handler_.seen()) EXPECT_TRUE(s.may_lead) << s.target;
}

TEST_F(SessionTest, AbsoluteFormReachesTheHandlerAsOriginFormWithTheUriHost) {
  start();
  exchange_until_close(port_, "GET http://example.com:8080/abs/x.m3u8?q=1 HTTP/1.1\r\nHost: other.example\r\n"
                              "Connection: close\r\n\r\n");
  auto s = handler_.seen("/abs/x.m3u8?q=1");
  ASSERT_TRUE(s) << "target not rewritten to origin-form";
  EXPECT_EQ(field_count(s->headers, "Host"), 1u);
  EXPECT_EQ(field_value(s->headers, "Host"), "example.com:8080");
}

TEST_F(SessionTest, TrailersAreNotMergedIntoTheRequestFields) {
  start();
  h2::RawClient c(port_);
  ASSERT_TRUE(c.start());
  ASSERT_TRUE(c.send(h2::frame(h2::kHeaders, h2::kEndHeaders, 1, h2::request_block("/trailers", {}, "POST")) +
                     h2::frame(h2::kData, 0, 1, "abc") +
                     h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, 1, h2::hpack_literal("x-trailer", "t"))));
  auto f = c.read_until(h2::kHeaders, 5s);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->status(), 200);
  auto s = handler_.seen("/trailers");
  ASSERT_TRUE(s);
  EXPECT_FALSE(has_field(s->headers, "x-trailer"));
}

TEST_F(SessionTest, NoFieldWithCrLfOrNulReachesTheHandler) {
  start();
  for (const std::string& raw : {std::string("GET /bad1 HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n"),
                                 std::string("GET /bad2 HTTP/1.1\r\nHost: a\r\nX: a") + '\0' + "b\r\n\r\n",
                                 std::string("GET /bad3 HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n")})
    exchange_until_close(port_, raw);
  h2::RawClient c(port_);
  ASSERT_TRUE(c.start());
  ASSERT_TRUE(c.send(h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, 1,
                               h2::request_block("/bad4", {{"x", "a\r\nb"}}))));
  c.read_frame(500ms);
  std::this_thread::sleep_for(200ms);
  for (const auto& s : handler_.seen()) {
    for (const auto& [k, v] : s.headers) {
      EXPECT_EQ(k.find_first_of(std::string_view("\r\n\0", 3)), std::string::npos) << s.target;
      EXPECT_EQ(v.find_first_of(std::string_view("\r\n\0", 3)), std::string::npos) << s.target;
    }
    EXPECT_EQ(s.target.rfind("/bad", 0), std::string::npos) << "a bad request reached the handler: " << s.target;
  }
}

}  // namespace
}  // namespace hlscache::test
