// Playlist text from the network: the cache's own reads of a live playlist
// (playlist_target_duration, playlist_has_endlist in src/cache/media.hpp, which
// set a live playlist's TTL; playlist_position and the PROGRAM-DATE-TIME parser, which
// the restart watch compares) and hlsload's player-side parser and URI resolution
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
  if (const auto pos = hlscache::playlist_position(text)) {
    // The dated segment is one of the playlist's: never before its media sequence.
    if (pos->first_pdt_ms) FUZZ_CHECK(pos->first_pdt_sequence >= pos->media_sequence);
  }
  const std::string_view first_line = text.substr(0, text.find('\n'));
  if (const auto ms = hlscache::parse_program_date_time(first_line)) {
    // Years 0000-9999, offsets of at most 99:99: within those bounds in ms since the epoch.
    FUZZ_CHECK(*ms >= -62'167'219'200'000LL - 6'000 * 60'000LL && *ms <= 253'402'300'800'000LL + 6'000 * 60'000LL);
    FUZZ_CHECK(first_line.size() >= 20);  // at least "YYYY-MM-DDThh:mm:ssZ"
  }

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
