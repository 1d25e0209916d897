#include "cache/media.hpp"

#include <charconv>
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

std::optional<double> playlist_target_duration(std::string_view text) {
  static constexpr std::string_view tag = "#EXT-X-TARGETDURATION:";
  auto pos = text.find(tag);
  if (pos == std::string_view::npos) return std::nullopt;
  auto v = text.substr(pos + tag.size());
  v = v.substr(0, v.find_first_of("\r\n"));
  double d = 0;
  auto t = trim(v);
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), d);
  if (ec != std::errc{} || d <= 0 || !std::isfinite(d)) return std::nullopt;
  return d;
}

bool playlist_has_endlist(std::string_view text) { return text.find("#EXT-X-ENDLIST") != std::string_view::npos; }

}  // namespace hlscache
