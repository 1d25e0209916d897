#include "http/wire.hpp"

#include <charconv>

#include <chrono>
#include <ctime>

namespace hlscache {

std::string_view http_date_now() {
  thread_local std::time_t cached_second = 0;
  thread_local std::string cached;
  std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    cached_second = now;
    cached = format_http_date(now);
  }
  return cached;
}

void append_number(std::string& out, std::uint64_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  (void)ec;
  out.append(buf, end);
}

void serialize_h1_head(std::string& out, const Response& r, std::string_view server, long long content_length,
                       bool keep_alive, bool http10) {
  out.reserve(out.size() + 360 + r.stored_wire.size() + r.headers.size() * 48);
  out.append("HTTP/1.1 ");
  append_number(out, static_cast<std::uint64_t>(r.status));
  out.push_back(' ');
  out.append(reason_phrase(r.status));
  out.append("\r\n");
  if (!r.has_date) {
    out.append("Date: ");
    out.append(http_date_now());
    out.append("\r\n");
  }
  out.append("Server: ");
  out.append(server);
  out.append("\r\n");
  out.append(r.stored_wire);
  if (r.cache_lines) append_cache_lines(out, *r.cache_lines, server);
  for (const auto& [k, v] : r.headers) {
    out.append(k);
    out.append(": ");
    out.append(v);
    out.append("\r\n");
  }
  const int status = r.status;
  bool bodyless_status = status == 204 || status == 304 || (status >= 100 && status < 200);
  if (!bodyless_status) {
    if (content_length >= 0) {
      out.append("Content-Length: ");
      append_number(out, static_cast<std::uint64_t>(content_length));
      out.append("\r\n");
    } else if (content_length == kChunked) {
      out.append("Transfer-Encoding: chunked\r\n");
    }
  }
  if (!keep_alive)
    out.append("Connection: close\r\n");
  else if (http10)
    out.append("Connection: keep-alive\r\n");
  out.append("\r\n");
}

}  // namespace hlscache
