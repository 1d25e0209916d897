// NalScanner: decides whether a video access unit is a keyframe by looking only at
// the NAL unit headers at the start of its PES payload. It walks the bytes for
// Annex B start codes (00 00 01; the state survives packet boundaries, so a start
// code split across packets is found), reads each NAL type, and stops at the first
// VCL NAL unit: H.264 IDR (5) / H.265 IRAP (16..23) means keyframe, any other slice
// means not. It captures the SPS NAL unit met on the way (for resolution and the
// CODECS string). Bounds: kMaxScanBytes per access unit, kMaxSps bytes of SPS.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace hlscache::ts {

enum class VideoCodec : std::uint8_t { unknown, h264, h265 };

class NalScanner {
 public:
  static constexpr std::size_t kMaxScanBytes = 64 * 1024;  // SEI before the first slice can be large
  static constexpr std::size_t kMaxSps = 512;

  // A new access unit begins (PES payload start).
  void start(VideoCodec codec) noexcept;

  // Scans the next ES bytes of the access unit; returns true once the verdict is in.
  bool feed(const std::uint8_t* d, std::size_t n) noexcept;

  bool done() const noexcept { return done_; }
  bool found_vcl() const noexcept { return vcl_; }
  bool keyframe() const noexcept { return key_; }
  std::uint8_t first_vcl_type() const noexcept { return vcl_type_; }
  // The SPS NAL unit of this access unit (header included, emulation prevention kept); empty if none.
  std::span<const std::uint8_t> sps() const noexcept {
    return sps_complete_ ? std::span<const std::uint8_t>(sps_.data(), sps_len_) : std::span<const std::uint8_t>{};
  }

 private:
  void on_nal_header(std::uint8_t b) noexcept;

  VideoCodec codec_ = VideoCodec::unknown;
  std::size_t scanned_ = 0;
  std::uint8_t zeros_ = 0;  // zero bytes just before the current position (capped)
  bool want_header_ = false;
  bool done_ = true;
  bool vcl_ = false;
  bool key_ = false;
  std::uint8_t vcl_type_ = 0;
  bool capturing_ = false;
  bool sps_complete_ = false;
  std::size_t sps_len_ = 0;
  std::array<std::uint8_t, kMaxSps> sps_{};
};

// NAL unit type of the header byte `b` for `codec`.
constexpr std::uint8_t nal_type(VideoCodec codec, std::uint8_t b) noexcept {
  return codec == VideoCodec::h265 ? static_cast<std::uint8_t>((b >> 1) & 0x3F) : static_cast<std::uint8_t>(b & 0x1F);
}

}  // namespace hlscache::ts
