#include "segmenter/program_tracker.hpp"

#include <algorithm>
#include <cstring>

namespace hlscache::ts {

ProgramTracker::ProgramTracker() {
  roles_.fill(PidRole::none);
  roles_[kPatPid] = PidRole::pat;
  for (Table* t : {&pat_table_, &pmt_table_}) {
    t->pending.reserve(kMaxPsiPackets * kPacketSize);
    t->last_packets.reserve(kMaxPsiPackets * kPacketSize);
    t->last_section.reserve(SectionAssembler::kMaxSectionSize);
  }
}

ProgramStats ProgramTracker::stats() const noexcept {
  ProgramStats s = stats_;
  s.section_errors = pat_table_.assembler.errors() + pmt_table_.assembler.errors();
  return s;
}

bool ProgramTracker::on_psi_packet(const std::uint8_t* packet, const PacketInfo& info, bool restart) {
  const bool is_pat = info.pid == kPatPid;
  Table& t = is_pat ? pat_table_ : pmt_table_;
  if (restart) {
    t.assembler.reset();
    t.pending.clear();
  }
  if (!info.has_payload || info.payload_offset >= kPacketSize) return false;
  // Remember the packets of the section being assembled (a new section starts at a PUSI).
  if (info.payload_unit_start) t.pending.clear();
  if (t.pending.size() + kPacketSize <= kMaxPsiPackets * kPacketSize) {
    t.pending.insert(t.pending.end(), packet, packet + kPacketSize);
  }
  bool changed = false;
  t.assembler.feed(packet + info.payload_offset, kPacketSize - info.payload_offset, info.payload_unit_start,
                   [&](const std::uint8_t* s, std::size_t n) { changed |= on_section(t, is_pat, s, n); });
  return changed;
}

bool ProgramTracker::on_section(Table& t, bool is_pat, const std::uint8_t* s, std::size_t n) {
  const std::uint8_t expected_table = is_pat ? 0x00 : 0x02;
  if (s[0] != expected_table) return false;  // other tables on the PID (e.g. SIT): not ours
  const bool repeat = t.last_section.size() == n && std::memcmp(t.last_section.data(), s, n) == 0;
  if (repeat) {  // the same section again: only refresh the packets we re-emit
    t.last_packets = t.pending;
    rebuild_psi_packets();
    return false;
  }
  bool changed = false;
  if (is_pat) {
    auto pat = parse_pat(s, n);
    if (!pat) {
      ++stats_.crc_errors;
      return false;
    }
    if (!pat->current) return false;  // a version announced for later; not yet in force
    changed = take_pat(*pat);
  } else {
    auto pmt = parse_pmt(s, n);
    if (!pmt) {
      ++stats_.crc_errors;
      return false;
    }
    if (!pmt->current || pmt->program_number != program_number_) return false;
    take_pmt(*pmt);
    changed = true;
  }
  t.last_section.assign(s, s + n);
  t.last_packets = t.pending;
  rebuild_psi_packets();
  return changed;
}

bool ProgramTracker::take_pat(const Pat& pat) {
  ++stats_.pat_changes;
  if (pat.programs.empty()) return false;
  const PatProgram& first = pat.programs.front();
  if (first.pmt_pid == pmt_pid_ && first.program_number == program_number_) return false;
  // The program moved: forget the old PMT and everything it described.
  if (pmt_pid_ != kNullPid) roles_[pmt_pid_] = PidRole::none;
  for (std::size_t pid = 1; pid < kPidCount; ++pid) {
    if (roles_[pid] != PidRole::pat) roles_[pid] = PidRole::none;
  }
  pmt_pid_ = first.pmt_pid;
  program_number_ = first.program_number;
  roles_[pmt_pid_] = PidRole::pmt;
  pmt_table_.assembler.reset();
  pmt_table_.pending.clear();
  pmt_table_.last_packets.clear();
  pmt_table_.last_section.clear();
  pmt_.reset();
  video_pid_ = audio_pid_ = kNullPid;
  video_kind_ = audio_kind_ = StreamKind::other;
  return true;
}

void ProgramTracker::take_pmt(const Pmt& pmt) {
  ++stats_.pmt_changes;
  if (pmt_) {
    for (const PmtStream& es : pmt_->streams) {
      if (roles_[es.pid] != PidRole::pat && roles_[es.pid] != PidRole::pmt) roles_[es.pid] = PidRole::none;
    }
  }
  video_pid_ = audio_pid_ = kNullPid;
  video_kind_ = audio_kind_ = StreamKind::other;
  for (const PmtStream& es : pmt.streams) {
    if (es.pid == kPatPid || es.pid == pmt_pid_ || es.pid == kNullPid) continue;
    PidRole role = PidRole::other_es;
    if (is_video(es.kind) && video_pid_ == kNullPid) {
      video_pid_ = es.pid;
      video_kind_ = es.kind;
      role = PidRole::video;
    } else if (is_audio(es.kind) && audio_pid_ == kNullPid) {
      audio_pid_ = es.pid;
      audio_kind_ = es.kind;
      role = PidRole::audio;
    }
    roles_[es.pid] = role;
  }
  pmt_ = pmt;
}

void ProgramTracker::rebuild_psi_packets() {
  psi_packets_.clear();
  if (pat_table_.last_packets.empty() || pmt_table_.last_packets.empty()) return;
  psi_packets_.insert(psi_packets_.end(), pat_table_.last_packets.begin(), pat_table_.last_packets.end());
  psi_packets_.insert(psi_packets_.end(), pmt_table_.last_packets.begin(), pmt_table_.last_packets.end());
}

}  // namespace hlscache::ts
