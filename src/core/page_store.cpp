#include "core/page_store.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif

namespace hlscache {

std::atomic<PageStore*> PageStore::current_{nullptr};

std::unique_ptr<PageStore> PageStore::create(std::size_t reserve, std::string* why) {
  auto fail = [&](const char* what) -> std::unique_ptr<PageStore> {
    if (why) *why = std::string(what) + ": " + std::strerror(errno);
    return nullptr;
  };
  reserve = (reserve + kMaxChunk - 1) / kMaxChunk * kMaxChunk;
  if (reserve == 0) reserve = kMaxChunk;
  const int fd = ::memfd_create("hlscache-bodies", MFD_CLOEXEC);
  if (fd < 0) return fail("memfd_create");
  if (::ftruncate(fd, static_cast<off_t>(reserve)) != 0) {
    auto r = fail("ftruncate");
    ::close(fd);
    return r;
  }
  // MAP_NORESERVE: address space only; memory is used as pages are written.
  void* base = ::mmap(nullptr, reserve, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
  if (base == MAP_FAILED) {
    auto r = fail("mmap");
    ::close(fd);
    return r;
  }
  return std::unique_ptr<PageStore>(new PageStore(fd, static_cast<char*>(base), reserve));
}

PageStore::~PageStore() {
  ::munmap(base_, reserve_);
  ::close(fd_);
}

PageStore* PageStore::install(std::size_t reserve, std::string* why) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  if (auto* s = current()) return s;
  auto store = create(reserve, why);
  if (!store) return nullptr;
  PageStore* s = store.release();  // lives as long as the process: chunks may outlive every server
  current_.store(s, std::memory_order_release);
  return s;
}

int PageStore::class_of(std::size_t bytes) {
  int c = 0;
  while ((kMinChunk << c) < bytes) ++c;
  return c;
}

std::shared_ptr<char[]> PageStore::allocate(std::size_t capacity) {
  if (capacity < kMinChunk || capacity > kMaxChunk) return nullptr;
  const int cls = class_of(capacity);
  const std::size_t span = kMinChunk << cls;
  const std::size_t bytes = (capacity + kPage - 1) / kPage * kPage;
  std::uint64_t offset = 0;
  {
    std::lock_guard lock(mu_);
    if (!free_[cls].empty()) {
      offset = free_[cls].back();
      free_[cls].pop_back();
    } else if (bump_ + span <= reserve_) {
      offset = bump_;
      bump_ += span;
    } else {
      ++fallbacks_;
      return nullptr;
    }
    bytes_ += bytes;
    ++chunks_;
  }
  // Pages now, in one call, rather than a fault per page as the body arrives — and
  // a clean refusal (heap instead) where a fault would be a SIGBUS when memory is short.
  if (::madvise(base_ + offset, bytes, MADV_POPULATE_WRITE) != 0 && errno != EINVAL) {
    release(offset, bytes, cls);
    std::lock_guard lock(mu_);
    ++fallbacks_;
    return nullptr;
  }
  return std::shared_ptr<char[]>(base_ + offset, [this, offset, bytes, cls](char*) { release(offset, bytes, cls); });
}

void PageStore::release(std::uint64_t offset, std::size_t bytes, int cls) {
  // The pages leave the file (a socket still sending them keeps them and their bytes);
  // the range is reused only once that succeeded.
  const bool punched = ::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                                   static_cast<off_t>(bytes)) == 0;
  std::lock_guard lock(mu_);
  if (punched) free_[cls].push_back(offset);
  bytes_ -= bytes;
  --chunks_;
}

PageStore::Stats PageStore::stats() const {
  std::lock_guard lock(mu_);
  return {bytes_, chunks_, reserve_, bump_, fallbacks_};
}

}  // namespace hlscache
