// HTTP/2 and TLS on the real daemon over loopback: curl (h2c prior knowledge, h2
// and HTTP/1.1 over TLS by ALPN), nghttp and h2load from Debian's nghttp2-client,
// openssl s_client for SNI and ALPN; 500 concurrent streams on one connection for
// one cold segment make exactly one origin request; GOAWAY on drain with the open
// stream finished; certificate reload on SIGHUP; a slow stream does not block
// another on the same connection.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "edge_test_util.hpp"
#include "h2_test_util.hpp"

namespace hlscache::test {
namespace {

OriginReply segment(std::string body, std::string hold = {}) {
  OriginReply r;
  r.headers = {{"Content-Type", "video/mp2t"}};
  r.body = std::move(body);
  r.hold = std::move(hold);
  return r;
}

struct CurlResult {
  int exit_code = -1;
  std::string version, status, body, err;
};

CurlResult curl(std::vector<std::string> args, const std::string& url, const std::string& dir) {
  const std::string out = dir + "/curl.body";
  std::vector<std::string> argv{"curl", "-sS", "--max-time", "10", "-o", out, "-w", "%{http_version} %{http_code}"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(url);
  auto r = run_command(argv, std::chrono::seconds(15));
  CurlResult c;
  c.exit_code = r.exit_code;
  c.err = r.err;
  auto sp = r.out.find(' ');
  if (sp != std::string::npos) {
    c.version = r.out.substr(0, sp);
    c.status = r.out.substr(sp + 1);
  }
  c.body = read_file(out);
  return c;
}

TEST_F(H2Test, CurlSpeaksH2cWithPriorKnowledgeAndHttp11OnTheSamePort) {
  H2_REQUIRE_TOOLS();
  const std::string body = pattern_body(300'000, 5);
  origin_.set("/live/s/seg_1.ts", segment(body));
  start();
  const std::string url = "http://127.0.0.1:" + std::to_string(port_) + "/live/s/seg_1.ts";
  auto a = curl({"--http2-prior-knowledge"}, url, cert_dir_);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.version, "2");
  EXPECT_EQ(a.status, "200");
  EXPECT_EQ(a.body, body);  // a miss: streamed from the growing fetch
  auto b = curl({"--http2-prior-knowledge"}, url, cert_dir_);
  EXPECT_EQ(b.version, "2");
  EXPECT_EQ(b.body, body);  // a hit: written from the cached chunks
  auto c = curl({"--http1.1"}, url, cert_dir_);
  EXPECT_EQ(c.version, "1.1");
  EXPECT_EQ(c.status, "200");
  EXPECT_EQ(c.body, body);
  EXPECT_EQ(origin_.requests("/live/s/seg_1.ts"), 1u);

  // nghttp shows the response headers as HTTP/2 fields.
  auto n = run_command({"nghttp", "-v", "-n", url}, std::chrono::seconds(10));
  EXPECT_EQ(n.exit_code, 0) << n.err;
  EXPECT_NE(n.out.find(":status: 200"), std::string::npos) << n.out;
  EXPECT_NE(n.out.find("x-cache: HIT"), std::string::npos) << n.out;
  EXPECT_NE(n.out.find("content-length: 300000"), std::string::npos) << n.out;
  EXPECT_EQ(n.out.find("connection:"), std::string::npos) << "connection-specific fields are not sent in HTTP/2";

  auto m = edge_metric(port_, "hlscache_connections_by_protocol_total", "protocol=\"http2\"");
  EXPECT_GE(m.value_or(0), 3);
  EXPECT_GE(edge_metric(port_, "hlscache_h2_streams_total").value_or(0), 3);
}

TEST_F(H2Test, TlsNegotiatesH2ByAlpnAndFallsBackToHttp11) {
  H2_REQUIRE_TOOLS();
  const std::string body = pattern_body(1 << 20, 6);
  origin_.set("/live/s/seg_2.ts", segment(body));
  start();
  const std::string url = "https://127.0.0.1:" + std::to_string(tls_port_) + "/live/s/seg_2.ts";
  auto a = curl({"-k", "--http2"}, url, cert_dir_);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.version, "2");
  EXPECT_EQ(a.status, "200");
  EXPECT_EQ(a.body, body);
  auto b = curl({"-k", "--http1.1"}, url, cert_dir_);
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(b.version, "1.1");
  EXPECT_EQ(b.body, body);
  // TLS 1.1 is refused.
  auto old = curl({"-k", "--tlsv1.1", "--tls-max", "1.1"}, url, cert_dir_);
  EXPECT_NE(old.exit_code, 0);
  EXPECT_GE(edge_metric(port_, "hlscache_tls_connections_total").value_or(0), 2);
}

TEST_F(H2Test, SniSelectsTheCertificateAndUnknownNamesGetTheDefault) {
  H2_REQUIRE_TOOLS();
  start();
  auto subject = [&](const std::string& name) {
    std::vector<std::string> argv{"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(tls_port_)};
    if (!name.empty()) argv.insert(argv.end(), {"-servername", name});
    auto r = run_command(argv, std::chrono::seconds(10));
    auto at = r.out.find("subject=");
    return at == std::string::npos ? std::string("none: " + r.err) : r.out.substr(at, r.out.find('\n', at) - at);
  };
  EXPECT_NE(subject("b.test").find("CN = b.test"), std::string::npos);
  EXPECT_NE(subject("x.wild.test").find("CN = b.test"), std::string::npos);
  EXPECT_NE(subject("a.test").find("CN = localhost"), std::string::npos);
  EXPECT_NE(subject("unknown.example").find("CN = localhost"), std::string::npos);
  EXPECT_NE(subject("").find("CN = localhost"), std::string::npos);
}

TEST_F(H2Test, ClientHelloWithNoCommonAlpnProtocolGetsTheAlertAndOthersAreServed) {
  H2_REQUIRE_TOOLS();
  start();
  auto r = run_command({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(tls_port_), "-alpn", "spdy/1"},
                       std::chrono::seconds(10));
  // RFC 7301 §3.2: the no_application_protocol alert (120).
  EXPECT_NE(r.err.find("no application protocol"), std::string::npos) << r.out << r.err;
  EXPECT_GE(edge_metric(port_, "hlscache_tls_handshake_failures_total").value_or(0), 1);
  auto ok = curl({"-k", "--http2"}, "https://127.0.0.1:" + std::to_string(tls_port_) + "/healthz", cert_dir_);
  EXPECT_EQ(ok.status, "200");
  EXPECT_EQ(ok.version, "2");
}

TEST_F(H2Test, FiveHundredStreamsOnOneConnectionForOneColdSegmentMakeOneOriginRequest) {
  H2_REQUIRE_TOOLS();
  const std::string path = "/live/s/seg_500.ts";
  const std::string body = pattern_body(256 * 1024, 500);
  origin_.set(path, segment(body, "herd"));
  start("max_concurrent_streams: 1000");
  auto load = Process::start({"h2load", "-n", "500", "-c", "1", "-m", "500", "-t", "1",
                              "http://127.0.0.1:" + std::to_string(port_) + path},
                             cert_dir_);
  ASSERT_TRUE(load.started());
  ASSERT_TRUE(origin_.wait_for_held("herd", 1, 10s));
  ASSERT_TRUE(wait_metric_at_least(port_, "hlscache_coalesce_followers_total", "", 499, 10s))
      << edge_metric(port_, "hlscache_coalesce_followers_total").value_or(-1);
  EXPECT_EQ(origin_.requests(path), 1u);
  origin_.release("herd");
  auto code = load.wait(20s);
  ASSERT_TRUE(code.has_value()) << load.describe();
  EXPECT_EQ(*code, 0) << load.describe();
  EXPECT_NE(load.out().find("500 succeeded"), std::string::npos) << load.out();
  EXPECT_NE(load.out().find("status codes: 500 2xx"), std::string::npos) << load.out();
  EXPECT_EQ(origin_.requests(path), 1u) << "500 streams must make exactly one origin request";
}

TEST_F(H2Test, DrainSendsGoawayAndLetsTheOpenStreamFinish) {
  const std::string path = "/live/s/seg_d.ts";
  const std::string body = pattern_body(200'000, 9);
  origin_.set(path, segment(body, "drain"));
  start();
  h2::RawClient c(port_);
  ASSERT_TRUE(c.start({{4, 1u << 30}}));  // INITIAL_WINDOW_SIZE: large, so the body is not held by flow control
  ASSERT_TRUE(c.send(h2::window_update(0, (1u << 30))));
  ASSERT_TRUE(c.send(h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, 1, h2::request_block(path))));
  ASSERT_TRUE(origin_.wait_for_held("drain", 1, 5s));
  daemon_.signal(SIGTERM);
  auto goaway = c.read_until(h2::kGoaway, 5s);
  ASSERT_TRUE(goaway.has_value()) << daemon_.log();
  EXPECT_EQ(goaway->goaway_error(), h2::kNoError);
  origin_.release("drain");
  std::size_t got = 0;
  bool ended = false;
  while (!ended) {
    auto f = c.read_frame(5s);
    if (!f) break;
    if (f->type == h2::kData && f->stream == 1) {
      got += f->payload.size();
      ended = f->flags & h2::kEndStream;
    }
  }
  EXPECT_TRUE(ended) << "the stream open at the drain must finish";
  EXPECT_EQ(got, body.size());
  auto st = daemon_.wait_exit(10s);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->exited && st->code == 0) << st->describe();
}

TEST_F(H2Test, ASlowStreamDoesNotBlockAnotherOnTheSameConnection) {
  const std::string body = pattern_body(1 << 20, 3);
  origin_.set("/live/s/a.ts", segment(body));
  origin_.set("/live/s/b.ts", segment(body));
  start();
  ASSERT_EQ(get(port_, "/live/s/a.ts").status, 200);  // both cached
  ASSERT_EQ(get(port_, "/live/s/b.ts").status, 200);
  h2::RawClient c(port_);
  // Stream windows of 0: nothing flows until a stream is given window by WINDOW_UPDATE.
  ASSERT_TRUE(c.start({{4, 0}}));
  ASSERT_TRUE(c.send(h2::window_update(0, 1u << 30)));
  ASSERT_TRUE(c.send(h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, 1, h2::request_block("/live/s/a.ts"))));
  ASSERT_TRUE(c.send(h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, 3, h2::request_block("/live/s/b.ts"))));
  ASSERT_TRUE(c.send(h2::window_update(3, 1u << 30)));  // only stream 3 may receive
  std::size_t got1 = 0, got3 = 0;
  bool ended3 = false;
  while (!ended3) {
    auto f = c.read_frame(5s);
    if (!f) break;
    if (f->type != h2::kData) continue;
    (f->stream == 1 ? got1 : got3) += f->payload.size();
    if (f->stream == 3) ended3 = f->flags & h2::kEndStream;
  }
  EXPECT_TRUE(ended3);
  EXPECT_EQ(got3, body.size());
  EXPECT_EQ(got1, 0u) << "stream 1 has no window";
  // Now stream 1 gets window and completes too.
  ASSERT_TRUE(c.send(h2::window_update(1, 1u << 30)));
  bool ended1 = false;
  while (!ended1) {
    auto f = c.read_frame(5s);
    if (!f) break;
    if (f->type == h2::kData && f->stream == 1) {
      got1 += f->payload.size();
      ended1 = f->flags & h2::kEndStream;
    }
  }
  EXPECT_TRUE(ended1);
  EXPECT_EQ(got1, body.size());
}

TEST_F(H2Test, SighupReloadsCertificatesAndABrokenFileKeepsTheOldOnes) {
  H2_REQUIRE_TOOLS();
  start();
  auto subject = [&] {
    auto r = run_command({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(tls_port_)},
                         std::chrono::seconds(10));
    auto at = r.out.find("subject=");
    return at == std::string::npos ? std::string("none") : r.out.substr(at, r.out.find('\n', at) - at);
  };
  EXPECT_NE(subject().find("CN = localhost"), std::string::npos);
  // An open connection is not disturbed by the reload.
  Connection open_conn = Connection::open(port_);
  ASSERT_TRUE(make_certificate(cert_dir_, "a", {"reloaded.test"}));
  daemon_.signal(SIGHUP);
  bool switched = false;
  for (int i = 0; i < 50 && !switched; ++i) {
    switched = subject().find("CN = reloaded.test") != std::string::npos;
    if (!switched) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(switched) << daemon_.log();
  write_file(cert_dir_ + "/a.pem", "not a certificate\n");
  daemon_.signal(SIGHUP);
  std::this_thread::sleep_for(300ms);
  EXPECT_NE(subject().find("CN = reloaded.test"), std::string::npos) << "a broken file keeps the loaded certificate";
  EXPECT_NE(daemon_.log().find("reload failed, keeping the current certificates"), std::string::npos);
  auto r = open_conn.roundtrip(make_request("GET", "/healthz"));
  EXPECT_EQ(r.status, 200) << r.describe();
}

}  // namespace
}  // namespace hlscache::test
