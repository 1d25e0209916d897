// The cache's sections: cache (capacity, shards, policy, key) and freshness (TTLs,
// grace, rules); and lists of HTTP field names, which upstream reads too.
#include "config/config_readers.hpp"

#include <fmt/format.h>

#include "core/http_fields.hpp"

namespace hlscache::config_detail {

using namespace std::chrono_literals;

void read_cache(YamlReader& r, const YAML::Node& n, const std::string& path, CacheConfig& c) {
  r.map(n, path, {
      {"capacity", [&](auto& v, auto& p) { r.read_bytes(v, p, c.capacity, 1 << 20, 1ull << 42); }},
      {"shards", [&](auto& v, auto& p) { r.read(v, p, c.shards, 1, 4096); }},
      {"policy", [&](auto& v, auto& p) {
         std::string s = c.policy;
         r.read(v, p, s);
         if (s != "fifo" && s != "lru" && s != "s4lru") r.error(v, p, fmt::format("'{}' is not one of fifo, lru, s4lru", s));
         else c.policy = s;
       }},
      {"key_ignore_params", [&](auto& v, auto& p) { r.read_strings(v, p, c.key_ignore_params); }},
      {"sendfile", [&](auto& v, auto& p) { r.read(v, p, c.sendfile); }},
      {"max_variants", [&](auto& v, auto& p) { r.read(v, p, c.max_variants, 1, 1024); }},
      {"expected_segment_bytes", [&](auto& v, auto& p) { r.read_bytes(v, p, c.expected_segment_bytes, 0, 1ull << 40); }},
  });
}

// A list of HTTP field names (tokens, RFC 9110 §5.1).
void read_field_names(YamlReader& r, const YAML::Node& v, const std::string& p, std::vector<std::string>& out) {
  std::vector<std::string> names;
  r.read_strings(v, p, names);
  for (const auto& n : names) {
    if (!is_token(n)) {
      r.error(v, p, fmt::format("'{}' is not an HTTP field name", n));
      return;
    }
  }
  out = std::move(names);
}

void read_freshness(YamlReader& r, const YAML::Node& n, const std::string& path, FreshnessConfig& f) {
  r.map(n, path, {
      {"segment_ttl", [&](auto& v, auto& p) { r.read_duration(v, p, f.segment_ttl, 0ms, 365 * 24h); }},
      {"playlist_ttl_fraction", [&](auto& v, auto& p) { r.read(v, p, f.playlist_ttl_fraction, 0.0, 10.0); }},
      {"playlist_ttl_default", [&](auto& v, auto& p) { r.read_duration(v, p, f.playlist_ttl_default, 0ms, kMaxTimeout); }},
      {"stale_grace", [&](auto& v, auto& p) { r.read_duration(v, p, f.stale_grace, 0ms, kMaxTimeout); }},
      {"stale_wait", [&](auto& v, auto& p) { r.read_duration(v, p, f.stale_wait, 0ms, 60s); }},
      {"negative_ttl", [&](auto& v, auto& p) { r.read_duration(v, p, f.negative_ttl, 0ms, kMaxTimeout); }},
      {"gzip_playlists", [&](auto& v, auto& p) { r.read(v, p, f.gzip_playlists); }},
      {"targeted_fields", [&](auto& v, auto& p) { read_field_names(r, v, p, f.targeted_fields); }},
      {"hit_for_miss", [&](auto& v, auto& p) { r.read_duration(v, p, f.hit_for_miss, 0ms, kMaxTimeout); }},
      {"revalidate_keep", [&](auto& v, auto& p) { r.read_duration(v, p, f.revalidate_keep, 0ms, 365 * 24h); }},
      {"rules", [&](auto& v, auto& p) {
         f.rules.clear();
         r.seq(v, p, [&](const YAML::Node& e, const std::string& ep) {
           TtlRule rule;
           bool has_pattern = false, has_ttl = false;
           r.map(e, ep, {
               {"pattern", [&](auto& pv, auto& pp) { r.read(pv, pp, rule.pattern); has_pattern = true; }},
               {"ttl", [&](auto& tv, auto& tp) { r.read_duration(tv, tp, rule.ttl, 0ms, 365 * 24h); has_ttl = true; }},
           });
           if (e.IsMap() && !(has_pattern && has_ttl)) r.error(e, ep, "a rule needs both pattern and ttl");
           f.rules.push_back(rule);
         });
       }},
  });
}

}  // namespace hlscache::config_detail
