#include "segmenter/playlist_text.hpp"

#include <cmath>
#include <fmt/format.h>

namespace hlscache {

std::string format_extinf(double seconds) { return fmt::format("{:.3f}", seconds); }

long long rounded_extinf(double seconds) { return (std::llround(seconds * 1000.0) + 500) / 1000; }

std::string format_program_date_time(WallTime t) {
  using namespace std::chrono;
  const auto ms = time_point_cast<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day ymd{day};
  const hh_mm_ss<milliseconds> hms{ms - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), hms.hours().count(),
                     hms.minutes().count(), hms.seconds().count(), hms.subseconds().count());
}

std::string render_media_playlist(const MediaPlaylistView& v) {
  std::string out;
  out.reserve(160 + v.entries.size() * 96);
  auto line = [&out](std::string_view s) {
    out += s;
    out += '\n';
  };
  line("#EXTM3U");
  line(fmt::format("#EXT-X-VERSION:{}", v.version));
  if (v.independent_segments) line("#EXT-X-INDEPENDENT-SEGMENTS");
  line(fmt::format("#EXT-X-TARGETDURATION:{}", v.target_duration));
  line(fmt::format("#EXT-X-MEDIA-SEQUENCE:{}", v.media_sequence));
  if (v.discontinuity_sequence) line(fmt::format("#EXT-X-DISCONTINUITY-SEQUENCE:{}", *v.discontinuity_sequence));
  for (const PlaylistEntry& e : v.entries) {
    if (e.discontinuity) line("#EXT-X-DISCONTINUITY");
    line(fmt::format("#EXT-X-PROGRAM-DATE-TIME:{}", format_program_date_time(e.program_date_time)));
    line(fmt::format("#EXTINF:{},", format_extinf(e.duration)));
    line(fmt::format("{}{}.ts", v.uri_prefix, e.sequence));
  }
  if (v.ended) line("#EXT-X-ENDLIST");
  return out;
}

}  // namespace hlscache
