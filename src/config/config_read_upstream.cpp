// The upstream section: hosts or groups (static hosts and/or a DNS name, the hash key),
// routes by path prefix, health, the pool, the protocol and its tls.
#include "config/config_readers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace hlscache::config_detail {

using namespace std::chrono_literals;

namespace {

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

}  // namespace

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

}  // namespace hlscache::config_detail
