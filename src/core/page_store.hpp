// PageStore: body chunks in page-backed memory (one memfd, mapped once), so that a
// hit on clear TCP can be sent with sendfile(2) — the kernel then hands the pages
// to the socket instead of copying the bytes in (the copy was a third of the CPU
// of a herd of 1 MiB segments). Large chunks come from here when a store is
// installed; small ones, and everything when it is not, stay on the heap.
//
// Freeing a chunk punches its pages out of the memfd before its range is reused:
// a socket may still hold the old pages (sent but not yet delivered), and those
// must keep the old bytes. Fresh pages back the range the next time. Hence small
// pages only (MADV_NOHUGEPAGE; no store when shmem huge pages are forced or the
// page size does not divide 16 KiB): a punch must free whole pages, never zero
// part of one in place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <atomic>
#include <vector>

namespace hlscache {

class PageStore {
 public:
  static constexpr std::size_t kMinChunk = 16 * 1024;    // below this a copy is cheaper than a second syscall
  static constexpr std::size_t kMaxChunk = 1024 * 1024;  // the largest class (one sendfile per MiB)

  // Maps `reserve` bytes of address space over a fresh memfd (no memory is used
  // until pages are written). Null, with `why` set, if the kernel refuses.
  static std::unique_ptr<PageStore> create(std::size_t reserve, std::string* why = nullptr);
  ~PageStore();
  PageStore(const PageStore&) = delete;
  PageStore& operator=(const PageStore&) = delete;

  // The process-wide store Chunk::allocate() uses: null when none is installed or it
  // is switched off (cache.sendfile: false on a reload; chunks made before keep their
  // pages). install() keeps the first store for the life of the process — chunks from
  // it may outlive any server — and switches it on.
  static PageStore* current() {
    return enabled_.load(std::memory_order_acquire) ? installed_.load(std::memory_order_acquire) : nullptr;
  }
  static PageStore* install(std::size_t reserve, std::string* why = nullptr);
  static PageStore* installed() { return installed_.load(std::memory_order_acquire); }  // on or off
  static void switch_off() { enabled_.store(false, std::memory_order_release); }

  // `capacity` bytes in the store, populated; null when out of reserve or memory
  // (the caller uses the heap). The deleter gives the range back.
  std::shared_ptr<char[]> allocate(std::size_t capacity);

  int fd() const { return fd_; }
  // The file offset of [p, p + n) if it lies inside the store.
  std::optional<std::uint64_t> offset_of(const void* p, std::size_t n) const {
    const auto at = reinterpret_cast<std::uintptr_t>(p), base = reinterpret_cast<std::uintptr_t>(base_);
    if (n == 0 || at < base || at - base > reserve_ || n > reserve_ - (at - base)) return std::nullopt;
    return static_cast<std::uint64_t>(at - base);
  }

  struct Stats {
    std::uint64_t bytes = 0;        // held (page-rounded): live chunks, and ranges whose punch failed
    std::uint64_t chunks = 0;       // live chunks
    std::uint64_t reserve = 0;      // address space mapped
    std::uint64_t high_water = 0;   // reserve used so far (bump pointer)
    std::uint64_t fallbacks = 0;    // allocations the store could not take (went to the heap)
    std::uint64_t punch_failures = 0;  // ranges kept out of use because their pages could not be freed
  };
  Stats stats() const;

 private:
  PageStore(int fd, char* base, std::size_t reserve, std::size_t page)
      : fd_(fd), base_(base), reserve_(reserve), page_(page) {}
  std::optional<std::uint64_t> take_range(int cls);  // under mu_
  void release(std::uint64_t offset, std::size_t bytes, int cls);
  static int class_of(std::size_t bytes);  // power-of-two classes from kMinChunk to kMaxChunk

  static std::atomic<PageStore*> installed_;
  static std::atomic<bool> enabled_;
  static constexpr int kClasses = 7;  // 16 KiB .. 1 MiB

  const int fd_;
  char* const base_;
  const std::size_t reserve_;
  const std::size_t page_;
  mutable std::mutex mu_;
  std::vector<std::uint64_t> free_[kClasses];  // punched ranges ready for reuse, per class
  std::uint64_t bump_ = 0;
  std::uint64_t bytes_ = 0, chunks_ = 0, fallbacks_ = 0, punch_failures_ = 0;
};

}  // namespace hlscache
