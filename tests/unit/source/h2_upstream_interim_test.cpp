// The HTTP/2 upstream client (source/h2_upstream.*) against FakeH2Origin, an nghttp2
// server that records request fields exactly as sent: interim (1xx) HEADERS before
// the final response are read past, a 103's fields reach the sink's interim() and
// other 1xx do not, more than 16 fail the stream; and the client's request fields
// (client spelling, via OriginTier with protocol h2c) arrive lowercased, without
// connection-specific fields (RFC 9113 §8.2.2), TE only as "trailers".
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>

#include "config/config.hpp"
#include "source/h2_upstream.hpp"
#include "source/origin_tier.hpp"
#include "support/fake_h2_origin.hpp"
#include "support/recording_sink.hpp"

namespace hlscache::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

template <class T>
T run(asio::io_context& io, asio::awaitable<T> task) {
  auto f = asio::co_spawn(io, std::move(task), asio::use_future);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  io.restart();
  while (f.wait_for(0s) != std::future_status::ready && std::chrono::steady_clock::now() < deadline)
    io.run_one_for(20ms);
  EXPECT_EQ(f.wait_for(0s), std::future_status::ready) << "not done in time";
  return f.get();
}

// One request through H2Upstream into `sink`: the head, then the body. Empty on success.
asio::awaitable<std::string> fetch_into(H2Upstream& up, std::uint16_t port, std::string target, RecordingSink& sink) {
  H2UpstreamRequest req;
  req.host = HostPort{"127.0.0.1", port};
  req.target = std::move(target);
  req.first_byte_deadline = SteadyClock::now() + 5s;
  req.interim = &sink;
  auto r = co_await up.request(req);
  if (!r) co_return r.error().message;
  sink.set_head((*r)->head());
  Status st = co_await (*r)->read_body_into(sink, 5s, SteadyClock::now() + 5s);
  if (!st) co_return st.error().message;
  sink.complete();
  co_return std::string{};
}

std::optional<std::string> field(const H2Fields& fields, std::string_view name) {
  for (const auto& [k, v] : fields)
    if (k == name) return v;
  return std::nullopt;
}

TEST(H2UpstreamInterim, EarlyHintsReachTheSinkAndTheFinalResponseIsTheAnswer) {
  FakeH2Origin origin;
  H2OriginReply reply;
  reply.headers = {{"content-type", "video/mp2t"}};
  reply.body = "A1";
  reply.interim = {{100, {}}, {103, {{"link", "</a.css>; rel=preload"}}}, {102, {}}, {103, {{"link", "</b.js>"}}}};
  origin.set("/early1", reply);
  H2OriginReply a;
  a.body = "A";
  origin.set("/a", a);

  asio::io_context io;
  H2Upstream up(io.get_executor(), H2UpstreamSettings{});
  RecordingSink early;
  EXPECT_EQ(run(io, fetch_into(up, origin.port(), "/early1", early)), "");
  ASSERT_TRUE(early.head.has_value());
  EXPECT_EQ(early.head->status, 200);
  EXPECT_EQ(early.body, "A1");
  ASSERT_EQ(early.interims.size(), 2u) << "the two 103s, not the 100 and the 102";
  EXPECT_EQ(early.interims[0].first, 103);
  EXPECT_EQ(field_value(early.interims[0].second, "link"), "</a.css>; rel=preload");
  EXPECT_EQ(field_value(early.interims[1].second, "link"), "</b.js>");
  EXPECT_EQ(field_value(early.head->headers, "content-type"), "video/mp2t");
  EXPECT_FALSE(has_field(early.head->headers, "link")) << "a 103's fields are not the final head's";

  RecordingSink next;
  EXPECT_EQ(run(io, fetch_into(up, origin.port(), "/a", next)), "");
  EXPECT_EQ(next.body, "A");
  EXPECT_TRUE(next.interims.empty());
  EXPECT_EQ(up.connections_opened(), 1u);
}

TEST(H2UpstreamInterim, MoreThanSixteenInterimResponsesFailTheStream) {
  FakeH2Origin origin;
  H2OriginReply reply;
  reply.body = "x";
  for (int i = 0; i < 17; ++i) reply.interim.push_back({103, {{"link", "</x>"}}});
  origin.set("/many", reply);
  reply.interim.pop_back();
  origin.set("/sixteen", reply);
  asio::io_context io;
  H2Upstream up(io.get_executor(), H2UpstreamSettings{});
  RecordingSink ok;
  EXPECT_EQ(run(io, fetch_into(up, origin.port(), "/sixteen", ok)), "");
  EXPECT_EQ(ok.interims.size(), 16u);
  RecordingSink bad;
  const std::string why = run(io, fetch_into(up, origin.port(), "/many", bad));
  EXPECT_NE(why.find("more than 16 interim"), std::string::npos) << why;
  EXPECT_FALSE(bad.head.has_value());
}

TEST(H2UpstreamInterim, ClientFieldsReachAnH2UpstreamLowercasedWithoutConnectionSpecificOnes) {
  FakeH2Origin origin;
  H2OriginReply reply;
  reply.body = "seg";
  reply.interim = {{103, {{"link", "</c.css>"}}}};
  origin.set("/live/s/1.ts", reply);
  auto cfg = load_config_string("role: edge\nlisten: [{address: '127.0.0.1:0'}]\nserver_name: edge-h2\n"
                                "upstream: {hosts: ['127.0.0.1:" + std::to_string(origin.port()) +
                                    "'], protocol: h2c, retries: 0}\n",
                                "t.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  // OriginTier keeps its HTTP/2 client per thread for the process's life: the io_context
  // and the metrics it was made with must outlive it (left to the process's end).
  static auto* io = new asio::io_context;
  static auto* metrics = new Metrics;
  OriginTier tier(*cfg, *metrics);
  auto sink = std::make_shared<RecordingSink>();
  SourceRequest req{"/live/s/1.ts", "/live/s/1.ts",
                    {{"User-Agent", "X"},
                     {"Accept", "*/*"},
                     {"X-Custom", "Mixed Case Value"},
                     {"Connection", "keep-alive, X-Hop"},
                     {"X-Hop", "1"},
                     {"Keep-Alive", "timeout=5"},
                     {"Proxy-Connection", "keep-alive"},
                     {"Transfer-Encoding", "chunked"},
                     {"Upgrade", "h2c"},
                     {"TE", "trailers"},
                     {"Host", "client.example"}},
                    "192.0.2.1",
                    std::nullopt};
  run(*io, [&]() -> asio::awaitable<int> {
    co_await tier.fetch(req, sink);
    co_return 0;
  }());
  ASSERT_TRUE(sink->completed) << (sink->error ? sink->error->describe() : "");
  EXPECT_EQ(sink->body, "seg");
  ASSERT_EQ(sink->interims.size(), 1u);
  EXPECT_EQ(field_value(sink->interims[0].second, "link"), "</c.css>");

  const auto log = origin.log();
  ASSERT_EQ(log.size(), 1u);
  const H2Fields& f = log[0].fields;
  for (const auto& [k, v] : f)
    EXPECT_TRUE(std::none_of(k.begin(), k.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) << k;
  EXPECT_EQ(field(f, "user-agent"), "X");
  EXPECT_EQ(field(f, "accept"), "*/*");
  EXPECT_EQ(field(f, "x-custom"), "Mixed Case Value");
  EXPECT_EQ(field(f, "te"), "trailers");
  EXPECT_EQ(field(f, "via"), "2 edge-h2");
  EXPECT_EQ(field(f, "x-forwarded-for"), "192.0.2.1");
  EXPECT_EQ(field(f, ":authority"), "127.0.0.1:" + std::to_string(origin.port()));
  for (const char* gone : {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host",
                           "x-hop"})
    EXPECT_FALSE(field(f, gone).has_value()) << gone << " reached the h2 upstream";
}

}  // namespace
}  // namespace hlscache::test
