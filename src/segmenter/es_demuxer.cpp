#include "segmenter/es_demuxer.hpp"

#include <algorithm>

#include "segmenter/pes.hpp"

namespace hlscache::ts {

EsDemuxer::EsDemuxer(Sink sink) : sink_(std::move(sink)) {}

VideoCodec EsDemuxer::video_codec() const noexcept {
  switch (program_.video_kind()) {
    case StreamKind::h264: return VideoCodec::h264;
    case StreamKind::h265: return VideoCodec::h265;
    default: return VideoCodec::unknown;
  }
}

void EsDemuxer::feed(const std::uint8_t* data, std::size_t size) {
  reader_.feed(data, size, [this](const std::uint8_t* first, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) on_packet(first + i * kPacketSize);
  });
}

void EsDemuxer::on_packet(const std::uint8_t* p) {
  const std::uint16_t pid = packet_pid(p);
  if (pid == kNullPid) return;
  const PacketInfo info = parse_packet(p);
  if (!info.valid || info.transport_error) {  // its payload cannot be trusted: the PES it belongs to is lost
    if (pid == program_.video_pid()) video_.damaged = true;
    if (pid == program_.audio_pid()) audio_.damaged = true;
    return;
  }
  const Continuity cc = continuity_.check(pid, info.continuity_counter, info.has_payload, info.discontinuity);
  if (cc == Continuity::duplicate) return;
  const bool lost = cc == Continuity::error;
  const PidRole role = program_.role(pid);
  if (role == PidRole::pat || role == PidRole::pmt) {
    if (program_.on_psi_packet(p, info, lost)) {  // other elementary streams: what was gathered is moot
      video_ = Assembly{};
      audio_ = Assembly{};
    }
  } else if (pid == program_.video_pid()) {
    on_es_packet(video_, EsKind::video, p, info, lost);
  } else if (pid == program_.audio_pid()) {
    on_es_packet(audio_, EsKind::audio, p, info, lost);
  }
}

void EsDemuxer::on_es_packet(Assembly& a, EsKind kind, const std::uint8_t* p, const PacketInfo& info, bool lost) {
  if (lost) a.damaged = true;  // the missing packets belong to the PES in progress
  if (!info.has_payload) return;
  const std::uint8_t* payload = p + info.payload_offset;
  const std::size_t n = kPacketSize - info.payload_offset;
  if (info.payload_unit_start) {
    if (a.active) complete(a, kind);
    a.active = true;
    a.damaged = false;
    a.bytes.assign(payload, payload + n);
  } else {
    if (!a.active || a.damaged) return;  // joined mid-PES, or already lost
    if (a.bytes.size() + n > kMaxPesBytes) {
      a.damaged = true;
      a.bytes = {};
      return;
    }
    a.bytes.insert(a.bytes.end(), payload, payload + n);
  }
  if (complete_by_length(a)) complete(a, kind);
}

bool EsDemuxer::complete_by_length(const Assembly& a) const {
  if (a.bytes.size() < 6) return false;
  const std::size_t length = (std::size_t{a.bytes[4]} << 8) | a.bytes[5];
  return length != 0 && a.bytes.size() >= 6 + length;
}

void EsDemuxer::complete(Assembly& a, EsKind kind) {
  a.active = false;
  PesHeader h;
  if (a.damaged || parse_pes_header(a.bytes.data(), a.bytes.size(), h) != PesParse::ok) {
    ++stats_.dropped;
    return;
  }
  std::size_t end = a.bytes.size();
  if (h.packet_length != 0) end = std::min(end, 6 + std::size_t{h.packet_length});  // stuffing after it
  if (h.header_size > end) {
    ++stats_.dropped;
    return;
  }
  EsPacket pkt;
  pkt.kind = kind;
  pkt.has_pts = h.has_pts;
  pkt.pts = h.pts;
  pkt.dts = h.dts;
  a.bytes.resize(end);
  a.bytes.erase(a.bytes.begin(), a.bytes.begin() + static_cast<std::ptrdiff_t>(h.header_size));
  pkt.payload = std::move(a.bytes);
  a.bytes = {};
  ++stats_.packets;
  sink_(std::move(pkt));
}

void EsDemuxer::flush() {
  if (video_.active) complete(video_, EsKind::video);
  if (audio_.active) complete(audio_, EsKind::audio);
  reader_.reset();
  continuity_.reset();
}

EsDemuxerStats EsDemuxer::stats() const {
  EsDemuxerStats s = stats_;
  s.cc_errors = continuity_.errors();
  s.bytes_skipped = reader_.stats().bytes_skipped;
  return s;
}

}  // namespace hlscache::ts
