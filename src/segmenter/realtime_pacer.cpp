#include "segmenter/realtime_pacer.hpp"

namespace hlscache {

RealtimePacer::RealtimePacer(Duration tolerance, Duration max_step)
    : tolerance_(tolerance),
      max_step_(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(max_step).count()) *
                27) {}

RealtimePacer::Slot RealtimePacer::schedule(std::uint64_t pcr, TimePoint now) {
  if (!started_) {
    started_ = true;
    base_ = now;
    last_pcr_ = pcr;
    return {now};
  }
  const std::uint64_t step = (pcr + kPcrWrap - last_pcr_) % kPcrWrap;
  last_pcr_ = pcr;
  if (step > max_step_) {  // backwards (mod 2^33 x 300: huge) or a gap: the file's clock jumped
    base_ = now;
    media_ = 0;
    ++jumps_;
    Slot s{now};
    s.jumped = true;
    return s;
  }
  media_ += step;
  const TimePoint due = base_ + media_time(media_);
  if (now - due > tolerance_) {
    Slot s{now};
    s.skipped = true;
    s.behind = now - due;
    base_ += s.behind;
    skipped_ += s.behind;
    ++skips_;
    return s;
  }
  return {due};
}

}  // namespace hlscache
