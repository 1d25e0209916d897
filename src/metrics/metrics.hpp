// Metrics: process-wide counters and gauges (relaxed atomics, one cache line per
// hot group), rendered in the Prometheus text exposition format 0.0.4. Parts that
// keep their own statistics (the cache, the coalescer) register a collector that
// appends their families when /metrics is scraped.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace hlscache {

using Counter = std::atomic<std::uint64_t>;

enum class CacheResult : std::uint8_t { none, hit, miss, coalesced, stale, count };
const char* to_string(CacheResult r) noexcept;

// Histogram: fixed ascending upper bounds (+Inf implied), one relaxed atomic per
// bucket plus an atomic sum; observe() is lock-free (a binary search and two
// atomic adds). Rendered as cumulative `_bucket{le=".."}`, `_sum` and `_count`
// (the count is the +Inf bucket, so a scrape is always self-consistent).
// For per-host families keep one Histogram per label set (e.g. in a map built at
// start) and call render() for each under one prom_family(name, "histogram", ...).
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  Histogram(std::initializer_list<double> upper_bounds) : Histogram(std::vector<double>(upper_bounds)) {}
  void observe(double value) noexcept;
  // Samples only (no HELP/TYPE); `labels` without braces, may be empty.
  void render(std::string& out, const char* name, const std::string& labels = {}) const;
  std::uint64_t count() const noexcept;
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }
  const std::vector<double>& bounds() const noexcept { return bounds_; }

  // Common bucket sets: latency in seconds (1 ms .. 30 s), small counts (0 .. 10'000).
  static std::vector<double> latency_seconds_buckets();
  static std::vector<double> count_buckets();

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1 (last: +Inf), not cumulative
  std::atomic<double> sum_{0};
};

// Status codes counted one by one (others fall into "other" of their class).
inline constexpr int kCountedStatuses[] = {200, 204, 206, 304, 400, 401, 403, 404, 405, 408, 409, 413, 414,
                                           416, 429, 431, 500, 501, 502, 503, 504, 505};
inline constexpr std::size_t kStatusSlots = std::size(kCountedStatuses) + 1;  // + other

struct Metrics {
  alignas(64) Counter connections_accepted{0};
  Counter connections_refused{0};  // over limits.max_connections
  Counter connections_shed{0};     // accepted while admission control sheds (load.admit_max_predicted_rps)
  Counter requests_shed{0};        // requests on such connections answered 503 (probes are served)
  Counter requests_drained{0};     // requests answered 503 because the node is draining (probes are served)
  std::atomic<std::int64_t> connections_active{0};
  // By protocol ("http1" now; h2/TLS sessions add theirs): accepted and open.
  enum class Protocol : std::uint8_t { http1, http2, count };
  static const char* protocol_name(Protocol p) noexcept;
  std::array<Counter, static_cast<std::size_t>(Protocol::count)> connections_by_protocol{};
  std::array<std::atomic<std::int64_t>, static_cast<std::size_t>(Protocol::count)> active_by_protocol{};
  Counter connections_tls{0};        // TLS handshakes completed
  Counter tls_handshake_failures{0};

  alignas(64) Counter h2_streams{0};       // HTTP/2 requests (streams) answered or refused
  Counter h2_resets_received{0};           // RST_STREAM frames from clients
  Counter h2_goaways_sent{0};
  Counter h2_protocol_errors{0};           // connections ended by a malformed frame or a protection limit

  alignas(64) std::array<Counter, 6> requests_by_class{};  // index = status / 100 (0 unused)
  std::array<Counter, static_cast<std::size_t>(CacheResult::count)> requests_by_cache{};
  Counter bytes_out{0};
  Counter bytes_sendfile{0};  // of those, sent with sendfile(2) from the page store (cache.sendfile)
  Counter bad_requests{0};  // parse errors and limit violations answered 4xx
  // Responses by exact status (kCountedStatuses, then other) x cache result, and bytes by cache result.
  std::array<Counter, kStatusSlots * static_cast<std::size_t>(CacheResult::count)> responses{};
  std::array<Counter, static_cast<std::size_t>(CacheResult::count)> bytes_by_cache{};

  alignas(64) Counter upstream_requests{0};
  Counter upstream_errors{0};
  Counter upstream_bytes{0};
  Counter upstream_connects{0};

  void count_response(int status, CacheResult result, std::uint64_t bytes) {
    auto cls = static_cast<std::size_t>(status / 100);
    if (cls < requests_by_class.size()) requests_by_class[cls].fetch_add(1, std::memory_order_relaxed);
    const auto r = static_cast<std::size_t>(result);
    requests_by_cache[r].fetch_add(1, std::memory_order_relaxed);
    responses[status_slot(status) * static_cast<std::size_t>(CacheResult::count) + r].fetch_add(
        1, std::memory_order_relaxed);
    bytes_out.fetch_add(bytes, std::memory_order_relaxed);
    bytes_by_cache[r].fetch_add(bytes, std::memory_order_relaxed);
  }
  static std::size_t status_slot(int status) noexcept {
    for (std::size_t i = 0; i < std::size(kCountedStatuses); ++i)
      if (kCountedStatuses[i] == status) return i;
    return std::size(kCountedStatuses);
  }
  // Every request answered, any status.
  std::uint64_t requests_total() const noexcept {
    std::uint64_t n = 0;
    for (const auto& c : requests_by_class) n += c.load(std::memory_order_relaxed);
    return n;
  }
  // What the load estimator samples: requests answered less the 503s given instead of
  // serving (admission control, drain). Refusals are not load: counting them made a
  // refusing node see its own refusals, and the retries they provoke, as demand.
  std::uint64_t requests_served() const noexcept {
    const std::uint64_t not_served =
        requests_shed.load(std::memory_order_relaxed) + requests_drained.load(std::memory_order_relaxed);
    const std::uint64_t all = requests_total();
    return all > not_served ? all - not_served : 0;
  }

  using Collector = std::function<void(std::string& out)>;
  void add_collector(Collector c);
  std::string render() const;  // Prometheus text format 0.0.4

 private:
  mutable std::mutex collectors_mutex_;
  std::vector<Collector> collectors_;
};

// Counts a connection under the protocol it turned out to speak, for as long as it lives.
class ProtocolScope {
 public:
  ProtocolScope(Metrics& m, Metrics::Protocol p) : m_(m), i_(static_cast<std::size_t>(p)) {
    m_.connections_by_protocol[i_].fetch_add(1, std::memory_order_relaxed);
    m_.active_by_protocol[i_].fetch_add(1, std::memory_order_relaxed);
  }
  ~ProtocolScope() { m_.active_by_protocol[i_].fetch_sub(1, std::memory_order_relaxed); }
  ProtocolScope(const ProtocolScope&) = delete;
  ProtocolScope& operator=(const ProtocolScope&) = delete;

 private:
  Metrics& m_;
  std::size_t i_;
};

// Helpers for collectors: one family header + samples.
void prom_family(std::string& out, const char* name, const char* type, const char* help);
void prom_sample(std::string& out, const char* name, const std::string& labels, double value);

}  // namespace hlscache
