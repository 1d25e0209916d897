// RFC 9113 request rules over raw frames against the real daemon: a HEADERS that
// opens a stream below an earlier one is a connection error PROTOCOL_ERROR (§5.1.1)
// while trailers on a lower stream still open are not; a request ended by a trailers
// HEADERS is answered (with or without DATA before it); a bad h2c preface gets
// SETTINGS then GOAWAY PROTOCOL_ERROR (§3.4); a field with CR, LF or NUL is never
// answered as a request (§8.2.1).
#include <gtest/gtest.h>

#include <map>

#include "h2_test_util.hpp"

namespace hlscache::test {
namespace {

std::string headers_frame(std::uint32_t id, std::string_view path, bool end_stream, std::string_view method = "GET") {
  return h2::frame(h2::kHeaders, h2::kEndHeaders | (end_stream ? h2::kEndStream : 0), id,
                   h2::request_block(path, {}, method));
}

// Reads until the connection ends; returns the GOAWAY's error code (or -1) and the
// streams that got a response HEADERS.
struct Outcome {
  long goaway = -1;
  std::vector<std::pair<std::uint32_t, int>> answered;  // stream, :status
};
Outcome read_all(h2::RawClient& c, Millis timeout = 5s) {
  Outcome o;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto f = c.read_frame(std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now()));
    if (!f) break;
    if (f->type == h2::kGoaway) o.goaway = f->goaway_error();
    if (f->type == h2::kHeaders && f->stream != 0) o.answered.emplace_back(f->stream, f->status());
  }
  return o;
}

bool answered(const Outcome& o, std::uint32_t stream) {
  for (auto [s, status] : o.answered)
    if (s == stream) return true;
  return false;
}

TEST_F(H2Test, HeadersOpeningALowerStreamIdIsAConnectionError) {
  OriginReply held;
  held.body = "x";
  held.hold = "h";
  origin_.set("/live/s/held.ts", held);
  start();
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE(variant);
    h2::RawClient c(port_);
    ASSERT_TRUE(c.start());
    if (variant == 0) {  // stream 5 answered and closed, then 3
      ASSERT_TRUE(c.send(headers_frame(5, "/healthz", true)));
      auto f = c.read_until(h2::kHeaders, 5s);
      ASSERT_TRUE(f.has_value());
      EXPECT_EQ(f->status(), 200);
      ASSERT_TRUE(c.send(headers_frame(3, "/healthz", true)));
    } else if (variant == 1) {  // both in one write
      ASSERT_TRUE(c.send(headers_frame(5, "/healthz", true) + headers_frame(3, "/healthz", true)));
    } else {  // stream 5 still open (its origin holds the answer)
      ASSERT_TRUE(c.send(headers_frame(5, "/live/s/held.ts", true)));
      ASSERT_TRUE(origin_.wait_for_held("h", 1, 5s));
      ASSERT_TRUE(c.send(headers_frame(3, "/healthz", true)));
    }
    auto o = read_all(c);
    EXPECT_EQ(o.goaway, static_cast<long>(h2::kProtocolError)) << "nghttp2 alone ignores the frame: no answer, no GOAWAY";
    EXPECT_FALSE(answered(o, 3)) << "a stream opened below an earlier one was answered";
    EXPECT_TRUE(c.closed());
  }
  origin_.release("h");
}

TEST_F(H2Test, TrailersOnALowerStreamStillOpenAreNoError) {
  start();
  h2::RawClient c(port_);
  ASSERT_TRUE(c.start());
  // POST on 1 with a body still coming; GET on 3; then 1's trailers end it.
  ASSERT_TRUE(c.send(headers_frame(1, "/healthz", false, "POST") + h2::frame(h2::kData, 0, 1, "abc") +
                     headers_frame(3, "/healthz", true)));
  ASSERT_TRUE(c.send(h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, 1, h2::hpack_literal("x-trailer", "1"))));
  auto o = read_all(c, 2s);
  EXPECT_EQ(o.goaway, -1);
  ASSERT_EQ(o.answered.size(), 2u);
  EXPECT_TRUE(answered(o, 1));
  EXPECT_TRUE(answered(o, 3));
}

TEST_F(H2Test, ARequestEndedByTrailersIsAnswered) {
  start();
  h2::RawClient c(port_);
  ASSERT_TRUE(c.start());
  const std::string trailers = h2::hpack_literal("x-checksum", "abc");
  // HEADERS, DATA, trailers HEADERS with END_STREAM.
  ASSERT_TRUE(c.send(headers_frame(1, "/healthz", false, "POST") + h2::frame(h2::kData, 0, 1, "hello") +
                     h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, 1, trailers)));
  // HEADERS, then trailers at once (no DATA).
  ASSERT_TRUE(c.send(headers_frame(3, "/healthz", false, "POST") +
                     h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, 3, trailers)));
  // A GET whose END_STREAM comes with trailers.
  ASSERT_TRUE(c.send(headers_frame(5, "/healthz", false) +
                     h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, 5, trailers)));
  auto o = read_all(c, 2s);
  EXPECT_EQ(o.goaway, -1);
  std::map<std::uint32_t, int> status;
  for (auto [s, st] : o.answered) status[s] = st;
  EXPECT_EQ(status[1], 405) << "POST /healthz: the usual answer, not silence";
  EXPECT_EQ(status[3], 405);
  EXPECT_EQ(status[5], 200);
}

TEST_F(H2Test, ABadH2cPrefaceGetsSettingsThenGoawayProtocolError) {
  start();
  for (std::string_view bad : {std::string_view("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"), std::string_view("PRI * HTTP/1.1\r\n\r\n")}) {
    SCOPED_TRACE(bad);
    h2::RawClient c(port_);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send(bad));
    auto first = c.read_frame(3s);
    ASSERT_TRUE(first.has_value()) << "closed without a word";
    EXPECT_EQ(first->type, h2::kSettings);
    auto g = c.read_until(h2::kGoaway, 3s);
    ASSERT_TRUE(g.has_value());
    EXPECT_EQ(g->goaway_error(), h2::kProtocolError);
    EXPECT_FALSE(c.read_frame(3s).has_value());
    EXPECT_TRUE(c.closed());
  }
  // Not the preface at all: HTTP/1.1, as before.
  auto r = send_raw(port_, "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(r.status, 200) << r.describe();
}

TEST_F(H2Test, AFieldWithCrLfOrNulIsNeverAnsweredAsARequest) {
  start();
  h2::RawClient c(port_);
  ASSERT_TRUE(c.start());
  std::uint32_t id = 1;
  for (std::string value : {std::string("a\r\nx-injected: 1"), std::string("a\nb"), std::string("a") + '\0' + "b"}) {
    ASSERT_TRUE(c.send(h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, id,
                                 h2::request_block("/healthz", {{"x-bad", value}}))));
    id += 2;
  }
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  int resets = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    auto f = c.read_frame(500ms);
    if (!f) break;
    if (f->type == h2::kRstStream) ++resets;
    if (f->type == h2::kHeaders) {
      EXPECT_NE(f->status(), 200) << "stream " << f->stream << " was served";
    }
  }
  EXPECT_EQ(resets, 3) << "nghttp2 resets each stream (PROTOCOL_ERROR)";
}

}  // namespace
}  // namespace hlscache::test
