#include "cache/media.hpp"

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cmath>

#include "core/strings.hpp"

namespace hlscache {

namespace {

bool iends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && iequal(s.substr(s.size() - suffix.size()), suffix);
}
bool icontains(std::string_view s, std::string_view needle) {
  for (std::size_t i = 0; i + needle.size() <= s.size(); ++i)
    if (iequal(s.substr(i, needle.size()), needle)) return true;
  return false;
}

}  // namespace

MediaKind media_kind(std::string_view path, std::string_view content_type) {
  if (iends_with(path, ".m3u8") || iends_with(path, ".m3u") ||
      icontains(content_type, "mpegurl"))  // media types are case-insensitive: application/x-mpegURL
    return MediaKind::playlist;
  for (std::string_view ext : {".ts", ".m4s", ".mp4", ".aac", ".m4a", ".m4v", ".mp3", ".vtt", ".webvtt", ".key", ".cmfv", ".cmfa"})
    if (iends_with(path, ext)) return MediaKind::segment;
  return MediaKind::other;
}

namespace {

// The value of #EXT-X-TARGETDURATION: a positive, finite number of seconds.
std::optional<double> target_seconds(std::string_view value) {
  double d = 0;
  const auto t = trim(value);
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), d);
  if (ec != std::errc{} || d <= 0 || !std::isfinite(d)) return std::nullopt;
  return d;
}

}  // namespace

std::optional<double> playlist_target_duration(std::string_view text) {
  static constexpr std::string_view tag = "#EXT-X-TARGETDURATION:";
  auto pos = text.find(tag);
  if (pos == std::string_view::npos) return std::nullopt;
  auto v = text.substr(pos + tag.size());
  return target_seconds(v.substr(0, v.find_first_of("\r\n")));
}

bool playlist_has_endlist(std::string_view text) { return text.find("#EXT-X-ENDLIST") != std::string_view::npos; }

namespace {

std::optional<std::uint64_t> decimal(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Exactly `n` digits at s[at...].
std::optional<int> digits(std::string_view s, std::size_t at, std::size_t n) {
  if (at + n > s.size()) return std::nullopt;
  int v = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

std::optional<std::int64_t> parse_program_date_time(std::string_view s) {
  using namespace std::chrono;
  // YYYY-MM-DDThh:mm:ss
  const auto y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2), h = digits(s, 11, 2),
             mi = digits(s, 14, 2), se = digits(s, 17, 2);
  if (!y || !mo || !d || !h || !mi || !se || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':' || *h > 23 || *mi > 59 || *se > 60)
    return std::nullopt;
  const year_month_day ymd{year{*y}, month{static_cast<unsigned>(*mo)}, day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) return std::nullopt;
  std::size_t at = 19;
  std::int64_t ms = 0;
  if (at < s.size() && (s[at] == '.' || s[at] == ',')) {
    ++at;
    int scale = 100, n = 0;
    for (; at < s.size() && s[at] >= '0' && s[at] <= '9'; ++at, ++n) {
      ms += (s[at] - '0') * scale;
      scale /= 10;
    }
    if (n == 0) return std::nullopt;
  }
  std::int64_t offset_min = 0;
  if (at < s.size() && (s[at] == 'Z' || s[at] == 'z')) {
    ++at;
  } else if (at < s.size() && (s[at] == '+' || s[at] == '-')) {
    const int sign = s[at] == '-' ? -1 : 1;
    const auto oh = digits(s, at + 1, 2);
    if (!oh) return std::nullopt;
    at += 3;
    if (at < s.size() && s[at] == ':') ++at;
    const auto om = digits(s, at, 2);
    if (!om) return std::nullopt;
    at += 2;
    offset_min = sign * (*oh * 60 + *om);
  } else {
    return std::nullopt;  // RFC 8216 §4.3.2.6: the date-time carries its offset
  }
  if (at != s.size()) return std::nullopt;
  const std::int64_t days_since = sys_days{ymd}.time_since_epoch().count();
  return ((days_since * 24 + *h) * 60 + *mi - offset_min) * 60'000 + *se * 1000LL + ms;
}

std::optional<PlaylistPosition> playlist_position(std::string_view text) {
  static constexpr std::string_view kTarget = "#EXT-X-TARGETDURATION:", kMsn = "#EXT-X-MEDIA-SEQUENCE:",
                                    kDsn = "#EXT-X-DISCONTINUITY-SEQUENCE:", kPdt = "#EXT-X-PROGRAM-DATE-TIME:";
  PlaylistPosition p;
  bool media = false;
  std::uint64_t segments_before = 0;  // URI lines before the first PROGRAM-DATE-TIME, which dates the next one
  std::optional<std::string_view> first_pdt;
  for (std::size_t at = 0; at < text.size();) {
    std::size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = trim(text.substr(at, end - at));
    at = end + 1;
    if (line.starts_with(kTarget)) {
      media = true;
      p.target_duration = target_seconds(line.substr(kTarget.size()));
    } else if (line.starts_with(kMsn)) {
      p.media_sequence = decimal(trim(line.substr(kMsn.size()))).value_or(0);
    } else if (line.starts_with(kDsn)) {
      p.discontinuity_sequence = decimal(trim(line.substr(kDsn.size()))).value_or(0);
    } else if (line.starts_with(kPdt) && !first_pdt) {
      first_pdt = trim(line.substr(kPdt.size()));
    } else if (line == "#EXT-X-ENDLIST") {
      p.ended = true;
    } else if (!line.empty() && line.front() != '#') {
      if (!first_pdt) ++segments_before;
      if (p.segment_count++ == 0) p.first_uri = line;
      p.last_uri = line;
    }
  }
  if (!media) return std::nullopt;
  if (first_pdt) {
    p.first_pdt_ms = parse_program_date_time(*first_pdt);
    p.first_pdt_sequence = p.media_sequence > UINT64_MAX - segments_before ? UINT64_MAX
                                                                          : p.media_sequence + segments_before;
  }
  return p;
}

}  // namespace hlscache
