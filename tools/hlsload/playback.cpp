#include "hlsload/playback.hpp"

#include <algorithm>

namespace hlsload {

std::optional<double> PlaybackModel::on_segment(double now, double duration) {
  std::optional<double> stall;
  ++segments_;
  if (!started_) {
    media_end_ += duration;
    if (segments_ >= start_segments_) {
      started_ = true;
      play_start_ = anchor_wall_ = now;
      anchor_pos_ = 0;
    }
    return stall;
  }
  const double dry = run_out();
  if (now > dry) {  // the playhead waited at the end of the buffer since `dry`
    stall = now - dry;
    ++stalls_;
    stall_seconds_ += *stall;
    anchor_pos_ = media_end_;
    anchor_wall_ = now;
  }
  media_end_ += duration;
  return stall;
}

std::optional<double> PlaybackModel::finish(double now) {
  if (!started_) return std::nullopt;
  const double dry = run_out();
  if (now <= dry) return std::nullopt;
  ++stalls_;
  stall_seconds_ += now - dry;
  anchor_pos_ = media_end_;
  anchor_wall_ = now;
  return now - dry;
}

double PlaybackModel::buffered(double now) const {
  if (!started_) return media_end_;
  return std::max(0.0, run_out() - now);
}

}  // namespace hlsload
