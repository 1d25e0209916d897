// AccessLog: one line per response, in the combined log format plus what the
// cache did, the upstream wait and the total time (docs/operations.md "Access
// log"). Lines go to stderr or are appended to a file — O_APPEND, one write(2) per
// line, so lines from several threads never interleave; reopen() (SIGUSR1) opens
// the path again so logrotate can move the old file away; retarget() (reload)
// switches between off, stderr and a file. Writers share a reader lock; only
// reopen/retarget take it exclusively.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "metrics/metrics.hpp"

namespace hlscache {

struct AccessEntry {
  std::string_view remote;      // client address
  std::string_view method;      // "-" when the request could not be parsed
  std::string_view target;
  std::string_view protocol;    // "HTTP/1.1"
  int status = 0;
  std::uint64_t bytes = 0;      // body bytes sent
  std::string_view referer;     // "" -> "-"
  std::string_view user_agent;  // "" -> "-"
  CacheResult cache = CacheResult::none;
  double upstream_ms = -1;      // wait for the upstream's head (MISS/COALESCED); < 0: none ("-")
  double total_ms = 0;          // request received -> last byte written
  std::chrono::system_clock::time_point received{};
};

// `ADDR - - [DD/Mon/YYYY:HH:MM:SS +0000] "METHOD TARGET PROTO" STATUS BYTES "REFERER" "UA" CACHE UPSTREAM_MS TOTAL_MS`
// Quotes, backslashes and control bytes inside the quoted fields are escaped
// (\" \\ \xHH), so a client cannot forge a line. No trailing newline.
std::string format_access_line(const AccessEntry& e);

class AccessLog {
 public:
  AccessLog() = default;  // off
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // enabled == false: off; path "" : stderr; else the file (created 0644, appended).
  Status retarget(bool enabled, const std::string& path);
  // Opens the same file again (after logrotate moved it). No-op for stderr/off.
  Status reopen();
  bool enabled() const noexcept { return enabled_.load(std::memory_order_relaxed); }
  void write(const AccessEntry& e);
  std::uint64_t write_errors() const noexcept { return write_errors_.load(std::memory_order_relaxed); }

 private:
  mutable std::shared_mutex mu_;
  int fd_ = -1;          // 2 for stderr (never closed)
  std::string path_;
  std::atomic<bool> enabled_{false};
  std::atomic<std::uint64_t> write_errors_{0};
};

}  // namespace hlscache
