// What a load run measures: per-request latencies (histograms), counts, errors by
// kind and the players' stalls. One Stats per worker thread (each behind its own
// uncontended mutex); merged for the progress line and the final Summary, which
// prints as text or JSON.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "hlsload/histogram.hpp"

namespace hlsload {

enum class ErrorKind {
  connect,      // could not connect
  timeout,      // no complete response within --timeout
  http_4xx,     // a 4xx answer
  http_5xx,     // a 5xx answer (or any other non-200)
  read,         // connection reset, closed early, malformed response
  playlist,     // a playlist that does not parse
  fell_behind,  // the next segment had left the playlist window: the viewer skipped ahead
  count
};
const char* to_string(ErrorKind k) noexcept;

struct Stats {
  LatencyHistogram segment_ttfb, segment_ttlb, playlist_latency, startup;  // microseconds
  std::uint64_t segments = 0, playlists = 0, requests = 0, bytes = 0;
  std::array<std::uint64_t, static_cast<std::size_t>(ErrorKind::count)> errors{};
  std::uint64_t stalls = 0;
  double stall_seconds = 0;
  std::uint64_t viewers_stalled = 0;  // viewers with at least one stall (set at the end)

  void error(ErrorKind k) { ++errors[static_cast<std::size_t>(k)]; }
  std::uint64_t error_total() const;
  void merge(const Stats& o);
};

struct Summary {
  Stats stats;
  unsigned viewers = 0;          // configured
  unsigned viewers_started = 0;  // began playback
  double elapsed_seconds = 0;
  std::string targets;           // the URLs, comma-separated

  std::string text() const;      // human-readable report
  std::string json() const;      // one JSON object
};

}  // namespace hlsload
