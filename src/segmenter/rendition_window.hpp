// RenditionWindow: the live state of one rendition (RFC 8216 §6.2.2) — a sliding
// window of Segments behind an immutable playlist snapshot, plus the segments that
// left the window but must stay fetchable for a while. Each update renders the
// playlist text once and swaps in a new shared_ptr<const PlaylistSnapshot>, in the
// same critical section that made its segments fetchable, so a reader never gets a
// playlist naming a segment it cannot fetch. Thread-safe (one mutex, held for
// bookkeeping and rendering only); listeners run after the lock is released.
// Bounds: max_window_segments in the window, max_retired_segments retired,
// max_listeners listeners. Time is injected (now: steady; PROGRAM-DATE-TIME from
// Segment::ingest_time).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "segmenter/master_playlist.hpp"
#include "segmenter/playlist_text.hpp"
#include "segmenter/segment.hpp"

namespace hlscache {

struct RenditionWindowConfig {
  std::chrono::milliseconds target_duration{2000};  // the cutter's target
  std::size_t window_segments = 6;       // grown when shorter than 3 target durations
  std::size_t max_window_segments = 64;  // hard bound, even below 3 target durations
  std::size_t max_retired_segments = 64; // past it the oldest retired segment is freed early
  std::size_t max_listeners = 16;
  std::uint64_t first_sequence = 0;      // the sequence "not yet" refers to before the first add
  std::uint64_t first_discontinuity_sequence = 0;  // EXT-X-DISCONTINUITY-SEQUENCE before any slid out
  // Segment URI = prefix + media sequence number + ".ts". A live stream's windows put
  // their session id in it ("seg_<session>_"), so no two runs share a URI.
  std::string segment_prefix = "seg_";
  // The first segment carries EXT-X-DISCONTINUITY: the window follows another run of
  // the stream (or may: a new window cannot know what the process published before).
  bool first_segment_discontinuity = false;
  std::string segment_suffix = ".ts";  // ".m4s" for fMP4
  // Low-Latency HLS (docs/low-latency.md): parts about every part_target (0: none,
  // classic HLS), named part_prefix + sequence + "." + index + segment_suffix; the
  // playlist lists them for the last part_list_window of media and offers delta
  // updates (EXT-X-SKIP) of what lies more than can_skip_until before its end.
  std::chrono::milliseconds part_target{0};
  std::string part_prefix = "part_";
  std::string map_prefix = "init_";  // fMP4: init segment k is map_prefix + k + ".mp4"
  std::size_t max_maps = 16;         // init segments kept (a stream that changes its parameters)
  // A chained PROGRAM-DATE-TIME (previous PDT + previous EXTINF) is kept unless the
  // segment was ingested more than this earlier than it, or more than target_duration
  // later; then the PDT restarts from the ingest time.
  std::chrono::milliseconds program_date_time_tolerance{50};
};

struct StoredSegment {
  Segment segment;
  WallTime program_date_time{};
  std::vector<std::shared_ptr<const Part>> parts;  // LL-HLS: its parts, in order
  std::vector<PartEntry> part_entries;             // the same, as the playlist lists them
};

struct PlaylistSnapshot {
  std::uint64_t version = 0;  // +1 per update
  std::shared_ptr<const std::string> text;
  std::uint64_t media_sequence = 0;
  std::uint64_t next_sequence = 0;  // the sequence number the next segment will carry
  std::size_t segment_count = 0;
  int target_duration = 0;
  bool ended = false;
  // LL-HLS: the delta update (EXT-X-SKIP; the full text when nothing can be skipped
  // yet) and how many parts of segment next_sequence are published.
  std::shared_ptr<const std::string> delta_text;
  std::size_t open_parts = 0;
  // LL-HLS: the last part listed, {media sequence, index} (EXT-X-RENDITION-REPORT's
  // LAST-MSN and LAST-PART in a sibling's playlist); nullopt before the first part.
  std::optional<std::pair<std::uint64_t, std::uint64_t>> last_part;

  // Whether this playlist holds segment `msn` (whole), or with `part`, that part of
  // it or anything later (a blocking reload's _HLS_msn / _HLS_part).
  bool holds(std::uint64_t msn, std::optional<std::uint64_t> part) const {
    if (msn < next_sequence) return true;
    return part && msn == next_sequence && *part < open_parts;
  }
};

enum class SegmentState : std::uint8_t {
  found,    // `segment` is set
  not_yet,  // the next segment to be produced: worth waiting for (up to 1.5 x target duration)
  ahead,    // further ahead than the next: not there yet, but it will be
  never,    // expired, or the stream ended: 404
};

struct SegmentLookup {
  SegmentState state = SegmentState::never;
  std::shared_ptr<const StoredSegment> segment;
};

struct PartLookup {
  SegmentState state = SegmentState::never;  // not_yet: the part the preload hint names
  std::shared_ptr<const Part> part;
};

struct WindowStats {
  std::uint64_t segments_added = 0;
  std::uint64_t segments_rejected = 0;      // out of sequence, or after end()
  std::uint64_t segments_retired = 0;       // left the window
  std::uint64_t segments_freed = 0;         // retention over, memory released
  std::uint64_t segments_freed_early = 0;   // freed at max_retired_segments, before their time
  std::uint64_t target_duration_raises = 0; // after the first segment: encoder GOP problem
  std::uint64_t program_date_time_resyncs = 0;  // PDT restarted from the ingest time: the chain was off
  double program_date_time_drift = 0.0;      // s, ingest time - chained PDT of the last segment (0 when not chained)
  double max_program_date_time_drift = 0.0;  // s, the largest |drift| of a chained segment
  std::uint64_t segments_over_target = 0;   // round(EXTINF) > configured target
  int target_duration = 0;
  double peak_bitrate = 0.0;                // bits/s, segments >= half the target long
  double average_bitrate = 0.0;
};

class RenditionWindow {
 public:
  using Snapshot = std::shared_ptr<const PlaylistSnapshot>;
  using Listener = std::function<void(const Snapshot&)>;
  using ListenerId = std::uint64_t;

  explicit RenditionWindow(RenditionWindowConfig config = {});

  // Adds the next segment. Its PROGRAM-DATE-TIME is segment.ingest_time (the wall-
  // clock time its first frame was ingested) for the first segment and after a
  // discontinuity; otherwise the previous PDT plus the previous EXTINF (so PDT and
  // EXTINF agree and delivery jitter is not published), unless the segment came more
  // than program_date_time_tolerance earlier or more than a target duration later
  // than that: then its ingest time again (counted in program_date_time_resyncs).
  Status add(Segment segment, TimePoint now);
  // LL-HLS: the next part of the segment being cut (sequence next_sequence, index
  // the number of its parts so far). The segment itself comes with add() after its
  // last part, and takes its parts' bytes and PROGRAM-DATE-TIME.
  Status add_part(Part part, TimePoint now);
  // LL-HLS: the segment being cut is whole: its parts, in order, become segment
  // next_sequence (their bytes, summed durations, the first part's start). None: nothing.
  Status close_parts(TimePoint now);
  // The publisher ended: the playlist gains EXT-X-ENDLIST; later adds are rejected.
  void end();
  // Frees retired segments whose retention ran out.
  void expire(TimePoint now);

  Snapshot playlist() const;
  SegmentLookup lookup(std::uint64_t sequence) const;
  // The media sequence number a segment URI of this window names; nullopt for any
  // other name (another window's, a part, a typo).
  std::optional<std::uint64_t> sequence_of(std::string_view uri) const;
  // LL-HLS: {sequence, index} of a part URI of this window; nullopt for any other name.
  std::optional<std::pair<std::uint64_t, std::uint32_t>> part_of(std::string_view uri) const;
  PartLookup lookup_part(std::uint64_t sequence, std::uint32_t index) const;
  // fMP4: keeps an init segment and returns its index (Segment::map, Part::map); the
  // same bytes as the newest one give its index again. Past max_maps the oldest goes.
  int add_init(const std::string& bytes);
  std::optional<Chunk> lookup_init(int index) const;
  std::optional<int> map_of(std::string_view uri) const;
  bool low_latency() const { return config_.part_target.count() > 0; }
  const std::string& segment_prefix() const { return config_.segment_prefix; }

  // Listeners are called with the new snapshot after each add()/end(), outside the lock.
  Result<ListenerId> subscribe(Listener listener);
  void unsubscribe(ListenerId id);

  void set_stream_facts(const StreamFacts& facts);
  RenditionInfo rendition_info(std::string name) const;
  WindowStats stats() const;

 private:
  struct Retired {
    std::shared_ptr<const StoredSegment> segment;
    TimePoint expires_at;
  };
  using ListenerList = std::vector<std::pair<ListenerId, Listener>>;

  void expire_locked(TimePoint now);
  WallTime program_date_time_locked(WallTime ingest_time, bool discontinuity);
  void slide_locked(TimePoint now);
  void publish_locked();
  double window_duration_locked() const;
  void notify(const Snapshot& snapshot, const std::shared_ptr<const ListenerList>& listeners) const;

  const RenditionWindowConfig config_;
  const int configured_target_;  // round(target_duration), at least 1

  mutable std::mutex mu_;
  std::deque<std::shared_ptr<const StoredSegment>> window_;
  std::deque<Retired> retired_;
  std::vector<PlaylistEntry> entries_;  // mirrors window_, reused for rendering
  // LL-HLS: the segment being cut (sequence next_sequence_): its parts and its PDT,
  // fixed at its first part.
  std::vector<std::shared_ptr<const Part>> open_parts_;
  std::vector<PartEntry> open_part_entries_;
  std::deque<std::pair<int, Chunk>> maps_;  // init segments by index, oldest first
  WallTime open_program_date_time_{};
  std::uint64_t next_sequence_;
  std::uint64_t discontinuity_sequence_ = 0;
  bool any_discontinuity_ = false;
  bool any_segment_ = false;
  bool ended_ = false;
  int target_duration_;
  double max_playlist_duration_ = 0.0;
  double total_bits_ = 0.0;
  double total_seconds_ = 0.0;
  Snapshot snapshot_;
  std::shared_ptr<const ListenerList> listeners_;
  ListenerId next_listener_id_ = 1;
  StreamFacts facts_;
  WindowStats stats_;
};

}  // namespace hlscache
