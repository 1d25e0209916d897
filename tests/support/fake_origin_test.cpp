// Self-test of FakeOrigin through a plain blocking POSIX socket client (receive timeouts, no Asio),
// so that what a proxy would see on the wire is checked byte for byte.
#include "support/fake_origin.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace hlscache::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

struct Response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  bool complete = false;  // framing satisfied (false: EOF or timeout before the declared end)

  std::optional<std::string> header(const std::string& name) const {
    for (const auto& [k, v] : headers)
      if (k == lower(name)) return v;
    return std::nullopt;
  }
};

// One blocking client connection to 127.0.0.1:port; every read gives up after `timeout`.
class Conn {
 public:
  explicit Conn(std::uint16_t port, std::chrono::milliseconds timeout = 3000ms) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Conn() {
    if (fd_ >= 0) ::close(fd_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  bool connected() const { return connected_; }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  bool request(const std::string& target, const std::string& method = "GET", const std::string& extra = "",
               const std::string& body = "") {
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: origin\r\n" + extra;
    if (!body.empty()) req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    return send(req + "\r\n" + body);
  }

  // True when bytes (or EOF) arrive within `within`.
  bool readable_within(std::chrono::milliseconds within) {
    if (!buf_.empty()) return true;
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(within.count())) > 0;
  }

  // Reads one response. For HEAD pass head=true (no body follows the header).
  Response read_response(bool head = false) {
    Response r;
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return r;
    const std::string head_text = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    std::size_t line_end = head_text.find("\r\n");
    const std::string status_line = head_text.substr(0, line_end);
    r.status = std::stoi(status_line.substr(status_line.find(' ') + 1, 3));
    while (line_end != std::string::npos) {
      const std::size_t start = line_end + 2;
      line_end = head_text.find("\r\n", start);
      const std::string line = head_text.substr(start, line_end == std::string::npos ? line_end : line_end - start);
      const std::size_t colon = line.find(':');
      r.headers.emplace_back(lower(line.substr(0, colon)), line.substr(line.find_first_not_of(' ', colon + 1)));
    }
    if (head || r.status == 204 || r.status == 304 || r.status / 100 == 1) {
      r.complete = true;
    } else if (r.header("transfer-encoding") == "chunked") {
      r.complete = read_chunked(r.body);
    } else if (auto cl = r.header("content-length")) {
      const std::size_t want = std::stoul(*cl);
      while (buf_.size() < want && fill()) {
      }
      r.body = buf_.substr(0, want);
      buf_.erase(0, r.body.size());
      r.complete = r.body.size() == want;
    } else {
      r.body = read_to_eof();
      r.complete = eof_;
    }
    return r;
  }

  // Everything until the peer closes (or the read timeout passes: then eof() stays false).
  std::string read_to_eof() {
    while (fill()) {
    }
    return std::exchange(buf_, {});
  }
  bool eof() const { return eof_; }

 private:
  bool fill() {
    char tmp[16384];
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n == 0) eof_ = true;
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }

  bool read_line(std::string& line) {
    std::size_t pos;
    while ((pos = buf_.find("\r\n")) == std::string::npos)
      if (!fill()) return false;
    line = buf_.substr(0, pos);
    buf_.erase(0, pos + 2);
    return true;
  }

  bool read_chunked(std::string& body) {
    for (std::string line;;) {
      if (!read_line(line)) return false;
      const std::size_t size = std::stoul(line, nullptr, 16);
      if (size == 0) return read_line(line) && line.empty();
      while (buf_.size() < size + 2)
        if (!fill()) {
          body += buf_.substr(0, std::min(size, buf_.size()));
          return false;
        }
      body += buf_.substr(0, size);
      buf_.erase(0, size + 2);
    }
  }

  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string buf_;
};

OriginReply body_reply(std::string body) {
  OriginReply r;
  r.body = std::move(body);
  return r;
}

Response get(std::uint16_t port, const std::string& target) {
  Conn c(port);
  EXPECT_TRUE(c.request(target));
  return c.read_response();
}

TEST(FakeOrigin, CountsPerPathOverOneKeepAliveConnection) {
  FakeOrigin origin;
  OriginReply a = body_reply("alpha");
  a.headers = {{"Cache-Control", "max-age=10"}, {"ETag", "\"a1\""}};
  origin.set("/a", a);
  origin.set("/b", body_reply("bravo"));

  Conn c(origin.port());
  ASSERT_TRUE(c.connected());
  for (const char* target : {"/a", "/a?token=1", "/b"}) {
    ASSERT_TRUE(c.request(target, "GET", "X-Trace: t1\r\n"));
    Response r = c.read_response();
    ASSERT_TRUE(r.complete) << target;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("connection"), "keep-alive");
  }
  ASSERT_TRUE(c.request("/a"));
  Response r = c.read_response();
  EXPECT_EQ(r.body, "alpha");
  EXPECT_EQ(r.header("cache-control"), "max-age=10");
  EXPECT_EQ(r.header("etag"), "\"a1\"");
  EXPECT_EQ(r.header("content-length"), "5");

  EXPECT_EQ(origin.requests("/a"), 3u);
  EXPECT_EQ(origin.requests("/b"), 1u);
  EXPECT_EQ(origin.requests("/c"), 0u);
  EXPECT_EQ(origin.total_requests(), 4u);
  EXPECT_EQ(origin.in_flight(), 0u);  // settled by the time the client has the last byte
  EXPECT_EQ(origin.connections_accepted(), 1u);
  EXPECT_TRUE(origin.wait_for_requests("/a", 3, 0ms));
  EXPECT_FALSE(origin.wait_for_requests("/a", 4, 20ms));
  EXPECT_GE(origin.last_byte_sent("/a").time_since_epoch().count(), 1);
  EXPECT_EQ(origin.last_byte_sent("/never").time_since_epoch().count(), 0);

  const auto log = origin.log();
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[1].method, "GET");
  EXPECT_EQ(log[1].target, "/a?token=1");
  EXPECT_EQ(log[1].path(), "/a");
  EXPECT_EQ(log[1].header("x-trace"), "t1");
  EXPECT_EQ(log[1].header("HOST"), "origin");
}

TEST(FakeOrigin, UnknownPathIs404AndConnectionStaysUsable) {
  FakeOrigin origin;
  origin.set("/known", body_reply("k"));
  Conn c(origin.port());
  ASSERT_TRUE(c.request("/unknown"));
  Response r = c.read_response();
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.status, 404);
  ASSERT_TRUE(c.request("/known"));
  EXPECT_EQ(c.read_response().body, "k");
  EXPECT_EQ(origin.requests("/unknown"), 1u);
  EXPECT_EQ(origin.connections_accepted(), 1u);
}

TEST(FakeOrigin, HeadDeclaresLengthWithoutBody) {
  FakeOrigin origin;
  origin.set("/seg.ts", body_reply(std::string(1234, 's')));
  Conn c(origin.port());
  ASSERT_TRUE(c.request("/seg.ts", "HEAD"));
  Response h = c.read_response(/*head=*/true);
  EXPECT_EQ(h.header("content-length"), "1234");
  ASSERT_TRUE(c.request("/seg.ts"));  // nothing stray was sent after the HEAD header
  Response g = c.read_response();
  EXPECT_TRUE(g.complete);
  EXPECT_EQ(g.body.size(), 1234u);
}

TEST(FakeOrigin, ChunkedBody) {
  FakeOrigin origin;
  OriginReply r = body_reply(std::string(100000, 'c'));
  r.chunked = true;
  origin.set("/c", r);
  r.slow_chunk = 7;  // many small chunks, no pause
  r.body = "0123456789abcdefghij";
  origin.set("/c7", r);
  Conn c(origin.port());
  ASSERT_TRUE(c.request("/c"));
  Response a = c.read_response();
  EXPECT_TRUE(a.complete);
  EXPECT_EQ(a.header("transfer-encoding"), "chunked");
  EXPECT_FALSE(a.header("content-length"));
  EXPECT_EQ(a.body, std::string(100000, 'c'));
  ASSERT_TRUE(c.request("/c7"));
  Response b = c.read_response();
  EXPECT_TRUE(b.complete);
  EXPECT_EQ(b.body, "0123456789abcdefghij");
}

TEST(FakeOrigin, DelayBeforeStatusLine) {
  FakeOrigin origin;
  OriginReply r = body_reply("late");
  r.delay = 200ms;
  origin.set("/late", r);
  Conn c(origin.port());
  const auto t0 = Clock::now();
  ASSERT_TRUE(c.request("/late"));
  EXPECT_FALSE(c.readable_within(100ms));
  Response resp = c.read_response();
  const auto took = Clock::now() - t0;
  EXPECT_EQ(resp.body, "late");
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 3s);
}

TEST(FakeOrigin, SlowChunksArriveOverTime) {
  FakeOrigin origin;
  OriginReply r = body_reply("0123456789");
  r.slow_chunk = 3;  // 4 pieces, 3 pauses
  r.slow_interval = 60ms;
  origin.set("/slow", r);
  Conn c(origin.port());
  const auto t0 = Clock::now();
  ASSERT_TRUE(c.request("/slow"));
  Response resp = c.read_response();
  const auto took = Clock::now() - t0;
  EXPECT_TRUE(resp.complete);
  EXPECT_EQ(resp.body, "0123456789");
  EXPECT_GE(took, 170ms);
  EXPECT_LT(took, 3s);
  const auto last = origin.last_byte_sent("/slow");
  EXPECT_GE(last - t0, 170ms);
  EXPECT_LE(last, Clock::now());
}

TEST(FakeOrigin, CutAfterClosesShortOfDeclaredLength) {
  FakeOrigin origin;
  OriginReply r = body_reply(std::string(1000, 'x'));
  r.cut_after = 100;
  origin.set("/cut", r);
  r.chunked = true;
  r.slow_chunk = 64;  // cut lands inside the second chunk
  origin.set("/cut-chunked", r);

  Conn c(origin.port());
  ASSERT_TRUE(c.request("/cut"));
  Response a = c.read_response();
  EXPECT_EQ(a.header("content-length"), "1000");
  EXPECT_FALSE(a.complete);
  EXPECT_TRUE(c.eof());
  EXPECT_EQ(a.body.size(), 100u);

  Conn raw(origin.port());
  ASSERT_TRUE(raw.request("/cut"));
  const std::string bytes = raw.read_to_eof();
  EXPECT_TRUE(raw.eof());
  const std::size_t body_start = bytes.find("\r\n\r\n") + 4;
  EXPECT_EQ(bytes.size() - body_start, 100u);
  EXPECT_NE(bytes.find("Content-Length: 1000"), std::string::npos);

  Conn ch(origin.port());
  ASSERT_TRUE(ch.request("/cut-chunked"));
  Response b = ch.read_response();
  EXPECT_FALSE(b.complete);
  EXPECT_TRUE(ch.eof());
  EXPECT_EQ(b.body.size(), 100u);
  EXPECT_EQ(origin.requests("/cut"), 2u);
}

TEST(FakeOrigin, HoldBlocksUntilReleaseWhileOtherPathsAreServed) {
  FakeOrigin origin;
  OriginReply held = body_reply("finally");
  held.hold = "gate";
  origin.set("/held", held);
  origin.set("/other", body_reply("other"));

  Conn a(origin.port());
  ASSERT_TRUE(a.request("/held"));
  ASSERT_TRUE(origin.wait_for_requests("/held", 1, 2s));
  ASSERT_TRUE(origin.wait_for_held("gate", 1, 2s));
  EXPECT_EQ(origin.held("gate"), 1u);
  EXPECT_EQ(origin.in_flight(), 1u);

  Response other = get(origin.port(), "/other");  // served while /held is parked
  EXPECT_EQ(other.body, "other");
  EXPECT_FALSE(a.readable_within(150ms));

  origin.release("gate");
  Response r = a.read_response();
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.body, "finally");
  EXPECT_EQ(origin.held("gate"), 0u);

  ASSERT_TRUE(a.request("/held"));  // released stays released
  EXPECT_EQ(a.read_response().body, "finally");

  origin.rearm("gate");
  ASSERT_TRUE(a.request("/held"));
  ASSERT_TRUE(origin.wait_for_held("gate", 1, 2s));
  EXPECT_FALSE(a.readable_within(100ms));
  origin.release("gate");
  EXPECT_EQ(a.read_response().body, "finally");
  EXPECT_EQ(origin.requests("/held"), 3u);
}

TEST(FakeOrigin, NeverAnswerKeepsConnectionSilent) {
  FakeOrigin origin;
  OriginReply r;
  r.never_answer = true;
  origin.set("/void", r);
  Conn c(origin.port());
  ASSERT_TRUE(c.request("/void"));
  ASSERT_TRUE(origin.wait_for_requests("/void", 1, 2s));
  EXPECT_FALSE(c.readable_within(300ms));
  EXPECT_EQ(get(origin.port(), "/x").status, 404);  // the origin still serves others
}

TEST(FakeOrigin, RawGarbageThenClose) {
  FakeOrigin origin;
  OriginReply r;
  r.raw = std::string("HTTP/1.1 2OO OK\r\nbogus\0\xff\r\n", 26);
  origin.set("/garbage", r);
  Conn c(origin.port());
  ASSERT_TRUE(c.request("/garbage"));
  EXPECT_EQ(c.read_to_eof(), r.raw);
  EXPECT_TRUE(c.eof());
}

TEST(FakeOrigin, ReplyCloseEndsConnection) {
  FakeOrigin origin;
  OriginReply r = body_reply("bye");
  r.close = true;
  origin.set("/bye", r);
  Conn c(origin.port());
  ASSERT_TRUE(c.request("/bye"));
  Response resp = c.read_response();
  EXPECT_EQ(resp.body, "bye");
  EXPECT_EQ(resp.header("connection"), "close");
  EXPECT_EQ(c.read_to_eof(), "");
  EXPECT_TRUE(c.eof());
}

TEST(FakeOrigin, HandlerSeesRequestAndFallsBackToTable) {
  FakeOrigin origin;
  origin.set("/static", body_reply("table"));
  origin.set_handler([](const OriginRequest& req) -> std::optional<OriginReply> {
    if (req.path() != "/dyn") return std::nullopt;
    OriginReply r;
    r.status = req.method == "POST" ? 201 : 200;
    r.headers = {{"X-Echo", req.header("X-Token").value_or("none")}};
    r.body = req.method + ":" + req.target + ":" + req.body;
    return r;
  });
  Conn c(origin.port());
  ASSERT_TRUE(c.request("/dyn?q=1", "POST", "X-Token: abc\r\n", "payload"));
  Response r = c.read_response();
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.header("x-echo"), "abc");
  EXPECT_EQ(r.body, "POST:/dyn?q=1:payload");
  ASSERT_TRUE(c.request("/static"));
  EXPECT_EQ(c.read_response().body, "table");
  EXPECT_EQ(origin.requests("/dyn"), 1u);
}

TEST(FakeOrigin, MaxInFlightWithHundredsOfConcurrentConnections) {
  constexpr std::size_t kConns = 300;
  FakeOrigin origin;
  OriginReply r = body_reply("segment");
  r.hold = "all";
  origin.set("/seg", r);

  std::vector<std::unique_ptr<Conn>> conns;
  for (std::size_t i = 0; i < kConns; ++i) {
    conns.push_back(std::make_unique<Conn>(origin.port()));
    ASSERT_TRUE(conns.back()->connected());
    ASSERT_TRUE(conns.back()->request("/seg"));
  }
  ASSERT_TRUE(origin.wait_for_held("all", kConns, 5s)) << origin.held("all");
  EXPECT_EQ(origin.requests("/seg"), kConns);
  EXPECT_EQ(origin.in_flight(), kConns);
  EXPECT_EQ(origin.max_in_flight(), kConns);
  EXPECT_EQ(origin.connections_accepted(), kConns);

  origin.release("all");
  for (auto& c : conns) {
    Response resp = c->read_response();
    ASSERT_TRUE(resp.complete);
    EXPECT_EQ(resp.body, "segment");
  }
  EXPECT_EQ(origin.max_in_flight(), kConns);
  EXPECT_EQ(origin.in_flight(), 0u);
  EXPECT_TRUE(origin.wait_for_requests("/seg", kConns, 0ms));
}

TEST(FakeOrigin, DestructorIsPromptWithHeldAndSilentConnections) {
  auto origin = std::make_unique<FakeOrigin>();
  OriginReply held = body_reply("never sent");
  held.hold = "forever";
  origin->set("/held", held);
  OriginReply silent;
  silent.never_answer = true;
  origin->set("/silent", silent);
  OriginReply slow = body_reply(std::string(1000, 'z'));
  slow.slow_chunk = 1;
  slow.slow_interval = 1000ms;
  origin->set("/slow", slow);

  Conn a(origin->port()), b(origin->port()), c(origin->port()), idle(origin->port());
  ASSERT_TRUE(a.request("/held"));
  ASSERT_TRUE(b.request("/silent"));
  ASSERT_TRUE(c.request("/slow"));
  ASSERT_TRUE(origin->wait_for_held("forever", 1, 2s));
  ASSERT_TRUE(origin->wait_for_requests("/silent", 1, 2s));
  ASSERT_TRUE(origin->wait_for_requests("/slow", 1, 2s));
  for (int i = 0; i < 200 && origin->connections_accepted() < 4; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(origin->connections_accepted(), 4u);  // `idle` accepted too, not left in the backlog

  const auto t0 = Clock::now();
  origin.reset();
  EXPECT_LT(Clock::now() - t0, 1s);
  for (Conn* conn : {&a, &b, &idle}) {
    EXPECT_EQ(conn->read_to_eof(), "");
    EXPECT_TRUE(conn->eof());  // closed, not merely silent
  }
  c.read_to_eof();
  EXPECT_TRUE(c.eof());
}

TEST(FakeOrigin, InterimHeadsComeBeforeTheAnswerOnTheSameConnection) {
  FakeOrigin origin;
  OriginReply r = body_reply("final");
  r.interim = {"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n", "HTTP/1.1 100 Continue\r\n\r\n"};
  r.interim_pause = 30ms;
  origin.set("/early", r);
  origin.set("/next", body_reply("next"));

  Conn c(origin.port());
  const auto t0 = Clock::now();
  ASSERT_TRUE(c.request("/early"));
  Response hints = c.read_response();
  EXPECT_EQ(hints.status, 103);
  EXPECT_EQ(hints.header("link"), "</a.css>; rel=preload");
  EXPECT_TRUE(hints.body.empty());
  Response cont = c.read_response();
  EXPECT_EQ(cont.status, 100);
  Response fin = c.read_response();
  EXPECT_EQ(fin.status, 200);
  EXPECT_EQ(fin.body, "final");
  EXPECT_GE(Clock::now() - t0, 60ms) << "interim_pause after each 1xx head";
  ASSERT_TRUE(c.request("/next"));
  EXPECT_EQ(c.read_response().body, "next");
  EXPECT_EQ(origin.connections_accepted(), 1u);
}

TEST(FakeOrigin, RequestsKnowTheirConnectionAndTheirPlaceOnIt) {
  FakeOrigin origin;
  std::vector<std::pair<std::size_t, std::size_t>> seen;
  origin.set_handler([&](const OriginRequest& req) -> std::optional<OriginReply> {
    seen.emplace_back(req.connection, req.nth);  // the handler runs on the origin's one thread
    return body_reply("x");
  });
  {
    Conn a(origin.port());
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(a.request("/p"));
      EXPECT_TRUE(a.read_response().complete);
    }
  }
  Conn b(origin.port());
  ASSERT_TRUE(b.request("/p"));
  EXPECT_TRUE(b.read_response().complete);
  const std::vector<std::pair<std::size_t, std::size_t>> want{{1, 1}, {1, 2}, {2, 1}};
  EXPECT_EQ(seen, want);
  EXPECT_EQ(origin.requests_on_reused_connections(), 1u);
  EXPECT_EQ(origin.log().back().connection, 2u);
}

TEST(FakeOrigin, IdleKeepAliveConnectionIsClosedAfterThePeriodAndBusyOnesAreNot) {
  FakeOrigin origin;
  origin.set("/a", body_reply("a"));
  origin.set_idle_close(300ms, /*advertise=*/true);

  Conn busy(origin.port());
  for (int i = 0; i < 4; ++i) {  // 100 ms apart: never idle for 300 ms
    ASSERT_TRUE(busy.request("/a"));
    Response r = busy.read_response();
    ASSERT_TRUE(r.complete) << i;
    EXPECT_EQ(r.header("keep-alive"), "timeout=1") << "advertised in whole seconds, at least 1";
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(origin.idle_closes(), 0u);
  EXPECT_EQ(origin.requests_on_reused_connections(), 3u);

  const auto t0 = Clock::now();
  const std::string rest = busy.read_to_eof();
  EXPECT_TRUE(busy.eof()) << "closed while idle";
  EXPECT_TRUE(rest.empty());
  const auto idle_for = Clock::now() - t0;
  EXPECT_GE(idle_for, 150ms);  // 300 ms after the last answer, 100 ms of which passed before t0
  EXPECT_LT(idle_for, 2s);
  EXPECT_EQ(origin.idle_closes(), 1u);

  origin.set_idle_close(0ms);
  Conn quiet(origin.port());
  ASSERT_TRUE(quiet.request("/a"));
  Response r = quiet.read_response();
  EXPECT_FALSE(r.header("keep-alive").has_value()) << "nothing advertised once idle close is off";
  EXPECT_FALSE(quiet.readable_within(500ms)) << "idle close off: the connection stays open";
}

TEST(FakeOrigin, DropClosesWithoutAByteOfAnswer) {
  FakeOrigin origin;
  OriginReply r;
  r.drop = true;
  origin.set("/drop", r);
  Conn c(origin.port());
  ASSERT_TRUE(c.request("/drop"));
  EXPECT_TRUE(c.read_to_eof().empty());
  EXPECT_TRUE(c.eof());
  EXPECT_EQ(origin.requests("/drop"), 1u);
}

TEST(FakeOrigin, AfterBytesArriveUnaskedOnTheIdleConnection) {
  FakeOrigin origin;
  OriginReply r = body_reply("asked");
  r.after = "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nunasked";
  r.after_delay = 100ms;
  origin.set("/u", r);
  Conn c(origin.port());
  ASSERT_TRUE(c.request("/u"));
  EXPECT_EQ(c.read_response().body, "asked");
  EXPECT_FALSE(c.readable_within(20ms)) << "nothing right after the answer";
  ASSERT_TRUE(c.readable_within(2s));
  Response extra = c.read_response();
  EXPECT_EQ(extra.body, "unasked");
  ASSERT_TRUE(c.request("/u")) << "the connection stays open";
  EXPECT_EQ(c.read_response().body, "asked");
}

}  // namespace
}  // namespace hlscache::test
