#include "hlsload/stats.hpp"

#include <fmt/format.h>

#include <iterator>

namespace hlsload {

const char* to_string(ErrorKind k) noexcept {
  switch (k) {
    case ErrorKind::connect: return "connect";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::http_4xx: return "http_4xx";
    case ErrorKind::http_5xx: return "http_5xx";
    case ErrorKind::read: return "read";
    case ErrorKind::playlist: return "playlist";
    case ErrorKind::fell_behind: return "fell_behind";
    case ErrorKind::count: break;
  }
  return "?";
}

std::uint64_t Stats::error_total() const {
  std::uint64_t n = 0;
  for (auto e : errors) n += e;
  return n;
}

void Stats::merge(const Stats& o) {
  segment_ttfb.merge(o.segment_ttfb);
  segment_ttlb.merge(o.segment_ttlb);
  playlist_latency.merge(o.playlist_latency);
  startup.merge(o.startup);
  segments += o.segments;
  playlists += o.playlists;
  requests += o.requests;
  bytes += o.bytes;
  for (std::size_t i = 0; i < errors.size(); ++i) errors[i] += o.errors[i];
  stalls += o.stalls;
  stall_seconds += o.stall_seconds;
  viewers_stalled += o.viewers_stalled;
}

namespace {

double ms(std::uint64_t micros) { return static_cast<double>(micros) / 1000.0; }

void text_line(std::string& out, const char* name, const LatencyHistogram& h) {
  fmt::format_to(std::back_inserter(out), "  {:<18} n={:<9} p50 {:>9.2f}  p90 {:>9.2f}  p99 {:>9.2f}  max {:>9.2f} ms\n",
                 name, h.count(), ms(h.percentile(50)), ms(h.percentile(90)), ms(h.percentile(99)), ms(h.max()));
}

void json_hist(std::string& out, const char* name, const LatencyHistogram& h) {
  fmt::format_to(std::back_inserter(out),
                 "  \"{}\": {{\"count\": {}, \"p50_ms\": {:.3f}, \"p90_ms\": {:.3f}, \"p99_ms\": {:.3f}, "
                 "\"max_ms\": {:.3f}, \"mean_ms\": {:.3f}}},\n",
                 name, h.count(), ms(h.percentile(50)), ms(h.percentile(90)), ms(h.percentile(99)), ms(h.max()),
                 h.mean() / 1000.0);
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    else out += c;
  }
  return out + "\"";
}

}  // namespace

std::string Summary::text() const {
  const double secs = elapsed_seconds > 0 ? elapsed_seconds : 1;
  std::string out;
  auto it = std::back_inserter(out);
  fmt::format_to(it, "hlsload: {} viewers of {} for {:.1f} s ({} began playback)\n", viewers, targets,
                 elapsed_seconds, viewers_started);
  text_line(out, "segment TTFB", stats.segment_ttfb);
  text_line(out, "segment TTLB", stats.segment_ttlb);
  text_line(out, "playlist latency", stats.playlist_latency);
  text_line(out, "startup", stats.startup);
  fmt::format_to(it, "  requests {} ({:.1f}/s), segments {}, playlists {}, {:.1f} MB ({:.1f} Mbit/s)\n", stats.requests,
                 static_cast<double>(stats.requests) / secs, stats.segments, stats.playlists,
                 static_cast<double>(stats.bytes) / 1e6, static_cast<double>(stats.bytes) * 8 / 1e6 / secs);
  fmt::format_to(it, "  stalls {} ({} viewers), total stall time {:.3f} s\n", stats.stalls, stats.viewers_stalled,
                 stats.stall_seconds);
  fmt::format_to(it, "  errors {}", stats.error_total());
  if (stats.error_total() > 0) {
    out += " (";
    bool first = true;
    for (std::size_t i = 0; i < stats.errors.size(); ++i) {
      if (!stats.errors[i]) continue;
      fmt::format_to(it, "{}{} {}", first ? "" : ", ", to_string(static_cast<ErrorKind>(i)), stats.errors[i]);
      first = false;
    }
    out += ")";
  }
  out += "\n";
  return out;
}

std::string Summary::json() const {
  const double secs = elapsed_seconds > 0 ? elapsed_seconds : 1;
  std::string out = "{\n";
  auto it = std::back_inserter(out);
  fmt::format_to(it, "  \"targets\": {},\n  \"viewers\": {},\n  \"viewers_started\": {},\n  \"elapsed_s\": {:.3f},\n",
                 json_string(targets), viewers, viewers_started, elapsed_seconds);
  fmt::format_to(it, "  \"requests\": {},\n  \"requests_per_s\": {:.2f},\n  \"segments\": {},\n  \"playlists\": {},\n",
                 stats.requests, static_cast<double>(stats.requests) / secs, stats.segments, stats.playlists);
  fmt::format_to(it, "  \"bytes\": {},\n  \"bytes_per_s\": {:.1f},\n", stats.bytes, static_cast<double>(stats.bytes) / secs);
  json_hist(out, "segment_ttfb", stats.segment_ttfb);
  json_hist(out, "segment_ttlb", stats.segment_ttlb);
  json_hist(out, "playlist_latency", stats.playlist_latency);
  json_hist(out, "startup", stats.startup);
  fmt::format_to(it, "  \"stalls\": {},\n  \"viewers_stalled\": {},\n  \"stall_seconds\": {:.3f},\n", stats.stalls,
                 stats.viewers_stalled, stats.stall_seconds);
  fmt::format_to(it, "  \"errors\": {},\n  \"errors_by_kind\": {{", stats.error_total());
  for (std::size_t i = 0; i < stats.errors.size(); ++i)
    fmt::format_to(it, "{}\"{}\": {}", i ? ", " : "", to_string(static_cast<ErrorKind>(i)), stats.errors[i]);
  out += "}\n}\n";
  return out;
}

}  // namespace hlsload
