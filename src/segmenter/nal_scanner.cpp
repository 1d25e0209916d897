#include "segmenter/nal_scanner.hpp"

namespace hlscache::ts {
namespace {

constexpr std::uint8_t kH264Idr = 5;
constexpr std::uint8_t kH264Sps = 7;
constexpr std::uint8_t kH265Sps = 33;

bool is_vcl(VideoCodec c, std::uint8_t t) noexcept { return c == VideoCodec::h265 ? t <= 31 : (t >= 1 && t <= 5); }
bool is_key(VideoCodec c, std::uint8_t t) noexcept { return c == VideoCodec::h265 ? (t >= 16 && t <= 23) : t == kH264Idr; }
bool is_sps(VideoCodec c, std::uint8_t t) noexcept { return c == VideoCodec::h265 ? t == kH265Sps : t == kH264Sps; }

}  // namespace

void NalScanner::start(VideoCodec codec) noexcept {
  codec_ = codec;
  scanned_ = 0;
  zeros_ = 0;
  want_header_ = false;
  done_ = codec == VideoCodec::unknown;
  vcl_ = key_ = false;
  vcl_type_ = 0;
  capturing_ = sps_complete_ = false;
  sps_len_ = 0;
}

bool NalScanner::feed(const std::uint8_t* d, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n && !done_; ++i) {
    const std::uint8_t b = d[i];
    if (capturing_) {
      if (sps_len_ < kMaxSps) {
        sps_[sps_len_++] = b;
      } else {
        capturing_ = false;  // longer than any sane SPS: give up on it
      }
    }
    if (want_header_) {
      want_header_ = false;
      on_nal_header(b);
    } else if (b == 0) {
      if (zeros_ < 3) ++zeros_;
    } else {
      if (b == 1 && zeros_ >= 2) {
        want_header_ = true;
        if (capturing_) {  // the SPS ends where the next start code begins
          const std::size_t trim = 1u + zeros_;
          sps_len_ = sps_len_ > trim ? sps_len_ - trim : 0;
          capturing_ = false;
          sps_complete_ = sps_len_ > 0;
        }
      }
      zeros_ = 0;
    }
    if (++scanned_ >= kMaxScanBytes && !done_) done_ = true;
  }
  return done_;
}

void NalScanner::on_nal_header(std::uint8_t b) noexcept {
  const std::uint8_t t = nal_type(codec_, b);
  if (is_vcl(codec_, t)) {
    vcl_ = true;
    vcl_type_ = t;
    key_ = is_key(codec_, t);
    done_ = true;
    return;
  }
  if (is_sps(codec_, t) && !sps_complete_ && !capturing_) {
    capturing_ = true;
    sps_[0] = b;
    sps_len_ = 1;
  }
}

}  // namespace hlscache::ts
