// HttpDaemonTest: a gtest fixture that runs one real hlscache (role edge, upstream
// at an unused loopback port, so only /healthz, /readyz, /metrics and 404s are
// served) per test, and after the test checks that the daemon survived: a new
// connection still gets /healthz 200 and SIGTERM ends it with exit code 0.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "support/daemon.hpp"
#include "support/http_client.hpp"

namespace hlscache::test {

// Limits small enough to cross cheaply; timeouts long enough that a loaded CI box
// never trips them by accident (the timeout tests set their own short ones).
inline std::string edge_config(const std::string& limits = "{max_header_bytes: 4KiB, max_target_bytes: 256, "
                                                           "max_request_body: 1KiB}",
                               const std::string& timeouts = "{header_read: 5s, idle: 5s, send: 5s}") {
  return "role: edge\n"
         "threads: 2\n"
         "server_name: it-node\n"
         "listen:\n"
         "  - address: 127.0.0.1:0\n"
         "upstream:\n"
         "  hosts: [\"127.0.0.1:1\"]\n"  // nothing listens there: media requests are not the point here
         "limits: " + limits + "\n"
         "timeouts: " + timeouts + "\n";
}

// Scrapes /metrics once; "" if that failed.
inline std::string scrape(std::uint16_t port) {
  auto r = get(port, "/metrics");
  return r.ok() && r.status == 200 ? r.body : std::string();
}

// Polls `name{labels}` until pred(value) holds or the deadline passes; returns the last value seen.
template <class Pred>
double wait_for_metric(std::uint16_t port, std::string_view name, std::string_view labels, Pred pred,
                       Millis timeout = 2s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  double last = -1;
  for (;;) {
    if (auto v = metric_value(scrape(port), name, labels)) last = *v;
    if ((last >= 0 && pred(last)) || std::chrono::steady_clock::now() >= deadline) return last;
    std::this_thread::sleep_for(20ms);
  }
}

// GET /healthz on fresh connections until it answers 200 (a closed connection may take
// the daemon a moment to notice); returns the last response.
inline HttpResponse wait_healthy(std::uint16_t port, Millis timeout = 3s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto r = get(port, "/healthz");
    if ((r.ok() && r.status == 200) || std::chrono::steady_clock::now() >= deadline) return r;
    std::this_thread::sleep_for(20ms);
  }
}

class HttpDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override { start(edge_config()); }

  void TearDown() override {
    if (!daemon_.running()) return;
    // Whatever the test sent, the daemon is alive and serves a new connection.
    auto r = wait_healthy(port_);
    EXPECT_TRUE(r.ok() && r.status == 200) << "daemon no longer healthy: " << r.describe() << "\nlog:\n"
                                           << daemon_.log();
    auto st = daemon_.stop();
    EXPECT_TRUE(st.exited && st.code == 0) << st.describe();
  }

  // Replaces the fixture's daemon with one running `yaml`.
  void start(const std::string& yaml) {
    if (daemon_.running()) daemon_.stop();
    daemon_ = Daemon::start(yaml);
    ASSERT_TRUE(daemon_.running()) << daemon_.error();
    port_ = daemon_.port();
    ASSERT_NE(port_, 0);
  }

  Connection connect() {
    auto c = Connection::open(port_);
    EXPECT_TRUE(c.connected()) << c.error();
    return c;
  }

  // Reads one response on `c`, expects `status` with Connection: close, then the close itself.
  void expect_error_then_close(Connection& c, int status) {
    auto r = c.read_response(3s);
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.status, status) << r.describe();
    EXPECT_EQ(r.header("Connection").value_or(""), "close") << r.describe();
    EXPECT_EQ(r.header("Content-Length").value_or(""), std::to_string(r.body.size()));
    EXPECT_TRUE(c.wait_closed(3s)) << "the connection stayed open after a " << status;
  }

  Daemon daemon_;
  std::uint16_t port_ = 0;
};

}  // namespace hlscache::test
