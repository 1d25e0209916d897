// The restart watch. An upstream that restarts a live stream often starts its names
// over (media sequence 0, seg_0.ts, ...), and a cache in front would then answer the
// new run's names with the old run's bytes for as long as those stay fresh — a frozen
// player, the most common live-CDN complaint. So before an answer is stored it is
// compared with the copy it replaces:
// - a media playlist whose media sequence or discontinuity sequence is lower than the
//   stored one's, or whose first PROGRAM-DATE-TIME dates a segment at or after the
//   stored one's first dated segment more than a second earlier;
// - a segment (200) whose ETag, or else Last-Modified, or else length differs from the
//   stored 200 under the same name;
// means the stream restarted: everything cached under the stream's directory belongs
// to the old run and is purged (counted: hlscache_stream_restarts_total), so the next
// request for any of its names is a miss.
#pragma once

#include <string>
#include <string_view>

#include "cache/cache.hpp"
#include "cache/media.hpp"
#include "cache/object.hpp"

namespace hlscache {

// Why `fresh` says its stream restarted against `previous` (the copy stored under the
// same key now), or empty. The texts are the playlists' bodies (empty for segments).
std::string restart_reason(MediaKind kind, const Object& previous, std::string_view previous_text,
                           const Object& fresh, std::string_view fresh_text);

// The stream a cache key belongs to: its directory ("/live/a/" of "/live/a/seg_1.ts?x").
std::string_view stream_prefix(std::string_view key);

// restart_reason() against what `cache` holds under `store_key`; on a restart, purges
// the key's stream and returns true.
bool purge_if_restarted(Cache& cache, std::string_view store_key, MediaKind kind, const Object& fresh,
                        std::string_view fresh_text);

}  // namespace hlscache
