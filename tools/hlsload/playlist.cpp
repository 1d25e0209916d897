#include "hlsload/playlist.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <optional>

namespace hlsload {

namespace {

bool blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::optional<std::uint64_t> integer(std::string_view s) {
  s = trim(s);
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// decimal-floating-point (§4.2): digits with an optional fraction.
std::optional<double> decimal(std::string_view s) {
  s = trim(s);
  if (s.empty() || s.size() > 32) return std::nullopt;
  for (char c : s)
    if (!(c >= '0' && c <= '9') && c != '.') return std::nullopt;
  const std::string str(s);
  char* end = nullptr;
  const double v = std::strtod(str.c_str(), &end);
  if (*end != '\0' || !std::isfinite(v)) return std::nullopt;
  return v;
}

// The value of NAME in an attribute list (§4.2), quotes removed; empty if absent.
std::string_view attribute(std::string_view list, std::string_view name) {
  while (!list.empty()) {
    const auto eq = list.find('=');
    if (eq == std::string_view::npos) break;
    const std::string_view key = trim(list.substr(0, eq));
    list.remove_prefix(eq + 1);
    std::string_view value;
    if (!list.empty() && list.front() == '"') {
      const auto close = list.find('"', 1);
      value = list.substr(1, close == std::string_view::npos ? list.size() - 1 : close - 1);
      list.remove_prefix(close == std::string_view::npos ? list.size() : close + 1);
    } else {
      const auto comma = list.find(',');
      value = list.substr(0, comma);
      list.remove_prefix(comma == std::string_view::npos ? list.size() : comma);
    }
    if (key == name) return value;
    if (!list.empty() && list.front() == ',') list.remove_prefix(1);
  }
  return {};
}

}  // namespace

double MediaPlaylist::total_duration() const {
  double d = 0;
  for (const auto& s : segments) d += s.duration;
  return d;
}

std::size_t MediaPlaylist::live_start_index(double offset_target_durations) const {
  if (segments.empty()) return 0;
  const double want = offset_target_durations * target_duration;
  double from_end = 0;
  for (std::size_t i = segments.size(); i-- > 0;) {
    from_end += segments[i].duration;
    if (from_end >= want - 1e-6) return i;
  }
  return 0;
}

Playlist parse_playlist(std::string_view text) {
  if (!starts_with(text, "#EXTM3U")) return ParseError{"not a playlist: it does not begin with #EXTM3U"};
  MasterPlaylist master;
  MediaPlaylist media;
  bool is_media = false, have_target = false;
  std::optional<VariantStream> pending_variant;
  std::optional<double> pending_duration;
  bool pending_discontinuity = false;
  int line_no = 0;
  auto error = [&](std::string what) { return ParseError{"line " + std::to_string(line_no) + ": " + what}; };

  while (!text.empty()) {
    const auto eol = text.find('\n');
    const std::string_view line = trim(text.substr(0, eol));
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    ++line_no;
    if (line.empty()) continue;
    if (line.front() != '#') {  // a URI
      if (pending_variant) {
        pending_variant->uri = std::string(line);
        master.variants.push_back(std::move(*pending_variant));
        pending_variant.reset();
      } else if (pending_duration) {
        MediaSegment s;
        s.sequence = media.media_sequence + media.segments.size();
        s.duration = *pending_duration;
        s.discontinuity = pending_discontinuity;
        s.uri = std::string(line);
        media.segments.push_back(std::move(s));
        pending_duration.reset();
        pending_discontinuity = false;
      } else {
        return error("a URI with no #EXTINF or #EXT-X-STREAM-INF before it");
      }
      continue;
    }
    if (starts_with(line, "#EXT-X-STREAM-INF:")) {
      const auto attrs = line.substr(18);
      VariantStream v;
      auto bw = integer(attribute(attrs, "BANDWIDTH"));
      if (!bw) return error("#EXT-X-STREAM-INF without a valid BANDWIDTH");
      v.bandwidth = *bw;
      const auto res = attribute(attrs, "RESOLUTION");
      if (const auto x = res.find('x'); x != std::string_view::npos) {
        auto w = integer(res.substr(0, x)), h = integer(res.substr(x + 1));
        if (w && h && *w < 100000 && *h < 100000) v.width = static_cast<int>(*w), v.height = static_cast<int>(*h);
      }
      pending_variant = std::move(v);
    } else if (starts_with(line, "#EXT-X-TARGETDURATION:")) {
      auto td = integer(line.substr(22));
      if (!td || *td == 0 || *td > 86400) return error("invalid #EXT-X-TARGETDURATION");
      media.target_duration = static_cast<double>(*td);
      have_target = is_media = true;
    } else if (starts_with(line, "#EXT-X-MEDIA-SEQUENCE:")) {
      auto ms = integer(line.substr(22));
      if (!ms) return error("invalid #EXT-X-MEDIA-SEQUENCE");
      if (!media.segments.empty()) return error("#EXT-X-MEDIA-SEQUENCE after the first segment");
      media.media_sequence = *ms;
      is_media = true;
    } else if (starts_with(line, "#EXTINF:")) {
      auto value = line.substr(8);
      value = value.substr(0, value.find(','));
      auto d = decimal(value);
      if (!d || *d > 86400) return error("invalid #EXTINF duration");
      pending_duration = *d;
      is_media = true;
    } else if (line == "#EXT-X-DISCONTINUITY") {
      pending_discontinuity = true;
    } else if (line == "#EXT-X-ENDLIST") {
      media.ended = true;
      is_media = true;
    }
    // Every other tag (and comment) is ignored, as §4.1 tells a client to.
  }
  if (!master.variants.empty()) {
    if (is_media) return ParseError{"both media segments and variant streams: not a valid playlist"};
    return master;
  }
  if (pending_variant) return ParseError{"#EXT-X-STREAM-INF with no URI after it"};
  if (!is_media) return ParseError{"neither a master playlist (no #EXT-X-STREAM-INF) nor a media playlist"};
  if (!have_target) return ParseError{"media playlist without #EXT-X-TARGETDURATION"};
  return media;
}

std::string resolve_path(std::string_view base_path, std::string_view uri) {
  if (starts_with(uri, "http://") || starts_with(uri, "https://")) {
    const auto host_start = uri.find("//") + 2;
    const auto slash = uri.find('/', host_start);
    return slash == std::string_view::npos ? std::string("/") : std::string(uri.substr(slash));
  }
  if (starts_with(uri, "/")) return std::string(uri);
  base_path = base_path.substr(0, base_path.find('?'));
  const auto dir_end = base_path.rfind('/');
  std::string out(dir_end == std::string_view::npos ? std::string_view("/") : base_path.substr(0, dir_end + 1));
  // Remove dot segments the simple way: "./" and "../" at the start of the reference.
  while (true) {
    if (starts_with(uri, "./")) {
      uri.remove_prefix(2);
    } else if (starts_with(uri, "../")) {
      uri.remove_prefix(3);
      if (out.size() > 1) {
        out.pop_back();
        out.erase(out.rfind('/') + 1);
      }
    } else {
      break;
    }
  }
  out += uri;
  return out;
}

}  // namespace hlsload
