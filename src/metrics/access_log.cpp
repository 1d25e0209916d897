#include "metrics/access_log.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>

namespace hlscache {

namespace {

void append_escaped(std::string& out, std::string_view s) {
  if (s.empty()) {
    out += '-';
    return;
  }
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      fmt::format_to(std::back_inserter(out), "\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
}

// "[10/Oct/2000:13:55:36 +0000]", cached per thread for the current second.
const std::string& clf_time(std::chrono::system_clock::time_point t) {
  thread_local std::time_t cached_second = -1;
  thread_local std::string cached;
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  if (secs != cached_second) {
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "[%d/%b/%Y:%H:%M:%S +0000]", &tm);
    cached = buf;
    cached_second = secs;
  }
  return cached;
}

}  // namespace

std::string format_access_line(const AccessEntry& e) {
  std::string out;
  out.reserve(256);
  out += e.remote.empty() ? std::string_view("-") : e.remote;
  out += " - - ";
  out += clf_time(e.received);
  out += " \"";
  append_escaped(out, e.method);
  out += ' ';
  append_escaped(out, e.target);
  out += ' ';
  append_escaped(out, e.protocol);
  fmt::format_to(std::back_inserter(out), "\" {} {} \"", e.status, e.bytes);
  append_escaped(out, e.referer);
  out += "\" \"";
  append_escaped(out, e.user_agent);
  out += "\" ";
  out += to_string(e.cache);
  if (e.upstream_ms < 0)
    out += " -";
  else
    fmt::format_to(std::back_inserter(out), " {:.1f}", e.upstream_ms);
  fmt::format_to(std::back_inserter(out), " {:.1f}", e.total_ms);
  return out;
}

AccessLog::~AccessLog() {
  if (fd_ > 2) ::close(fd_);
}

Status AccessLog::retarget(bool enabled, const std::string& path) {
  int fd = -1;
  if (enabled) {
    if (path.empty()) {
      fd = STDERR_FILENO;
    } else {
      fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
      if (fd < 0)
        return Error::make(ErrorSource::config, Errc::io,
                           fmt::format("cannot open access log '{}': {}", path, std::strerror(errno)));
    }
  }
  std::unique_lock lock(mu_);
  if (fd_ > 2) ::close(fd_);
  fd_ = fd;
  path_ = enabled ? path : std::string();
  enabled_.store(enabled, std::memory_order_relaxed);
  return Ok{};
}

Status AccessLog::reopen() {
  std::string path;
  {
    std::shared_lock lock(mu_);
    if (fd_ <= 2 || path_.empty()) return Ok{};
    path = path_;
  }
  return retarget(true, path);
}

void AccessLog::write(const AccessEntry& e) {
  if (!enabled()) return;
  std::string line = format_access_line(e);
  line += '\n';
  std::shared_lock lock(mu_);
  if (fd_ < 0) return;
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      write_errors_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace hlscache
