// PAT and PMT (ISO/IEC 13818-1 §2.4.4.3, §2.4.4.8): parsed from one complete,
// CRC-checked section into plain structs, plus the classification of a PMT
// stream_type (and, for private PES, its descriptors) into the codecs the
// segmenter understands.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/result.hpp"

namespace hlscache::ts {

struct PatProgram {
  std::uint16_t program_number = 0;
  std::uint16_t pmt_pid = 0;
};

struct Pat {
  std::uint16_t transport_stream_id = 0;
  std::uint8_t version = 0;
  bool current = true;  // current_next_indicator
  std::vector<PatProgram> programs;  // program_number 0 (the NIT) is left out
};

enum class StreamKind : std::uint8_t { other, mpeg2_video, h264, h265, aac_adts, aac_latm, mpeg_audio, ac3, eac3 };

bool is_video(StreamKind k) noexcept;
bool is_audio(StreamKind k) noexcept;
const char* to_string(StreamKind k) noexcept;

struct PmtStream {
  std::uint8_t stream_type = 0;
  std::uint16_t pid = 0;
  StreamKind kind = StreamKind::other;
};

struct Pmt {
  std::uint16_t program_number = 0;
  std::uint8_t version = 0;
  bool current = true;
  std::uint16_t pcr_pid = 0x1FFF;
  std::vector<PmtStream> streams;
};

// Both check table_id, section_syntax_indicator, lengths and the CRC32.
Result<Pat> parse_pat(const std::uint8_t* section, std::size_t size);
Result<Pmt> parse_pmt(const std::uint8_t* section, std::size_t size);

}  // namespace hlscache::ts
