// What kind of media an answer is — a playlist, a segment, something else — from
// its path and Content-Type, and the facts of a playlist's text the cache needs: its
// target duration and whether it ended (the freshness heuristics and the gzip copy of
// playlists go by them), and where a media playlist stands (the restart watch and the
// live edge go by that).
#pragma once

#include <optional>
#include <string_view>

namespace hlscache {

enum class MediaKind { segment, playlist, other };
MediaKind media_kind(std::string_view path, std::string_view content_type);

// #EXT-X-TARGETDURATION in seconds, if the text has one.
std::optional<double> playlist_target_duration(std::string_view playlist);
bool playlist_has_endlist(std::string_view playlist);

// Where a media playlist stands: #EXT-X-MEDIA-SEQUENCE and #EXT-X-DISCONTINUITY-SEQUENCE
// (0 when absent, RFC 8216 §4.3.3.2/§4.3.3.3), the first #EXT-X-PROGRAM-DATE-TIME
// in milliseconds since the epoch with the media sequence number of the segment it
// dates, the segments it lists (how many, the first and the last URI as written) and
// whether it ended. Null for a text without #EXT-X-TARGETDURATION (a multivariant
// playlist, or not a playlist).
struct PlaylistPosition {
  std::uint64_t media_sequence = 0;
  std::uint64_t discontinuity_sequence = 0;
  std::optional<std::int64_t> first_pdt_ms;
  std::uint64_t first_pdt_sequence = 0;  // the segment first_pdt_ms dates
  std::optional<double> target_duration;  // seconds, if readable
  std::uint64_t segment_count = 0;
  std::string_view first_uri, last_uri;  // views into the text; empty without segments
  bool ended = false;                    // #EXT-X-ENDLIST
};
std::optional<PlaylistPosition> playlist_position(std::string_view playlist);

// An ISO 8601 date-time as PROGRAM-DATE-TIME carries it (YYYY-MM-DDThh:mm:ss[.fff]
// then Z or ±hh:mm / ±hhmm), in milliseconds since the epoch; null if malformed.
std::optional<std::int64_t> parse_program_date_time(std::string_view text);

}  // namespace hlscache
