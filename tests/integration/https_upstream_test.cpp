// HTTPS/1.1 to an upstream (upstream.protocol: https): an edge fetches over TLS from an
// origin whose TLS listener speaks HTTP/1.1, verifies its certificate against a CA file
// and a name, keeps the TLS connection alive across fetches, and refuses a certificate
// it cannot verify (502, nothing cached) unless verification is turned off. A pooled
// TLS connection the origin closed while idle (close_notify, FIN) is found out by the
// probe before reuse, not by a failed request.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "edge_test_util.hpp"
#include "h2_test_util.hpp"
#include "local_test_util.hpp"
#include "support/daemon.hpp"
#include "support/fake_origin.hpp"
#include "support/http_client.hpp"

namespace hlscache::test {
namespace {

class HttpsUpstreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    H2_REQUIRE_TOOLS();
    dir_ = make_temp_dir("hlscache-https-");
    ASSERT_TRUE(make_certificate(dir_, "origin", {"origin.test"}));
    origin_.set_handler([](const OriginRequest& req) -> std::optional<OriginReply> {
      OriginReply r;
      r.body = "segment " + req.path();
      r.headers = {{"Content-Type", "video/mp2t"}};
      return r;
    });
    // The middle tier: an origin-role hlscache with a TLS listener (ALPN http/1.1 only).
    tls_origin_ = Daemon::start(fmt::format("role: origin\nthreads: 1\n"
                                            "listen:\n  - address: 127.0.0.1:0\n"
                                            "    tls: {{cert: {0}/origin.pem, key: {0}/origin.key}}\n"
                                            "upstream: {{hosts: ['127.0.0.1:{1}']}}\nlogging: {{level: warn}}\n",
                                            dir_, origin_.port()));
    ASSERT_TRUE(tls_origin_.running()) << tls_origin_.error();
  }

  Daemon edge(const std::string& tls, std::uint16_t upstream_port = 0) {
    return Daemon::start(fmt::format("role: edge\nthreads: 1\nlisten: [{{address: 127.0.0.1:0}}]\n"
                                     "upstream:\n  hosts: ['127.0.0.1:{}']\n  protocol: https\n  tls: {}\n"
                                     "  retries: 0\nlogging: {{level: warn}}\n",
                                     upstream_port != 0 ? upstream_port : tls_origin_.port(), tls));
  }

  std::string dir_;
  FakeOrigin origin_;
  Daemon tls_origin_;
};

TEST_F(HttpsUpstreamTest, FetchesOverVerifiedTlsAndKeepsTheConnection) {
  auto e = edge(fmt::format("{{ca_file: {}/origin.pem, server_name: origin.test}}", dir_));
  ASSERT_TRUE(e.running()) << e.error();
  for (int i = 0; i < 3; ++i) {
    const std::string path = fmt::format("/live/s/seg_{}.ts", i);
    auto r = get(e.port(), path);
    ASSERT_EQ(r.status, 200) << r.received << "\n" << e.log();
    EXPECT_EQ(r.body, "segment " + path);
    EXPECT_EQ(r.header("X-Cache").value_or(""), "MISS");
  }
  // Three fetches, one TLS handshake: the connection went back to the keep-alive pool.
  // (The origin listens on TLS only: its /metrics is read with curl.)
  auto m = run_command({"curl", "-sk", fmt::format("https://127.0.0.1:{}/metrics", tls_origin_.port())},
                       std::chrono::seconds(10));
  ASSERT_EQ(m.exit_code, 0) << m.err;
  EXPECT_EQ(metric_value(m.out, "hlscache_tls_connections_total", "").value_or(-1), 2)
      << "one handshake from the edge (three fetches), one from curl";
  // cache.sendfile is on by default, but sendfile serves clear TCP only.
  EXPECT_FALSE(metric_value(m.out, "hlscache_page_store_reserve_bytes", "")) << "TLS listeners only: no page store";
  EXPECT_TRUE(edge_metric(e.port(), "hlscache_page_store_reserve_bytes")) << "a clear listener: a page store";
  EXPECT_EQ(edge_metric(e.port(), "hlscache_upstream_host_errors_total",
                        fmt::format("group=\"default\",host=\"127.0.0.1:{}\"", tls_origin_.port()))
                .value_or(-1),
            0);
  EXPECT_TRUE(e.stop().exited);
}

TEST_F(HttpsUpstreamTest, APooledTlsConnectionTheOriginClosedWhileIdleIsNotUsed) {
  // A second TLS origin that closes client connections idle for 300 ms.
  Daemon quick = Daemon::start(fmt::format("role: origin\nthreads: 1\n"
                                           "listen:\n  - address: 127.0.0.1:0\n"
                                           "    tls: {{cert: {0}/origin.pem, key: {0}/origin.key}}\n"
                                           "timeouts: {{idle: 300ms}}\n"
                                           "upstream: {{hosts: ['127.0.0.1:{1}']}}\nlogging: {{level: warn}}\n",
                                           dir_, origin_.port()));
  ASSERT_TRUE(quick.running()) << quick.error();
  auto e = edge(fmt::format("{{ca_file: {}/origin.pem, server_name: origin.test}}", dir_), quick.port());
  ASSERT_TRUE(e.running()) << e.error();
  ASSERT_EQ(get(e.port(), "/live/s/idle_1.ts").status, 200);
  ASSERT_EQ(get(e.port(), "/live/s/idle_2.ts").status, 200);
  EXPECT_EQ(edge_metric(e.port(), "hlscache_upstream_pool_reuses_total").value_or(-1), 1) << "reused while fresh";
  std::this_thread::sleep_for(800ms);  // the origin closes the idle connection meanwhile
  auto r = get(e.port(), "/live/s/idle_3.ts");
  ASSERT_EQ(r.status, 200) << r.received << "\n" << e.log();
  EXPECT_EQ(r.body, "segment /live/s/idle_3.ts");
  const double found = edge_metric(e.port(), "hlscache_upstream_pool_discarded_total", "reason=\"unsolicited\"").value_or(0) +
                       edge_metric(e.port(), "hlscache_upstream_pool_discarded_total", "reason=\"peer_closed\"").value_or(0);
  EXPECT_EQ(found, 1) << "found closed by the probe";
  EXPECT_EQ(edge_metric(e.port(), "hlscache_upstream_stale_retries_total").value_or(-1), 0) << "not by a failed request";
  EXPECT_TRUE(e.stop().exited);
  EXPECT_TRUE(quick.stop().exited);
}

TEST_F(HttpsUpstreamTest, AnUnverifiableCertificateIsA502AndNothingIsCached) {
  // The right CA, the wrong name; then the system CAs, which do not know the self-signed one.
  for (const std::string& tls : {fmt::format("{{ca_file: {}/origin.pem, server_name: other.test}}", dir_),
                                std::string("{server_name: origin.test}")}) {
    auto e = edge(tls);
    ASSERT_TRUE(e.running()) << e.error();
    auto r = get(e.port(), "/live/s/seg_1.ts");
    EXPECT_EQ(r.status, 502) << tls << "\n" << r.received;
    EXPECT_NE(e.log().find("certificate verification failed"), std::string::npos) << e.log();
    EXPECT_EQ(origin_.requests("/live/s/seg_1.ts"), 0u);
    EXPECT_TRUE(e.stop().exited);
  }
  // verify: false (tests, closed networks) accepts it.
  auto e = edge("{verify: false}");
  ASSERT_TRUE(e.running()) << e.error();
  EXPECT_EQ(get(e.port(), "/live/s/seg_1.ts").status, 200);
  EXPECT_TRUE(e.stop().exited);
}

}  // namespace
}  // namespace hlscache::test
