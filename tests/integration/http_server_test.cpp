// The HTTP/1.1 server over real sockets against the real daemon: the built-in
// endpoints, response framing and headers, keep-alive and pipelining, and every
// request limit (431, 414, 413, 400 framing, 405, 501, max_connections).
#include <gtest/gtest.h>

#include <cstring>
#include <ctime>
#include <regex>
#include <set>

#include "http_fixture.hpp"

namespace hlscache::test {
namespace {

using HttpServerTest = HttpDaemonTest;

// Seconds between an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") and now; -1 if malformed.
long date_skew_seconds(const std::string& date) {
  static const std::regex imf(R"(^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$)");
  if (!std::regex_match(date, imf)) return -1;
  std::tm tm{};
  if (!::strptime(date.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm)) return -1;
  return std::labs(static_cast<long>(::timegm(&tm) - std::time(nullptr)));
}

TEST_F(HttpServerTest, HealthzAnswers200WithDateServerAndLength) {
  auto r = get(port_, "/healthz");
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.version, "HTTP/1.1");
  EXPECT_EQ(r.body, "ok\n");
  EXPECT_EQ(r.header("Content-Length").value_or(""), "3");
  EXPECT_EQ(r.header_count("Content-Length"), 1u);
  EXPECT_EQ(r.header("Server").value_or(""), "it-node");  // server_name from the config
  auto date = r.header("Date").value_or("");
  long skew = date_skew_seconds(date);
  EXPECT_GE(skew, 0) << "Date is not an IMF-fixdate: '" << date << "'";
  EXPECT_LE(skew, 5) << date;
  EXPECT_EQ(r.header("Cache-Control").value_or(""), "no-store");
  EXPECT_FALSE(r.has_header("Transfer-Encoding"));
}

TEST_F(HttpServerTest, ReadyzAnswers200) {
  auto r = get(port_, "/readyz");
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ready\n");
  EXPECT_EQ(r.header("Content-Length").value_or(""), "6");
}

TEST_F(HttpServerTest, MediaPathIsAnsweredAndKeepsTheConnection) {
  // 404 while no media handler is wired; 502 once the edge tries its upstream (nothing
  // listens there). Either way an ordinary answer: the connection stays usable.
  auto c = connect();
  auto r = c.roundtrip(make_request("GET", "/no/such/thing.m3u8"), 5s);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_TRUE(r.status == 404 || r.status == 502) << r.describe();
  EXPECT_EQ(r.header("Content-Length").value_or(""), std::to_string(r.body.size()));
  EXPECT_FALSE(r.header("Connection").has_value()) << r.describe();
  auto again = c.roundtrip(make_request("GET", "/healthz"));
  ASSERT_TRUE(again.ok()) << again.describe();
  EXPECT_EQ(again.status, 200);
}

TEST_F(HttpServerTest, MetricsIsPrometheusText) {
  auto r = get(port_, "/metrics");
  ASSERT_TRUE(r.ok()) << r.describe();
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type").value_or("").rfind("text/plain; version=0.0.4", 0), 0u)
      << r.header("Content-Type").value_or("(none)");
  EXPECT_EQ(r.header("Content-Length").value_or(""), std::to_string(r.body.size()));
  const std::string& text = r.body;
  EXPECT_NE(text.find("# TYPE hlscache_connections_active gauge\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE hlscache_requests_total counter\n"), std::string::npos) << text;
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');

  // Every line is a HELP, a TYPE, or a sample of a family that has a TYPE.
  static const std::regex help(R"(^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$)");
  static const std::regex type(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  static const std::regex sample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})? (-?[0-9.]+([eE][-+]?[0-9]+)?|NaN|[-+]Inf)$)");
  std::set<std::string> typed;
  std::size_t samples = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto eol = text.find('\n', pos);
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    std::smatch m;
    if (std::regex_match(line, m, type)) {
      typed.insert(m[1]);
    } else if (std::regex_match(line, m, sample)) {
      ++samples;
      std::string family = m[1];
      for (const char* suffix : {"_bucket", "_sum", "_count"})
        if (!typed.count(family) && family.size() > std::strlen(suffix) &&
            family.compare(family.size() - std::strlen(suffix), std::string::npos, suffix) == 0)
          family.resize(family.size() - std::strlen(suffix));
      EXPECT_TRUE(typed.count(family)) << "sample before its # TYPE: " << line;
    } else {
      EXPECT_TRUE(std::regex_match(line, help)) << "not Prometheus text: '" << line << "'";
    }
  }
  EXPECT_GE(samples, 5u);
  // This very connection is open while the page is rendered.
  EXPECT_GE(metric_value(text, "hlscache_connections_active").value_or(-1), 1);
}

TEST_F(HttpServerTest, MetricsCountersIncreaseAfterRequests) {
  auto before = scrape(port_);
  ASSERT_FALSE(before.empty());
  double ok0 = metric_value(before, "hlscache_requests_total", "code=\"2xx\"").value_or(-1);
  double c4xx0 = metric_value(before, "hlscache_requests_total", "code=\"4xx\"").value_or(-1);
  double bad0 = metric_value(before, "hlscache_bad_requests_total").value_or(-1);
  double accepted0 = metric_value(before, "hlscache_connections_accepted_total").value_or(-1);
  double bytes0 = metric_value(before, "hlscache_response_bytes_total").value_or(-1);
  ASSERT_GE(ok0, 0);
  ASSERT_GE(c4xx0, 0);
  ASSERT_GE(bad0, 0);
  ASSERT_GE(accepted0, 1);

  for (int i = 0; i < 3; ++i) {
    auto r = get(port_, "/healthz");
    ASSERT_TRUE(r.ok() && r.status == 200) << r.describe();
  }
  auto bad = send_raw(port_, "GET /healthz HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n");
  ASSERT_TRUE(bad.ok() && bad.status == 400) << bad.describe();

  // Counted once each response is written, so poll: 3 healthz + the first scrape itself.
  auto at_least = [&](std::string_view name, std::string_view labels, double want) {
    double got = wait_for_metric(port_, name, labels, [&](double v) { return v >= want; });
    EXPECT_GE(got, want) << name << "{" << labels << "}";
  };
  at_least("hlscache_requests_total", "code=\"2xx\"", ok0 + 4);
  at_least("hlscache_requests_total", "code=\"4xx\"", c4xx0 + 1);
  at_least("hlscache_bad_requests_total", "", bad0 + 1);
  at_least("hlscache_connections_accepted_total", "", accepted0 + 5);
  at_least("hlscache_response_bytes_total", "", bytes0 + 3 * 3);
}

TEST_F(HttpServerTest, HeadHasContentLengthButNoBody) {
  // HEAD then GET in one write: if HEAD carried a body, the second response would not parse.
  auto c = connect();
  ASSERT_TRUE(c.send(make_request("HEAD", "/readyz") + make_request("GET", "/healthz")));
  auto h = c.read_response(2s, /*bodyless=*/true);
  ASSERT_TRUE(h.ok()) << h.describe();
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.header("Content-Length").value_or(""), "6");  // the length GET /readyz would have
  EXPECT_TRUE(h.has_header("Date"));
  EXPECT_TRUE(h.body.empty());
  auto g = c.read_response();
  ASSERT_TRUE(g.ok()) << g.describe();
  EXPECT_EQ(g.status, 200);
  EXPECT_EQ(g.body, "ok\n");
  // And nothing else follows.
  EXPECT_TRUE(c.idle_and_open());
}

TEST_F(HttpServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  auto c = connect();
  for (int i = 0; i < 5; ++i) {
    auto r = c.roundtrip(make_request("GET", "/healthz"));
    ASSERT_TRUE(r.ok()) << "request " << i << ": " << r.describe();
    EXPECT_EQ(r.status, 200);
    EXPECT_FALSE(r.header("Connection").has_value()) << "HTTP/1.1 keep-alive is the default";
  }
  auto m1 = c.roundtrip(make_request("GET", "/metrics"));
  auto m2 = c.roundtrip(make_request("GET", "/metrics"));
  ASSERT_TRUE(m1.ok() && m2.ok());
  // No new connection was accepted between the two scrapes: both came on this one.
  EXPECT_EQ(metric_value(m1.body, "hlscache_connections_accepted_total"),
            metric_value(m2.body, "hlscache_connections_accepted_total"));
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  auto c = connect();
  ASSERT_TRUE(c.send(make_request("GET", "/healthz") + make_request("GET", "/metrics") +
                     make_request("GET", "/readyz")));
  auto a = c.read_response(), b = c.read_response(), d = c.read_response();
  ASSERT_TRUE(a.ok() && b.ok() && d.ok()) << a.describe() << b.describe() << d.describe();
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "ok\n");
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(b.body.rfind("# HELP ", 0), 0u) << b.body;
  EXPECT_EQ(d.status, 200);
  EXPECT_EQ(d.body, "ready\n");
  EXPECT_TRUE(c.idle_and_open());
}

TEST_F(HttpServerTest, PipelinedConnectionCloseEndsAfterThatResponse) {
  auto c = connect();
  ASSERT_TRUE(c.send(make_request("GET", "/healthz") + make_request("GET", "/readyz", {{"Connection", "close"}}) +
                     make_request("GET", "/healthz")));
  auto a = c.read_response(), b = c.read_response();
  ASSERT_TRUE(a.ok() && b.ok()) << a.describe() << b.describe();
  EXPECT_EQ(b.body, "ready\n");
  EXPECT_EQ(b.header("Connection").value_or(""), "close");
  std::string rest;
  EXPECT_TRUE(c.wait_closed(2s, &rest));
  EXPECT_EQ(rest, "") << "the request after Connection: close must not be answered";
}

TEST_F(HttpServerTest, Http10ClosesUnlessKeepAliveIsAsked) {
  auto c = connect();
  auto r = c.roundtrip("GET /healthz HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Connection").value_or(""), "close");
  EXPECT_TRUE(c.wait_closed(2s));

  auto k = connect();
  auto r1 = k.roundtrip("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_TRUE(r1.ok()) << r1.describe();
  EXPECT_EQ(r1.header("Connection").value_or(""), "keep-alive");
  auto r2 = k.roundtrip("GET /readyz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_TRUE(r2.ok()) << r2.describe();
  EXPECT_EQ(r2.body, "ready\n");
}

// ---- limits -------------------------------------------------------------------------

TEST_F(HttpServerTest, HeaderBlockOverLimitIs431) {
  // Just under limits.max_header_bytes (4 KiB) is fine...
  auto fine = get(port_, "/healthz", {{"X-Pad", std::string(3000, 'a')}});
  ASSERT_TRUE(fine.ok()) << fine.describe();
  EXPECT_EQ(fine.status, 200);
  // ...just over it is not.
  auto c = connect();
  ASSERT_TRUE(c.send(make_request("GET", "/healthz", {{"X-Pad", std::string(5000, 'a')}})));
  expect_error_then_close(c, 431);
  // Many small fields add up too.
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 100; ++i) many.emplace_back("X-Field-" + std::to_string(i), std::string(60, 'b'));
  auto c2 = connect();
  ASSERT_TRUE(c2.send(make_request("GET", "/healthz", many)));
  expect_error_then_close(c2, 431);
  // And so do fields that arrive one write at a time (each one small, the block not).
  auto c3 = connect();
  ASSERT_TRUE(c3.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  bool refused_early = false;
  for (int i = 0; i < 100 && !refused_early; ++i)
    refused_early = !c3.send("X-Field-" + std::to_string(i) + ": " + std::string(60, 'c') + "\r\n");
  if (!refused_early) c3.send("\r\n");
  expect_error_then_close(c3, 431);
}

TEST_F(HttpServerTest, TargetOverLimitIs414) {
  auto ok = get(port_, "/healthz?" + std::string(200, 'a'));  // under limits.max_target_bytes (256)
  ASSERT_TRUE(ok.ok()) << ok.describe();
  EXPECT_EQ(ok.status, 200);
  auto c = connect();
  ASSERT_TRUE(c.send(make_request("GET", "/" + std::string(300, 'a'))));
  expect_error_then_close(c, 414);
}

TEST_F(HttpServerTest, MalformedRequestIs400AndCloses) {
  const char* cases[] = {
      "GET /healthz\r\n\r\n",                                   // no version
      "GET /healthz HTTP/1.1 extra\r\nHost: a\r\n\r\n",         // junk after the version
      "GET /healthz HTTX/1.1\r\nHost: a\r\n\r\n",               // not HTTP
      "G(T /healthz HTTP/1.1\r\nHost: a\r\n\r\n",               // not a method token
      "GET healthz HTTP/1.1\r\nHost: a\r\n\r\n",                // not an absolute path
      "GET /healthz HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n",        // field without a colon
      "GET /healthz HTTP/1.1\r\nBad Name: x\r\n\r\n",           // space in a field name
      "GET /healthz HTTP/1.1\r\nX-Ctl: a\x01z\r\n\r\n",         // control character in a value
      "GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: x1\r\n\r\n",  // not a number
  };
  for (const char* raw : cases) {
    SCOPED_TRACE(raw);
    auto c = connect();
    ASSERT_TRUE(c.send(raw));
    expect_error_then_close(c, 400);
    auto alive = get(port_, "/healthz");  // a new connection is still served
    EXPECT_TRUE(alive.ok() && alive.status == 200) << alive.describe();
  }
}

TEST_F(HttpServerTest, ContentLengthWithTransferEncodingIs400AndCloses) {
  for (const char* raw : {"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "5\r\nhello\r\n0\r\n\r\n",
                          "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
                          "5\r\nhello\r\n0\r\n\r\n"}) {
    SCOPED_TRACE(raw);
    auto c = connect();
    ASSERT_TRUE(c.send(raw));
    expect_error_then_close(c, 400);
  }
}

TEST_F(HttpServerTest, ConflictingContentLengthsAre400AndClose) {
  auto c = connect();
  ASSERT_TRUE(c.send("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nhello"));
  expect_error_then_close(c, 400);
  auto c2 = connect();
  ASSERT_TRUE(c2.send("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 5\r\n\r\nhello"));
  expect_error_then_close(c2, 400);
}

TEST_F(HttpServerTest, DeleteIs405WithAllow) {
  auto c = connect();
  for (const char* target : {"/healthz", "/live/stream1/seg_1.ts"}) {
    auto r = c.roundtrip(make_request("DELETE", target));
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.status, 405) << target;
    EXPECT_EQ(r.header("Allow").value_or(""), "GET, HEAD") << target;
  }
  // A 405 is an ordinary answer: the connection stays usable.
  auto r = c.roundtrip(make_request("GET", "/healthz"));
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 200);
}

TEST_F(HttpServerTest, UnknownMethodIs501) {
  auto c = connect();
  ASSERT_TRUE(c.send(make_request("BREW", "/healthz")));
  expect_error_then_close(c, 501);
}

TEST_F(HttpServerTest, SmallBodyIsReadAndTheConnectionStaysInSync) {
  // A POST with a body under the limit: the body is consumed, so the next request parses.
  auto c = connect();
  auto r = c.roundtrip("POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 1024\r\n\r\n" + std::string(1024, 'x'));
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 405);
  auto chunked = c.roundtrip("POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\n\r\n");
  ASSERT_TRUE(chunked.ok()) << chunked.describe();
  EXPECT_EQ(chunked.status, 405);
  auto g = c.roundtrip(make_request("GET", "/healthz"));
  ASSERT_TRUE(g.ok()) << g.describe();
  EXPECT_EQ(g.body, "ok\n");
}

TEST_F(HttpServerTest, BodyOverLimitIs413) {
  // Declared length over limits.max_request_body (1 KiB): refused from the header alone.
  auto c = connect();
  ASSERT_TRUE(c.send("POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n"));
  expect_error_then_close(c, 413);
  // Chunked: refused once the chunks pass the limit.
  auto c2 = connect();
  ASSERT_TRUE(c2.send("POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "258\r\n" + std::string(600, 'x') + "\r\n258\r\n" + std::string(600, 'y') + "\r\n"));
  expect_error_then_close(c2, 413);
}

TEST_F(HttpServerTest, ConnectionsOverMaxConnectionsAreRefusedThenServedAgain) {
  start(edge_config("{max_connections: 3}"));
  std::vector<Connection> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(connect());
    auto r = held.back().roundtrip(make_request("GET", "/healthz"));  // the daemon has counted it
    ASSERT_TRUE(r.ok() && r.status == 200) << i << ": " << r.describe();
  }
  auto extra = connect();
  ASSERT_TRUE(extra.connected());
  extra.send(make_request("GET", "/healthz"));  // may fail: the daemon may already have closed it
  auto r = extra.read_response(3s);
  if (r.ok()) {
    EXPECT_EQ(r.status, 503) << r.describe();
    EXPECT_EQ(r.header("Connection").value_or(""), "close");
  } else {
    EXPECT_TRUE(r.outcome == Outcome::closed || r.outcome == Outcome::reset) << r.describe();
  }
  EXPECT_TRUE(extra.wait_closed(3s)) << "the refused connection stayed open";

  // The held connections are unaffected.
  auto still = held[0].roundtrip(make_request("GET", "/readyz"));
  ASSERT_TRUE(still.ok()) << still.describe();
  EXPECT_EQ(still.status, 200);

  // Once one closes, a new connection is served again.
  held.pop_back();
  auto again = wait_healthy(port_);
  ASSERT_TRUE(again.ok()) << again.describe();
  EXPECT_EQ(again.status, 200);
  double refused = wait_for_metric(port_, "hlscache_connections_refused_total", "", [](double v) { return v >= 1; });
  EXPECT_GE(refused, 1);
  held.clear();
}

}  // namespace
}  // namespace hlscache::test
