// EsDemuxer: the elementary streams of the transport stream's first program, put
// back together: each PES packet of its video PID and of its first audio PID,
// handed out whole with its PTS/DTS (video: one access unit per PES, as muxers for
// HLS write it; AAC: one or more ADTS frames). The Cutter never copies payloads
// (it passes TS packets through); fMP4 output needs them, so this is a second,
// separate reader of the same bytes, built from the same parts (PacketReader,
// ContinuityTracker, ProgramTracker, the PES header parser).
// A PES with a declared length is handed out as soon as it is complete, one
// without (video, normally) when the next PES starts on its PID or at flush().
// A PES that lost packets (continuity error), has a bad header or exceeds
// kMaxPesBytes is dropped and counted. Single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "segmenter/continuity.hpp"
#include "segmenter/nal_scanner.hpp"
#include "segmenter/packet_reader.hpp"
#include "segmenter/program_tracker.hpp"

namespace hlscache::ts {

enum class EsKind : std::uint8_t { video, audio };

struct EsPacket {
  EsKind kind = EsKind::video;
  bool has_pts = false;
  std::uint64_t pts = 0;  // 90 kHz, 33 bits
  std::uint64_t dts = 0;  // equals pts when the PES has no DTS
  std::vector<std::uint8_t> payload;  // the PES payload: Annex B access unit / ADTS frames
};

struct EsDemuxerStats {
  std::uint64_t packets = 0;       // PES packets handed out
  std::uint64_t dropped = 0;       // PES packets dropped (lost packets, bad header, too large)
  std::uint64_t cc_errors = 0;     // on every PID
  std::uint64_t bytes_skipped = 0; // garbage dropped while (re)synchronizing
};

class EsDemuxer {
 public:
  static constexpr std::size_t kMaxPesBytes = std::size_t{16} << 20;  // a 4K intra frame with room to spare

  // Receives each PES, on the thread that called feed()/flush(); must not call back into the demuxer.
  using Sink = std::function<void(EsPacket&&)>;

  explicit EsDemuxer(Sink sink);

  void feed(const std::uint8_t* data, std::size_t size);

  // End of stream (or the bytes that follow are another stream): hands out the PES
  // in progress on each PID and forgets partial packets and continuity.
  void flush();

  // From the PMT: the codec of the video PID (unknown when there is none, or MPEG-2)
  // and the kind of the audio PID (other when there is none).
  bool has_video() const noexcept { return program_.video_pid() != kNullPid; }
  VideoCodec video_codec() const noexcept;
  StreamKind audio_kind() const noexcept { return program_.audio_kind(); }

  EsDemuxerStats stats() const;

 private:
  struct Assembly {
    bool active = false;
    bool damaged = false;
    std::vector<std::uint8_t> bytes;  // the PES so far, header included
  };

  void on_packet(const std::uint8_t* p);
  void on_es_packet(Assembly& a, EsKind kind, const std::uint8_t* p, const PacketInfo& info, bool lost);
  void complete(Assembly& a, EsKind kind);
  bool complete_by_length(const Assembly& a) const;

  Sink sink_;
  PacketReader reader_;
  ContinuityTracker continuity_;
  ProgramTracker program_;
  Assembly video_;
  Assembly audio_;
  EsDemuxerStats stats_;
};

}  // namespace hlscache::ts
