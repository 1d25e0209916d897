// Bad HTTP/2 input over real sockets, each answered as RFC 9113 says without a
// crash, the daemon then serving another connection (checked by the fixture's
// TearDown too): a malformed frame (PING of 7 bytes: FRAME_SIZE_ERROR), a header
// block over http2.max_header_list_bytes (431), a rapid-reset burst (GOAWAY
// ENHANCE_YOUR_CALM), a CONTINUATION flood (the connection is ended), garbage in
// place of the preface, and a peer that never reads (send timeout). More in
// h2_hygiene_test.cpp (stream ids, trailers, bad prefaces, CR/LF/NUL).
#include <gtest/gtest.h>

#include "edge_test_util.hpp"
#include "h2_test_util.hpp"

namespace hlscache::test {
namespace {

void expect_serves_another_connection(std::uint16_t port) {
  h2::RawClient c(port);
  ASSERT_TRUE(c.start());
  ASSERT_TRUE(c.send(h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, 1, h2::request_block("/healthz"))));
  auto f = c.read_until(h2::kHeaders, 5s);
  ASSERT_TRUE(f.has_value()) << "no response on a new connection";
  EXPECT_EQ(f->stream, 1u);
}

TEST_F(H2Test, MalformedFrameGetsGoawayFrameSizeError) {
  start();
  h2::RawClient c(port_);
  ASSERT_TRUE(c.start());
  ASSERT_TRUE(c.send(h2::frame(h2::kPing, 0, 0, "1234567")));  // PING is 8 bytes (RFC 9113 §6.7)
  auto g = c.read_until(h2::kGoaway, 5s);
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->goaway_error(), h2::kFrameSizeError);
  EXPECT_FALSE(c.read_frame(3s).has_value());  // then the connection ends
  EXPECT_TRUE(c.closed());
  expect_serves_another_connection(port_);
}

TEST_F(H2Test, HeadersOnStreamZeroGetGoawayProtocolError) {
  start();
  h2::RawClient c(port_);
  ASSERT_TRUE(c.start());
  ASSERT_TRUE(c.send(h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, 0, h2::request_block("/healthz"))));
  auto g = c.read_until(h2::kGoaway, 5s);
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->goaway_error(), h2::kProtocolError);
  expect_serves_another_connection(port_);
}

TEST_F(H2Test, HeaderBlockOverTheLimitIsAnswered431) {
  H2_REQUIRE_TOOLS();
  start("max_header_list_bytes: 4KiB");
  const std::string big(6000, 'x');
  auto r = run_command({"curl", "-sS", "--max-time", "10", "--http2-prior-knowledge", "-o", "/dev/null", "-w",
                        "%{http_version} %{http_code}", "-H", "X-Big: " + big,
                        "http://127.0.0.1:" + std::to_string(port_) + "/healthz"},
                       std::chrono::seconds(15));
  EXPECT_EQ(r.out, "2 431") << r.err;
  // Just under the limit is fine.
  auto ok = run_command({"curl", "-sS", "--max-time", "10", "--http2-prior-knowledge", "-o", "/dev/null", "-w",
                         "%{http_code}", "-H", "X-Big: " + std::string(3000, 'x'),
                         "http://127.0.0.1:" + std::to_string(port_) + "/healthz"},
                        std::chrono::seconds(15));
  EXPECT_EQ(ok.out, "200") << ok.err;
  EXPECT_GE(edge_metric(port_, "hlscache_bad_requests_total").value_or(0), 1);
}

TEST_F(H2Test, RapidResetBurstGetsGoawayEnhanceYourCalm) {
  start("reset_burst: 50, reset_rate: 10");
  h2::RawClient c(port_);
  ASSERT_TRUE(c.start());
  std::string burst;
  for (std::uint32_t id = 1; id < 2 * 400; id += 2) {
    burst += h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, id, h2::request_block("/healthz"));
    burst += h2::rst_stream(id, h2::kCancel);
  }
  c.send(burst, 5s);  // the daemon may hang up before it has read all of it
  auto g = c.read_until(h2::kGoaway, 5s);
  ASSERT_TRUE(g.has_value()) << daemon_.log();
  EXPECT_EQ(g->goaway_error(), h2::kEnhanceYourCalm);
  EXPECT_GE(edge_metric(port_, "hlscache_h2_resets_received_total").value_or(0), 50);
  EXPECT_GE(edge_metric(port_, "hlscache_h2_goaways_sent_total").value_or(0), 1);
  expect_serves_another_connection(port_);
}

TEST_F(H2Test, ContinuationFloodEndsTheConnection) {
  start();
  h2::RawClient c(port_);
  ASSERT_TRUE(c.start());
  std::string flood = h2::frame(h2::kHeaders, 0, 1, h2::request_block("/healthz"));  // no END_HEADERS
  for (int i = 0; i < 200; ++i)
    flood += h2::frame(h2::kContinuation, 0, 1, h2::hpack_literal("x-pad" + std::to_string(i), "y"));
  c.send(flood, 5s);
  // Ended by GOAWAY or a close, well before 200 CONTINUATIONs are taken (nghttp2 allows 8).
  bool ended = false;
  for (;;) {
    auto f = c.read_frame(5s);
    if (!f) {
      ended = c.closed();
      break;
    }
    if (f->type == h2::kGoaway) {
      ended = true;
      break;
    }
    EXPECT_NE(f->type, h2::kHeaders) << "no response to a flooded header block";
  }
  EXPECT_TRUE(ended);
  EXPECT_GE(edge_metric(port_, "hlscache_h2_protocol_errors_total").value_or(0), 1);
  expect_serves_another_connection(port_);
}

TEST_F(H2Test, GarbageInsteadOfThePrefaceIsHttp11BadRequest) {
  start();
  // Not the preface, nor its "PRI " (that is a bad preface: h2_hygiene_test.cpp): the clear
  // listener takes it for HTTP/1.1, which answers 400 and closes.
  auto r = send_raw(port_, "PRX * HTTP/2.0\r\n\r\nXX\r\n\r\n", 3s);
  EXPECT_TRUE(r.ok() ? r.status == 400 || r.status == 505 : true) << r.describe();
  expect_serves_another_connection(port_);
}

TEST_F(H2Test, PeerThatNeverReadsIsDisconnectedAtTheSendTimeout) {
  const std::string body = pattern_body(1 << 20, 4);
  origin_.set("/live/s/big.ts", [&] {
    OriginReply r;
    r.body = body;
    return r;
  }());
  start({}, "send: 1s");
  ASSERT_EQ(get(port_, "/live/s/big.ts").status, 200);
  h2::RawClient c(port_);
  ASSERT_TRUE(c.start({{4, (1u << 31) - 1}}));
  ASSERT_TRUE(c.send(h2::window_update(0, (1u << 31) - 1 - 65535)));
  for (std::uint32_t id = 1; id < 2 * 40; id += 2)
    ASSERT_TRUE(c.send(h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, id, h2::request_block("/live/s/big.ts"))));
  // Never read: 40 MiB cannot fit in the socket buffers, so the daemon's write stalls.
  std::this_thread::sleep_for(3s);
  // Now drain what was buffered: the daemon must have closed the connection.
  bool closed = false;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!c.read_frame(2s)) {
      closed = c.closed();
      break;
    }
  }
  EXPECT_TRUE(closed) << "the daemon kept a connection whose peer never reads";
  expect_serves_another_connection(port_);
}

}  // namespace
}  // namespace hlscache::test

namespace hlscache::test {
namespace {

// RFC 9113 §5.1.2 lets the server treat a stream over its acknowledged limit as a
// stream error (REFUSED_STREAM) or a PROTOCOL_ERROR; nghttp2 ends the connection.
TEST_F(H2Test, AStreamOverTheAcknowledgedConcurrencyLimitEndsTheConnection) {
  OriginReply held;
  held.body = "x";
  held.hold = "h";
  for (const char* p : {"/live/s/h1.ts", "/live/s/h2.ts", "/live/s/h3.ts"}) origin_.set(p, held);
  start("max_concurrent_streams: 2");
  h2::RawClient c(port_);
  ASSERT_TRUE(c.start());
  ASSERT_TRUE(c.read_until(h2::kSettings, 5s).has_value());  // read (and acknowledge) the server's SETTINGS
  std::string three;
  for (std::uint32_t id : {1u, 3u, 5u})
    three += h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, id,
                       h2::request_block("/live/s/h" + std::to_string((id + 1) / 2) + ".ts"));
  ASSERT_TRUE(c.send(three));
  bool refused = false;
  for (;;) {
    auto f = c.read_frame(5s);
    if (!f) break;
    if (f->type == h2::kRstStream && f->stream == 5) refused = f->payload == std::string("\0\0\0\x07", 4);
    if (f->type == h2::kGoaway) refused = f->goaway_error() == h2::kProtocolError;
    if (refused) break;
  }
  EXPECT_TRUE(refused) << "stream 5 must be refused (RST_STREAM REFUSED_STREAM or GOAWAY PROTOCOL_ERROR)";
  origin_.release("h");
  expect_serves_another_connection(port_);
}

TEST_F(H2Test, IdleConnectionGetsGoawayAndIsClosed) {
  start({}, "idle: 500ms");
  h2::RawClient c(port_);
  ASSERT_TRUE(c.start());
  const auto t0 = std::chrono::steady_clock::now();
  auto g = c.read_until(h2::kGoaway, 5s);
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->goaway_error(), h2::kNoError);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 400ms);
  EXPECT_FALSE(c.read_frame(3s).has_value());
  EXPECT_TRUE(c.closed());
}

TEST_F(H2Test, HeadOverH2HasTheLengthAndNoBody) {
  H2_REQUIRE_TOOLS();
  OriginReply r;
  r.body = std::string(5000, 'z');
  origin_.set("/live/s/head.ts", r);
  start();
  auto out = run_command({"curl", "-sS", "--max-time", "10", "--http2-prior-knowledge", "-I",
                          "http://127.0.0.1:" + std::to_string(port_) + "/live/s/head.ts"},
                         std::chrono::seconds(15));
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.out.find("HTTP/2 200"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("content-length: 5000"), std::string::npos) << out.out;
}

}  // namespace
}  // namespace hlscache::test
