// ContinuityTracker: per-PID continuity_counter checks (ISO/IEC 13818-1 §2.4.3.3).
// The counter advances by one (mod 16) on each packet that carries payload and
// stays put on adaptation-only packets; one repeat of a payload packet is a legal
// duplicate (to be ignored by analysis), a second repeat is an error. Packets
// with discontinuity_indicator set, and the first packet seen on a PID, are
// accepted as they come. Errors are counted, never fatal. State: one byte per PID.
#pragma once

#include <array>
#include <cstdint>

#include "segmenter/ts_packet.hpp"

namespace hlscache::ts {

enum class Continuity : std::uint8_t { ok, duplicate, error };

class ContinuityTracker {
 public:
  Continuity check(std::uint16_t pid, std::uint8_t cc, bool has_payload, bool discontinuity) noexcept {
    std::uint8_t& s = state_[pid];
    const std::uint8_t last = s & kCcMask;
    const bool seen = (s & kSeen) != 0;
    const bool duplicated = (s & kDuplicated) != 0;
    s = static_cast<std::uint8_t>(kSeen | cc);
    if (!seen || discontinuity) return Continuity::ok;
    if (!has_payload) {
      if (cc == last) return Continuity::ok;
      ++errors_;
      return Continuity::error;
    }
    if (cc == ((last + 1) & kCcMask)) return Continuity::ok;
    if (cc == last && !duplicated) {
      s |= kDuplicated;
      ++duplicates_;
      return Continuity::duplicate;
    }
    ++errors_;
    return Continuity::error;
  }

  // Forget every PID (a new stream follows, e.g. a looped file starts again).
  void reset() noexcept { state_.fill(0); }

  std::uint64_t errors() const noexcept { return errors_; }
  std::uint64_t duplicates() const noexcept { return duplicates_; }

 private:
  static constexpr std::uint8_t kCcMask = 0x0F;
  static constexpr std::uint8_t kSeen = 0x80;
  static constexpr std::uint8_t kDuplicated = 0x40;

  std::array<std::uint8_t, kPidCount> state_{};
  std::uint64_t errors_ = 0;
  std::uint64_t duplicates_ = 0;
};

}  // namespace hlscache::ts
