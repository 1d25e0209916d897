#include "metrics/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/spawn.hpp"

namespace hlscache {

const char* to_string(CacheResult r) noexcept {
  switch (r) {
    case CacheResult::none: return "NONE";
    case CacheResult::hit: return "HIT";
    case CacheResult::miss: return "MISS";
    case CacheResult::coalesced: return "COALESCED";
    case CacheResult::stale: return "STALE";
    case CacheResult::count: break;
  }
  return "NONE";
}

const char* Metrics::protocol_name(Protocol p) noexcept {
  switch (p) {
    case Protocol::http1: return "http1";
    case Protocol::http2: return "http2";
    case Protocol::count: break;
  }
  return "other";
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double value) noexcept {
  // le is inclusive: the first bound >= value.
  const auto i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

std::uint64_t Histogram::count() const noexcept {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) n += buckets_[i].load(std::memory_order_relaxed);
  return n;
}

void Histogram::render(std::string& out, const char* name, const std::string& labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    const std::string le = i < bounds_.size() ? fmt::format("{}", bounds_[i]) : "+Inf";
    fmt::format_to(std::back_inserter(out), "{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, le, cumulative);
  }
  if (labels.empty()) {
    fmt::format_to(std::back_inserter(out), "{}_sum {}\n{}_count {}\n", name, sum(), name, cumulative);
  } else {
    fmt::format_to(std::back_inserter(out), "{}_sum{{{}}} {}\n{}_count{{{}}} {}\n", name, labels, sum(), name, labels,
                   cumulative);
  }
}

std::vector<double> Histogram::latency_seconds_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

std::vector<double> Histogram::count_buckets() { return {0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000}; }

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
  // A family with one unlabelled sample.
  auto single = [&out](const char* name, const char* type, const char* help, double value) {
    prom_family(out, name, type, help);
    prom_sample(out, name, "", value);
  };

  single("hlscache_connections_accepted_total", "counter", "Client connections accepted.", load(connections_accepted));
  single("hlscache_connections_refused_total", "counter", "Client connections refused because limits.max_connections was reached.", load(connections_refused));
  single("hlscache_connections_shed_total", "counter", "New connections accepted while admission control sheds (predicted load above load.admit_max_predicted_rps): probes on them are answered, other requests get 503.", load(connections_shed));
  single("hlscache_requests_shed_total", "counter", "Requests answered 503 + Retry-After by admission control (not counted as load).", load(requests_shed));
  single("hlscache_requests_drained_total", "counter", "Requests other than probes answered 503 + Retry-After while draining (not counted as load).", load(requests_drained));
  single("hlscache_connections_active", "gauge", "Client connections open now.", static_cast<double>(connections_active.load()));
  prom_family(out, "hlscache_connections_by_protocol_total", "counter", "Client connections served, by protocol.");
  for (std::size_t p = 0; p < connections_by_protocol.size(); ++p)
    prom_sample(out, "hlscache_connections_by_protocol_total",
                fmt::format("protocol=\"{}\"", protocol_name(static_cast<Protocol>(p))), load(connections_by_protocol[p]));
  prom_family(out, "hlscache_connections_active_by_protocol", "gauge", "Client connections open now, by protocol.");
  for (std::size_t p = 0; p < active_by_protocol.size(); ++p)
    prom_sample(out, "hlscache_connections_active_by_protocol",
                fmt::format("protocol=\"{}\"", protocol_name(static_cast<Protocol>(p))),
                static_cast<double>(active_by_protocol[p].load(std::memory_order_relaxed)));

  single("hlscache_tls_connections_total", "counter", "TLS handshakes completed.", load(connections_tls));
  single("hlscache_tls_handshake_failures_total", "counter", "TLS handshakes that failed (no common protocol or cipher, bad client hello, timeout).", load(tls_handshake_failures));
  single("hlscache_h2_streams_total", "counter", "HTTP/2 streams (requests) received.", load(h2_streams));
  single("hlscache_h2_resets_received_total", "counter", "HTTP/2 RST_STREAM frames received from clients.", load(h2_resets_received));
  single("hlscache_h2_goaways_sent_total", "counter", "HTTP/2 GOAWAY frames sent.", load(h2_goaways_sent));
  single("hlscache_h2_protocol_errors_total", "counter", "HTTP/2 connections ended by a protocol error or a protection limit (rapid reset, CONTINUATION flood).", load(h2_protocol_errors));

  prom_family(out, "hlscache_requests_total", "counter", "Responses sent, by status class.");
  for (std::size_t c = 1; c < requests_by_class.size(); ++c)
    prom_sample(out, "hlscache_requests_total", fmt::format("code=\"{}xx\"", c), load(requests_by_class[c]));
  prom_family(out, "hlscache_requests_by_cache_total", "counter", "Responses sent, by what the cache did.");
  for (std::size_t i = 0; i < requests_by_cache.size(); ++i)
    prom_sample(out, "hlscache_requests_by_cache_total",
                fmt::format("cache=\"{}\"", to_string(static_cast<CacheResult>(i))), load(requests_by_cache[i]));
  // The cache's own view of the same counts: every request the cache answered is
  // exactly one of these four (docs/operations.md: hit ratio).
  auto by_cache = [&](const char* name, const char* help, CacheResult r) {
    single(name, "counter", help, load(requests_by_cache[static_cast<std::size_t>(r)]));
  };
  by_cache("hlscache_cache_hits_total", "Requests answered from a fresh stored object.", CacheResult::hit);
  by_cache("hlscache_cache_misses_total", "Requests that started an upstream fetch (leaders, passes, private fetches).", CacheResult::miss);
  by_cache("hlscache_cache_coalesced_total", "Requests that joined a fetch another request started.", CacheResult::coalesced);
  by_cache("hlscache_cache_stale_hits_total", "Requests answered from a stale object within grace.", CacheResult::stale);
  single("hlscache_internal_errors_total", "counter", "Exceptions that escaped a task (logged; should stay 0).",
         static_cast<double>(internal_errors()));
  prom_family(out, "hlscache_responses_total", "counter",
              "Responses sent, by status code and cache result (code=\"other\": a status not listed on its own).");
  constexpr auto kResults = static_cast<std::size_t>(CacheResult::count);
  for (std::size_t sc = 0; sc < kStatusSlots; ++sc)
    for (std::size_t r = 0; r < kResults; ++r) {
      const std::uint64_t v = responses[sc * kResults + r].load(std::memory_order_relaxed);
      if (v == 0 && !(sc == 0 && r == static_cast<std::size_t>(CacheResult::hit))) continue;  // sparse; 200 HIT always
      const std::string code = sc < std::size(kCountedStatuses) ? std::to_string(kCountedStatuses[sc]) : "other";
      prom_sample(out, "hlscache_responses_total",
                  fmt::format("code=\"{}\",cache=\"{}\"", code, to_string(static_cast<CacheResult>(r))),
                  static_cast<double>(v));
    }
  single("hlscache_response_bytes_total", "counter", "Response body bytes sent to clients.", load(bytes_out));
  single("hlscache_sendfile_bytes_total", "counter",
         "Response bytes sent with sendfile(2) from the page store (cache.sendfile), not copied into the socket.",
         load(bytes_sendfile));
  prom_family(out, "hlscache_response_bytes_by_cache_total", "counter", "Response body bytes sent, by cache result.");
  for (std::size_t r = 0; r < kResults; ++r)
    prom_sample(out, "hlscache_response_bytes_by_cache_total",
                fmt::format("cache=\"{}\"", to_string(static_cast<CacheResult>(r))), load(bytes_by_cache[r]));
  single("hlscache_bad_requests_total", "counter", "Malformed or over-limit requests answered 4xx.", load(bad_requests));

  single("hlscache_upstream_requests_total", "counter", "Requests sent upstream.", load(upstream_requests));
  single("hlscache_upstream_errors_total", "counter", "Upstream fetches that failed.", load(upstream_errors));
  single("hlscache_upstream_bytes_total", "counter", "Body bytes received from upstream.", load(upstream_bytes));
  single("hlscache_upstream_connects_total", "counter", "New upstream connections opened.", load(upstream_connects));

  std::lock_guard lock(collectors_mutex_);
  for (const auto& c : collectors_) c(out);
  return out;
}

}  // namespace hlscache
