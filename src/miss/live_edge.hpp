// LiveEdges: where each live stream stands, as far as the cache can tell from the
// media playlists it receives — so that a miss on a segment ahead of the live edge
// (one the upstream does not have yet) is told apart from one on a segment it has or
// had. Such a request may be held upstream until the segment exists (the local role
// holds a request for the next segment up to 1.5 target durations), so it gets a
// first-byte wait that follows the stream's target duration, and a "not found" for it
// is true only until the segment can exist, so it is never kept.
//
// A 200 media playlist that has not ended is recorded under the directory its last
// segment URI resolves to: its target duration and the names of its first and last
// segments. A segment request in that directory is placed by its file name against the
// last segment's: the two must be the same but for one run of digits, the one that
// counts segments — with two or more segments listed, the run in which the first and
// the last name differ, by the number of segments between them; with one, the last run
// of digits before the extension. The request is that run's difference ahead of the
// last listed segment. Any other name (another naming scheme, a name that does not
// count segments, an absolute URI, a playlist seen more than three target durations
// ago) is not placed: the miss goes by the ordinary rules. docs/http-caching.md
// ("Ahead of the live edge") gives the rule and its bounds.
//
// Thread-safe (one mutex, held for a map lookup or update); bounded: kMaxDirectories
// directories, kMaxPerDirectory playlists in one directory (renditions side by side).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "core/clock.hpp"

namespace hlscache {

struct LiveEdgePosition {
  std::uint64_t ahead = 0;      // segments after the last one listed (1: the next)
  Duration target_duration{0};  // the stream's #EXT-X-TARGETDURATION
};

class LiveEdges {
 public:
  static constexpr std::size_t kMaxDirectories = 16384;
  static constexpr std::size_t kMaxPerDirectory = 8;

  // A complete 200 answer for the playlist under cache key `key`, received at `now`.
  // Not a media playlist: ignored; ended: its stream is forgotten.
  void playlist(std::string_view key, std::string_view text, TimePoint now);
  // Where the segment under cache key `key` stands, if it is ahead of its stream's live
  // edge; nullopt when it is listed, behind, or not placed by the rule above.
  std::optional<LiveEdgePosition> ahead(std::string_view key, TimePoint now) const;
  // An LL-HLS blocking reload (a query with _HLS_msn) of a media playlist whose answers
  // were recorded here: its stream's target duration. The upstream may hold it up to
  // three target durations (draft-pantos-hls-rfc8216bis §6.2.5.2); nullopt otherwise.
  std::optional<Duration> blocking_reload(std::string_view key) const;
  std::size_t streams() const;

 private:
  struct Stream {
    std::string playlist_key;  // its path: a blocking reload's answer records the same stream
    std::string first, last;  // segment file names
    std::uint64_t count = 0;
    Duration target_duration{0};
    TimePoint seen{};
  };
  void make_room_locked(TimePoint now);

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::vector<Stream>> by_directory_;
  std::size_t streams_ = 0;
};

// The naming rule alone (exposed for tests): how many segments after `last` the name
// `name` comes (negative: before it, 0: the same name), given the playlist's first
// segment name `first` and its segment count; nullopt when the names do not fit.
std::optional<std::int64_t> segments_after(std::string_view name, std::string_view last, std::string_view first,
                                           std::uint64_t count);

// The path a segment URI of the playlist at `playlist_path` names: an absolute path
// as written, a relative one resolved against the playlist's directory (dot segments
// removed, RFC 3986 §5.2); without its query. Nullopt for a URI with a scheme or an
// authority (another host's namespace) or one that climbs above the root.
std::optional<std::string> segment_path(std::string_view playlist_path, std::string_view uri);

// The first-byte wait of an upstream request for a segment ahead of the live edge: two
// target durations (the local role's hold of 1.5, and half of one for the tiers and the
// lag of the playlist we placed it by), at most timeouts.follower_wait (its waiters'
// bound) and kMaxHeldFirstByte, never less than timeouts.upstream_first_byte.
inline constexpr Duration kMaxHeldFirstByte = std::chrono::seconds(60);
Duration held_first_byte_wait(Duration target_duration, const TimeoutsConfig& timeouts);
// The same for a blocking playlist reload: 3.5 target durations (the upstream's hold of
// three, and half of one for the tiers between), within the same bounds.
Duration blocking_reload_wait(Duration target_duration, const TimeoutsConfig& timeouts);

}  // namespace hlscache
