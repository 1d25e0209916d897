// Client-side HLS playlist parser (RFC 8216), what a player needs and no more:
// a master playlist's variant streams (#EXT-X-STREAM-INF + URI) and a media
// playlist's target duration, media sequence, segments (EXTINF, DISCONTINUITY) and
// ENDLIST. Text that is not a playlist, or lacks a required tag, is an error value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace hlsload {

struct VariantStream {
  std::uint64_t bandwidth = 0;  // BANDWIDTH, bits/s
  int width = 0, height = 0;    // RESOLUTION, 0 if absent
  std::string uri;              // as written (relative to the master playlist)
};

struct MasterPlaylist {
  std::vector<VariantStream> variants;
};

struct MediaSegment {
  std::uint64_t sequence = 0;   // media sequence number (§6.3.2: MEDIA-SEQUENCE + index)
  double duration = 0;          // EXTINF, seconds
  bool discontinuity = false;   // #EXT-X-DISCONTINUITY before it
  std::string uri;
};

struct MediaPlaylist {
  double target_duration = 0;   // seconds
  std::uint64_t media_sequence = 0;
  bool ended = false;           // #EXT-X-ENDLIST
  std::vector<MediaSegment> segments;

  std::uint64_t next_sequence() const { return media_sequence + segments.size(); }
  double total_duration() const;
  // Where a player joining a live stream begins (§6.3.3): the last segment that starts at
  // least `offset_segments` target durations before the end (0: the last segment). Index
  // into segments; 0 if the playlist is shorter than that. Requires a non-empty playlist.
  std::size_t live_start_index(double offset_target_durations) const;
};

struct ParseError {
  std::string what;
};

// A master playlist, a media playlist, or why the text is neither.
using Playlist = std::variant<MasterPlaylist, MediaPlaylist, ParseError>;
Playlist parse_playlist(std::string_view text);

// Resolves a playlist URI against the path of the playlist it came from (RFC 3986 §5.2,
// path-only: "seg_1.ts" against "/live/a/index.m3u8" is "/live/a/seg_1.ts"; an
// absolute path stays; of an absolute http:// URL the path is taken — hlsload talks
// only to the host it was given).
std::string resolve_path(std::string_view base_path, std::string_view uri);

}  // namespace hlsload
