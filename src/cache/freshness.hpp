// Freshness: how long a fetched response may be served from cache (RFC 9111 where
// it applies, live-HLS defaults where the upstream says nothing), and the cache
// key (path + query minus ignored parameters such as viewer auth tokens).
// Order: no-store/private/no-cache/Vary -> not stored; 404/410 -> negative TTL;
// s-maxage > max-age > Expires-Date > configured path rules > defaults:
// segments long, live playlists a fraction of #EXT-X-TARGETDURATION, ENDLIST
// playlists like segments. The upstream's Age is subtracted.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache/object.hpp"
#include "config/config.hpp"

namespace hlscache {

struct FreshnessDecision {
  bool store = false;
  Duration ttl{0};    // fresh for this long from now
  Duration grace{0};  // then servable stale for this long
  std::chrono::seconds initial_age{0};
  const char* reason = "";  // why (for debug logs and tests)
};

enum class MediaKind { segment, playlist, other };
MediaKind media_kind(std::string_view path, std::string_view content_type);

// #EXT-X-TARGETDURATION in seconds, if the text has one.
std::optional<double> playlist_target_duration(std::string_view playlist);
bool playlist_has_endlist(std::string_view playlist);

FreshnessDecision decide_freshness(int status, const std::vector<Header>& headers, std::string_view path,
                                   std::string_view body_for_playlists, const FreshnessConfig& cfg);

// Glob with '*' (any run of characters) over the whole string.
bool glob_match(std::string_view pattern, std::string_view text);

// path?query with the configured parameters removed (order of the rest kept).
std::string normalize_cache_key(std::string_view target, const std::vector<std::string>& ignore_params);

}  // namespace hlscache
