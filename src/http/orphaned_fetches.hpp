// OrphanedFetches: one HTTP/2 connection's upstream fetches that nobody waits for —
// led by streams the client reset (or that closed before their response finished)
// and still running. Without a bound, HEADERS + RST_STREAM for new paths turns each
// stream into a free origin request (a reset flood from many connections, each under
// the rapid-reset limit, amplified thousands of times). While `bound` of them run,
// the connection's new streams may not lead fetches (RequestContext::may_lead_fetch
// false: the cache handler answers 503 instead of going upstream; hits still served).
// A fetch counts while its weak reference has not expired (the cache may keep the
// object a moment longer: counted as running until then). The list holds at most
// bound + max_concurrent_streams entries (every stream that may have led a fetch
// before the bound was reached) and drops expired ones whenever it is looked at.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <vector>

namespace hlscache {

class OrphanedFetches {
 public:
  OrphanedFetches(std::size_t bound, std::size_t max_concurrent_streams)
      : bound_(bound), capacity_(bound + max_concurrent_streams) {}

  // A stream ended before its response did: remember the fetch it led, if one runs.
  void add(const std::weak_ptr<const void>& fetch) {
    if (fetch.expired()) return;
    prune();
    if (fetches_.size() >= capacity_) return;  // only reachable past the bound: already refusing
    fetches_.push_back(fetch);
  }

  // Whether a new stream may lead an upstream fetch.
  bool may_lead() {
    prune();
    return fetches_.size() < bound_;
  }

  std::size_t running() {
    prune();
    return fetches_.size();
  }

 private:
  void prune() {
    fetches_.erase(std::remove_if(fetches_.begin(), fetches_.end(), [](const auto& w) { return w.expired(); }),
                   fetches_.end());
  }

  std::size_t bound_, capacity_;
  std::vector<std::weak_ptr<const void>> fetches_;
};

}  // namespace hlscache
