// A small ISO BMFF reader for the fMP4 tests: splits bytes into boxes, finds a box
// by its path of types, and reads big-endian fields. Written apart from
// src/segmenter/fmp4_boxes so the writer is checked against the layout the spec
// gives (ISO/IEC 14496-12), not against itself. Header-only; test use only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace hlscache::testing {

struct Mp4Box {
  std::string type;
  std::size_t offset = 0;     // of the box's first byte, in the bytes given to mp4_boxes()
  std::size_t size = 0;       // the whole box
  std::string_view payload;   // after the 8-byte header
};

// The boxes that tile `data` one after the other; throws if one overruns it.
inline std::vector<Mp4Box> mp4_boxes(std::string_view data, std::size_t base = 0) {
  std::vector<Mp4Box> out;
  std::size_t at = 0;
  while (at < data.size()) {
    if (data.size() - at < 8) throw std::runtime_error("box header truncated");
    const auto* p = reinterpret_cast<const unsigned char*>(data.data() + at);
    const std::size_t size = (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) | p[3];
    if (size < 8 || size > data.size() - at) throw std::runtime_error("box size out of range");
    out.push_back({std::string(data.substr(at + 4, 4)), base + at, size, data.substr(at + 8, size - 8)});
    at += size;
  }
  return out;
}

// Where the child boxes of a container start within its payload: after the
// FullBox header and entry count (stsd, dref) or the sample entry's fields.
inline std::size_t mp4_children_at(const std::string& type) {
  if (type == "stsd" || type == "dref") return 8;
  if (type == "avc1" || type == "hvc1") return 78;
  if (type == "mp4a") return 28;
  return 0;
}

inline std::vector<Mp4Box> mp4_children(const Mp4Box& b) {
  const std::size_t at = mp4_children_at(b.type);
  return mp4_boxes(b.payload.substr(at), b.offset + 8 + at);
}

// The first box along `path` (each a child type of the one before), from the top-level boxes of `data`.
inline std::optional<Mp4Box> mp4_find(std::string_view data, std::initializer_list<const char*> path) {
  std::optional<Mp4Box> found;
  for (const char* type : path) {
    const std::vector<Mp4Box> level = found ? mp4_children(*found) : mp4_boxes(data);
    found.reset();
    for (const Mp4Box& b : level) {
      if (b.type == type) {
        found = b;
        break;
      }
    }
    if (!found) return std::nullopt;
  }
  return found;
}

// Every box of `type` among the children of `parent`.
inline std::vector<Mp4Box> mp4_all(const Mp4Box& parent, const char* type) {
  std::vector<Mp4Box> out;
  for (const Mp4Box& b : mp4_children(parent)) {
    if (b.type == type) out.push_back(b);
  }
  return out;
}

// Big-endian fields read in order from a payload.
class Mp4Fields {
 public:
  explicit Mp4Fields(std::string_view d) : d_(d) {}
  std::uint64_t uint(int bytes) {
    if (at_ + static_cast<std::size_t>(bytes) > d_.size()) throw std::runtime_error("field past the end");
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(d_[at_++]);
    return v;
  }
  std::uint8_t u8() { return static_cast<std::uint8_t>(uint(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(uint(2)); }
  std::uint32_t u24() { return static_cast<std::uint32_t>(uint(3)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(uint(4)); }
  std::uint64_t u64() { return uint(8); }
  std::int32_t i32() { return static_cast<std::int32_t>(u32()); }
  std::string fourcc() {
    skip(4);
    return std::string(d_.substr(at_ - 4, 4));
  }
  std::string_view bytes(std::size_t n) {
    skip(n);
    return d_.substr(at_ - n, n);
  }
  void skip(std::size_t n) {
    if (at_ + n > d_.size()) throw std::runtime_error("skip past the end");
    at_ += n;
  }
  std::size_t left() const { return d_.size() - at_; }

 private:
  std::string_view d_;
  std::size_t at_ = 0;
};

// One trun's samples, as the fields say (absent ones 0).
struct Mp4TrunSample {
  std::uint32_t duration = 0;
  std::uint32_t size = 0;
  std::uint32_t flags = 0;
  std::int64_t composition_offset = 0;
};

struct Mp4Trun {
  std::uint8_t version = 0;
  std::uint32_t flags = 0;
  std::int32_t data_offset = 0;
  std::vector<Mp4TrunSample> samples;
};

inline Mp4Trun mp4_read_trun(const Mp4Box& trun) {
  Mp4Fields f(trun.payload);
  Mp4Trun t;
  t.version = f.u8();
  t.flags = f.u24();
  const std::uint32_t count = f.u32();
  if ((t.flags & 0x001) != 0) t.data_offset = f.i32();
  if ((t.flags & 0x004) != 0) f.u32();  // first_sample_flags
  for (std::uint32_t i = 0; i < count; ++i) {
    Mp4TrunSample s;
    if ((t.flags & 0x100) != 0) s.duration = f.u32();
    if ((t.flags & 0x200) != 0) s.size = f.u32();
    if ((t.flags & 0x400) != 0) s.flags = f.u32();
    if ((t.flags & 0x800) != 0) {
      s.composition_offset = t.version == 0 ? static_cast<std::int64_t>(f.u32()) : std::int64_t{f.i32()};
    }
    t.samples.push_back(s);
  }
  if (f.left() != 0) throw std::runtime_error("trun has bytes left over");
  return t;
}

}  // namespace hlscache::testing
