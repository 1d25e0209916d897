// ViewerTracker: how many viewers a live stream has, counted as distinct client
// addresses that fetched one of its playlists within a window (players reload the
// media playlist about once per target duration, so the role uses 2 x target
// duration). Playlist requests only — a few per viewer per target duration, far
// fewer than segment requests. Bounded: at most `max_per_stream` addresses per
// stream; at the bound entries past the window are pruned, and if it is still
// full a new address is not recorded (the count saturates, `saturated` says so).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.hpp"

namespace hlscache {

class ViewerTracker {
 public:
  explicit ViewerTracker(std::size_t max_per_stream = 100'000) : max_(max_per_stream) {}

  void note(std::string_view stream, const std::string& address, TimePoint now);

  struct Count {
    std::size_t viewers = 0;
    bool saturated = false;
  };
  // Distinct addresses seen within `window` before `now` (prunes older ones).
  Count count(std::string_view stream, TimePoint now, Duration window);

 private:
  struct Stream {
    std::unordered_map<std::string, TimePoint> last_seen;
    Duration window{std::chrono::seconds(60)};  // the last window asked for: what pruning keeps
    bool saturated = false;
  };
  static void prune(Stream& s, TimePoint now);

  std::mutex mu_;
  std::unordered_map<std::string, Stream> streams_;
  const std::size_t max_;
};

}  // namespace hlscache
