// H2Upstream (src/source/h2_upstream.*), the HTTP/2 client towards the next tier,
// against our own HTTP/2 server (the daemon in front of FakeOrigin): 200 concurrent
// fetches multiplexed on one h2c connection; TLS with ALPN h2 and certificate
// verification (the right CA and name pass; a wrong name or an unknown CA fail the
// handshake); no head in time is a retryable timeout; a server that does not speak
// HTTP/2 is a clean error.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "edge_test_util.hpp"
#include "h2_test_util.hpp"
#include "coalesce/fetch.hpp"
#include "source/h2_upstream.hpp"

namespace hlscache::test {
namespace {

namespace asio = boost::asio;

struct Fetched {
  bool ok = false;
  int status = 0;
  std::string body;
  std::string error;
  bool retryable = false;
};

asio::awaitable<Fetched> fetch_one(H2Upstream& up, std::uint16_t port, std::string target, Millis first_byte = 5s) {
  Fetched out;
  H2UpstreamRequest req;
  req.host = HostPort{"127.0.0.1", port};
  req.target = std::move(target);
  req.headers = {{"Accept", "*/*"}, {"Connection", "keep-alive"}};
  req.first_byte_deadline = SteadyClock::now() + first_byte;
  auto r = co_await up.request(req);
  if (!r) {
    out.error = r.error().message;
    out.retryable = r.error().retryable;
    co_return out;
  }
  out.status = (*r)->head().status;
  auto fetch = std::make_shared<Fetch>(SteadyClock::now(), std::chrono::seconds(10), 64ull << 20);
  fetch->set_head((*r)->head());
  Status st = co_await (*r)->read_body_into(*fetch, std::chrono::seconds(5), SteadyClock::now() + 10s);
  if (!st) {
    out.error = st.error().message;
    co_return out;
  }
  fetch->complete();
  for (const auto& c : fetch->body_chunks()) out.body.append(c.view());
  out.ok = true;
  co_return out;
}

// Runs the io_context until every future is ready (bounded): the client's
// connections keep it busy, so it would not run out of work on its own.
template <class T>
void run_until_ready(asio::io_context& io, std::vector<std::future<T>>& futures, Millis bound = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  io.restart();
  auto all_ready = [&] {
    for (auto& f : futures)
      if (f.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return false;
    return true;
  };
  while (!all_ready() && std::chrono::steady_clock::now() < deadline) io.run_one_for(50ms);
}

template <class T>
T run(asio::io_context& io, asio::awaitable<T> task) {
  std::vector<std::future<T>> one;
  one.push_back(asio::co_spawn(io, std::move(task), asio::use_future));
  run_until_ready(io, one);
  return one.front().get();
}

TEST_F(H2Test, UpstreamClientMultiplexesConcurrentFetchesOnOneConnection) {
  const std::string path = "/live/s/up_1.ts";
  const std::string body = pattern_body(1 << 20, 11);
  OriginReply reply;
  reply.headers = {{"Content-Type", "video/mp2t"}};
  reply.body = body;
  reply.hold = "up";
  origin_.set(path, reply);
  start("max_concurrent_streams: 1000");
  asio::io_context io;
  H2Upstream up(io.get_executor(), H2UpstreamSettings{});
  constexpr int kFetches = 200;
  std::vector<std::future<Fetched>> futures;
  for (int i = 0; i < kFetches; ++i)
    futures.push_back(asio::co_spawn(io, fetch_one(up, port_, path), asio::use_future));
  std::thread releaser([&] {
    origin_.wait_for_held("up", 1, 10s);
    wait_metric_at_least(port_, "hlscache_coalesce_followers_total", "", kFetches - 1, 10s);
    origin_.release("up");
  });
  run_until_ready(io, futures, 30s);
  releaser.join();
  int ok = 0;
  for (auto& f : futures) {
    auto r = f.get();
    if (r.ok && r.status == 200 && r.body == body) ++ok;
    else if (ok < 3) ADD_FAILURE() << r.status << " " << r.error << " " << r.body.size();
  }
  EXPECT_EQ(ok, kFetches);
  EXPECT_EQ(up.connections_opened(), 1u) << "every fetch is a stream on one connection";
  EXPECT_EQ(origin_.requests(path), 1u);
  EXPECT_EQ(edge_metric(port_, "hlscache_connections_by_protocol_total", "protocol=\"http2\"").value_or(0), 1);
}

TEST_F(H2Test, UpstreamClientVerifiesTheServerCertificateOverTls) {
  origin_.set("/live/s/up_2.ts", [] {
    OriginReply r;
    r.body = "segment";
    return r;
  }());
  start();
  asio::io_context io;
  {
    H2UpstreamSettings s;
    s.tls = true;
    s.ca_file = cert_dir_ + "/a.pem";  // self-signed: the certificate is its own CA
    s.server_name = "localhost";
    H2Upstream up(io.get_executor(), s);
    auto r = run(io, fetch_one(up, tls_port_, "/live/s/up_2.ts"));
    EXPECT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "segment");
  }
  {
    H2UpstreamSettings s;
    s.tls = true;
    s.ca_file = cert_dir_ + "/a.pem";
    s.server_name = "wrong.test";  // not among the certificate's names
    H2Upstream up(io.get_executor(), s);
    auto r = run(io, fetch_one(up, tls_port_, "/live/s/up_2.ts"));
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("certificate verification failed"), std::string::npos) << r.error;
  }
  {
    H2UpstreamSettings s;
    s.tls = true;  // verification on by default, system CAs: our self-signed certificate is not trusted
    s.server_name = "localhost";
    H2Upstream up(io.get_executor(), s);
    auto r = run(io, fetch_one(up, tls_port_, "/live/s/up_2.ts"));
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("certificate verification failed"), std::string::npos) << r.error;
  }
}

TEST_F(H2Test, UpstreamClientNoHeadInTimeIsARetryableTimeout) {
  OriginReply held;
  held.body = "late";
  held.hold = "never";
  origin_.set("/live/s/up_3.ts", held);
  start();
  asio::io_context io;
  H2Upstream up(io.get_executor(), H2UpstreamSettings{});
  auto r = run(io, fetch_one(up, port_, "/live/s/up_3.ts", 300ms));
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.retryable);
  EXPECT_NE(r.error.find("no response in time"), std::string::npos) << r.error;
  origin_.release("never");
}

TEST_F(H2Test, UpstreamClientAgainstAnHttp11OnlyServerFailsCleanly) {
  start();
  asio::io_context io;
  H2Upstream up(io.get_executor(), H2UpstreamSettings{});
  // FakeOrigin speaks HTTP/1.1 only: the h2c preface gets a 400 / close, not a hang.
  auto r = run(io, fetch_one(up, origin_.port(), "/x", 3s));
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.error.empty());
}

}  // namespace
}  // namespace hlscache::test
