#include "http/wire.hpp"

#include <fmt/format.h>

#include <chrono>
#include <ctime>

namespace hlscache {

std::string format_http_date(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[64];
  std::size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

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

void serialize_h1_head(std::string& out, int status, const std::vector<Header>& headers, std::string_view server,
                       long long content_length, bool keep_alive, bool http10) {
  out.reserve(out.size() + 256 + headers.size() * 48);
  fmt::format_to(std::back_inserter(out), "HTTP/1.1 {} {}\r\nDate: {}\r\nServer: {}\r\n", status,
                 reason_phrase(status), http_date_now(), server);
  for (const auto& [k, v] : headers) {
    out.append(k);
    out.append(": ");
    out.append(v);
    out.append("\r\n");
  }
  bool bodyless_status = status == 204 || status == 304 || (status >= 100 && status < 200);
  if (!bodyless_status) {
    if (content_length >= 0)
      fmt::format_to(std::back_inserter(out), "Content-Length: {}\r\n", content_length);
    else if (content_length == kChunked)
      out.append("Transfer-Encoding: chunked\r\n");
  }
  if (!keep_alive)
    out.append("Connection: close\r\n");
  else if (http10)
    out.append("Connection: keep-alive\r\n");
  out.append("\r\n");
}

}  // namespace hlscache
