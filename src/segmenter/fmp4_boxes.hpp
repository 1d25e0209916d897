// BoxWriter: builds ISO base media file format boxes (ISO/IEC 14496-12 §4.2) into
// one byte string. Fields are big-endian; a box is opened with its size left as a
// placeholder and closed by patching the size in, so boxes nest to any depth
// without knowing their contents' length up front. A field written before its
// value is known (trun's data_offset) is reserved and patched later. No bounds of
// its own: the caller decides how much it writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace hlscache::fmp4 {

class BoxWriter {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u16(std::uint16_t v) { be(v, 2); }
  void u24(std::uint32_t v) { be(v, 3); }
  void u32(std::uint32_t v) { be(v, 4); }
  void u64(std::uint64_t v) { be(v, 8); }
  void i32(std::int32_t v) { be(static_cast<std::uint32_t>(v), 4); }
  // A four-character code (box type, brand, handler type): exactly 4 characters.
  void fourcc(std::string_view code);
  void bytes(std::span<const std::uint8_t> b) { out_.append(reinterpret_cast<const char*>(b.data()), b.size()); }
  void zeros(std::size_t n) { out_.append(n, '\0'); }

  // `body` writes the box's contents; the 32-bit size is patched in when it returns.
  template <class Body>
  void box(std::string_view type, Body&& body) {
    const std::size_t at = open(type);
    body();
    close(at);
  }
  // A FullBox: version and 24-bit flags follow the type.
  template <class Body>
  void full_box(std::string_view type, std::uint8_t version, std::uint32_t flags, Body&& body) {
    const std::size_t at = open(type);
    u8(version);
    u24(flags);
    body();
    close(at);
  }

  // Reserves a 32-bit field for patch_u32 and returns its position.
  std::size_t reserve_u32() {
    const std::size_t at = out_.size();
    u32(0);
    return at;
  }
  void patch_u32(std::size_t at, std::uint32_t v);

  std::size_t size() const noexcept { return out_.size(); }
  std::string take() { return std::move(out_); }

 private:
  void be(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  std::size_t open(std::string_view type);
  void close(std::size_t at);

  std::string out_;
};

}  // namespace hlscache::fmp4
