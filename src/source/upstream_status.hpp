// UpstreamGroupStatus: what the status page shows of an edge's or origin's upstream
// tier — each group (its name, its DNS name if it has one, the route prefixes that
// send requests to it) and each member host with its health as the OriginTier knows
// it right now. A copy taken at one instant (OriginTier::status), plain values only,
// so the page never holds the tier's state.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hlscache {

struct UpstreamHostStatus {
  std::string address;  // "host:port", as /metrics labels it
  // "ejected": off the ring until `ejected_for_s` runs out (passive failures, failed
  //            checks, or the host's own 503 + Retry-After + Connection: close);
  // "down":    on the ring, but its last attempt or health check failed
  //            (consecutive_failures > 0, below health.fail_threshold);
  // "up":      otherwise (its last attempt or check succeeded, or none failed yet).
  std::string state;
  std::uint32_t consecutive_failures = 0;
  double ejected_for_s = 0;  // seconds of ejection left; 0 unless "ejected"
  std::uint64_t requests = 0, failures = 0, ejections = 0, checks = 0, check_failures = 0;
};

struct UpstreamGroupStatus {
  std::string name;
  std::string dns;                    // "name:port" for a DNS-resolved group, else empty
  std::vector<std::string> prefixes;  // routes sending requests to it (empty: none does)
  std::vector<UpstreamHostStatus> hosts;  // the ring's members now, in ring-member order
};

}  // namespace hlscache
