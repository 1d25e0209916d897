// Master (multivariant) playlist text (RFC 8216 §4.3.4.2): one EXT-X-STREAM-INF
// per rendition with BANDWIDTH (peak segment bit rate), AVERAGE-BANDWIDTH,
// RESOLUTION and CODECS when known, pointing at "<rendition>/index.m3u8".
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace hlscache {

struct RenditionInfo {
  std::string name;                    // URI is "<name>/index.m3u8"
  std::uint64_t bandwidth = 0;         // bits/s, peak segment bit rate
  std::uint64_t average_bandwidth = 0; // bits/s; omitted when 0
  int width = 0;                       // RESOLUTION omitted when 0 (audio-only)
  int height = 0;
  std::string codecs;                  // CODECS omitted when empty
};

std::string render_master_playlist(std::span<const RenditionInfo> renditions);

}  // namespace hlscache
