#include "segmenter/psi_tables.hpp"

#include <string>

#include "segmenter/psi_section.hpp"

namespace hlscache::ts {
namespace {

Error bad(std::string what) { return Error::make(ErrorSource::upstream, Errc::protocol, std::move(what)); }

std::uint16_t u16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }

// Shared checks of the long section header; on success the body is [8, size - 4).
Status check_long_section(const std::uint8_t* s, std::size_t size, std::uint8_t table_id, const char* name) {
  if (size < 12) return bad(std::string(name) + ": section too short");
  if (s[0] != table_id) return bad(std::string(name) + ": unexpected table_id");
  if ((s[1] & 0x80) == 0) return bad(std::string(name) + ": section_syntax_indicator is 0");
  if (crc32_mpeg2(s, size) != 0) return bad(std::string(name) + ": CRC32 mismatch");
  return Ok{};
}

// Private PES (stream_type 0x06) says what it carries in its descriptors.
StreamKind classify_private(const std::uint8_t* d, std::size_t n) {
  for (std::size_t i = 0; i + 2 <= n;) {
    const std::uint8_t tag = d[i];
    const std::size_t len = d[i + 1];
    if (i + 2 + len > n) break;
    if (tag == 0x6A) return StreamKind::ac3;   // DVB AC-3 descriptor
    if (tag == 0x7A) return StreamKind::eac3;  // DVB enhanced AC-3 descriptor
    if (tag == 0x05 && len >= 4) {             // registration descriptor: format_identifier
      const std::uint8_t* f = d + i + 2;
      if (f[0] == 'A' && f[1] == 'C' && f[2] == '-' && f[3] == '3') return StreamKind::ac3;
      if (f[0] == 'E' && f[1] == 'A' && f[2] == 'C' && f[3] == '3') return StreamKind::eac3;
      if (f[0] == 'H' && f[1] == 'E' && f[2] == 'V' && f[3] == 'C') return StreamKind::h265;
    }
    i += 2 + len;
  }
  return StreamKind::other;
}

StreamKind classify(std::uint8_t stream_type, const std::uint8_t* desc, std::size_t desc_len) {
  switch (stream_type) {
    case 0x01: case 0x02: return StreamKind::mpeg2_video;
    case 0x1B: return StreamKind::h264;
    case 0x24: return StreamKind::h265;
    case 0x0F: return StreamKind::aac_adts;
    case 0x11: return StreamKind::aac_latm;
    case 0x03: case 0x04: return StreamKind::mpeg_audio;
    case 0x81: return StreamKind::ac3;
    case 0x87: return StreamKind::eac3;
    case 0x06: return classify_private(desc, desc_len);
    default: return StreamKind::other;
  }
}

}  // namespace

bool is_video(StreamKind k) noexcept {
  return k == StreamKind::mpeg2_video || k == StreamKind::h264 || k == StreamKind::h265;
}

bool is_audio(StreamKind k) noexcept {
  return k == StreamKind::aac_adts || k == StreamKind::aac_latm || k == StreamKind::mpeg_audio ||
         k == StreamKind::ac3 || k == StreamKind::eac3;
}

const char* to_string(StreamKind k) noexcept {
  switch (k) {
    case StreamKind::other: return "other";
    case StreamKind::mpeg2_video: return "mpeg2-video";
    case StreamKind::h264: return "h264";
    case StreamKind::h265: return "h265";
    case StreamKind::aac_adts: return "aac-adts";
    case StreamKind::aac_latm: return "aac-latm";
    case StreamKind::mpeg_audio: return "mpeg-audio";
    case StreamKind::ac3: return "ac3";
    case StreamKind::eac3: return "eac3";
  }
  return "other";
}

Result<Pat> parse_pat(const std::uint8_t* s, std::size_t size) {
  if (auto st = check_long_section(s, size, 0x00, "PAT"); !st) return st.error();
  Pat pat;
  pat.transport_stream_id = u16(s + 3);
  pat.version = (s[5] >> 1) & 0x1F;
  pat.current = (s[5] & 0x01) != 0;
  const std::size_t end = size - 4;
  if ((end - 8) % 4 != 0) return bad("PAT: program loop is not a multiple of 4 bytes");
  for (std::size_t i = 8; i + 4 <= end; i += 4) {
    const std::uint16_t number = u16(s + i);
    const auto pid = static_cast<std::uint16_t>(u16(s + i + 2) & 0x1FFF);
    if (number != 0) pat.programs.push_back({number, pid});
  }
  return pat;
}

Result<Pmt> parse_pmt(const std::uint8_t* s, std::size_t size) {
  if (auto st = check_long_section(s, size, 0x02, "PMT"); !st) return st.error();
  if (size < 16) return bad("PMT: section too short");
  Pmt pmt;
  pmt.program_number = u16(s + 3);
  pmt.version = (s[5] >> 1) & 0x1F;
  pmt.current = (s[5] & 0x01) != 0;
  pmt.pcr_pid = static_cast<std::uint16_t>(u16(s + 8) & 0x1FFF);
  const std::size_t program_info_length = u16(s + 10) & 0x0FFF;
  const std::size_t end = size - 4;
  std::size_t i = 12 + program_info_length;
  if (i > end) return bad("PMT: program_info_length past the section end");
  while (i + 5 <= end) {
    PmtStream es;
    es.stream_type = s[i];
    es.pid = static_cast<std::uint16_t>(u16(s + i + 1) & 0x1FFF);
    const std::size_t info_len = u16(s + i + 3) & 0x0FFF;
    if (i + 5 + info_len > end) return bad("PMT: ES_info_length past the section end");
    es.kind = classify(es.stream_type, s + i + 5, info_len);
    pmt.streams.push_back(es);
    i += 5 + info_len;
  }
  if (i != end) return bad("PMT: trailing bytes in the stream loop");
  return pmt;
}

}  // namespace hlscache::ts
