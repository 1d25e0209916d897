#include "http/status_handler.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>

namespace hlscache {

namespace {

constexpr std::size_t kMaxAssets = 32;
constexpr std::uint64_t kMaxAssetBytes = 8ull << 20;

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) { return s.size() >= p.size() && s.substr(s.size() - p.size()) == p; }

// Asset names are plain file names: letters, digits, '.', '-', '_', not starting with '.'.
bool safe_name(std::string_view n) {
  if (n.empty() || n.size() > 128 || n.front() == '.') return false;
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
      return false;
  return true;
}

std::string content_type(std::string_view name) {
  if (ends_with(name, ".js")) return "text/javascript; charset=utf-8";
  if (ends_with(name, ".css")) return "text/css; charset=utf-8";
  if (ends_with(name, ".map") || ends_with(name, ".json")) return "application/json";
  if (ends_with(name, ".html")) return "text/html; charset=utf-8";
  if (ends_with(name, ".txt") || ends_with(name, ".md")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

double ratio(std::uint64_t num, std::uint64_t den) { return den ? static_cast<double>(num) / static_cast<double>(den) : 0; }

}  // namespace

StatusHandler::StatusHandler(ConfigPtr config, Metrics& metrics, const Clock& clock)
    : config_(std::move(config)), metrics_(metrics), clock_(clock), started_(clock.now()) {
  prev_ = last_ = take_sample();
}

std::string StatusHandler::load_assets() {
  const std::string& dir = config_->assets_dir;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return fmt::format("no assets directory {} (the page's player is off; see tools/setup/fetch-assets.sh)", dir);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    if (safe_name(e->d_name)) names.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  std::string loaded;
  for (const auto& n : names) {
    if (assets_.size() >= kMaxAssets) break;
    const std::string path = dir + "/" + n;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || static_cast<std::uint64_t>(st.st_size) > kMaxAssetBytes)
      continue;
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    if (!in) continue;
    assets_.emplace(n, std::make_pair(content_type(n), ss.str()));
    loaded += (loaded.empty() ? "" : ", ") + n;
  }
  return loaded.empty() ? fmt::format("no assets in {}", dir) : fmt::format("assets from {}: {}", dir, loaded);
}

bool StatusHandler::owns(std::string_view path) {
  return path == "/" || path == "/status.json" || starts_with(path, "/assets/");
}

StatusHandler::Sample StatusHandler::take_sample() const {
  Sample s;
  s.at = clock_.now();
  auto load = [](const Counter& c) { return c.load(std::memory_order_relaxed); };
  for (std::size_t c = 1; c < metrics_.requests_by_class.size(); ++c) s.requests += load(metrics_.requests_by_class[c]);
  s.bytes = load(metrics_.bytes_out);
  auto by = [&](CacheResult r) { return load(metrics_.requests_by_cache[static_cast<std::size_t>(r)]); };
  s.hits = by(CacheResult::hit) + by(CacheResult::stale);
  s.lookups = s.hits + by(CacheResult::miss) + by(CacheResult::coalesced);
  s.upstream_requests = load(metrics_.upstream_requests);
  s.upstream_errors = load(metrics_.upstream_errors);
  return s;
}

std::string StatusHandler::status_json() {
  const Sample now = take_sample();
  Sample a, b;
  {
    std::lock_guard lock(mu_);
    if (now.at - last_.at >= std::chrono::seconds(1)) {
      prev_ = last_;
      last_ = now;
    }
    a = prev_;
    b = last_;
  }
  const double dt = std::chrono::duration<double>(b.at - a.at).count();
  auto rate = [&](std::uint64_t x, std::uint64_t y) { return dt > 0 ? static_cast<double>(y - x) / dt : 0.0; };

  std::string out;
  auto it = std::back_inserter(out);
  fmt::format_to(it, "{{\"role\":\"{}\",\"server\":{},\"version\":\"{}\",\"uptime_s\":{:.1f},", to_string(config_->role),
                 json_string(config_->server_name), HLSCACHE_VERSION,
                 std::chrono::duration<double>(now.at - started_).count());
  fmt::format_to(it, "\"connections\":{},\"requests_total\":{},\"requests_per_s\":{:.1f},\"bytes_per_s\":{:.0f},",
                 metrics_.connections_active.load(std::memory_order_relaxed), now.requests, rate(a.requests, b.requests),
                 rate(a.bytes, b.bytes));
  fmt::format_to(it, "\"hit_ratio\":{:.4f},\"hit_ratio_recent\":{:.4f},\"rate_window_s\":{:.1f},",
                 ratio(now.hits, now.lookups), ratio(b.hits - a.hits, b.lookups - a.lookups), dt);
  if (config_->role == Role::local) {
    out += "\"upstream\":null,";
  } else {
    out += "\"upstream\":{\"hosts\":[";
    for (std::size_t i = 0; i < config_->upstream.hosts.size(); ++i)
      out += (i ? "," : "") + json_string(config_->upstream.hosts[i].to_string());
    const double errs = rate(a.upstream_errors, b.upstream_errors);
    const double reqs = rate(a.upstream_requests, b.upstream_requests);
    // "failing": every recent upstream request failed; "degraded": some did; else "ok".
    const char* state = errs == 0 ? "ok" : (errs >= reqs ? "failing" : "degraded");
    fmt::format_to(it, "],\"state\":\"{}\",\"requests_total\":{},\"errors_total\":{},\"requests_per_s\":{:.1f},"
                       "\"errors_per_s\":{:.1f}}},",
                   state, now.upstream_requests, now.upstream_errors, reqs, errs);
  }
  const bool player = assets_.count("hls.min.js") > 0;
  fmt::format_to(it, "\"player\":{},\"streams\":[", player ? "\"/assets/hls.min.js\"" : "null");
  if (streams_) {
    bool first = true;
    for (const auto& s : streams_()) {
      fmt::format_to(it, "{}{{\"name\":{},\"url\":{},\"renditions\":[", first ? "" : ",", json_string(s.name),
                     json_string(s.url));
      first = false;
      for (std::size_t i = 0; i < s.renditions.size(); ++i)
        fmt::format_to(it, "{}{{\"name\":{},\"url\":{},\"publishing\":{}}}", i ? "," : "",
                       json_string(s.renditions[i].name), json_string(s.renditions[i].url),
                       s.renditions[i].publishing ? "true" : "false");
      out += "]}";
    }
  }
  out += "]}\n";
  return out;
}

boost::asio::awaitable<Response> StatusHandler::handle(RequestContext& req) {
  const std::string_view path = req.path();
  if (req.method != Method::get && req.method != Method::head) {
    auto r = Response::error(405);
    r.add("Allow", "GET, HEAD");
    co_return r;
  }
  if (path == "/") {
    auto r = Response::text(200, status_page_html(), "text/html; charset=utf-8");
    r.add("Cache-Control", "no-store");
    co_return r;
  }
  if (path == "/status.json") {
    auto r = Response::text(200, status_json(), "application/json");
    r.add("Cache-Control", "no-store");
    co_return r;
  }
  const std::string_view name = path.substr(8);  // after "/assets/"
  auto it = assets_.find(name);
  if (it == assets_.end()) co_return Response::error(404, "no such asset");
  auto r = Response::text(200, it->second.second, it->second.first);
  r.add("Cache-Control", "public, max-age=3600");
  co_return r;
}

}  // namespace hlscache
