#include "config/config.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "config/yaml_reader.hpp"
#include "core/http_fields.hpp"

namespace hlscache {

using config_detail::YamlReader;
using namespace std::chrono_literals;

const char* to_string(UpstreamProtocol p) noexcept {
  switch (p) {
    case UpstreamProtocol::http1: return "http1";
    case UpstreamProtocol::https: return "https";
    case UpstreamProtocol::h2c: return "h2c";
    case UpstreamProtocol::h2: return "h2";
  }
  return "?";
}

const char* to_string(Role r) noexcept {
  switch (r) {
    case Role::edge: return "edge";
    case Role::origin: return "origin";
    case Role::local: return "local";
  }
  return "?";
}

const char* to_string(HashKey k) noexcept { return k == HashKey::stream ? "stream" : "segment"; }

const UpstreamGroup* UpstreamConfig::group(std::string_view name) const {
  for (const auto& g : groups)
    if (g.name == name) return &g;
  return nullptr;
}

std::string HostPort::to_string() const {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

namespace {

constexpr Millis kMaxTimeout = 24h;

void read_certificate(YamlReader& r, const YAML::Node& n, const std::string& path, TlsCertificate& c) {
  r.map(n, path, {
      {"cert", [&](auto& v, auto& p) { r.read(v, p, c.cert); }},
      {"key", [&](auto& v, auto& p) { r.read(v, p, c.key); }},
  });
  if (n.IsMap() && (c.cert.empty() || c.key.empty())) r.error(n, path, "a certificate needs both cert: and key: files");
}

// tls: {cert: F, key: F} (one certificate) or tls: {certificates: [{cert, key}, ...]} (SNI);
// both forms may be combined, the top-level pair then being the default.
void read_tls(YamlReader& r, const YAML::Node& n, const std::string& path, TlsConfig& t) {
  TlsCertificate top;
  r.map(n, path, {
      {"cert", [&](auto& v, auto& p) { r.read(v, p, top.cert); }},
      {"key", [&](auto& v, auto& p) { r.read(v, p, top.key); }},
      {"certificates", [&](auto& v, auto& p) {
         r.seq(v, p, [&](const YAML::Node& e, const std::string& ep) {
           TlsCertificate c;
           read_certificate(r, e, ep, c);
           t.certificates.push_back(c);
         });
       }},
  });
  if (!n.IsMap()) return;
  if (top.cert.empty() != top.key.empty()) r.error(n, path, "give both cert: and key:");
  if (!top.cert.empty()) t.certificates.insert(t.certificates.begin(), top);
  if (t.certificates.empty()) r.error(n, path, "needs cert: and key:, or certificates: [{cert, key}, ...]");
}

void read_listener(YamlReader& r, const YAML::Node& n, const std::string& path, ListenerConfig& l) {
  bool have_address = false;
  r.map(n, path, {
      {"address", [&](auto& v, auto& p) { r.read_hostport(v, p, l.address); have_address = true; }},
      {"http2", [&](auto& v, auto& p) { r.read(v, p, l.http2); }},
      {"tls", [&](auto& v, auto& p) { TlsConfig t; read_tls(r, v, p, t); l.tls = t; }},
  });
  if (n.IsMap() && !have_address) r.error(n, path, "needs an address: host:port");
}

void read_http2(YamlReader& r, const YAML::Node& n, const std::string& path, Http2Config& h) {
  auto bytes32 = [&r](std::uint32_t& field, std::uint64_t min, std::uint64_t max) {
    return [&r, &field, min, max](const YAML::Node& v, const std::string& p) {
      std::uint64_t b = field;
      r.read_bytes(v, p, b, min, max);
      field = static_cast<std::uint32_t>(b);
    };
  };
  r.map(n, path, {
      {"max_concurrent_streams", [&](auto& v, auto& p) { r.read(v, p, h.max_concurrent_streams, 1, 100'000); }},
      {"max_header_list_bytes", bytes32(h.max_header_list_bytes, 1024, 1 << 20)},
      // RFC 9113 §6.5.2: windows up to 2^31-1, frames 2^14..2^24-1.
      {"initial_window_bytes", bytes32(h.initial_window_bytes, 1024, (1u << 31) - 1)},
      {"connection_window_bytes", bytes32(h.connection_window_bytes, 65535, (1u << 31) - 1)},
      {"max_frame_bytes", bytes32(h.max_frame_bytes, 1 << 14, (1 << 24) - 1)},
      {"reset_burst", [&](auto& v, auto& p) { r.read(v, p, h.reset_burst, 1, 1'000'000); }},
      {"reset_rate", [&](auto& v, auto& p) { r.read(v, p, h.reset_rate, 1, 1'000'000); }},
      {"max_continuations", [&](auto& v, auto& p) { r.read(v, p, h.max_continuations, 1, 1000); }},
      {"max_orphaned_fetches", [&](auto& v, auto& p) { r.read(v, p, h.max_orphaned_fetches, 1, 100'000); }},
  });
}

void read_limits(YamlReader& r, const YAML::Node& n, const std::string& path, LimitsConfig& l) {
  r.map(n, path, {
      {"max_connections", [&](auto& v, auto& p) { r.read(v, p, l.max_connections, 1, 1'000'000); }},
      {"max_header_bytes", [&](auto& v, auto& p) { std::uint64_t b = l.max_header_bytes; r.read_bytes(v, p, b, 1024, 1 << 20); l.max_header_bytes = static_cast<std::uint32_t>(b); }},
      {"max_target_bytes", [&](auto& v, auto& p) { std::uint64_t b = l.max_target_bytes; r.read_bytes(v, p, b, 64, 1 << 20); l.max_target_bytes = static_cast<std::uint32_t>(b); }},
      {"max_request_body", [&](auto& v, auto& p) { r.read_bytes(v, p, l.max_request_body, 0, 1ull << 30); }},
      {"max_followers_per_key", [&](auto& v, auto& p) { r.read(v, p, l.max_followers_per_key, 1, 10'000'000); }},
      {"max_inflight_fetches", [&](auto& v, auto& p) { r.read(v, p, l.max_inflight_fetches, 1, 1'000'000); }},
      {"max_object_bytes", [&](auto& v, auto& p) { r.read_bytes(v, p, l.max_object_bytes, 1, 1ull << 40); }},
  });
}

void read_timeouts(YamlReader& r, const YAML::Node& n, const std::string& path, TimeoutsConfig& t) {
  auto d = [&](Millis& field) {
    return [&r, &field](const YAML::Node& v, const std::string& p) { r.read_duration(v, p, field, 1ms, kMaxTimeout); };
  };
  r.map(n, path, {
      {"header_read", d(t.header_read)}, {"idle", d(t.idle)}, {"send", d(t.send)}, {"drain", d(t.drain)},
      {"upstream_connect", d(t.upstream_connect)}, {"upstream_first_byte", d(t.upstream_first_byte)},
      {"upstream_idle", d(t.upstream_idle)}, {"upstream_total", d(t.upstream_total)},
      {"follower_wait", d(t.follower_wait)}, {"ingest_idle", d(t.ingest_idle)},
  });
}

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

bool valid_group_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  return true;
}

void read_upstream_host(YamlReader& r, const YAML::Node& e, const std::string& ep, UpstreamHost& h) {
  if (!e.IsMap()) {
    r.read_hostport(e, ep, h.address);
    return;
  }
  bool has_address = false;
  r.map(e, ep, {
      {"address", [&](auto& v, auto& p) { r.read_hostport(v, p, h.address); has_address = true; }},
      {"weight", [&](auto& v, auto& p) { r.read(v, p, h.weight, 1, 1000); }},
  });
  if (!has_address) r.error(e, ep, "needs an address: host:port");
}

void read_group(YamlReader& r, const YAML::Node& n, const std::string& path, UpstreamGroup& g) {
  r.map(n, path, {
      {"hosts", [&](auto& v, auto& p) {
         r.seq(v, p, [&](const YAML::Node& e, const std::string& ep) {
           UpstreamHost h;
           read_upstream_host(r, e, ep, h);
           g.hosts.push_back(h);
         });
       }},
      {"dns", [&](auto& v, auto& p) { HostPort hp; r.read_hostport(v, p, hp); g.dns = hp; }},
      {"dns_interval", [&](auto& v, auto& p) { r.read_duration(v, p, g.dns_interval, 100ms, 24h); }},
      {"hash", [&](auto& v, auto& p) {
         std::string s;
         r.read(v, p, s);
         if (s == "segment") g.hash = HashKey::segment;
         else if (s == "stream") g.hash = HashKey::stream;
         else r.error(v, p, fmt::format("'{}' is not one of segment, stream", s));
       }},
  });
  if (n.IsMap() && g.hosts.empty() && !g.dns) r.error(n, path, "a group needs hosts: or dns:");
  std::set<std::string> seen;
  for (const auto& h : g.hosts)
    if (!h.address.host.empty() && !seen.insert(h.address.to_string()).second)
      r.error(n, path, fmt::format("host {} is listed twice", h.address.to_string()));
}

void read_health(YamlReader& r, const YAML::Node& n, const std::string& path, HealthConfig& h) {
  r.map(n, path, {
      {"fail_threshold", [&](auto& v, auto& p) { r.read(v, p, h.fail_threshold, 1, 1000); }},
      {"eject_base", [&](auto& v, auto& p) { r.read_duration(v, p, h.eject_base, 10ms, 24h); }},
      {"eject_max", [&](auto& v, auto& p) { r.read_duration(v, p, h.eject_max, 10ms, 24h); }},
      {"check_interval", [&](auto& v, auto& p) { r.read_duration(v, p, h.check_interval, 0ms, 24h); }},
      {"check_path", [&](auto& v, auto& p) {
         r.read(v, p, h.check_path);
         if (h.check_path.empty() || h.check_path[0] != '/') r.error(v, p, "must start with '/'");
       }},
  });
  if (h.eject_max < h.eject_base) r.error(n, path + ".eject_max", "must not be shorter than eject_base");
}

void read_upstream(YamlReader& r, const YAML::Node& n, const std::string& path, UpstreamConfig& u) {
  bool has_groups = false, has_routes = false, has_tls = false;
  YAML::Node routes_node, tls_node;
  r.map(n, path, {
      {"hosts", [&](auto& v, auto& p) {
         u.hosts.clear();
         r.seq(v, p, [&](const YAML::Node& e, const std::string& ep) {
           HostPort hp;
           r.read_hostport(e, ep, hp);
           u.hosts.push_back(hp);
         });
       }},
      {"groups", [&](auto& v, auto& p) {
         has_groups = true;
         if (!v.IsMap()) {
           r.error(v, p, "must be a mapping of group name to {hosts: [...], hash: segment|stream}");
           return;
         }
         for (auto it = v.begin(); it != v.end(); ++it) {
           UpstreamGroup g;
           g.name = it->first.template as<std::string>("");
           const std::string gp = p + "." + g.name;
           if (!valid_group_name(g.name)) r.error(it->first, gp, "a group name is 1-64 letters, digits, '-', '_'");
           read_group(r, it->second, gp, g);
           u.groups.push_back(std::move(g));
         }
       }},
      {"routes", [&](auto& v, auto& p) {
         has_routes = true;
         routes_node = v;
         r.seq(v, p, [&](const YAML::Node& e, const std::string& ep) {
           UpstreamRoute route;
           bool has_prefix = false, has_group = false;
           r.map(e, ep, {
               {"prefix", [&](auto& pv, auto& pp) {
                  r.read(pv, pp, route.prefix);
                  has_prefix = true;
                  if (route.prefix.empty() || route.prefix[0] != '/') r.error(pv, pp, "must start with '/'");
                }},
               {"group", [&](auto& gv, auto& gp) { r.read(gv, gp, route.group); has_group = true; }},
           });
           if (e.IsMap() && !(has_prefix && has_group)) r.error(e, ep, "a route needs prefix: and group:");
           u.routes.push_back(route);
         });
       }},
      {"retries", [&](auto& v, auto& p) { r.read(v, p, u.retries, 0, 16); }},
      {"health", [&](auto& v, auto& p) { read_health(r, v, p, u.health); }},
      {"pool_per_thread", [&](auto& v, auto& p) { r.read(v, p, u.pool_per_thread, 0, 100'000); }},
      {"strip_request_headers", [&](auto& v, auto& p) { read_field_names(r, v, p, u.strip_request_headers); }},
      {"pool_idle", [&](auto& v, auto& p) { r.read_duration(v, p, u.pool_idle, 10ms, 1h); }},
      {"protocol", [&](auto& v, auto& p) {
         std::string s;
         r.read(v, p, s);
         if (s == "http1") u.protocol = UpstreamProtocol::http1;
         else if (s == "https") u.protocol = UpstreamProtocol::https;
         else if (s == "h2c") u.protocol = UpstreamProtocol::h2c;
         else if (s == "h2") u.protocol = UpstreamProtocol::h2;
         else r.error(v, p, fmt::format("'{}' is not one of http1, https, h2c, h2", s));
       }},
      {"tls", [&](auto& v, auto& p) {
         has_tls = true;
         tls_node = v;
         r.map(v, p, {
             {"ca_file", [&](auto& tv, auto& tp) { r.read(tv, tp, u.tls.ca_file); }},
             {"verify", [&](auto& tv, auto& tp) { r.read(tv, tp, u.tls.verify); }},
             {"server_name", [&](auto& tv, auto& tp) { r.read(tv, tp, u.tls.server_name); }},
         });
       }},
      {"h2_connections_per_host", [&](auto& v, auto& p) { r.read(v, p, u.h2_connections_per_host, 1, 64); }},
  });
  if (has_tls && !u.tls_upstream())
    r.error(tls_node, path + ".tls", "applies to protocol: https (HTTP/1.1 over TLS) or h2 (TLS with ALPN h2)");
  if (!n.IsMap()) return;
  if (!u.hosts.empty() && has_groups) {
    r.error(n, path + ".hosts", "give either hosts: (one group at /) or groups: with routes:, not both");
    return;
  }
  if (!u.hosts.empty()) {
    UpstreamGroup g;
    g.name = "default";
    for (const auto& h : u.hosts) g.hosts.push_back(UpstreamHost{h, 1});
    u.groups.push_back(std::move(g));
    if (has_routes) r.error(routes_node, path + ".routes", "routes: need groups:; hosts: alone is routed at /");
    u.routes = {UpstreamRoute{"/", "default"}};
    return;
  }
  if (has_groups && !has_routes) {
    if (u.groups.size() == 1) u.routes = {UpstreamRoute{"/", u.groups.front().name}};
    else r.error(n, path + ".routes", "with more than one group, routes: must say which prefix goes where");
  }
  std::set<std::string> prefixes;
  for (const auto& route : u.routes) {
    if (!route.group.empty() && !u.group(route.group))
      r.error(routes_node, path + ".routes", fmt::format("route {} names unknown group '{}'", route.prefix, route.group));
    if (!route.prefix.empty() && !prefixes.insert(route.prefix).second)
      r.error(routes_node, path + ".routes", fmt::format("prefix {} is routed twice", route.prefix));
  }
  std::stable_sort(u.routes.begin(), u.routes.end(),
                   [](const UpstreamRoute& a, const UpstreamRoute& b) { return a.prefix.size() > b.prefix.size(); });
}

void read_logging(YamlReader& r, const YAML::Node& n, const std::string& path, LoggingConfig& l) {
  r.map(n, path, {
      {"level", [&](auto& v, auto& p) {
         std::string s = l.level;
         r.read(v, p, s);
         static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "off"};
         if (!levels.count(s)) r.error(v, p, fmt::format("'{}' is not one of trace, debug, info, warn, error, off", s));
         else l.level = s;
       }},
      {"access_log", [&](auto& v, auto& p) {
         std::string s;
         r.read(v, p, s);
         if (s == "off" || s == "false") {
           l.access_log = false;
         } else if (s == "stderr" || s == "true") {
           l.access_log = true;
           l.access_log_path.clear();
         } else if (!s.empty()) {
           l.access_log = true;
           l.access_log_path = s;
         } else {
           r.error(v, p, "give off, stderr or a file path");
         }
       }},
      {"access_log_path", [&](auto& v, auto& p) { r.read(v, p, l.access_log_path); }},
  });
}

void read_admin(YamlReader& r, const YAML::Node& n, const std::string& path, AdminConfig& a) {
  YAML::Node file_node;
  r.map(n, path, {
      {"token", [&](auto& v, auto& p) {
         r.read(v, p, a.token);
         if (a.token.size() < 16) r.error(v, p, "must be at least 16 characters");
       }},
      {"token_file", [&](auto& v, auto& p) { r.read(v, p, a.token_file); file_node = v; }},
  });
  if (!a.token.empty() && !a.token_file.empty()) {
    r.error(n, path, "give token: or token_file:, not both");
  } else if (!a.token_file.empty()) {
    std::ifstream in(a.token_file, std::ios::binary);
    std::string line;
    if (!in) {
      r.error(file_node, path + ".token_file", fmt::format("cannot read '{}'", a.token_file));
    } else {
      std::getline(in, line);
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) line.erase(0, 1);
      if (line.size() < 16) r.error(file_node, path + ".token_file", "its first line must be a token of at least 16 characters");
      else a.token = line;
    }
  }
}

void read_load(YamlReader& r, const YAML::Node& n, const std::string& path, LoadConfig& l) {
  r.map(n, path, {
      {"interval", [&](auto& v, auto& p) { r.read_duration(v, p, l.interval, 100ms, 1h); }},
      {"admit_max_predicted_rps", [&](auto& v, auto& p) { r.read(v, p, l.admit_max_predicted_rps, 0.0, 1e9); }},
      {"smoothing", [&](auto& v, auto& p) { r.read_duration(v, p, l.smoothing, 0ms, 24h); }},
  });
}

bool valid_allow_entry(const std::string& s) {
  boost::system::error_code ec;
  if (s.find('/') != std::string::npos) {
    (void)boost::asio::ip::make_network_v4(s, ec);
    if (ec) {
      ec.clear();
      (void)boost::asio::ip::make_network_v6(s, ec);
    }
  } else {
    (void)boost::asio::ip::make_address(s, ec);
  }
  return !ec;
}

void read_source(YamlReader& r, const YAML::Node& n, const std::string& path, RenditionConfig& rc) {
  r.map(n, path, {
      {"file", [&](auto& v, auto& p) { r.read(v, p, rc.source_file); }},
      {"loop", [&](auto& v, auto& p) { r.read(v, p, rc.loop); }},
      {"ingest", [&](auto& v, auto& p) { r.read(v, p, rc.ingest); }},
      {"key", [&](auto& v, auto& p) { r.read(v, p, rc.ingest_key); }},
      {"allow", [&](auto& v, auto& p) {
         r.read_strings(v, p, rc.ingest_allow);
         for (const auto& a : rc.ingest_allow)
           if (!valid_allow_entry(a)) r.error(v, p, fmt::format("'{}' is not an IP address or CIDR prefix", a));
       }},
      {"udp", [&](auto& v, auto& p) { HostPort hp; r.read_hostport(v, p, hp); rc.udp = hp; }},
  });
  int kinds = !rc.source_file.empty() + rc.ingest + rc.udp.has_value();
  if (n.IsMap() && kinds != 1) r.error(n, path, "give exactly one of file:, ingest: true, udp:");
}

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return s != "." && s != "..";
}

void read_stream(YamlReader& r, const YAML::Node& n, const std::string& path, StreamConfig& s) {
  bool direct_source = false;
  RenditionConfig direct;
  direct.name = "main";
  r.map(n, path, {
      {"name", [&](auto& v, auto& p) {
         r.read(v, p, s.name);
         if (!valid_name(s.name)) r.error(v, p, "must be 1-64 characters of letters, digits, '-', '_', '.'");
       }},
      {"target_duration", [&](auto& v, auto& p) { r.read_duration(v, p, s.target_duration, 500ms, 60s); }},
      {"window", [&](auto& v, auto& p) { r.read(v, p, s.window, 3, 1000); }},
      {"vod_keep", [&](auto& v, auto& p) { r.read_duration(v, p, s.vod_keep, 0ms, 7 * 24h); }},
      {"pause_grace", [&](auto& v, auto& p) { r.read_duration(v, p, s.pause_grace, 1000ms, 24h); }},
      {"source", [&](auto& v, auto& p) { read_source(r, v, p, direct); direct_source = true; }},
      {"renditions", [&](auto& v, auto& p) {
         r.seq(v, p, [&](const YAML::Node& e, const std::string& ep) {
           RenditionConfig rc;
           bool has_source = false;
           r.map(e, ep, {
               {"name", [&](auto& nv, auto& np) {
                  r.read(nv, np, rc.name);
                  if (!valid_name(rc.name)) r.error(nv, np, "must be 1-64 characters of letters, digits, '-', '_', '.'");
                }},
               {"source", [&](auto& sv, auto& sp) { read_source(r, sv, sp, rc); has_source = true; }},
           });
           if (e.IsMap() && (rc.name.empty() || !has_source)) r.error(e, ep, "a rendition needs name: and source:");
           s.renditions.push_back(rc);
         });
       }},
  });
  if (!n.IsMap()) return;
  if (s.name.empty()) r.error(n, path, "a stream needs a name:");
  if (direct_source && !s.renditions.empty()) r.error(n, path, "give either source: or renditions:, not both");
  if (direct_source) s.renditions.push_back(direct);
  if (!direct_source && s.renditions.empty()) r.error(n, path, "a stream needs source: or renditions:");
  std::set<std::string> names;
  for (const auto& rc : s.renditions)
    if (!names.insert(rc.name).second) r.error(n, path, fmt::format("rendition name '{}' is used twice", rc.name));
}

Result<ConfigPtr> parse(const std::string& text, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Error::make(ErrorSource::config, Errc::invalid_argument,
                       fmt::format("{}:{}:{}: not valid YAML: {}", name, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  auto cfg = std::make_shared<Config>();
  cfg->source_path = name;
  YamlReader r(name);
  bool has_role = false;
  YAML::Node role_node;
  if (!root || root.IsNull()) {
    return Error::make(ErrorSource::config, Errc::invalid_argument, fmt::format("{}: the file is empty", name));
  }
  r.map(root, "", {
      {"role", [&](auto& v, auto& p) {
         std::string s;
         r.read(v, p, s);
         has_role = true;
         role_node = v;
         if (s == "edge") cfg->role = Role::edge;
         else if (s == "origin") cfg->role = Role::origin;
         else if (s == "local") cfg->role = Role::local;
         else r.error(v, p, fmt::format("'{}' is not one of edge, origin, local", s));
       }},
      {"threads", [&](auto& v, auto& p) { r.read(v, p, cfg->threads, 1, 256); }},
      {"server_name", [&](auto& v, auto& p) { r.read(v, p, cfg->server_name); }},
      {"status_page", [&](auto& v, auto& p) { r.read(v, p, cfg->status_page); }},
      {"assets_dir", [&](auto& v, auto& p) {
         r.read(v, p, cfg->assets_dir);
         if (cfg->assets_dir.empty()) r.error(v, p, "must not be empty (turn the page off with status_page: false)");
       }},
      {"listen", [&](auto& v, auto& p) {
         r.seq(v, p, [&](const YAML::Node& e, const std::string& ep) {
           ListenerConfig l;
           read_listener(r, e, ep, l);
           cfg->listen.push_back(l);
         });
       }},
      {"http2", [&](auto& v, auto& p) { read_http2(r, v, p, cfg->http2); }},
      {"limits", [&](auto& v, auto& p) { read_limits(r, v, p, cfg->limits); }},
      {"timeouts", [&](auto& v, auto& p) { read_timeouts(r, v, p, cfg->timeouts); }},
      {"cache", [&](auto& v, auto& p) { read_cache(r, v, p, cfg->cache); }},
      {"freshness", [&](auto& v, auto& p) { read_freshness(r, v, p, cfg->freshness); }},
      {"upstream", [&](auto& v, auto& p) { read_upstream(r, v, p, cfg->upstream); }},
      {"logging", [&](auto& v, auto& p) { read_logging(r, v, p, cfg->logging); }},
      {"admin", [&](auto& v, auto& p) { read_admin(r, v, p, cfg->admin); }},
      {"load", [&](auto& v, auto& p) { read_load(r, v, p, cfg->load); }},
      {"streams", [&](auto& v, auto& p) {
         r.seq(v, p, [&](const YAML::Node& e, const std::string& ep) {
           StreamConfig s;
           read_stream(r, e, ep, s);
           cfg->streams.push_back(s);
         });
       }},
  });

  // Cross-field rules.
  if (root.IsMap()) {
    if (!has_role) r.error(root, "role", "is required: edge, origin or local");
    if (cfg->listen.empty()) r.error(root, "listen", "at least one listener is required");
    if (has_role && cfg->role != Role::local && cfg->upstream.groups.empty())
      r.error(role_node, "upstream", fmt::format("role {} needs upstream.hosts or upstream.groups", to_string(cfg->role)));
    if (has_role && cfg->role == Role::local && cfg->streams.empty())
      r.error(role_node, "streams", "role local needs at least one stream");
    std::set<std::string> names;
    for (const auto& s : cfg->streams)
      if (!s.name.empty() && !names.insert(s.name).second)
        r.error(root["streams"], "streams", fmt::format("stream name '{}' is used twice", s.name));
    std::set<std::string> addrs;
    for (const auto& l : cfg->listen)  // port 0 (an ephemeral port each) may repeat
      if (l.address.port != 0 && !addrs.insert(l.address.to_string()).second)
        r.error(root["listen"], "listen", fmt::format("address {} is listed twice", l.address.to_string()));
  }
  if (!r.errors().empty()) {
    std::string all;
    for (const auto& e : r.errors()) all += (all.empty() ? "" : "\n") + e;
    return Error::make(ErrorSource::config, Errc::invalid_argument, all);
  }
  if (cfg->threads == 0) cfg->threads = std::max(1u, std::thread::hardware_concurrency());
  return ConfigPtr(std::move(cfg));
}

}  // namespace

std::vector<std::string> restart_required(const Config& a, const Config& b) {
  std::vector<std::string> why;
  auto check = [&](bool same, const char* what) {
    if (!same) why.push_back(fmt::format("{} changed", what));
  };
  check(a.role == b.role, "role");
  check(a.threads == b.threads, "threads");
  bool same_listen = a.listen.size() == b.listen.size();
  for (std::size_t i = 0; same_listen && i < a.listen.size(); ++i)
    same_listen = a.listen[i].address.to_string() == b.listen[i].address.to_string() && a.listen[i].http2 == b.listen[i].http2;
  check(same_listen, "listen");
  check(a.cache.capacity == b.cache.capacity, "cache.capacity");
  check(a.cache.shards == b.cache.shards, "cache.shards");
  check(a.cache.policy == b.cache.policy, "cache.policy");
  // The coalescer's bounds are fixed when it is built.
  check(a.limits.max_followers_per_key == b.limits.max_followers_per_key, "limits.max_followers_per_key");
  check(a.limits.max_inflight_fetches == b.limits.max_inflight_fetches, "limits.max_inflight_fetches");
  check(a.limits.max_object_bytes == b.limits.max_object_bytes, "limits.max_object_bytes");
  check(a.timeouts.follower_wait == b.timeouts.follower_wait, "timeouts.follower_wait");
  // Streams and their publishers are built at start.
  auto same_rendition = [](const RenditionConfig& x, const RenditionConfig& y) {
    return x.name == y.name && x.source_file == y.source_file && x.loop == y.loop && x.ingest == y.ingest &&
           x.ingest_key == y.ingest_key && x.ingest_allow == y.ingest_allow &&
           (x.udp ? y.udp && x.udp->to_string() == y.udp->to_string() : !y.udp);
  };
  auto same_stream = [&](const StreamConfig& x, const StreamConfig& y) {
    if (x.name != y.name || x.target_duration != y.target_duration || x.window != y.window ||
        x.vod_keep != y.vod_keep || x.pause_grace != y.pause_grace || x.renditions.size() != y.renditions.size())
      return false;
    for (std::size_t i = 0; i < x.renditions.size(); ++i)
      if (!same_rendition(x.renditions[i], y.renditions[i])) return false;
    return true;
  };
  bool same_streams = a.streams.size() == b.streams.size();
  for (std::size_t i = 0; same_streams && i < a.streams.size(); ++i) same_streams = same_stream(a.streams[i], b.streams[i]);
  check(same_streams, "streams");
  return why;
}

Result<ConfigPtr> load_config_string(const std::string& yaml, const std::string& name) { return parse(yaml, name); }

Result<ConfigPtr> load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Error::make(ErrorSource::config, Errc::not_found, fmt::format("{}: cannot open the config file", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

}  // namespace hlscache
