// PlaybackModel: the buffer of one simulated player, to count stalls. Media arrives
// as whole segments; playback starts once `start_segments` have arrived, then the
// playhead consumes media at real time. The buffer runs dry (a stall) when the
// playhead reaches the end of what has arrived; playback resumes the moment the
// next segment lands. Times are seconds on any monotonic clock (tests pass a manual one).
#pragma once

#include <optional>

namespace hlsload {

class PlaybackModel {
 public:
  explicit PlaybackModel(int start_segments) : start_segments_(start_segments < 1 ? 1 : start_segments) {}

  // A segment of `duration` seconds finished arriving at `now`. Returns the length of
  // the stall it ended, if the buffer had run dry before it came.
  std::optional<double> on_segment(double now, double duration);
  // Accounts playback up to `now` (the end of the run): a stall in progress is counted,
  // lasting until now. Returns its length if there was one. Call once.
  std::optional<double> finish(double now);

  bool playing() const { return started_; }
  std::optional<double> started_at() const { return started_ ? std::optional<double>(play_start_) : std::nullopt; }
  int stalls() const { return stalls_; }
  double stall_seconds() const { return stall_seconds_; }
  // Media arrived but not yet played at `now` (0 while stalled, all of it before playback starts).
  double buffered(double now) const;
  double received() const { return media_end_; }

 private:
  double run_out() const { return anchor_wall_ + (media_end_ - anchor_pos_); }

  int start_segments_;
  int segments_ = 0;
  bool started_ = false;
  double play_start_ = 0;
  double media_end_ = 0;     // seconds of media received
  double anchor_wall_ = 0;   // the playhead was at anchor_pos_ at wall time anchor_wall_ ...
  double anchor_pos_ = 0;    // ... and has moved at real time since
  int stalls_ = 0;
  double stall_seconds_ = 0;
};

}  // namespace hlsload
