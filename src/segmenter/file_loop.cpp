#include "segmenter/file_loop.hpp"

#include <algorithm>
#include <cstring>

#include "segmenter/pes.hpp"
#include "segmenter/timestamp.hpp"
#include "segmenter/ts_packet.hpp"

namespace hlscache::ts {
namespace {

// ADTS sampling_frequency_index (ISO/IEC 14496-3 Table 1.18); 0: reserved/escape.
constexpr std::uint32_t kAdtsRates[16] = {96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050,
                                          16000, 12000, 11025, 8000,  7350,  0,     0,     0};

bool is_audio(std::uint8_t stream_id) { return stream_id >= 0xC0 && stream_id <= 0xDF; }
bool is_video(std::uint8_t stream_id) { return stream_id >= 0xE0 && stream_id <= 0xEF; }

// ADTS sync word 0xFFF with layer '00' (MPEG audio frames have a non-zero layer).
bool adts_sync(const std::uint8_t* d) { return d[0] == 0xFF && (d[1] & 0xF6) == 0xF0; }

}  // namespace

void LoopSpan::observe(const std::uint8_t* data, std::size_t n) {
  for (std::size_t off = 0; off + kPacketSize <= n; off += kPacketSize) {
    const std::uint8_t* p = data + off;
    if (p[0] != kSyncByte) continue;
    const PacketInfo info = parse_packet(p);
    if (!info.valid || info.pid == kNullPid) continue;
    if (info.has_pcr) {
      if (!have_pcr_) {
        have_pcr_ = true;
        pcr_origin_ = info.pcr_base;
      }
      const std::int64_t at = timestamp_delta(pcr_origin_, info.pcr_base);
      if (at > pcr_last_) {
        pcr_step_ = at - pcr_last_;
        pcr_last_ = at;
      }
    }
    if (!info.has_payload) continue;
    const std::uint8_t* payload = p + info.payload_offset;
    const std::size_t size = kPacketSize - info.payload_offset;
    if (info.payload_unit_start) {
      PesHeader h;
      if (parse_pes_header(payload, size, h) != PesParse::ok || !h.has_pts) continue;
      if (!is_audio(h.stream_id) && !is_video(h.stream_id)) continue;
      Stream& s = streams_[info.pid];
      if (!s.have) {
        s.have = true;
        s.video = is_video(h.stream_id);
        s.adts = !s.video && size - h.header_size >= 2 && adts_sync(payload + h.header_size);
        s.origin = h.dts;
      }
      on_pes(s, h, payload + h.header_size, size - h.header_size);
    } else if (auto it = streams_.find(info.pid); it != streams_.end() && it->second.open) {
      walk_adts(it->second, payload, size);
    }
  }
}

void LoopSpan::on_pes(Stream& s, const PesHeader& h, const std::uint8_t* es, std::size_t n) {
  close_pes(s);
  const std::int64_t pts = timestamp_delta(s.origin, h.pts);
  const std::int64_t dts = timestamp_delta(s.origin, h.dts);
  if (s.pes_count == 0) {
    s.min_pts = s.max_pts = pts;
    s.min_dts = s.max_dts = dts;
  } else {
    const std::int64_t step = dts - s.last_dts;
    if (step > 0) {
      s.last_step = step;
      s.max_step = std::max(s.max_step, step);
    }
    s.min_pts = std::min(s.min_pts, pts);
    s.max_pts = std::max(s.max_pts, pts);
    s.min_dts = std::min(s.min_dts, dts);
    s.max_dts = std::max(s.max_dts, dts);
  }
  s.last_dts = dts;
  ++s.pes_count;
  if (s.adts) {
    s.open = true;
    s.open_pts = pts;
    s.samples = 0;
    s.header_len = 0;
    s.skip = 0;
    walk_adts(s, es, n);
  }
}

// Counts the samples of the ADTS frames of the open PES, whose payload comes in pieces.
void LoopSpan::walk_adts(Stream& s, const std::uint8_t* d, std::size_t n) {
  while (n > 0) {
    if (s.skip > 0) {
      const std::size_t take = std::min(s.skip, n);
      s.skip -= take;
      d += take;
      n -= take;
      continue;
    }
    const std::size_t take = std::min(s.header.size() - s.header_len, n);
    std::memcpy(s.header.data() + s.header_len, d, take);
    s.header_len += take;
    d += take;
    n -= take;
    if (s.header_len < s.header.size()) return;
    s.header_len = 0;
    const std::uint8_t* a = s.header.data();
    const std::size_t length = (std::size_t{a[3] & 0x03u} << 11) | (std::size_t{a[4]} << 3) | (a[5] >> 5);
    const std::uint32_t rate = kAdtsRates[(a[2] >> 2) & 0x0F];
    if (!adts_sync(a) || length < s.header.size() || rate == 0) {  // lost the frames: this PES ends the walk
      s.adts_exact = false;
      s.open = false;
      return;
    }
    s.samples += 1024u * ((a[6] & 0x03u) + 1);  // number_of_raw_data_blocks_in_frame + 1
    s.sample_rate = rate;
    s.skip = length - s.header.size();
  }
}

void LoopSpan::close_pes(Stream& s) {
  if (!s.open) return;
  s.open = false;
  if (s.samples == 0 || s.header_len != 0 || s.skip != 0) {  // no whole frame, or one spilling into the next PES
    s.adts_exact = false;
    return;
  }
  const std::uint64_t ticks = (s.samples * kTicksPerSecond + s.sample_rate - 1) / s.sample_rate;  // rounded up
  s.adts_end = std::max(s.adts_end, s.open_pts + static_cast<std::int64_t>(ticks));
}

std::uint64_t LoopSpan::duration() {
  std::int64_t longest = have_pcr_ ? pcr_last_ + pcr_step_ : 0;
  for (auto& [pid, s] : streams_) {
    close_pes(s);
    std::int64_t end_pts = 0, end_dts = 0;
    if (s.adts && s.adts_exact && s.adts_end > 0) {
      end_pts = end_dts = s.adts_end;  // AAC: DTS = PTS
    } else {
      const std::int64_t frame = s.video ? s.last_step : s.max_step;
      end_pts = s.max_pts + frame;
      end_dts = s.max_dts + frame;
    }
    longest = std::max({longest, end_pts - s.min_pts, end_dts - s.min_dts});
  }
  return static_cast<std::uint64_t>(std::max<std::int64_t>(0, longest));
}

void ContinuityRewriter::rewrite(std::uint8_t* data, std::size_t n) {
  for (std::size_t off = 0; off + kPacketSize <= n; off += kPacketSize) {
    std::uint8_t* p = data + off;
    if (p[0] != kSyncByte) continue;
    const std::uint16_t pid = packet_pid(p);
    if (pid == kNullPid) continue;
    const bool payload = (p[3] & 0x10) != 0;
    std::uint8_t cc = p[3] & 0x0f;
    if (payload && rebase_[pid]) {
      offset_[pid] = static_cast<std::uint8_t>((last_[pid] + 1 - cc) & 0x0f);
      rebase_[pid] = false;
    }
    cc = static_cast<std::uint8_t>((cc + offset_[pid]) & 0x0f);
    p[3] = static_cast<std::uint8_t>((p[3] & 0xf0) | cc);
    last_[pid] = cc;
  }
}

void FileLoop::process(std::uint8_t* data, std::size_t n) {
  if (loops_ == 0) span_.observe(data, n);
  timestamps_.rewrite(data, n);
  continuity_.rewrite(data, n);  // identity on pass 0; it records the last counters
}

bool FileLoop::next_loop() {
  if (loops_ == 0) duration_ = span_.duration();
  if (duration_ == 0) return false;
  ++loops_;
  timestamps_.set_offset(loops_ * duration_);
  continuity_.new_loop();
  return true;
}

}  // namespace hlscache::ts
