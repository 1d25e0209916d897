// The load engine: V simulated viewers on T threads (one io_context each, many
// viewers per thread, one keep-alive HTTP/1.1 connection per viewer). Each viewer
// loads the master playlist, picks a variant, joins the live stream near its edge
// (RFC 8216 §6.3.3), reloads the media playlist as §6.3.4 says, fetches each new
// segment once and in order, and feeds a PlaybackModel that counts stalls.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hlsload/stats.hpp"
#include "hlsload/target.hpp"

namespace hlsload {

enum class RenditionChoice { random, first, lowest, highest };

struct Options {
  std::vector<Target> targets;   // viewer i watches targets[i % size]
  unsigned viewers = 100;
  double duration_s = 30;        // the whole run, ramp included
  double ramp_s = 0;             // viewers join evenly over this time (0: all at once, the herd)
  unsigned threads = 1;
  int start_buffer = 2;          // segments buffered before playback starts
  double live_offset = 3;        // join this many target durations before the live edge
  RenditionChoice rendition = RenditionChoice::random;
  double timeout_s = 10;         // per request, connect included
  bool allow_remote = false;
  std::uint64_t seed = 1;
};

// A live view of the run, for the progress line (about once a second).
struct Progress {
  double elapsed_s = 0;
  unsigned connected = 0;        // viewers with an open connection now
  unsigned playing = 0;          // viewers whose playback has started
  Stats stats;                   // everything so far
  LatencyHistogram recent_ttlb;  // segment TTLB since the previous Progress
};

struct RunResult {
  bool ok = false;               // false: the run did not start (error says why)
  std::string error;
  Summary summary;
};

// Runs the load to completion (bounded by duration_s); `progress` is called from the
// calling thread. `stop_requested` is polled (SIGINT) to end the run early.
RunResult run_load(const Options& options, const std::function<void(const Progress&)>& progress,
                   const std::function<bool()>& stop_requested = {});

// Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the new soft limit.
std::uint64_t raise_fd_limit();

}  // namespace hlsload
