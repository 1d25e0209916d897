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

// A ratio as JSON: null when there is nothing to divide by (no cache lookup yet).
std::string ratio_json(std::uint64_t num, std::uint64_t den) {
  return den ? fmt::format("{:.4f}", static_cast<double>(num) / static_cast<double>(den)) : "null";
}

std::string seconds_json(const std::optional<double>& s) { return s ? fmt::format("{:.1f}", *s) : "null"; }

}  // namespace

StatusHandler::StatusHandler(ConfigPtr config, Metrics& metrics, const Clock& clock)
    : config_(std::move(config)), metrics_(metrics), clock_(clock), started_(clock.now()) {
  prev_ = last_ = take_sample({});
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

StatusHandler::Sample StatusHandler::take_sample(const std::vector<StatusStream>& streams) const {
  Sample s;
  for (const auto& st : streams) s.streams.emplace(st.name, std::make_pair(st.requests, st.origin_requests));
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

void StatusHandler::upstream_json(std::string& out, const Sample& now, const Sample& a, const Sample& b, double dt) const {
  auto it = std::back_inserter(out);
  auto rate = [&](std::uint64_t x, std::uint64_t y) { return dt > 0 ? static_cast<double>(y - x) / dt : 0.0; };
  const std::vector<UpstreamGroupStatus> groups = upstream_ ? upstream_() : std::vector<UpstreamGroupStatus>{};
  out += "{\"hosts\":[";
  bool first = true;
  if (upstream_) {
    for (const auto& g : groups)
      for (const auto& h : g.hosts) {
        out += (first ? "" : ",") + json_string(h.address);
        first = false;
      }
  } else {
    for (const auto& h : config_->upstream.hosts) {
      out += (first ? "" : ",") + json_string(h.to_string());
      first = false;
    }
  }
  const double errs = rate(a.upstream_errors, b.upstream_errors);
  const double reqs = rate(a.upstream_requests, b.upstream_requests);
  // "failing": every recent upstream request failed; "degraded": some did; else "ok".
  const char* state = errs == 0 ? "ok" : (errs >= reqs ? "failing" : "degraded");
  fmt::format_to(it, "],\"state\":\"{}\",\"requests_total\":{},\"errors_total\":{},\"requests_per_s\":{:.1f},"
                     "\"errors_per_s\":{:.1f},\"groups\":[",
                 state, now.upstream_requests, now.upstream_errors, reqs, errs);
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const auto& g = groups[i];
    fmt::format_to(it, "{}{{\"name\":{},\"dns\":{},\"routes\":[", i ? "," : "", json_string(g.name),
                   g.dns.empty() ? std::string("null") : json_string(g.dns));
    for (std::size_t p = 0; p < g.prefixes.size(); ++p) out += (p ? "," : "") + json_string(g.prefixes[p]);
    out += "],\"hosts\":[";
    for (std::size_t h = 0; h < g.hosts.size(); ++h) {
      const auto& host = g.hosts[h];
      fmt::format_to(it,
                     "{}{{\"address\":{},\"state\":\"{}\",\"consecutive_failures\":{},\"ejected_for_s\":{:.1f},"
                     "\"requests_total\":{},\"errors_total\":{},\"ejections_total\":{},\"checks_total\":{},"
                     "\"check_failures_total\":{}}}",
                     h ? "," : "", json_string(host.address), host.state, host.consecutive_failures, host.ejected_for_s,
                     host.requests, host.failures, host.ejections, host.checks, host.check_failures);
    }
    out += "]}";
  }
  out += "]}";
}

std::string StatusHandler::status_json() {
  const std::vector<StatusStream> streams = streams_ ? streams_() : std::vector<StatusStream>{};
  const Sample now = take_sample(streams);
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
  auto rate = [&](std::uint64_t x, std::uint64_t y) { return dt > 0 && y >= x ? static_cast<double>(y - x) / dt : 0.0; };

  std::string out;
  auto it = std::back_inserter(out);
  fmt::format_to(it, "{{\"role\":\"{}\",\"server\":{},\"version\":\"{}\",\"uptime_s\":{:.1f},", to_string(config_->role),
                 json_string(config_->server_name), HLSCACHE_VERSION,
                 std::chrono::duration<double>(now.at - started_).count());
  fmt::format_to(it, "\"connections\":{},\"requests_total\":{},\"requests_per_s\":{:.1f},\"bytes_per_s\":{:.0f},",
                 metrics_.connections_active.load(std::memory_order_relaxed), now.requests, rate(a.requests, b.requests),
                 rate(a.bytes, b.bytes));
  // (HIT + STALE) / (HIT + STALE + MISS + COALESCED) of hlscache_requests_by_cache_total:
  // since start, and between the two samples the rates use. null: no lookup in that span.
  fmt::format_to(it, "\"hit_ratio\":{},\"hit_ratio_recent\":{},\"cache_lookups_total\":{},\"rate_window_s\":{:.1f},",
                 ratio_json(now.hits, now.lookups), ratio_json(b.hits - a.hits, b.lookups - a.lookups), now.lookups, dt);
  if (config_->role == Role::local) {
    out += "\"upstream\":null,";
  } else {
    out += "\"upstream\":";
    upstream_json(out, now, a, b, dt);
    out += ",";
  }
  const bool player = assets_.count("hls.min.js") > 0;
  fmt::format_to(it, "\"player\":{},\"streams\":[", player ? "\"/assets/hls.min.js\"" : "null");
  auto counts = [](const Sample& s, const std::string& name) {
    auto f = s.streams.find(name);
    return f == s.streams.end() ? std::pair<std::uint64_t, std::uint64_t>{} : f->second;
  };
  for (std::size_t n = 0; n < streams.size(); ++n) {
    const auto& s = streams[n];
    const auto ca = counts(a, s.name), cb = counts(b, s.name);
    fmt::format_to(it,
                   "{}{{\"name\":{},\"url\":{},\"state\":{},\"last_segment_age_s\":{},\"viewers\":{},"
                   "\"requests_total\":{},\"requests_per_s\":{:.1f},\"origin_requests_total\":{},"
                   "\"origin_requests_per_s\":{:.1f},\"renditions\":[",
                   n ? "," : "", json_string(s.name), json_string(s.url), json_string(s.state),
                   seconds_json(s.last_segment_age_s), s.viewers, s.requests, rate(ca.first, cb.first),
                   s.origin_requests, rate(ca.second, cb.second));
    for (std::size_t i = 0; i < s.renditions.size(); ++i) {
      const auto& r = s.renditions[i];
      fmt::format_to(it, "{}{{\"name\":{},\"url\":{},\"publishing\":{},\"state\":{},\"last_segment_age_s\":{}}}",
                     i ? "," : "", json_string(r.name), json_string(r.url), r.publishing ? "true" : "false",
                     json_string(r.state), seconds_json(r.last_segment_age_s));
    }
    out += "]}";
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
