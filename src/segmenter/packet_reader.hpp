// PacketReader: turns a byte stream that arrives in arbitrary-sized chunks into
// runs of whole 188-byte TS packets. While in sync, packets are handed out in
// place, as batches of consecutive packets (so the caller can copy them in bulk);
// a packet that straddles two chunks is reassembled in a small carry buffer.
// Sync: a 0x47 at the expected position. On a miss, the reader scans for a 0x47
// that is followed by 0x47 at +188 and +376 (three in a row), counting the bytes
// it skipped. A packet is judged by its own sync byte, so a truncated packet is
// caught at the next position. Bound: the carry holds kCarryCapacity bytes (4 packets).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "segmenter/ts_packet.hpp"

namespace hlscache::ts {

struct PacketReaderStats {
  std::uint64_t packets = 0;
  std::uint64_t sync_losses = 0;    // expected a sync byte, found something else
  std::uint64_t resyncs = 0;        // sync regained after a loss
  std::uint64_t bytes_skipped = 0;  // garbage thrown away while (re)synchronizing
};

class PacketReader {
 public:
  static constexpr std::size_t kConfirmPackets = 3;  // sync bytes in a row that establish sync
  static constexpr std::size_t kCarryCapacity = 4 * kPacketSize;

  // Feeds `n` bytes. Calls `on_batch(const uint8_t* first, size_t count)` for each run of
  // `count` consecutive whole packets; the pointer is valid only during the call.
  template <class OnBatch>
  void feed(const std::uint8_t* data, std::size_t n, OnBatch&& on_batch) {
    while (carry_len_ > 0 && n > 0) {
      const std::size_t old = carry_len_;
      // In sync, complete just the one straddling packet; otherwise fill the window.
      const std::size_t room = synced_ ? kPacketSize - carry_len_ : kCarryCapacity - carry_len_;
      const std::size_t take = std::min(n, room);
      std::memcpy(carry_.data() + carry_len_, data, take);
      carry_len_ += take;
      const std::size_t used = process(carry_.data(), carry_len_, on_batch);
      if (used >= old) {  // everything that was carried is consumed; continue in place
        data += used - old;
        n -= used - old;
        carry_len_ = 0;
      } else {  // still short of bytes: keep the rest carried
        std::memmove(carry_.data(), carry_.data() + used, carry_len_ - used);
        carry_len_ -= used;
        data += take;
        n -= take;
      }
    }
    if (n == 0) return;
    const std::size_t used = process(data, n, on_batch);
    carry_len_ = n - used;  // < one packet when synced, < kConfirmPackets packets when not
    std::memcpy(carry_.data(), data + used, carry_len_);
  }

  // End of stream, or the caller knows the next bytes are a new stream (a file loop):
  // drops a partial packet (counted as skipped) and requires fresh sync confirmation.
  void reset() {
    stats_.bytes_skipped += carry_len_;
    carry_len_ = 0;
    synced_ = false;
    ever_synced_ = false;
  }

  bool synced() const noexcept { return synced_; }
  std::size_t buffered() const noexcept { return carry_len_; }
  const PacketReaderStats& stats() const noexcept { return stats_; }

 private:
  // Consumes whole packets (and skipped garbage) from b[0, len); returns the bytes consumed.
  template <class OnBatch>
  std::size_t process(const std::uint8_t* b, std::size_t len, OnBatch& on_batch) {
    std::size_t i = 0;
    for (;;) {
      if (synced_) {
        std::size_t j = i;
        while (len - j >= kPacketSize && b[j] == kSyncByte) j += kPacketSize;
        if (j > i) {
          const std::size_t count = (j - i) / kPacketSize;
          stats_.packets += count;
          on_batch(b + i, count);
          i = j;
        }
        if (len - i < kPacketSize) return i;
        synced_ = false;  // a whole packet's worth of bytes, but no sync byte
        ++stats_.sync_losses;
      }
      const std::size_t span = (kConfirmPackets - 1) * kPacketSize;
      if (len - i <= span) return i;  // cannot confirm anything yet
      std::size_t q = i;
      bool found = false;
      while (q + span < len) {
        const void* hit = std::memchr(b + q, kSyncByte, len - span - q);
        if (hit == nullptr) {
          q = len - span;
          break;
        }
        q = static_cast<std::size_t>(static_cast<const std::uint8_t*>(hit) - b);
        if (b[q + kPacketSize] == kSyncByte && b[q + 2 * kPacketSize] == kSyncByte) {
          found = true;
          break;
        }
        ++q;
      }
      stats_.bytes_skipped += q - i;
      i = q;
      if (!found) return i;
      synced_ = true;
      if (ever_synced_) ++stats_.resyncs;
      ever_synced_ = true;
    }
  }

  std::array<std::uint8_t, kCarryCapacity> carry_{};
  std::size_t carry_len_ = 0;
  bool synced_ = false;
  bool ever_synced_ = false;
  PacketReaderStats stats_;
};

}  // namespace hlscache::ts
