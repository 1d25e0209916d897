// UpstreamHost state: one host of one upstream group — its health (consecutive
// failures, ejection with a doubling back-off) and its counters, shared by every
// thread (relaxed atomics) and kept across ring rebuilds (OriginTier keys it by
// group and address).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "metrics/metrics.hpp"

namespace hlscache {

struct HostState {
  HostState(std::string group, HostPort address, std::uint64_t tier);  // tier: its instance number
  const std::string group;
  const HostPort address;
  const std::string id;        // "host:port"
  const std::string pool_key;  // this tier's idle connections to the host

  std::atomic<std::uint32_t> consecutive_failures{0};
  std::atomic<std::uint32_t> ejection_streak{0};  // ejections since the last success
  std::atomic<std::int64_t> ejected_until_ns{0};  // steady clock; 0: not ejected
  Counter requests{0}, failures{0}, ejections{0}, checks{0}, check_failures{0};
  Histogram first_byte{Histogram::latency_seconds_buckets()};  // request sent -> response head

  bool ejected(TimePoint now) const;
  // A success clears the failure count, and an ejection that has run out.
  void record_success();
  // Counts a failure; the fail_threshold-th in a row ejects the host for
  // eject_base x 2^(ejections since the last success), at most eject_max.
  void record_failure(const HealthConfig& cfg, const std::string& why);
  // An active check passed: back on the ring at once.
  void mark_checked_healthy();
  // The host said it is going away (a draining or shedding hlscache: 503 + Retry-After +
  // Connection: close): ejected for `period` at once, without counting a failure or
  // lengthening the failure back-off. Returns false if it was already ejected for longer.
  bool eject_for(Duration period, const std::string& why);
};
using HostStatePtr = std::shared_ptr<HostState>;

}  // namespace hlscache
