// Helpers for the edge-proxy integration suite: an EdgeTest fixture (a FakeOrigin
// upstream plus the real daemon in role edge on port 0, checked healthy and cleanly
// stoppable after every test), and ClientHerd, which opens many client connections
// first and then drives them all from one poll() thread, streaming each body through
// a CRC instead of keeping it (1000 x 1 MiB would not fit), with timestamps of the
// first body byte. Every wait is bounded.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "support/daemon.hpp"
#include "support/fake_origin.hpp"
#include "support/http_client.hpp"

namespace hlscache::test {

using SteadyTime = std::chrono::steady_clock::time_point;

// The daemon's YAML: role edge, one listener on 127.0.0.1:0, upstream = the given port.
// Each section is the inside of a YAML flow map, e.g. limits = "max_followers_per_key: 5".
struct EdgeYaml {
  std::uint16_t upstream_port = 0;
  std::string limits;
  std::string timeouts;
  std::string freshness;
  std::string cache;
  std::string logging = "level: error";
  std::string admin;  // e.g. "token: ..."
  std::string load;   // e.g. "interval: 200ms"
  std::string upstream;  // more keys of the upstream map, e.g. "strip_request_headers: [X-Secret]"
  int threads = 2;
  std::string str() const;

  EdgeYaml& with_limits(std::string s) { limits = std::move(s); return *this; }
  EdgeYaml& with_timeouts(std::string s) { timeouts = std::move(s); return *this; }
  EdgeYaml& with_freshness(std::string s) { freshness = std::move(s); return *this; }
  EdgeYaml& with_cache(std::string s) { cache = std::move(s); return *this; }
  EdgeYaml& with_upstream_port(std::uint16_t p) { upstream_port = p; return *this; }
  EdgeYaml& with_threads(int n) { threads = n; return *this; }
  EdgeYaml& with_logging(std::string s) { logging = std::move(s); return *this; }
  EdgeYaml& with_admin(std::string s) { admin = std::move(s); return *this; }
  EdgeYaml& with_load(std::string s) { load = std::move(s); return *this; }
  EdgeYaml& with_upstream(std::string s) { upstream = std::move(s); return *this; }
};

// zlib CRC-32 of some bytes (chained with `crc` for streaming).
std::uint32_t crc32_of(std::string_view bytes, std::uint32_t crc = 0);
// `n` bytes of a fixed pseudo-random pattern (seeded), so a wrong offset shows up.
std::string pattern_body(std::size_t n, std::uint32_t seed = 1);
// zlib inflate of a gzip stream; nullopt if it is not one.
std::optional<std::string> gunzip(std::string_view gz);
// Milliseconds between two steady-clock instants (b - a).
double ms_between(SteadyTime a, SteadyTime b);

// One client's view of one response, as ClientHerd reads it.
struct HerdResult {
  Outcome outcome = Outcome::timeout;  // response: complete by its framing
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<std::uint64_t> content_length;
  bool chunked = false;
  std::uint64_t body_bytes = 0;  // body bytes received (decoded if chunked)
  std::uint32_t crc = 0;         // CRC-32 of those bytes
  std::string body;              // the body itself, up to Options::keep_body bytes
  SteadyTime head_at{}, first_byte_at{}, done_at{};

  std::optional<std::string> header(std::string_view name) const;
  std::string describe() const;
};

class ClientHerd {
 public:
  struct Options {
    Millis connect_timeout{5'000};
    Millis run_timeout{20'000};  // the driving thread gives up on whatever is unfinished by then
    std::size_t keep_body = 0;   // keep the first bytes of each body
  };

  // One request (raw bytes) per client; each on its own connection.
  ClientHerd(std::uint16_t port, std::vector<std::string> requests, Options opts);
  ClientHerd(std::uint16_t port, std::vector<std::string> requests) : ClientHerd(port, std::move(requests), Options{}) {}
  ~ClientHerd();
  ClientHerd(const ClientHerd&) = delete;
  ClientHerd& operator=(const ClientHerd&) = delete;

  // Opens every connection (non-blocking connects, then one poll for all). True if all connected.
  bool connect_all();
  std::size_t connected() const;
  // Starts the driving thread: sends every request, then reads every response.
  void start();
  // Client i closes its socket now (before or while it reads); its result says closed.
  void abandon(std::size_t i);
  std::size_t sent() const { return sent_.load(); }
  std::size_t heads() const { return heads_.load(); }      // response heads received so far
  std::size_t finished() const { return finished_.load(); }  // complete, closed or failed
  // Blocks until every client finished or `timeout`; true if all finished.
  bool wait_finished(Millis timeout) const;
  // Stops the thread (bounded by run_timeout) and returns one result per client, in request order.
  std::vector<HerdResult> results();

 private:
  struct Client;
  void run();

  std::uint16_t port_;
  Options opts_;
  std::vector<std::string> requests_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> sent_{0}, heads_{0}, finished_{0};
  std::vector<std::atomic<bool>> abandon_;
  bool joined_ = false;
};

// The ttl= parameter of a Cache-Status "hit" entry; nullopt if absent.
std::optional<long> cache_status_ttl(const HttpResponse& r);

// Counts of X-Cache values among results.
struct XCacheCounts {
  std::size_t miss = 0, hit = 0, coalesced = 0, stale = 0, none = 0;
};
XCacheCounts count_x_cache(const std::vector<HerdResult>& rs);

// Scrapes one /metrics sample; nullopt if the daemon did not answer or has no such sample.
std::optional<double> edge_metric(std::uint16_t port, std::string_view name, std::string_view labels = {});
// Polls /metrics until pred(name{labels}) holds or the timeout; true if it held.
bool wait_metric(std::uint16_t port, std::string_view name, std::string_view labels,
                 const std::function<bool(double)>& pred, Millis timeout);
inline bool wait_metric_at_least(std::uint16_t port, std::string_view name, std::string_view labels, double at_least,
                                 Millis timeout) {
  return wait_metric(port, name, labels, [=](double v) { return v >= at_least; }, timeout);
}

// A daemon in role edge in front of a FakeOrigin. TearDown checks that the daemon
// survived the test (healthz 200 on a new connection) and stops cleanly on SIGTERM.
class EdgeTest : public ::testing::Test {
 protected:
  void TearDown() override;

  // Starts the daemon with `y` (upstream_port defaults to the fake origin's port).
  void start(EdgeYaml y);
  void start() { start(EdgeYaml{}); }

  HttpResponse get(std::string_view target, const std::vector<std::pair<std::string, std::string>>& headers = {},
                   Millis timeout = 5s) const;
  HttpResponse head(std::string_view target, Millis timeout = 5s) const;

  FakeOrigin origin_;
  Daemon daemon_;
  std::uint16_t port_ = 0;
};

}  // namespace hlscache::test
