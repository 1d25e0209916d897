#include "segmenter/fmp4_writer.hpp"

#include <array>
#include <cassert>
#include <string_view>

#include "segmenter/fmp4_boxes.hpp"

namespace hlscache::fmp4 {
namespace {

constexpr std::uint32_t kVideoTrackId = 1;
constexpr std::uint32_t kMovieTimescale = 1000;  // mvhd: nothing is timed in it (durations are 0)
constexpr std::array<std::uint32_t, 9> kUnityMatrix = {0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000};
constexpr std::uint16_t kLanguageUnd = 0x55C4;  // ISO 639-2 "und", packed 3 x 5 bits

// sample_flags (ISO/IEC 14496-12 §8.8.3.1): sample_depends_on = 2 (an I-frame, or
// audio) for a sync sample; otherwise depends_on = 1 and sample_is_non_sync_sample.
constexpr std::uint32_t kSyncSampleFlags = 0x02000000;
constexpr std::uint32_t kNonSyncSampleFlags = 0x01010000;

// tfhd / trun flags (§8.8.7, §8.8.8).
constexpr std::uint32_t kTfhdDefaultSampleFlags = 0x000020;
constexpr std::uint32_t kTfhdDefaultBaseIsMoof = 0x020000;
constexpr std::uint32_t kTrunDataOffset = 0x000001;
constexpr std::uint32_t kTrunDuration = 0x000100;
constexpr std::uint32_t kTrunSize = 0x000200;
constexpr std::uint32_t kTrunFlags = 0x000400;
constexpr std::uint32_t kTrunCompositionOffset = 0x000800;

bool is_video(const TrackInfo& t) { return t.codec != Codec::aac; }

void matrix(BoxWriter& w) {
  for (const std::uint32_t v : kUnityMatrix) w.u32(v);
}

void ftyp(BoxWriter& w) {
  // iso6: the brand that covers tfdt, trun v1 (signed composition offsets) and
  // default-base-is-moof; mp41 for older readers. Not cmfc: a CMAF track file holds
  // one track, and this stream muxes video and audio together (docs/segmenter.md).
  w.box("ftyp", [&] {
    w.fourcc("iso6");
    w.u32(0);  // minor_version
    w.fourcc("iso6");
    w.fourcc("mp41");
  });
}

void mvhd(BoxWriter& w, std::uint32_t next_track_id) {
  w.full_box("mvhd", 0, 0, [&] {
    w.u32(0);  // creation_time
    w.u32(0);  // modification_time
    w.u32(kMovieTimescale);
    w.u32(0);           // duration: unknown (fragmented, live)
    w.u32(0x00010000);  // rate 1.0
    w.u16(0x0100);      // volume 1.0
    w.zeros(2 + 8);     // reserved
    matrix(w);
    w.zeros(6 * 4);  // pre_defined
    w.u32(next_track_id);
  });
}

void tkhd(BoxWriter& w, const TrackInfo& t, std::uint32_t track_id) {
  w.full_box("tkhd", 0, 0x000003, [&] {  // track_enabled | track_in_movie
    w.u32(0);  // creation_time
    w.u32(0);  // modification_time
    w.u32(track_id);
    w.u32(0);  // reserved
    w.u32(0);  // duration
    w.zeros(8);
    w.u16(0);  // layer
    w.u16(0);  // alternate_group
    w.u16(is_video(t) ? 0 : 0x0100);  // volume
    w.u16(0);
    matrix(w);
    w.u32(std::uint32_t{t.width} << 16);  // 16.16 fixed point
    w.u32(std::uint32_t{t.height} << 16);
  });
}

void mdhd(BoxWriter& w, const TrackInfo& t) {
  w.full_box("mdhd", 0, 0, [&] {
    w.u32(0);
    w.u32(0);
    w.u32(t.timescale);
    w.u32(0);
    w.u16(kLanguageUnd);
    w.u16(0);
  });
}

void hdlr(BoxWriter& w, const TrackInfo& t) {
  w.full_box("hdlr", 0, 0, [&] {
    w.u32(0);  // pre_defined
    w.fourcc(is_video(t) ? "vide" : "soun");
    w.zeros(3 * 4);
    const std::string_view name = is_video(t) ? "VideoHandler" : "SoundHandler";
    w.bytes({reinterpret_cast<const std::uint8_t*>(name.data()), name.size()});
    w.u8(0);
  });
}

void visual_sample_entry(BoxWriter& w, const TrackInfo& t) {
  const bool hevc = t.codec == Codec::h265;
  w.box(hevc ? "hvc1" : "avc1", [&] {
    w.zeros(6);
    w.u16(1);  // data_reference_index
    w.u16(0);  // pre_defined
    w.u16(0);  // reserved
    w.zeros(3 * 4);
    w.u16(t.width);
    w.u16(t.height);
    w.u32(0x00480000);  // 72 dpi
    w.u32(0x00480000);
    w.u32(0);
    w.u16(1);        // frame_count
    w.zeros(32);     // compressorname: empty
    w.u16(0x0018);   // depth
    w.u16(0xFFFF);   // pre_defined = -1
    w.box(hevc ? "hvcC" : "avcC", [&] { w.bytes(t.decoder_config); });
  });
}

// An MPEG-4 descriptor (ISO/IEC 14496-1 §7.2.2): tag, then its size in the
// expandable form (7 bits per byte, the high bit saying another byte follows).
void descriptor(BoxWriter& w, std::uint8_t tag, std::size_t size) {
  w.u8(tag);
  int groups = 1;
  while (groups < 4 && (size >> (7 * groups)) != 0) ++groups;
  for (int i = groups - 1; i >= 0; --i) {
    w.u8(static_cast<std::uint8_t>(((size >> (7 * i)) & 0x7F) | (i > 0 ? 0x80 : 0)));
  }
}

std::size_t descriptor_header_size(std::size_t size) {
  std::size_t n = 2;
  while (n < 5 && (size >> (7 * (n - 1))) != 0) ++n;
  return n;
}

// esds (ISO/IEC 14496-14 §5.6): ES_Descriptor > DecoderConfigDescriptor (AAC,
// audio stream) > DecoderSpecificInfo (the AudioSpecificConfig), SLConfigDescriptor.
void esds(BoxWriter& w, const TrackInfo& t) {
  const std::size_t dsi = t.decoder_config.size();
  const std::size_t dcd = 13 + descriptor_header_size(dsi) + dsi;
  const std::size_t sl = 1;
  const std::size_t es = 3 + descriptor_header_size(dcd) + dcd + descriptor_header_size(sl) + sl;
  w.full_box("esds", 0, 0, [&] {
    descriptor(w, 0x03, es);
    w.u16(0);  // ES_ID
    w.u8(0);   // no dependency, URL or OCR stream
    descriptor(w, 0x04, dcd);
    w.u8(0x40);  // objectTypeIndication: Audio ISO/IEC 14496-3
    w.u8(0x15);  // streamType 5 (audio) << 2 | upStream 0 | reserved 1
    w.u24(0);    // bufferSizeDB
    w.u32(0);    // maxBitrate: not known up front
    w.u32(0);    // avgBitrate
    descriptor(w, 0x05, dsi);
    w.bytes(t.decoder_config);
    descriptor(w, 0x06, sl);
    w.u8(0x02);  // predefined: reserved for use in MP4 files
  });
}

void audio_sample_entry(BoxWriter& w, const TrackInfo& t) {
  w.box("mp4a", [&] {
    w.zeros(6);
    w.u16(1);  // data_reference_index
    w.zeros(8);
    w.u16(t.channels);
    w.u16(16);  // samplesize
    w.u16(0);
    w.u16(0);
    // 16.16 fixed point: rates above 65535 Hz do not fit and are left to the AudioSpecificConfig.
    w.u32(t.sample_rate <= 0xFFFF ? t.sample_rate << 16 : 0);
    esds(w, t);
  });
}

void stbl(BoxWriter& w, const TrackInfo& t) {
  w.box("stbl", [&] {
    w.full_box("stsd", 0, 0, [&] {
      w.u32(1);  // entry_count
      if (is_video(t)) {
        visual_sample_entry(w, t);
      } else {
        audio_sample_entry(w, t);
      }
    });
    // The samples are all in the fragments: every table is empty.
    w.full_box("stts", 0, 0, [&] { w.u32(0); });
    w.full_box("stsc", 0, 0, [&] { w.u32(0); });
    w.full_box("stsz", 0, 0, [&] {
      w.u32(0);  // sample_size
      w.u32(0);  // sample_count
    });
    w.full_box("stco", 0, 0, [&] { w.u32(0); });
  });
}

void trak(BoxWriter& w, const TrackInfo& t, std::uint32_t track_id) {
  w.box("trak", [&] {
    tkhd(w, t, track_id);
    w.box("mdia", [&] {
      mdhd(w, t);
      hdlr(w, t);
      w.box("minf", [&] {
        if (is_video(t)) {
          w.full_box("vmhd", 0, 1, [&] { w.zeros(2 + 3 * 2); });  // graphicsmode, opcolor
        } else {
          w.full_box("smhd", 0, 0, [&] { w.zeros(2 + 2); });  // balance, reserved
        }
        w.box("dinf", [&] {
          w.full_box("dref", 0, 0, [&] {
            w.u32(1);
            w.full_box("url ", 0, 1, [] {});  // flag 1: the media data is in this file
          });
        });
        stbl(w, t);
      });
    });
  });
}

void trex(BoxWriter& w, const TrackInfo& t, std::uint32_t track_id) {
  w.full_box("trex", 0, 0, [&] {
    w.u32(track_id);
    w.u32(1);  // default_sample_description_index
    w.u32(0);  // default_sample_duration
    w.u32(0);  // default_sample_size
    w.u32(is_video(t) ? kNonSyncSampleFlags : kSyncSampleFlags);
  });
}

// One traf; returns where its trun's data_offset is, to be patched once the moof's size is known.
std::size_t traf(BoxWriter& w, const TrackInfo& t, std::uint32_t track_id, std::span<const Sample> samples) {
  const bool video = is_video(t);
  std::size_t data_offset_at = 0;
  w.box("traf", [&] {
    w.full_box("tfhd", 0, kTfhdDefaultBaseIsMoof | (video ? 0 : kTfhdDefaultSampleFlags), [&] {
      w.u32(track_id);
      if (!video) w.u32(kSyncSampleFlags);
    });
    w.full_box("tfdt", 1, 0, [&] { w.u64(samples.front().dts); });
    const std::uint32_t flags =
        kTrunDataOffset | kTrunDuration | kTrunSize | (video ? kTrunFlags | kTrunCompositionOffset : 0);
    w.full_box("trun", 1, flags, [&] {  // version 1: signed composition offsets
      w.u32(static_cast<std::uint32_t>(samples.size()));
      data_offset_at = w.reserve_u32();
      for (const Sample& s : samples) {
        w.u32(s.duration);
        w.u32(static_cast<std::uint32_t>(s.data.size()));
        if (video) {
          w.u32(s.sync ? kSyncSampleFlags : kNonSyncSampleFlags);
          w.i32(s.composition_offset);
        }
      }
    });
  });
  return data_offset_at;
}

std::size_t payload_size(std::span<const Sample> samples) {
  std::size_t n = 0;
  for (const Sample& s : samples) n += s.data.size();
  return n;
}

}  // namespace

Fmp4Writer::Fmp4Writer(std::optional<TrackInfo> video, std::optional<TrackInfo> audio, std::uint32_t first_sequence)
    : video_(std::move(video)), audio_(std::move(audio)), sequence_(first_sequence) {
  assert(video_ || audio_);
}

std::string Fmp4Writer::init_segment() const {
  BoxWriter w;
  ftyp(w);
  std::uint32_t id = kVideoTrackId;
  const std::uint32_t video_id = video_ ? id++ : 0;
  const std::uint32_t audio_id = audio_ ? id++ : 0;
  w.box("moov", [&] {
    mvhd(w, id);
    if (video_) trak(w, *video_, video_id);
    if (audio_) trak(w, *audio_, audio_id);
    w.box("mvex", [&] {
      if (video_) trex(w, *video_, video_id);
      if (audio_) trex(w, *audio_, audio_id);
    });
  });
  return w.take();
}

std::string Fmp4Writer::segment_type() {
  BoxWriter w;
  w.box("styp", [&] {
    w.fourcc("msdh");  // a media segment (ISO/IEC 23009-1 §6.3.4.2)
    w.u32(0);
    w.fourcc("msdh");
  });
  return w.take();
}

std::string Fmp4Writer::fragment(std::span<const Sample> video, std::span<const Sample> audio) {
  if (!video_) video = {};
  if (!audio_) audio = {};
  if (video.empty() && audio.empty()) return {};
  BoxWriter w;
  const std::uint32_t video_id = kVideoTrackId;
  const std::uint32_t audio_id = video_ ? kVideoTrackId + 1 : kVideoTrackId;
  std::size_t video_offset_at = 0;
  std::size_t audio_offset_at = 0;
  w.box("moof", [&] {
    w.full_box("mfhd", 0, 0, [&] { w.u32(sequence_); });
    if (!video.empty()) video_offset_at = traf(w, *video_, video_id, video);
    if (!audio.empty()) audio_offset_at = traf(w, *audio_, audio_id, audio);
  });
  ++sequence_;
  // data_offset counts from the moof's first byte (default-base-is-moof) to the
  // track's first sample: past the moof and the mdat header, video before audio.
  const std::size_t mdat_payload = w.size() + 8;
  const std::size_t video_bytes = payload_size(video);
  if (!video.empty()) w.patch_u32(video_offset_at, static_cast<std::uint32_t>(mdat_payload));
  if (!audio.empty()) w.patch_u32(audio_offset_at, static_cast<std::uint32_t>(mdat_payload + video_bytes));
  w.box("mdat", [&] {
    for (const Sample& s : video) w.bytes(s.data);
    for (const Sample& s : audio) w.bytes(s.data);
  });
  return w.take();
}

}  // namespace hlscache::fmp4
