// Live streams of the `local` role: per stream its renditions, each with the
// RenditionWindow serving its playlist and segments, the Cutter its publisher
// feeds, and a WaitList woken on every new segment (so a request for the segment
// being cut next waits for it instead of failing). A rendition has at most one
// publisher at a time (PublishSession claims it).
//
// A session's life (docs/segmenter.md "Publishers come and go"):
// - it ends cleanly (end(): the body's last byte, the file's end): the window gets
//   #EXT-X-ENDLIST and is kept for the stream's vod_keep;
// - it goes away without ending (suspend(): a connection lost, a UDP source silent):
//   the window stays live, the playlist simply stops growing, for the stream's
//   pause_grace counted from its last byte; a publisher that comes back within it
//   continues the same window after an #EXT-X-DISCONTINUITY, and when it runs out
//   expire() ends the window with #EXT-X-ENDLIST;
// - a new session after an ended one starts a new window, but the ended window is
//   still what viewers get until the new one has its first segment: a publish that
//   is refused or broken before that never removes the previous session's content.
#pragma once

#include <atomic>
#include <map>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/wait_list.hpp"
#include "segmenter/cmaf_muxer.hpp"
#include "segmenter/cutter.hpp"
#include "segmenter/rendition_window.hpp"

namespace hlscache {

class LiveRendition {
 public:
  LiveRendition(std::string stream, RenditionConfig config, const StreamConfig& stream_config);

  const std::string& name() const { return config_.name; }
  const std::string& stream() const { return stream_; }
  bool cmaf() const { return container_ == StreamConfig::Container::cmaf; }
  const RenditionConfig& config() const { return config_; }
  std::chrono::milliseconds target_duration() const { return target_; }

  // The window viewers get, or null when there is none (never published, or ended longer than vod_keep ago).
  std::shared_ptr<RenditionWindow> window(TimePoint now) const;
  // The window the publisher writes to (a new session's, before its first segment, too).
  std::shared_ptr<RenditionWindow> current_window() const;
  // Waits (bounded by `deadline`) until the next segment lands or the publisher ends.
  boost::asio::awaitable<bool> wait_for_segment(TimePoint deadline);
  // Drops old segments; ends a paused window whose pause_grace has run out.
  void expire(TimePoint now);

  bool publishing() const { return publishing_.load(); }
  // Since when a publisher that went away without ending has been silent (its last
  // byte), while the grace runs; nullopt when publishing, ended or never published.
  std::optional<TimePoint> paused_since() const;
  Millis pause_grace() const { return pause_grace_; }
  CutterStats last_stats() const;
  // Totals over every publishing session, for metrics: bytes fed, input errors
  // (sync losses, continuity/transport errors, invalid packets, PSI/PES errors), segments cut.
  std::uint64_t ingest_bytes() const { return ingest_bytes_.load(std::memory_order_relaxed); }
  std::uint64_t ingest_errors() const { return ingest_errors_.load(std::memory_order_relaxed); }
  std::uint64_t segments_cut() const { return segments_cut_.load(std::memory_order_relaxed); }

 private:
  friend class PublishSession;
  void on_segment(Segment&& s);
  // cmaf: each part of the muxer goes to the window; a part that starts a segment
  // first closes the open one (RenditionWindow::close_parts).
  void on_cmaf_part(CmafPart&& p);
  void close_open_segment(RenditionWindow& w);
  void announce_first(RenditionWindow& w, bool first);

  const std::string stream_;
  const RenditionConfig config_;
  const std::chrono::milliseconds target_;
  const std::uint32_t window_segments_;
  const Millis vod_keep_;
  const Millis pause_grace_;
  const StreamConfig::Container container_;
  const std::chrono::milliseconds part_target_;

  mutable std::mutex mu_;
  std::shared_ptr<RenditionWindow> window_;
  // The previous session's ended window, served while a new session has no segment yet.
  std::shared_ptr<RenditionWindow> kept_;
  std::optional<TimePoint> kept_ended_at_;
  std::optional<TimePoint> paused_at_;  // a session went away without ending: its last byte

 public:
  // Called on the publisher's thread, no lock held; set before publishers start.
  // on_session_start: a publishing session with a new window begins (the status page
  // follows the window: current_window()). on_first_segment: that window has its first
  // segment and replaces whatever viewers had (the local role drops the cached
  // playlists, which may be the previous session's ended one, so the new one shows).
  std::function<void(const LiveRendition&)> on_session_start;
  std::function<void(const LiveRendition&)> on_first_segment;

 private:
  std::optional<TimePoint> ended_at_;
  WaitList waiters_;
  CutterStats last_stats_;
  std::atomic<bool> publishing_{false};
  std::atomic<std::uint64_t> ingest_bytes_{0}, ingest_errors_{0}, segments_cut_{0};
  std::unique_ptr<Cutter> cutter_;  // touched only by the PublishSession that holds the claim
  // cmaf: the muxer the publisher feeds beside the cutter (which then only reports the
  // stream's facts and counters); the segment its parts build is the window's open one.
  // Touched only by the PublishSession that holds the claim.
  std::unique_ptr<CmafMuxer> muxer_;
  bool cmaf_discontinuity_ = false;    // the next segment starts a new timeline
};

// A publisher's claim on a rendition (ingest request, file loop, UDP socket).
class PublishSession {
 public:
  // Claims the rendition; nullopt if another publisher holds it (-> 409).
  static std::unique_ptr<PublishSession> begin(LiveRendition& rendition);
  ~PublishSession();  // end()s if not yet ended
  PublishSession(const PublishSession&) = delete;
  PublishSession& operator=(const PublishSession&) = delete;

  // The bytes' ingest time (Segment::ingest_time, PROGRAM-DATE-TIME) is `arrived`,
  // or the wall clock now.
  void feed(const char* data, std::size_t n);
  void feed(const char* data, std::size_t n, WallTime arrived);
  void discontinuity();  // the wall clock skipped ahead (the source paused): the next keyframe's segment is marked
  void end();            // flush the last segment, append ENDLIST, release the claim
  // The publisher went away without ending: flush the last segment and release the
  // claim, but keep the window live for the pause grace (counted from the last byte).
  // A session that cut no segment ends instead.
  void suspend();
  CutterStats stats() const;
  std::uint64_t segments() const;

 private:
  explicit PublishSession(LiveRendition& r) : r_(r) {}
  void finish(bool clean);
  LiveRendition& r_;
  bool ended_ = false;
  TimePoint last_byte_ = SteadyClock::now();
  std::uint64_t errors_seen_ = 0;  // this session's input errors already added to the rendition's total
};

// The lowest media sequence number a new window may start at, kept in no state file:
// the wall clock counted in half target durations. A run uses about one number per
// target duration (segments are cut at the first keyframe at or after it), so the
// clock gains two for each one used, and a stream restarted — by a new publisher or
// with the whole process — starts above every number, and so every segment URI, an
// earlier run published; unless that run's segments averaged under half the target
// duration, or the clock was set back by more than the headroom. The same value
// seeds the window's EXT-X-DISCONTINUITY-SEQUENCE, which a run raises at most once
// per segment, so it never goes back either (docs/segmenter.md).
std::uint64_t sequence_floor(std::chrono::milliseconds target, WallTime now);

// A new window's session id, in its segment URIs (seg_<session>_<N>.ts): 32 random
// bits, 8 hex digits. With sequence_floor it makes a URI of an earlier run impossible
// to publish again even when the clock was set back: both would have to repeat.
std::string new_session_id();

class LiveStream {
 public:
  explicit LiveStream(const StreamConfig& config);
  const StreamConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  LiveRendition* rendition(std::string_view name);
  std::vector<std::unique_ptr<LiveRendition>>& renditions() { return renditions_; }
  bool single() const { return renditions_.size() == 1; }
  // Master playlist text once every rendition has a segment (bandwidth is measured), else nullopt.
  std::optional<std::string> master_playlist(TimePoint now) const;

 private:
  StreamConfig config_;
  std::vector<std::unique_ptr<LiveRendition>> renditions_;
};

class LiveStreams {
 public:
  explicit LiveStreams(const std::vector<StreamConfig>& streams);
  LiveStream* find(std::string_view name);
  std::vector<std::unique_ptr<LiveStream>>& all() { return streams_; }
  void expire(TimePoint now);

 private:
  std::vector<std::unique_ptr<LiveStream>> streams_;
};

}  // namespace hlscache
