// Large bodies through the page store (cache.sendfile): on clear TCP a hit or a
// coalesced stream leaves with sendfile(2) from the cached pages. Every test runs
// with sendfile on and off, so the two paths answer byte for byte the same — for
// known and unknown lengths, ranges across chunk boundaries, slow readers (the
// socket takes a little at a time) and clients that leave mid-body.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "edge_test_util.hpp"

namespace hlscache::test {
namespace {

class EdgeSendfileTest : public EdgeTest, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    origin_.set(kBig, reply(big_));
    origin_.set(kSmall, reply(small_));
    OriginReply chunked = reply(chunked_);
    chunked.chunked = true;
    origin_.set(kChunked, chunked);
    OriginReply slow = reply(slow_);
    slow.slow_chunk = 64 * 1024;
    slow.slow_interval = 2ms;
    origin_.set(kSlow, slow);
    start(EdgeYaml{}.with_cache(GetParam() ? "sendfile: true" : "sendfile: false").with_timeouts("send: 1s"));
  }
  static OriginReply reply(const std::string& body) {
    OriginReply r;
    r.body = body;
    r.headers = {{"Content-Type", "video/mp2t"}};
    return r;
  }

  // A raw request on a socket whose receive buffer is `rcvbuf` bytes; reads `limit`
  // bytes at most (all when 0) in reads of `piece`, pausing `pause` between reads.
  // `half_close`: shut the sending side after the request (the daemon's socket is then
  // half-closed when the reset comes, so its next write fails with EPIPE).
  std::string raw_get(const char* path, int rcvbuf, std::size_t piece, Millis pause, std::size_t limit = 0,
                      bool reset = false, bool half_close = false, Millis before_reading = 0ms) const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);  // before connect: the window is set at SYN
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string got;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      const std::string req = std::string("GET ") + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
      if (::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
        if (half_close) ::shutdown(fd, SHUT_WR);
        std::this_thread::sleep_for(before_reading);
        std::string buf(piece, '\0');
        for (;;) {
          const ssize_t n = ::read(fd, buf.data(), buf.size());
          if (n <= 0) break;
          got.append(buf.data(), static_cast<std::size_t>(n));
          if (limit && got.size() >= limit) break;
          if (pause.count()) std::this_thread::sleep_for(pause);
        }
      }
    }
    if (reset) {
      linger l{1, 0};  // close with a RST, as a client that crashed or gave up
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    ::close(fd);
    return got;
  }

  static constexpr const char* kBig = "/s/big.ts";
  static constexpr const char* kSmall = "/s/small.ts";
  static constexpr const char* kChunked = "/s/chunked.ts";
  static constexpr const char* kSlow = "/s/slow.ts";
  const std::string big_ = pattern_body(3 * 1024 * 1024 + 123, 11);
  const std::string small_ = pattern_body(20 * 1024, 12);  // just over the page store's smallest chunk
  const std::string chunked_ = pattern_body(2 * 1024 * 1024 + 4321, 13);
  const std::string slow_ = pattern_body(1024 * 1024, 14);
};

TEST_P(EdgeSendfileTest, LargeBodiesAreWholeOnMissAndOnHit) {
  for (const auto& [path, body] : {std::pair{kBig, &big_}, {kSmall, &small_}, {kChunked, &chunked_}, {kSlow, &slow_}}) {
    for (const char* expect : {"MISS", "HIT"}) {
      auto r = get(path, {}, 10s);
      ASSERT_TRUE(r.ok()) << path << " " << r.describe();
      EXPECT_EQ(r.status, 200) << path;
      EXPECT_EQ(r.header("X-Cache").value_or(""), expect) << path;
      EXPECT_EQ(r.body.size(), body->size()) << path << " " << expect;
      EXPECT_TRUE(r.body == *body) << path << " " << expect << ": bytes differ";
    }
    EXPECT_EQ(origin_.requests(path), 1u) << path;
  }
  auto pages = edge_metric(port_, "hlscache_page_store_chunks");
  auto sent = edge_metric(port_, "hlscache_sendfile_bytes_total");
  ASSERT_TRUE(sent);
  if (GetParam()) {
    ASSERT_TRUE(pages) << "the page store reports itself on /metrics";
    EXPECT_GT(*pages, 0) << "the cached bodies are in the page store";
    // Both the misses (coalesced streams) and the hits; a little slack for pieces of a
    // streamed miss under 16 KiB, which are copied.
    EXPECT_GT(*sent, 2.0 * static_cast<double>(big_.size() + chunked_.size() + slow_.size()) * 0.9) << *sent;
  } else {
    EXPECT_FALSE(pages) << "no page store without cache.sendfile";
    EXPECT_EQ(*sent, 0) << "nothing sent with sendfile";
  }
}

TEST_P(EdgeSendfileTest, RangesAcrossChunkBoundariesAreExact) {
  ASSERT_TRUE(get(kBig, {}, 10s).ok());
  struct Case {
    std::size_t first, last;
  };
  for (Case c : {Case{1024 * 1024 - 5000, 1024 * 1024 + 5000}, Case{0, 3 * 1024 * 1024 + 122}, Case{100, 40'000},
                 Case{2 * 1024 * 1024 - 1, 3 * 1024 * 1024 + 122}}) {
    auto r = get(kBig, {{"Range", "bytes=" + std::to_string(c.first) + "-" + std::to_string(c.last)}}, 10s);
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.status, 206);
    EXPECT_TRUE(r.body == big_.substr(c.first, c.last - c.first + 1)) << c.first << "-" << c.last;
  }
}

// A 12 KiB receive window: the socket takes the body a little at a time, so the
// write waits for room again and again under the send deadline.
TEST_P(EdgeSendfileTest, SlowReaderGetsEveryByte) {
  ASSERT_TRUE(get(kBig, {}, 10s).ok());
  const std::string got = raw_get(kBig, 12 * 1024, 64 * 1024, 1ms);
  const auto head_end = got.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos) << got.substr(0, 200);
  EXPECT_EQ(got.substr(0, 12), "HTTP/1.1 200");
  EXPECT_NE(got.find("X-Cache: HIT"), std::string::npos);
  const std::string body = got.substr(head_end + 4);
  EXPECT_EQ(body.size(), big_.size());
  EXPECT_TRUE(body == big_) << "bytes differ";
}

// Clients that reset the connection with most of the body unsent: the write fails
// cleanly (no SIGPIPE kills the daemon; TearDown checks it is healthy and exits 0).
TEST_P(EdgeSendfileTest, ClientsThatLeaveMidBodyLeaveTheDaemonServing) {
  ASSERT_TRUE(get(kBig, {}, 10s).ok());
  for (int i = 0; i < 6; ++i) {
    const std::string got = raw_get(kBig, 16 * 1024, 16 * 1024, 0ms, 64 * 1024, /*reset=*/true, /*half_close=*/i % 2);
    EXPECT_GE(got.size(), 64u * 1024);
  }
  auto r = get(kBig, {}, 10s);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(r.body == big_);
}

// A client that reads nothing: the write waits for room until timeouts.send (1 s
// here), then the daemon closes; the client finds the body cut short. 16 MiB, so
// that the body does not fit in the socket buffers (tcp_wmem's 4 MiB at most).
TEST_P(EdgeSendfileTest, ReaderThatStopsIsCutOffAtTheSendDeadline) {
  const std::string huge = pattern_body(16 * 1024 * 1024, 15);
  origin_.set("/s/huge.ts", reply(huge));
  auto first = get("/s/huge.ts", {}, 10s);
  ASSERT_TRUE(first.ok()) << first.describe();
  ASSERT_TRUE(first.body == huge);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string got = raw_get("/s/huge.ts", 12 * 1024, 64 * 1024, 0ms, 0, false, false, 1500ms);
  EXPECT_GT(got.size(), 0u);
  EXPECT_LT(got.size(), huge.size()) << "the connection was closed before the body was whole";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s) << "closed at the send deadline, not at the client's read timeout";
  EXPECT_TRUE(get(kBig, {}, 10s).ok());
}

INSTANTIATE_TEST_SUITE_P(SendfileOnAndOff, EdgeSendfileTest, ::testing::Bool(),
                         [](const auto& p) { return p.param ? "sendfile" : "copy"; });

}  // namespace
}  // namespace hlscache::test
