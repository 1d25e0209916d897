// Playlist text from the network: the cache's own reads of a live playlist
// (playlist_target_duration, playlist_has_endlist in src/cache/media.hpp, which
// set a live playlist's TTL) and hlsload's player-side parser and URI resolution
// (tools/hlsload/playlist.*). Input: the playlist text; its first line also serves as
// the base path for resolve_path. Invariants: a target duration is finite and positive;
// a media playlist's sequences are consecutive; live_start_index stays in range.
#include <cmath>
#include <string>

#include "cache/media.hpp"
#include "fuzz_support.hpp"
#include "hlsload/playlist.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (const auto td = hlscache::playlist_target_duration(text)) FUZZ_CHECK(std::isfinite(*td) && *td > 0);
  (void)hlscache::playlist_has_endlist(text);

  const std::string_view base = text.substr(0, text.find('\n'));
  const auto parsed = hlsload::parse_playlist(text);
  if (const auto* media = std::get_if<hlsload::MediaPlaylist>(&parsed)) {
    for (std::size_t i = 0; i < media->segments.size(); ++i) {
      FUZZ_CHECK(media->segments[i].sequence == media->media_sequence + i);
      (void)hlsload::resolve_path(base, media->segments[i].uri);
    }
    (void)media->total_duration();
    (void)media->next_sequence();
    if (!media->segments.empty()) {
      for (double offset : {0.0, 1.0, 3.0, 1e9}) FUZZ_CHECK(media->live_start_index(offset) < media->segments.size());
    }
  } else if (const auto* master = std::get_if<hlsload::MasterPlaylist>(&parsed)) {
    for (const auto& v : master->variants) {
      FUZZ_CHECK(v.width >= 0 && v.height >= 0);
      (void)hlsload::resolve_path(base, v.uri);
    }
  } else {
    FUZZ_CHECK(!std::get<hlsload::ParseError>(parsed).what.empty());
  }
  return 0;
}
