// StatusHandler: the human-facing status page of any role (config status_page) —
// GET / (a self-contained HTML page), GET /status.json (what the page polls: hit
// ratio, request and byte rates, connections, upstream, live streams with their
// URLs) and GET /assets/NAME (static files such as hls.js, read once at start from
// config assets_dir, so the page's player works with no CDN). Rates are the
// difference of the process counters between two samples at least 1 s apart.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "http/handler.hpp"
#include "metrics/metrics.hpp"

namespace hlscache {

// A live stream as the page lists it (role local).
struct StatusStream {
  struct Rendition {
    std::string name;
    std::string url;       // its media playlist
    bool publishing = false;
  };
  std::string name;
  std::string url;         // what a player opens: the master playlist, or the media one
  std::vector<Rendition> renditions;
};

class StatusHandler final : public Handler {
 public:
  using StreamLister = std::function<std::vector<StatusStream>()>;

  StatusHandler(ConfigPtr config, Metrics& metrics, const Clock& clock);
  // Reads the regular files directly in config.assets_dir (bounded: 32 files, 8 MiB
  // each). A missing directory is not an error: the page then says the player is off.
  // Returns what was loaded, for the startup log.
  std::string load_assets();
  void set_streams(StreamLister lister) { streams_ = std::move(lister); }

  // True for the paths this handler answers: "/", "/status.json", "/assets/...".
  static bool owns(std::string_view path);
  boost::asio::awaitable<Response> handle(RequestContext& request) override;

  std::string status_json();  // public for tests and the router

 private:
  struct Sample {
    TimePoint at{};
    std::uint64_t requests = 0, bytes = 0, hits = 0, lookups = 0, upstream_requests = 0, upstream_errors = 0;
  };
  Sample take_sample() const;

  ConfigPtr config_;
  Metrics& metrics_;
  const Clock& clock_;
  TimePoint started_;
  StreamLister streams_;
  std::map<std::string, std::pair<std::string, std::string>, std::less<>> assets_;  // name -> (type, bytes)

  std::mutex mu_;             // guards the rate samples
  Sample prev_, last_;        // last_ - prev_ gives the rates
};

// The HTML of GET / (status_page.cpp).
const std::string& status_page_html();

}  // namespace hlscache
