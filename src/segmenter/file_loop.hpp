// FileLoop: makes a transport-stream file played over and over one continuous
// stream. Pass n is rewritten in place as it is read: every PTS, DTS and PCR moves
// by n x the loop duration (TimestampRewriter), and each PID's continuity counter
// goes on from the previous pass (ContinuityRewriter), so decoders and demuxers
// see one timeline with no seam — no timestamp going back, no packet "lost".
//
// The loop duration is measured on the first pass (LoopSpan): for each elementary
// stream, from its first timestamp to the end of its last frame, on PTS and on DTS;
// the loop duration is the longest of these spans (and of the PCR's). So no stream's
// next pass starts before its previous pass ended — every stream's timestamps stay
// strictly increasing across the seam — and the stream that spans the longest (in
// ffmpeg's output, the AAC audio, which starts a priming frame early) continues
// with no gap; the others get a gap of the difference (a video frame shown a few
// ms longer). "The end of the last frame": video, the last PTS/DTS plus the last
// DTS step (one frame); ADTS AAC, the last PES's PTS plus its frames counted from
// their ADTS headers (1024 samples each, rounded up to the next 90 kHz tick); any
// other stream, the last PTS plus the longest PTS step seen (a whole PES: never
// short, at worst a gap). All 90 kHz, wrap-aware (the file may cross 2^33).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>

#include "segmenter/pes.hpp"
#include "segmenter/timestamp_rewriter.hpp"

namespace hlscache::ts {

// Measures how long one pass of a stream lasts (see above). Fed every packet of the pass.
class LoopSpan {
 public:
  void observe(const std::uint8_t* data, std::size_t n);
  // The pass is over: the loop duration in 90 kHz ticks (0 if no timestamp was seen).
  std::uint64_t duration();

 private:
  struct Stream {
    bool have = false;
    bool video = false;
    bool adts = false;                // the PES payloads are ADTS frames (walked to count samples)
    bool adts_exact = true;           // every PES walked whole: adts_end is exact
    std::uint64_t origin = 0;         // first DTS seen: the others are kept relative to it
    std::uint64_t pes_count = 0;
    std::int64_t min_pts = 0, max_pts = 0, min_dts = 0, max_dts = 0;
    std::int64_t last_dts = 0, last_step = 0, max_step = 0;
    std::int64_t adts_end = 0;        // end of the last ADTS frame so far
    bool open = false;                // an ADTS PES is being walked
    std::int64_t open_pts = 0;
    std::uint64_t samples = 0;        // in the open PES
    std::uint32_t sample_rate = 0;
    std::array<std::uint8_t, 7> header{};  // an ADTS header split across packets
    std::size_t header_len = 0;
    std::size_t skip = 0;             // bytes left of the current ADTS frame
  };
  void on_pes(Stream& s, const PesHeader& h, const std::uint8_t* es, std::size_t n);
  void walk_adts(Stream& s, const std::uint8_t* d, std::size_t n);
  void close_pes(Stream& s);

  std::map<std::uint16_t, Stream> streams_;  // by PID; bounded by the PIDs of one file (< 8192)
  bool have_pcr_ = false;
  std::uint64_t pcr_origin_ = 0;
  std::int64_t pcr_last_ = 0, pcr_step_ = 0;
};

// Keeps continuity counters counting across the passes: each PID's first payload
// packet of a new pass continues from that PID's last counter.
class ContinuityRewriter {
 public:
  void new_loop() { rebase_.fill(true); }
  void rewrite(std::uint8_t* data, std::size_t n);

 private:
  std::array<std::uint8_t, 8192> last_{}, offset_{};
  std::array<bool, 8192> rebase_{};
};

class FileLoop {
 public:
  // Rewrites one block of the current pass in place (whole packets; pass 0 is only measured).
  void process(std::uint8_t* data, std::size_t n);
  // The file ended; the next block starts the next pass. False if the file has no
  // timestamps to continue (nothing to loop on).
  bool next_loop();

  std::uint64_t loops() const noexcept { return loops_; }        // passes completed
  std::uint64_t loop_duration() const noexcept { return duration_; }  // 90 kHz, known after pass 0
  std::uint64_t offset() const noexcept { return timestamps_.offset(); }  // of the current pass, 90 kHz
  const TimestampRewriter& timestamps() const noexcept { return timestamps_; }

 private:
  LoopSpan span_;
  TimestampRewriter timestamps_;
  ContinuityRewriter continuity_;
  std::uint64_t loops_ = 0;
  std::uint64_t duration_ = 0;
};

}  // namespace hlscache::ts
