// hlsload: simulates live HLS viewers against hlscache (or any HLS server on this
// machine) and reports what they saw — segment TTFB/TTLB, playlist latency,
// errors, and stalls of a modelled player buffer. See docs/hlsload.md.
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>

#include <fmt/core.h>

#include "hlsload/load.hpp"

namespace {

using namespace hlsload;

constexpr const char* kUsage =
    "usage: hlsload [options] URL...\n"
    "  URL                  http://host[:port]/path of a master or media playlist; viewer i watches URL i mod n\n"
    "  --viewers N          simulated viewers (default 100, at most 100000)\n"
    "  --duration SECONDS   length of the whole run, ramp included (default 30)\n"
    "  --ramp SECONDS       viewers join evenly over this time (default 0: all at once, the herd)\n"
    "  --threads N          client threads, one io_context each (default 1)\n"
    "  --start-buffer N     segments a player buffers before it starts playing (default 2)\n"
    "  --live-offset N      join N target durations behind the live edge (RFC 8216 6.3.3; default 3, 0 = last segment)\n"
    "  --rendition R        random|first|lowest|highest variant of a master playlist (default random)\n"
    "  --timeout SECONDS    per request, connect included (default 10)\n"
    "  --seed N             seed of the random rendition choice (default 1)\n"
    "  --json FILE          write the summary as JSON to FILE ('-' for stdout)\n"
    "  --progress / --no-progress   the one-line live display (default: on when stderr is a terminal)\n"
    "  --fail-on-stall      exit 1 if any player stalled\n"
    "  --fail-on-error      exit 1 if any request failed\n"
    "  --allow-remote       allow a host that resolves to a non-loopback address\n";

std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) { g_interrupted.store(true); }

[[noreturn]] void usage_error(const std::string& msg) {
  std::fprintf(stderr, "hlsload: %s\n%s", msg.c_str(), kUsage);
  std::exit(2);
}

template <class T>
T number(std::string_view opt, const char* text, double min, double max) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text, &end);
  if (*text == '\0' || *end != '\0' || errno != 0 || !(v >= min && v <= max) ||
      (std::is_integral_v<T> && v != static_cast<double>(static_cast<T>(v))))
    usage_error(fmt::format("{}: '{}' is not a number in [{}, {}]", opt, text, min, max));
  return static_cast<T>(v);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string json_file;
  bool fail_on_stall = false, fail_on_error = false;
  int show_progress = -1;  // -1: when stderr is a terminal
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage_error(fmt::format("{} needs a value", a));
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--viewers") {
      o.viewers = number<unsigned>(a, value(), 1, 100000);
    } else if (a == "--duration") {
      o.duration_s = number<double>(a, value(), 0.1, 86400);
    } else if (a == "--ramp") {
      o.ramp_s = number<double>(a, value(), 0, 86400);
    } else if (a == "--threads") {
      o.threads = number<unsigned>(a, value(), 1, 256);
    } else if (a == "--start-buffer") {
      o.start_buffer = number<int>(a, value(), 1, 100);
    } else if (a == "--live-offset") {
      o.live_offset = number<double>(a, value(), 0, 1000);
    } else if (a == "--rendition") {
      const std::string_view r = value();
      if (r == "random") o.rendition = RenditionChoice::random;
      else if (r == "first") o.rendition = RenditionChoice::first;
      else if (r == "lowest") o.rendition = RenditionChoice::lowest;
      else if (r == "highest") o.rendition = RenditionChoice::highest;
      else usage_error(fmt::format("--rendition: '{}' is not random, first, lowest or highest", r));
    } else if (a == "--timeout") {
      o.timeout_s = number<double>(a, value(), 0.01, 3600);
    } else if (a == "--seed") {
      o.seed = number<std::uint64_t>(a, value(), 0, 9007199254740991.0);
    } else if (a == "--json") {
      json_file = value();
    } else if (a == "--progress") {
      show_progress = 1;
    } else if (a == "--no-progress") {
      show_progress = 0;
    } else if (a == "--fail-on-stall") {
      fail_on_stall = true;
    } else if (a == "--fail-on-error") {
      fail_on_error = true;
    } else if (a == "--allow-remote") {
      o.allow_remote = true;
    } else if (!a.empty() && a.front() == '-') {
      usage_error(fmt::format("unknown option {}", a));
    } else {
      auto t = parse_target(a);
      if (auto* err = std::get_if<std::string>(&t)) usage_error(fmt::format("{}: {}", a, *err));
      o.targets.push_back(std::get<Target>(std::move(t)));
    }
  }
  if (o.targets.empty()) usage_error("no URL given");
  if (show_progress < 0) show_progress = ::isatty(STDERR_FILENO) ? 1 : 0;

  const std::uint64_t fds = raise_fd_limit();
  if (fds < static_cast<std::uint64_t>(o.viewers) + 64)
    std::fprintf(stderr, "hlsload: warning: the open-file limit is %llu, too low for %u viewers (ulimit -Hn)\n",
                 static_cast<unsigned long long>(fds), o.viewers);
  std::signal(SIGINT, on_sigint);
  std::signal(SIGPIPE, SIG_IGN);

  std::uint64_t last_requests = 0;
  double last_elapsed = 0;
  auto on_progress = [&](const Progress& p) {
    if (!show_progress) return;
    const double dt = p.elapsed_s - last_elapsed;
    const double rps = dt > 0 ? static_cast<double>(p.stats.requests - last_requests) / dt : 0;
    last_requests = p.stats.requests;
    last_elapsed = p.elapsed_s;
    std::fprintf(stderr, "\r%5.0fs  viewers %u/%u connected, %u playing  %7.0f req/s  seg TTLB p99 %7.1f ms  stalls %llu  errors %llu\x1b[K",
                 p.elapsed_s, p.connected, o.viewers, p.playing, rps,
                 static_cast<double>(p.recent_ttlb.percentile(99)) / 1000.0,
                 static_cast<unsigned long long>(p.stats.stalls), static_cast<unsigned long long>(p.stats.error_total()));
    std::fflush(stderr);
  };
  RunResult r = run_load(o, on_progress, [] { return g_interrupted.load(); });
  if (show_progress) std::fputs("\n", stderr);
  if (!r.ok) {
    std::fprintf(stderr, "hlsload: %s\n", r.error.c_str());
    return 3;
  }
  const std::string json = r.summary.json();
  if (json_file == "-") {
    std::fputs(json.c_str(), stdout);
  } else {
    std::fputs(r.summary.text().c_str(), stdout);
    if (!json_file.empty()) {
      std::FILE* f = std::fopen(json_file.c_str(), "w");
      if (!f || std::fputs(json.c_str(), f) < 0 || std::fclose(f) != 0) {
        std::fprintf(stderr, "hlsload: cannot write %s\n", json_file.c_str());
        return 3;
      }
    }
  }
  const auto& s = r.summary.stats;
  if (fail_on_stall && s.stalls > 0) return 1;
  if (fail_on_error && s.error_total() > 0) return 1;
  return 0;
}
