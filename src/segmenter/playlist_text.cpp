#include "segmenter/playlist_text.hpp"

#include <algorithm>
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

std::string format_seconds(double seconds) { return fmt::format("{:.3f}", seconds); }

std::string map_uri(const MediaPlaylistView& v, int index) { return fmt::format("{}{}.mp4", v.map_prefix, index); }

std::string part_uri(const MediaPlaylistView& v, std::uint64_t sequence, std::size_t index) {
  return fmt::format("{}{}.{}{}", v.part_prefix, sequence, index, v.uri_suffix);
}

namespace {

void render_parts(std::string& out, const MediaPlaylistView& v, std::uint64_t sequence, std::span<const PartEntry> parts) {
  for (std::size_t i = 0; i < parts.size(); ++i) {
    out += fmt::format("#EXT-X-PART:DURATION={},URI=\"{}\"{}\n", format_seconds(parts[i].duration),
                       part_uri(v, sequence, i), parts[i].independent ? ",INDEPENDENT=YES" : "");
  }
}

}  // namespace

std::string render_media_playlist(const MediaPlaylistView& v) {
  std::string out;
  out.reserve(160 + v.entries.size() * 96);
  auto line = [&out](std::string_view s) {
    out += s;
    out += '\n';
  };
  const LowLatencyView* ll = v.low_latency ? &*v.low_latency : nullptr;
  line("#EXTM3U");
  line(fmt::format("#EXT-X-VERSION:{}", v.version));
  if (v.independent_segments) line("#EXT-X-INDEPENDENT-SEGMENTS");
  line(fmt::format("#EXT-X-TARGETDURATION:{}", v.target_duration));
  if (ll) {
    std::string control = fmt::format("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={}",
                                      format_seconds(ll->part_hold_back));
    if (ll->can_skip_until > 0) control += fmt::format(",CAN-SKIP-UNTIL={}", format_seconds(ll->can_skip_until));
    line(control);
    line(fmt::format("#EXT-X-PART-INF:PART-TARGET={}", format_seconds(ll->part_target)));
  }
  line(fmt::format("#EXT-X-MEDIA-SEQUENCE:{}", v.media_sequence));
  if (v.discontinuity_sequence) line(fmt::format("#EXT-X-DISCONTINUITY-SEQUENCE:{}", *v.discontinuity_sequence));
  std::size_t first = 0;
  if (ll && ll->skipped_segments > 0) {
    first = std::min(ll->skipped_segments, v.entries.size());
    line(fmt::format("#EXT-X-SKIP:SKIPPED-SEGMENTS={}", first));
  }
  int map = -1;  // the EXT-X-MAP in force
  auto map_line = [&](int wanted) {
    if (wanted < 0 || wanted == map) return;
    line(fmt::format("#EXT-X-MAP:URI=\"{}\"", map_uri(v, wanted)));
    map = wanted;
  };
  for (std::size_t i = first; i < v.entries.size(); ++i) {
    const PlaylistEntry& e = v.entries[i];
    if (e.discontinuity) line("#EXT-X-DISCONTINUITY");
    map_line(e.map);
    line(fmt::format("#EXT-X-PROGRAM-DATE-TIME:{}", format_program_date_time(e.program_date_time)));
    render_parts(out, v, e.sequence, e.parts);
    line(fmt::format("#EXTINF:{},", format_extinf(e.duration)));
    line(fmt::format("{}{}{}", v.uri_prefix, e.sequence, v.uri_suffix));
  }
  if (ll && !v.ended) {
    if (!ll->open_parts.empty()) {
      if (ll->open_discontinuity) line("#EXT-X-DISCONTINUITY");
      map_line(ll->open_map);
      line(fmt::format("#EXT-X-PROGRAM-DATE-TIME:{}", format_program_date_time(ll->open_program_date_time)));
      render_parts(out, v, ll->open_sequence, ll->open_parts);
    }
    line(fmt::format("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{}\"", part_uri(v, ll->open_sequence, ll->open_parts.size())));
  }
  if (v.ended) line("#EXT-X-ENDLIST");
  return out;
}

}  // namespace hlscache
