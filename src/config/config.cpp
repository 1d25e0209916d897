// Config: parse() reads the YAML document (each top-level section by its reader in
// config_read_*.cpp) and checks the rules across sections; restart_required, the
// loaders and the enum names.
#include "config/config.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "config/config_readers.hpp"
#include "config/yaml_reader.hpp"

namespace hlscache {

using namespace config_detail;

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
        x.vod_keep != y.vod_keep || x.pause_grace != y.pause_grace || x.container != y.container ||
        x.part_target != y.part_target || x.renditions.size() != y.renditions.size())
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
