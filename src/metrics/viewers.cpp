#include "metrics/viewers.hpp"

#include <algorithm>

namespace hlscache {

void ViewerTracker::prune(Stream& s, TimePoint now) {
  std::erase_if(s.last_seen, [&](const auto& kv) { return now - kv.second > s.window; });
}

void ViewerTracker::note(std::string_view stream, const std::string& address, TimePoint now) {
  std::lock_guard lock(mu_);
  auto it = streams_.find(std::string(stream));
  if (it == streams_.end()) {
    if (streams_.size() >= 4096) return;  // stream names come from configured streams; a bound anyway
    it = streams_.emplace(std::string(stream), Stream{}).first;
  }
  Stream& s = it->second;
  if (auto v = s.last_seen.find(address); v != s.last_seen.end()) {
    v->second = now;
    return;
  }
  if (s.last_seen.size() >= max_) prune(s, now);
  if (s.last_seen.size() >= max_) {
    s.saturated = true;
    return;
  }
  s.last_seen.emplace(address, now);
}

ViewerTracker::Count ViewerTracker::count(std::string_view stream, TimePoint now, Duration window) {
  std::lock_guard lock(mu_);
  auto it = streams_.find(std::string(stream));
  if (it == streams_.end()) return {};
  Stream& s = it->second;
  s.window = window;
  prune(s, now);
  Count c{s.last_seen.size(), s.saturated};
  s.saturated = false;
  return c;
}

}  // namespace hlscache
