// StatusHandler: the human-facing status page of any role (config status_page) —
// GET / (a self-contained HTML page), GET /status.json (what the page polls: hit
// ratio since start and over the last interval, request and byte rates,
// connections, the upstream groups and their hosts' health, live streams with their
// URLs, state, viewers and request rates) and GET /assets/NAME (static files such
// as hls.js, read once at start from config assets_dir, so the page's player works
// with no CDN). Rates are the difference of the process counters (and of each
// stream's) between two samples at least 1 s apart; the page keeps its own history
// of them for its charts.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "http/handler.hpp"
#include "metrics/metrics.hpp"
#include "source/upstream_status.hpp"

namespace hlscache {

// A live stream as the page lists it (role local; the states are defined in
// server/stream_activity.hpp).
struct StatusStream {
  struct Rendition {
    std::string name;
    std::string url;       // its media playlist
    bool publishing = false;
    std::string state;     // live | paused | ended | waiting
    std::optional<double> last_segment_age_s;  // none: never got a segment
  };
  std::string name;
  std::string url;         // what a player opens: the master playlist, or the media one
  std::string state;       // the most alive of its renditions' states
  std::optional<double> last_segment_age_s;  // its renditions' most recent segment
  std::size_t viewers = 0;             // as /admin/streams counts them
  std::uint64_t requests = 0;          // media requests under /live/{name}/ since start
  std::uint64_t origin_requests = 0;   // fetches that reached the segmenter (misses, refreshes)
  std::vector<Rendition> renditions;
};

class StatusHandler final : public Handler {
 public:
  using StreamLister = std::function<std::vector<StatusStream>()>;
  using UpstreamLister = std::function<std::vector<UpstreamGroupStatus>()>;

  StatusHandler(ConfigPtr config, Metrics& metrics, const Clock& clock);
  // Reads the regular files directly in config.assets_dir (bounded: 32 files, 8 MiB
  // each). A missing directory is not an error: the page then says the player is off.
  // Returns what was loaded, for the startup log.
  std::string load_assets();
  void set_streams(StreamLister lister) { streams_ = std::move(lister); }
  // Edge and origin: the upstream groups and their hosts (OriginTier::status).
  void set_upstream(UpstreamLister lister) { upstream_ = std::move(lister); }

  // True for the paths this handler answers: "/", "/status.json", "/assets/...".
  static bool owns(std::string_view path);
  boost::asio::awaitable<Response> handle(RequestContext& request) override;

  std::string status_json();  // public for tests and the router

 private:
  struct Sample {
    TimePoint at{};
    std::uint64_t requests = 0, bytes = 0, hits = 0, lookups = 0, upstream_requests = 0, upstream_errors = 0;
    // Per stream: requests, origin requests (a stream missing from a sample had 0).
    std::map<std::string, std::pair<std::uint64_t, std::uint64_t>, std::less<>> streams;
  };
  Sample take_sample(const std::vector<StatusStream>& streams) const;
  void upstream_json(std::string& out, const Sample& now, const Sample& a, const Sample& b, double dt) const;

  ConfigPtr config_;
  Metrics& metrics_;
  const Clock& clock_;
  TimePoint started_;
  StreamLister streams_;
  UpstreamLister upstream_;
  std::map<std::string, std::pair<std::string, std::string>, std::less<>> assets_;  // name -> (type, bytes)

  std::mutex mu_;             // guards the rate samples
  Sample prev_, last_;        // last_ - prev_ gives the rates
};

// The HTML of GET / (status_page.cpp).
const std::string& status_page_html();

}  // namespace hlscache
