#include "segmenter/master_playlist.hpp"

#include <fmt/format.h>

namespace hlscache {

std::string render_master_playlist(std::span<const RenditionInfo> renditions) {
  std::string out = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n";
  for (const RenditionInfo& r : renditions) {
    out += fmt::format("#EXT-X-STREAM-INF:BANDWIDTH={}", r.bandwidth);
    if (r.average_bandwidth > 0) out += fmt::format(",AVERAGE-BANDWIDTH={}", r.average_bandwidth);
    if (r.width > 0 && r.height > 0) out += fmt::format(",RESOLUTION={}x{}", r.width, r.height);
    if (!r.codecs.empty()) out += fmt::format(",CODECS=\"{}\"", r.codecs);
    out += '\n';
    out += r.name;
    out += "/index.m3u8\n";
  }
  return out;
}

}  // namespace hlscache
