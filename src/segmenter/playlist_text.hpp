// Media playlist text (RFC 8216 §4.3): the pure rendering of one live window into
// the exact lines a player reads, plus the small formatting rules shared with the
// window (EXTINF with 3 decimals and its rounding, PROGRAM-DATE-TIME in UTC with
// milliseconds). No state, no locking: RenditionWindow calls it on each update.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace hlscache {

struct PlaylistEntry {
  std::uint64_t sequence = 0;
  double duration = 0.0;  // seconds
  bool discontinuity = false;
  WallTime program_date_time{};
};

struct MediaPlaylistView {
  int version = 3;  // floating-point EXTINF needs 3; nothing here needs more
  bool independent_segments = true;
  int target_duration = 0;
  std::uint64_t media_sequence = 0;
  std::optional<std::uint64_t> discontinuity_sequence;  // printed when set
  bool ended = false;
  std::string_view uri_prefix = "seg_";  // URI = prefix + sequence + ".ts"
  std::span<const PlaylistEntry> entries;
};

std::string render_media_playlist(const MediaPlaylistView& view);

// "2.000": the EXTINF value as written.
std::string format_extinf(double seconds);
// round(EXTINF) as a player computes it from the written value (half away from zero).
long long rounded_extinf(double seconds);
// "2024-05-01T12:00:00.040Z"
std::string format_program_date_time(WallTime t);

}  // namespace hlscache
