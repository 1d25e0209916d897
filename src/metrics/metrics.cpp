#include "metrics/metrics.hpp"

#include <fmt/format.h>

namespace hlscache {

const char* to_string(CacheResult r) noexcept {
  switch (r) {
    case CacheResult::none: return "NONE";
    case CacheResult::hit: return "HIT";
    case CacheResult::miss: return "MISS";
    case CacheResult::coalesced: return "COALESCED";
    case CacheResult::stale: return "STALE";
    case CacheResult::expired_miss: return "EXPIRED";
    case CacheResult::count: break;
  }
  return "NONE";
}

void prom_family(std::string& out, const char* name, const char* type, const char* help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void prom_sample(std::string& out, const char* name, const std::string& labels, double value) {
  if (labels.empty())
    fmt::format_to(std::back_inserter(out), "{} {}\n", name, value);
  else
    fmt::format_to(std::back_inserter(out), "{}{{{}}} {}\n", name, labels, value);
}

void Metrics::add_collector(Collector c) {
  std::lock_guard lock(collectors_mutex_);
  collectors_.push_back(std::move(c));
}

std::string Metrics::render() const {
  std::string out;
  out.reserve(4096);
  auto load = [](const Counter& c) { return static_cast<double>(c.load(std::memory_order_relaxed)); };

  prom_family(out, "hlscache_connections_accepted_total", "counter", "Client connections accepted.");
  prom_sample(out, "hlscache_connections_accepted_total", "", load(connections_accepted));
  prom_family(out, "hlscache_connections_refused_total", "counter",
              "Client connections refused because limits.max_connections was reached.");
  prom_sample(out, "hlscache_connections_refused_total", "", load(connections_refused));
  prom_family(out, "hlscache_connections_active", "gauge", "Client connections open now.");
  prom_sample(out, "hlscache_connections_active", "", static_cast<double>(connections_active.load()));

  prom_family(out, "hlscache_connections_by_protocol_total", "counter",
              "Client connections by the HTTP version they spoke (h1 = HTTP/1.x, h2 = HTTP/2).");
  prom_sample(out, "hlscache_connections_by_protocol_total", "protocol=\"h1\"", load(connections_h1));
  prom_sample(out, "hlscache_connections_by_protocol_total", "protocol=\"h2\"", load(connections_h2));
  prom_family(out, "hlscache_tls_connections_total", "counter", "TLS handshakes completed.");
  prom_sample(out, "hlscache_tls_connections_total", "", load(connections_tls));
  prom_family(out, "hlscache_tls_handshake_failures_total", "counter",
              "TLS handshakes that failed (no common protocol or cipher, bad client hello, timeout).");
  prom_sample(out, "hlscache_tls_handshake_failures_total", "", load(tls_handshake_failures));
  prom_family(out, "hlscache_h2_streams_total", "counter", "HTTP/2 streams (requests) received.");
  prom_sample(out, "hlscache_h2_streams_total", "", load(h2_streams));
  prom_family(out, "hlscache_h2_resets_received_total", "counter", "HTTP/2 RST_STREAM frames received from clients.");
  prom_sample(out, "hlscache_h2_resets_received_total", "", load(h2_resets_received));
  prom_family(out, "hlscache_h2_goaways_sent_total", "counter", "HTTP/2 GOAWAY frames sent.");
  prom_sample(out, "hlscache_h2_goaways_sent_total", "", load(h2_goaways_sent));
  prom_family(out, "hlscache_h2_protocol_errors_total", "counter",
              "HTTP/2 connections ended by a protocol error or a protection limit (rapid reset, CONTINUATION flood).");
  prom_sample(out, "hlscache_h2_protocol_errors_total", "", load(h2_protocol_errors));

  prom_family(out, "hlscache_requests_total", "counter", "Responses sent, by status class.");
  for (std::size_t c = 1; c < requests_by_class.size(); ++c)
    prom_sample(out, "hlscache_requests_total", fmt::format("code=\"{}xx\"", c), load(requests_by_class[c]));
  prom_family(out, "hlscache_requests_by_cache_total", "counter", "Responses sent, by what the cache did.");
  for (std::size_t i = 0; i < requests_by_cache.size(); ++i)
    prom_sample(out, "hlscache_requests_by_cache_total",
                fmt::format("cache=\"{}\"", to_string(static_cast<CacheResult>(i))), load(requests_by_cache[i]));
  prom_family(out, "hlscache_response_bytes_total", "counter", "Response body bytes sent to clients.");
  prom_sample(out, "hlscache_response_bytes_total", "", load(bytes_out));
  prom_family(out, "hlscache_bad_requests_total", "counter", "Malformed or over-limit requests answered 4xx.");
  prom_sample(out, "hlscache_bad_requests_total", "", load(bad_requests));

  prom_family(out, "hlscache_upstream_requests_total", "counter", "Requests sent upstream.");
  prom_sample(out, "hlscache_upstream_requests_total", "", load(upstream_requests));
  prom_family(out, "hlscache_upstream_errors_total", "counter", "Upstream fetches that failed.");
  prom_sample(out, "hlscache_upstream_errors_total", "", load(upstream_errors));
  prom_family(out, "hlscache_upstream_bytes_total", "counter", "Body bytes received from upstream.");
  prom_sample(out, "hlscache_upstream_bytes_total", "", load(upstream_bytes));
  prom_family(out, "hlscache_upstream_connects_total", "counter", "New upstream connections opened.");
  prom_sample(out, "hlscache_upstream_connects_total", "", load(upstream_connects));

  std::lock_guard lock(collectors_mutex_);
  for (const auto& c : collectors_) c(out);
  return out;
}

}  // namespace hlscache
