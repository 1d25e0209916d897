// ProgramTracker: follows the PAT and the PMT of the first program in it, and
// keeps a PID -> role table the cutter consults once per packet. It also keeps a
// verbatim copy of the last packets that carried a complete, valid PAT and PMT
// section: the cutter puts them at the start of each segment (see
// docs/segmenter.md, "PAT/PMT at segment start"). A repeated, unchanged section is
// recognized with one memcmp and not re-parsed; a new version (or new content)
// re-derives the roles. Bound: kMaxPsiPackets packets per table.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "segmenter/psi_section.hpp"
#include "segmenter/psi_tables.hpp"
#include "segmenter/ts_packet.hpp"

namespace hlscache::ts {

enum class PidRole : std::uint8_t { none, pat, pmt, video, audio, other_es };

struct ProgramStats {
  std::uint64_t crc_errors = 0;      // sections rejected by parse (CRC or structure)
  std::uint64_t section_errors = 0;  // assembly errors (oversize, truncated)
  std::uint64_t pat_changes = 0;     // PAT versions/contents taken into use
  std::uint64_t pmt_changes = 0;     // PMT versions/contents taken into use
};

class ProgramTracker {
 public:
  static constexpr std::size_t kMaxPsiPackets = 6;  // ceil(1024 / 183)

  ProgramTracker();

  PidRole role(std::uint16_t pid) const noexcept { return roles_[pid]; }

  // Feeds one packet whose role is pat or pmt. `restart` drops a partial section
  // (continuity error). Returns true when the program's elementary streams changed.
  bool on_psi_packet(const std::uint8_t* packet, const PacketInfo& info, bool restart);

  bool ready() const noexcept { return pmt_.has_value(); }
  const std::optional<Pmt>& pmt() const noexcept { return pmt_; }
  std::uint16_t video_pid() const noexcept { return video_pid_; }
  std::uint16_t audio_pid() const noexcept { return audio_pid_; }
  std::uint16_t pcr_pid() const noexcept { return pmt_ ? pmt_->pcr_pid : kNullPid; }
  StreamKind video_kind() const noexcept { return video_kind_; }
  StreamKind audio_kind() const noexcept { return audio_kind_; }

  // The last PAT packets followed by the last PMT packets, as received.
  const std::vector<std::uint8_t>& psi_packets() const noexcept { return psi_packets_; }

  ProgramStats stats() const noexcept;

 private:
  struct Table {
    SectionAssembler assembler;
    std::vector<std::uint8_t> pending;      // packets of the section in progress
    std::vector<std::uint8_t> last_packets;  // packets of the last valid section
    std::vector<std::uint8_t> last_section;  // its bytes, to spot repeats cheaply
  };

  bool on_section(Table& t, bool is_pat, const std::uint8_t* s, std::size_t n);
  bool take_pat(const Pat& pat);
  void take_pmt(const Pmt& pmt);
  void rebuild_psi_packets();

  std::array<PidRole, kPidCount> roles_{};
  Table pat_table_;
  Table pmt_table_;
  std::uint16_t pmt_pid_ = kNullPid;
  std::uint16_t program_number_ = 0;
  std::optional<Pmt> pmt_;
  std::uint16_t video_pid_ = kNullPid;
  std::uint16_t audio_pid_ = kNullPid;
  StreamKind video_kind_ = StreamKind::other;
  StreamKind audio_kind_ = StreamKind::other;
  std::vector<std::uint8_t> psi_packets_;
  ProgramStats stats_;
};

}  // namespace hlscache::ts
