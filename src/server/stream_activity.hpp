// StreamActivity (role local): what the status page says about each live stream
// beyond what the segmenter keeps — when each rendition last got a segment and when
// its publishing session began (learned from the rendition's on_session_start hook
// and its window's listeners, so the segmenter holds no state for the page), the
// media requests under /live/{stream}/ and the fetches that reached the segmenter
// (the local role's origin: misses and refreshes) — and the rule that names a
// stream's state:
//
//   live     a publisher holds the rendition and a segment (or the session's start)
//            came within 1.5 target durations: what a player reloading once per
//            target duration sees growing;
//   paused   a publisher holds it and nothing new came for longer than that, or the
//            publisher went away without ending and the stream's pause_grace runs
//            (segmenter/live_stream.hpp): players stall, the stream is not over;
//   ended    no publisher; the last session's window (with #EXT-X-ENDLIST) is still
//            served, for the stream's vod_keep;
//   waiting  no publisher and nothing to play: never published, or past vod_keep.
//
// A stream is live if one of its renditions is, else paused, else ended, else
// waiting. Tables are built once from the configured streams (which a reload cannot
// change); the counters are relaxed atomics. Bounded by the configured streams:
// requests for other names are not counted.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "segmenter/live_stream.hpp"
#include "source/source.hpp"

namespace hlscache {

enum class LiveState : std::uint8_t { waiting, live, paused, ended };
const char* to_string(LiveState s) noexcept;

// What the state of one rendition is decided from.
struct RenditionFacts {
  bool publishing = false;      // a publisher holds the rendition
  bool in_pause_grace = false;  // no publisher, but the last one went away without ending, within the grace
  bool ended = false;           // its window is served and has #EXT-X-ENDLIST
  std::optional<Duration> since_activity;  // since the later of its last segment and its session's start
  Duration target{std::chrono::seconds(2)};  // the longer of the configured and the published target duration
};
LiveState rendition_state(const RenditionFacts& f);
// live > paused > ended > waiting: the "most alive" of its renditions.
LiveState stream_state(const std::vector<LiveState>& renditions);

// "/live/{stream}/..." -> "{stream}"; empty for any other path.
std::string_view live_stream_of(std::string_view path);

class StreamActivity {
 public:
  explicit StreamActivity(LiveStreams& streams);

  // The rendition's on_session_start: notes the time and listens to its new window.
  void session_started(const LiveRendition& r, TimePoint now);
  void note_request(std::string_view stream);
  void note_origin_fetch(std::string_view stream);

  struct RenditionView {
    std::optional<TimePoint> last_segment;   // any session
    std::optional<TimePoint> session_start;  // the latest session's
  };
  RenditionView rendition(const LiveRendition& r) const;
  RenditionFacts facts(const LiveRendition& r, TimePoint now) const;
  std::uint64_t requests(std::string_view stream) const;
  std::uint64_t origin_fetches(std::string_view stream) const;

 private:
  struct Rendition {
    std::atomic<std::int64_t> last_segment_ns{0}, session_start_ns{0};  // steady clock; 0: never
  };
  struct Stream {
    std::atomic<std::uint64_t> requests{0}, origin_fetches{0};
  };
  std::map<const LiveRendition*, std::shared_ptr<Rendition>> renditions_;  // shared with window listeners
  std::map<std::string, std::unique_ptr<Stream>, std::less<>> streams_;
};

// The local role's Source: counts each fetch per stream (StreamActivity), then asks
// the segmenter's source.
class CountingSource final : public Source {
 public:
  CountingSource(std::unique_ptr<Source> inner, StreamActivity& activity)
      : inner_(std::move(inner)), activity_(activity) {}
  boost::asio::awaitable<void> fetch(SourceRequest request, SinkPtr into) override;
  void collect_metrics(std::string& out) const override { inner_->collect_metrics(out); }
  void reconfigure(const ConfigPtr& config) override { inner_->reconfigure(config); }
  std::string not_ready(TimePoint now) const override { return inner_->not_ready(now); }

 private:
  std::unique_ptr<Source> inner_;
  StreamActivity& activity_;
};

}  // namespace hlscache
