// Media playlist text (RFC 8216 §4.3, and the Low-Latency HLS tags of its second
// edition, draft-pantos-hls-rfc8216bis §4.4.3.7-8, §4.4.4.9, §4.4.5.2-3): the pure
// rendering of one live window into the exact lines a player reads, plus the small
// formatting rules shared with the window (EXTINF with 3 decimals and its rounding,
// PROGRAM-DATE-TIME in UTC with milliseconds). No state, no locking:
// RenditionWindow calls it on each update.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace hlscache {

// A partial segment (EXT-X-PART): the index-th part of its segment.
struct PartEntry {
  double duration = 0.0;  // seconds
  bool independent = false;  // starts with a keyframe: INDEPENDENT=YES
};

struct PlaylistEntry {
  std::uint64_t sequence = 0;
  double duration = 0.0;  // seconds
  bool discontinuity = false;
  WallTime program_date_time{};
  std::span<const PartEntry> parts;  // listed before the segment (only near the live edge)
  int map = -1;  // fMP4: the init segment it decodes with (EXT-X-MAP where it changes); -1: none
};

// The Low-Latency part of a playlist; absent for classic HLS.
struct LowLatencyView {
  double part_target = 0.0;     // EXT-X-PART-INF:PART-TARGET, seconds
  double part_hold_back = 0.0;  // EXT-X-SERVER-CONTROL:PART-HOLD-BACK (>= 3 x part_target)
  double can_skip_until = 0.0;  // CAN-SKIP-UNTIL; 0: no delta updates offered
  // The segment being cut: its parts so far (listed after the last whole segment,
  // with its PROGRAM-DATE-TIME when it has any), then the preload hint for the next.
  std::uint64_t open_sequence = 0;
  bool open_discontinuity = false;
  int open_map = -1;
  WallTime open_program_date_time{};
  std::span<const PartEntry> open_parts;
  std::size_t skipped_segments = 0;  // a delta update: the first n entries become EXT-X-SKIP
};

struct MediaPlaylistView {
  int version = 3;  // floating-point EXTINF needs 3; LL-HLS (EXT-X-MAP, EXT-X-SKIP) 9
  bool independent_segments = true;
  int target_duration = 0;
  std::uint64_t media_sequence = 0;
  std::optional<std::uint64_t> discontinuity_sequence;  // printed when set
  bool ended = false;
  // Segment URI = uri_prefix + sequence + uri_suffix; a part's = part_prefix +
  // sequence + "." + index + uri_suffix.
  std::string_view uri_prefix = "seg_";
  std::string_view uri_suffix = ".ts";
  std::string_view part_prefix;
  // fMP4: init segment k is map_prefix + k + ".mp4" (EXT-X-MAP before the first entry
  // and wherever the init segment changes).
  std::string_view map_prefix;
  std::span<const PlaylistEntry> entries;
  std::optional<LowLatencyView> low_latency;
};

std::string render_media_playlist(const MediaPlaylistView& view);

// The URI of segment `sequence`'s part `index` under view's names.
std::string part_uri(const MediaPlaylistView& view, std::uint64_t sequence, std::size_t index);
// The URI of init segment `index` under view's names.
std::string map_uri(const MediaPlaylistView& view, int index);
// "0.333": durations in EXT-X-PART, PART-INF and SERVER-CONTROL.
std::string format_seconds(double seconds);

// "2.000": the EXTINF value as written.
std::string format_extinf(double seconds);
// round(EXTINF) as a player computes it from the written value (half away from zero).
long long rounded_extinf(double seconds);
// "2024-05-01T12:00:00.040Z"
std::string format_program_date_time(WallTime t);

}  // namespace hlscache
