// What kind of media an answer is — a playlist, a segment, something else — from
// its path and Content-Type, and the two facts of a playlist's text the cache needs
// (its target duration, whether it ended): the freshness heuristics and the gzip copy
// of playlists go by them.
#pragma once

#include <optional>
#include <string_view>

namespace hlscache {

enum class MediaKind { segment, playlist, other };
MediaKind media_kind(std::string_view path, std::string_view content_type);

// #EXT-X-TARGETDURATION in seconds, if the text has one.
std::optional<double> playlist_target_duration(std::string_view playlist);
bool playlist_has_endlist(std::string_view playlist);

}  // namespace hlscache
