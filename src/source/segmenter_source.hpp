// SegmenterSource: the Source of the `local` role — misses are answered from the
// in-process segmenter, through the same cache and coalescer as an edge's:
//   /live/{stream}/index.m3u8            master playlist (the media playlist if one rendition)
//   /live/{stream}/{rendition}/index.m3u8 media playlist
//   /live/{stream}/{rendition}/seg_S_N.ts  segment N of session S (for one rendition also
//                                          /live/{stream}/seg_S_N.ts)
// Segment bodies are the window's chunks, published without copying. A request
// for the segment being cut next waits for it, up to 1.5 x target duration; one for a
// segment further ahead is a 404 that no cache keeps.
#pragma once

#include "segmenter/live_stream.hpp"
#include "source/source.hpp"

namespace hlscache {

// LL-HLS delivery directives (draft-pantos-hls-rfc8216bis §6.2.5): _HLS_msn=M
// [&_HLS_part=P] asks for a playlist that holds segment M (or its part P) or later,
// _HLS_skip=YES|v2 for a delta update. Other parameters are not directives.
struct PlaylistDirectives {
  std::optional<std::uint64_t> msn, part;
  bool skip = false;
  std::string error;  // why they are a 400 ("" when they are fine)
};
// The directives in a request target's query.
PlaylistDirectives directives_of(std::string_view target);

class SegmenterSource final : public Source {
 public:
  explicit SegmenterSource(LiveStreams& streams) : streams_(streams) {}
  boost::asio::awaitable<void> fetch(SourceRequest request, SinkPtr into) override;

 private:
  boost::asio::awaitable<void> media_playlist(LiveStream& s, LiveRendition& r, PlaylistDirectives d,
                                              const SinkPtr& into);
  boost::asio::awaitable<void> segment(LiveRendition& r, std::string file, const SinkPtr& into);
  boost::asio::awaitable<void> master_playlist(LiveStream& s, const SinkPtr& into);
  LiveStreams& streams_;
};

}  // namespace hlscache
