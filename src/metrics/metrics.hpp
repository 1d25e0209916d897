// Metrics: process-wide counters and gauges (relaxed atomics, one cache line per
// hot group), rendered in the Prometheus text exposition format 0.0.4. Parts that
// keep their own statistics (the cache, the coalescer) register a collector that
// appends their families when /metrics is scraped.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace hlscache {

using Counter = std::atomic<std::uint64_t>;

enum class CacheResult : std::uint8_t { none, hit, miss, coalesced, stale, expired_miss, count };
const char* to_string(CacheResult r) noexcept;

struct Metrics {
  alignas(64) Counter connections_accepted{0};
  Counter connections_refused{0};  // over limits.max_connections
  std::atomic<std::int64_t> connections_active{0};
  Counter connections_h1{0};         // connections that spoke HTTP/1.x (clear or TLS)
  Counter connections_h2{0};         // connections that spoke HTTP/2 (h2c or h2 over TLS)
  Counter connections_tls{0};        // TLS handshakes completed
  Counter tls_handshake_failures{0};

  alignas(64) Counter h2_streams{0};       // HTTP/2 requests (streams) answered or refused
  Counter h2_resets_received{0};           // RST_STREAM frames from clients
  Counter h2_goaways_sent{0};
  Counter h2_protocol_errors{0};           // connections ended by a malformed frame or a protection limit

  alignas(64) std::array<Counter, 6> requests_by_class{};  // index = status / 100 (0 unused)
  std::array<Counter, static_cast<std::size_t>(CacheResult::count)> requests_by_cache{};
  Counter bytes_out{0};
  Counter bad_requests{0};  // parse errors and limit violations answered 4xx

  alignas(64) Counter upstream_requests{0};
  Counter upstream_errors{0};
  Counter upstream_bytes{0};
  Counter upstream_connects{0};

  void count_response(int status, CacheResult result, std::uint64_t bytes) {
    auto cls = static_cast<std::size_t>(status / 100);
    if (cls < requests_by_class.size()) requests_by_class[cls].fetch_add(1, std::memory_order_relaxed);
    requests_by_cache[static_cast<std::size_t>(result)].fetch_add(1, std::memory_order_relaxed);
    bytes_out.fetch_add(bytes, std::memory_order_relaxed);
  }

  using Collector = std::function<void(std::string& out)>;
  void add_collector(Collector c);
  std::string render() const;  // Prometheus text format 0.0.4

 private:
  mutable std::mutex collectors_mutex_;
  std::vector<Collector> collectors_;
};

// Helpers for collectors: one family header + samples.
void prom_family(std::string& out, const char* name, const char* type, const char* help);
void prom_sample(std::string& out, const char* name, const std::string& labels, double value);

}  // namespace hlscache
