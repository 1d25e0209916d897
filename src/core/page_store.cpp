#include "core/page_store.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U  // Linux 6.3
#endif

namespace hlscache {

std::atomic<PageStore*> PageStore::installed_{nullptr};
std::atomic<bool> PageStore::enabled_{false};

namespace {

// shmem_enabled=force gives the memory file huge pages whatever the mapping asks; a
// punch inside a huge page zeroes bytes in place that a socket may still be sending.
bool shmem_huge_forced() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/shmem_enabled");
  std::string line;
  std::getline(in, line);
  return line.find("[force]") != std::string::npos;
}

}  // namespace

std::unique_ptr<PageStore> PageStore::create(std::size_t reserve, std::string* why) {
  auto refuse = [&](std::string what) -> std::unique_ptr<PageStore> {
    if (why) *why = std::move(what);
    return nullptr;
  };
  auto fail = [&](const char* what) { return refuse(std::string(what) + ": " + std::strerror(errno)); };
  const long page = ::sysconf(_SC_PAGESIZE);
  if (page <= 0 || static_cast<std::size_t>(page) > kMinChunk || kMinChunk % static_cast<std::size_t>(page) != 0)
    return refuse("page size " + std::to_string(page) + " does not divide the 16 KiB chunk class");
  if (shmem_huge_forced()) return refuse("transparent_hugepage/shmem_enabled is 'force'");
  reserve = (reserve + kMaxChunk - 1) / kMaxChunk * kMaxChunk;
  if (reserve == 0) reserve = kMaxChunk;
  // ftruncate past RLIMIT_FSIZE would raise SIGXFSZ (fatal) before failing.
  if (rlimit fs{}; ::getrlimit(RLIMIT_FSIZE, &fs) == 0 && fs.rlim_cur != RLIM_INFINITY && fs.rlim_cur < reserve)
    return refuse("RLIMIT_FSIZE is below the reserve");
  int fd = ::memfd_create("hlscache-bodies", MFD_CLOEXEC | MFD_NOEXEC_SEAL);
  if (fd < 0 && errno == EINVAL) fd = ::memfd_create("hlscache-bodies", MFD_CLOEXEC);  // before Linux 6.3
  if (fd < 0) return fail("memfd_create");
  auto close_fail = [&](const char* what) {
    auto r = fail(what);
    ::close(fd);
    return r;
  };
  if (::ftruncate(fd, static_cast<off_t>(reserve)) != 0) return close_fail("ftruncate");
  // MAP_NORESERVE: address space only; memory is used as pages are written.
  void* base = ::mmap(nullptr, reserve, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
  if (base == MAP_FAILED) return close_fail("mmap");
  auto unmap_fail = [&](const char* what) {
    auto r = fail(what);
    ::munmap(base, reserve);
    ::close(fd);
    return r;
  };
  // Small pages only (a punch must free whole pages, never zero part of a huge one),
  // and no bodies in a core dump (which would also fault in the whole reserve).
  if (::madvise(base, reserve, MADV_NOHUGEPAGE) != 0) return unmap_fail("madvise(MADV_NOHUGEPAGE)");
  if (::madvise(base, reserve, MADV_DONTDUMP) != 0) return unmap_fail("madvise(MADV_DONTDUMP)");
  // Chunks are populated when made, so that a shortage is a refusal here and not a
  // SIGBUS on a later write: without MADV_POPULATE_WRITE (Linux < 5.14) no store.
  if (::madvise(base, static_cast<std::size_t>(page), MADV_POPULATE_WRITE) != 0)
    return unmap_fail("madvise(MADV_POPULATE_WRITE)");
  ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, page);
  return std::unique_ptr<PageStore>(
      new PageStore(fd, static_cast<char*>(base), reserve, static_cast<std::size_t>(page)));
}

PageStore::~PageStore() {
  ::munmap(base_, reserve_);
  ::close(fd_);
}

PageStore* PageStore::install(std::size_t reserve, std::string* why) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  PageStore* s = installed_.load(std::memory_order_acquire);
  if (!s) {
    auto store = create(reserve, why);
    if (!store) return nullptr;
    s = store.release();  // lives as long as the process: chunks from it may outlive every server
    installed_.store(s, std::memory_order_release);
  }
  enabled_.store(true, std::memory_order_release);
  return s;
}

int PageStore::class_of(std::size_t bytes) {
  int c = 0;
  while ((kMinChunk << c) < bytes) ++c;
  return c;
}

// A range of class `cls`: its free list, else fresh address space, else a freed
// range of a larger class cut into pieces of this one (ranges never merge back; the
// bump pointer is what grows).
std::optional<std::uint64_t> PageStore::take_range(int cls) {
  const std::size_t span = kMinChunk << cls;
  if (!free_[cls].empty()) {
    const std::uint64_t offset = free_[cls].back();
    free_[cls].pop_back();
    return offset;
  }
  if (bump_ + span <= reserve_) {
    const std::uint64_t offset = bump_;
    bump_ += span;
    return offset;
  }
  for (int larger = cls + 1; larger < kClasses; ++larger) {
    if (free_[larger].empty()) continue;
    const std::uint64_t offset = free_[larger].back();
    free_[larger].pop_back();
    for (std::uint64_t piece = span; piece < (kMinChunk << larger); piece += span) free_[cls].push_back(offset + piece);
    return offset;
  }
  return std::nullopt;
}

std::shared_ptr<char[]> PageStore::allocate(std::size_t capacity) {
  if (capacity < kMinChunk || capacity > kMaxChunk) return nullptr;
  const int cls = class_of(capacity);
  const std::size_t bytes = (capacity + page_ - 1) / page_ * page_;
  std::uint64_t offset = 0;
  {
    std::lock_guard lock(mu_);
    auto range = take_range(cls);
    if (!range) {
      ++fallbacks_;
      return nullptr;
    }
    offset = *range;
    bytes_ += bytes;
    ++chunks_;
  }
  // Pages now, in one call, rather than a fault per page as the body arrives; and a
  // refusal (the caller uses the heap) where a fault would be a SIGBUS.
  if (::madvise(base_ + offset, bytes, MADV_POPULATE_WRITE) != 0) {
    release(offset, bytes, cls);
    std::lock_guard lock(mu_);
    ++fallbacks_;
    return nullptr;
  }
  return std::shared_ptr<char[]>(base_ + offset, [this, offset, bytes, cls](char*) { release(offset, bytes, cls); });
}

void PageStore::release(std::uint64_t offset, std::size_t bytes, int cls) {
  // The pages leave the file (a socket still sending them keeps them and their bytes);
  // the range is reused only once that succeeded. If it failed, the range and its
  // pages stay out of use and counted.
  const bool punched = ::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                                   static_cast<off_t>(bytes)) == 0;
  std::lock_guard lock(mu_);
  --chunks_;
  if (punched) {
    free_[cls].push_back(offset);
    bytes_ -= bytes;
  } else {
    ++punch_failures_;
  }
}

PageStore::Stats PageStore::stats() const {
  std::lock_guard lock(mu_);
  return {bytes_, chunks_, reserve_, bump_, fallbacks_, punch_failures_};
}

}  // namespace hlscache
