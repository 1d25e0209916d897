// RealtimePacer: when the looped-file source may hand each block to the cutter.
// The schedule follows the stream's own clock — the PCR the multiplexer wrote (and
// FileLoop carried on across passes) — against a steady clock: a block whose last
// PCR is `m` ticks after the first PCR is due `m` / 27 MHz after the schedule
// began. Media time and wall time therefore advance by the same amount, pass after
// pass (the PCR of pass n is pass 0's plus n loop durations).
//
// Behind schedule by more than `tolerance` (the process or its thread was stopped,
// the machine stalled), the schedule is re-based so that this block is due now:
// the source goes on at real-time pace from now instead of sending the backlog in a
// burst, and the caller marks the gap (a discontinuity). Behind by less, it catches
// up (at most `tolerance` of media at once). A PCR step backwards or longer than
// `max_step` is a jump in the file's own clock: the schedule starts again there.
// Pure arithmetic: time is passed in.
#pragma once

#include <chrono>
#include <cstdint>

#include "core/clock.hpp"

namespace hlscache {

class RealtimePacer {
 public:
  explicit RealtimePacer(Duration tolerance, Duration max_step = std::chrono::seconds(5));

  struct Slot {
    TimePoint due;          // sleep until then, then feed the block
    bool skipped = false;   // the schedule was re-based: `behind` of wall time has no media
    bool jumped = false;    // the PCR jumped: the schedule restarted at this block
    Duration behind{};      // how late the block was when it was re-based
  };
  // `pcr`: the block's last PCR (27 MHz, 42 bits: base x 300 + extension).
  Slot schedule(std::uint64_t pcr, TimePoint now);

  std::uint64_t media_ticks() const noexcept { return media_; }  // 27 MHz since the schedule began
  Duration skipped() const noexcept { return skipped_; }         // wall time re-based away, in total
  std::uint64_t skips() const noexcept { return skips_; }
  std::uint64_t jumps() const noexcept { return jumps_; }

  static constexpr std::uint64_t kPcrWrap = (std::uint64_t{1} << 33) * 300;  // the 33-bit base, in 27 MHz units
  static Duration media_time(std::uint64_t ticks_27mhz) noexcept {
    return std::chrono::duration_cast<Duration>(std::chrono::nanoseconds(ticks_27mhz * 1000 / 27));
  }

 private:
  const Duration tolerance_;
  const std::uint64_t max_step_;  // 27 MHz
  bool started_ = false;
  TimePoint base_{};              // when media tick 0 of the schedule is due
  std::uint64_t last_pcr_ = 0;
  std::uint64_t media_ = 0;
  Duration skipped_{};
  std::uint64_t skips_ = 0;
  std::uint64_t jumps_ = 0;
};

}  // namespace hlscache
