// Config -> normalized YAML (every default filled in) and a one-line summary.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "config/config.hpp"

namespace hlscache {

namespace {
std::string dur(Millis d) { return format_duration(d); }
std::string bytes(std::uint64_t b) { return format_byte_size(b); }
}  // namespace

std::string Config::to_yaml() const {
  YAML::Emitter e;
  e << YAML::BeginMap;
  e << YAML::Key << "role" << YAML::Value << hlscache::to_string(role);
  e << YAML::Key << "threads" << YAML::Value << threads;
  e << YAML::Key << "server_name" << YAML::Value << server_name;
  e << YAML::Key << "status_page" << YAML::Value << status_page;
  e << YAML::Key << "assets_dir" << YAML::Value << assets_dir;
  e << YAML::Key << "listen" << YAML::Value << YAML::BeginSeq;
  for (const auto& l : listen) {
    e << YAML::BeginMap << YAML::Key << "address" << YAML::Value << l.address.to_string() << YAML::Key << "http2"
      << YAML::Value << l.http2;
    if (l.tls) {
      e << YAML::Key << "tls" << YAML::Value << YAML::BeginMap << YAML::Key << "certificates" << YAML::Value
        << YAML::BeginSeq;
      for (const auto& c : l.tls->certificates)
        e << YAML::Flow << YAML::BeginMap << YAML::Key << "cert" << YAML::Value << c.cert << YAML::Key << "key"
          << YAML::Value << c.key << YAML::EndMap;
      e << YAML::EndSeq << YAML::EndMap;
    }
    e << YAML::EndMap;
  }
  e << YAML::EndSeq;

  e << YAML::Key << "http2" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "max_concurrent_streams" << YAML::Value << http2.max_concurrent_streams;
  e << YAML::Key << "max_header_list_bytes" << YAML::Value << bytes(http2.max_header_list_bytes);
  e << YAML::Key << "initial_window_bytes" << YAML::Value << bytes(http2.initial_window_bytes);
  e << YAML::Key << "connection_window_bytes" << YAML::Value << bytes(http2.connection_window_bytes);
  e << YAML::Key << "max_frame_bytes" << YAML::Value << bytes(http2.max_frame_bytes);
  e << YAML::Key << "reset_burst" << YAML::Value << http2.reset_burst;
  e << YAML::Key << "reset_rate" << YAML::Value << http2.reset_rate;
  e << YAML::Key << "max_continuations" << YAML::Value << http2.max_continuations;
  e << YAML::Key << "max_orphaned_fetches" << YAML::Value << http2.max_orphaned_fetches;
  e << YAML::EndMap;

  e << YAML::Key << "limits" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "max_connections" << YAML::Value << limits.max_connections;
  e << YAML::Key << "max_header_bytes" << YAML::Value << bytes(limits.max_header_bytes);
  e << YAML::Key << "max_target_bytes" << YAML::Value << bytes(limits.max_target_bytes);
  e << YAML::Key << "max_request_body" << YAML::Value << bytes(limits.max_request_body);
  e << YAML::Key << "max_followers_per_key" << YAML::Value << limits.max_followers_per_key;
  e << YAML::Key << "max_inflight_fetches" << YAML::Value << limits.max_inflight_fetches;
  e << YAML::Key << "max_object_bytes" << YAML::Value << bytes(limits.max_object_bytes);
  e << YAML::EndMap;

  e << YAML::Key << "timeouts" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "header_read" << YAML::Value << dur(timeouts.header_read);
  e << YAML::Key << "idle" << YAML::Value << dur(timeouts.idle);
  e << YAML::Key << "send" << YAML::Value << dur(timeouts.send);
  e << YAML::Key << "drain" << YAML::Value << dur(timeouts.drain);
  e << YAML::Key << "upstream_connect" << YAML::Value << dur(timeouts.upstream_connect);
  e << YAML::Key << "upstream_first_byte" << YAML::Value << dur(timeouts.upstream_first_byte);
  e << YAML::Key << "upstream_idle" << YAML::Value << dur(timeouts.upstream_idle);
  e << YAML::Key << "upstream_total" << YAML::Value << dur(timeouts.upstream_total);
  e << YAML::Key << "follower_wait" << YAML::Value << dur(timeouts.follower_wait);
  e << YAML::Key << "ingest_idle" << YAML::Value << dur(timeouts.ingest_idle);
  e << YAML::EndMap;

  e << YAML::Key << "cache" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "capacity" << YAML::Value << bytes(cache.capacity);
  e << YAML::Key << "shards" << YAML::Value << cache.shards;
  e << YAML::Key << "policy" << YAML::Value << cache.policy;
  e << YAML::Key << "key_ignore_params" << YAML::Value << YAML::Flow << cache.key_ignore_params;
  e << YAML::Key << "sendfile" << YAML::Value << cache.sendfile;
  e << YAML::Key << "max_variants" << YAML::Value << cache.max_variants;
  if (cache.expected_segment_bytes > 0)
    e << YAML::Key << "expected_segment_bytes" << YAML::Value << bytes(cache.expected_segment_bytes);
  e << YAML::EndMap;

  e << YAML::Key << "freshness" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "segment_ttl" << YAML::Value << dur(freshness.segment_ttl);
  e << YAML::Key << "playlist_ttl_fraction" << YAML::Value << freshness.playlist_ttl_fraction;
  e << YAML::Key << "playlist_ttl_default" << YAML::Value << dur(freshness.playlist_ttl_default);
  e << YAML::Key << "stale_grace" << YAML::Value << dur(freshness.stale_grace);
  e << YAML::Key << "stale_wait" << YAML::Value << dur(freshness.stale_wait);
  e << YAML::Key << "negative_ttl" << YAML::Value << dur(freshness.negative_ttl);
  e << YAML::Key << "gzip_playlists" << YAML::Value << freshness.gzip_playlists;
  e << YAML::Key << "targeted_fields" << YAML::Value << YAML::Flow << freshness.targeted_fields;
  e << YAML::Key << "hit_for_miss" << YAML::Value << dur(freshness.hit_for_miss);
  e << YAML::Key << "revalidate_keep" << YAML::Value << dur(freshness.revalidate_keep);
  e << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
  for (const auto& r : freshness.rules)
    e << YAML::Flow << YAML::BeginMap << YAML::Key << "pattern" << YAML::Value << r.pattern << YAML::Key << "ttl"
      << YAML::Value << dur(r.ttl) << YAML::EndMap;
  e << YAML::EndSeq << YAML::EndMap;

  e << YAML::Key << "upstream" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "groups" << YAML::Value << YAML::BeginMap;
  for (const auto& g : upstream.groups) {
    e << YAML::Key << g.name << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "hosts" << YAML::Value << YAML::BeginSeq;
    for (const auto& h : g.hosts) {
      if (h.weight == 1) e << h.address.to_string();
      else
        e << YAML::Flow << YAML::BeginMap << YAML::Key << "address" << YAML::Value << h.address.to_string()
          << YAML::Key << "weight" << YAML::Value << h.weight << YAML::EndMap;
    }
    e << YAML::EndSeq;
    if (g.dns) {
      e << YAML::Key << "dns" << YAML::Value << g.dns->to_string();
      e << YAML::Key << "dns_interval" << YAML::Value << dur(g.dns_interval);
    }
    e << YAML::Key << "hash" << YAML::Value << to_string(g.hash);
    e << YAML::EndMap;
  }
  e << YAML::EndMap;
  e << YAML::Key << "routes" << YAML::Value << YAML::BeginSeq;
  for (const auto& r : upstream.routes)
    e << YAML::Flow << YAML::BeginMap << YAML::Key << "prefix" << YAML::Value << r.prefix << YAML::Key << "group"
      << YAML::Value << r.group << YAML::EndMap;
  e << YAML::EndSeq;
  e << YAML::Key << "retries" << YAML::Value << upstream.retries;
  e << YAML::Key << "health" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "fail_threshold" << YAML::Value << upstream.health.fail_threshold;
  e << YAML::Key << "eject_base" << YAML::Value << dur(upstream.health.eject_base);
  e << YAML::Key << "eject_max" << YAML::Value << dur(upstream.health.eject_max);
  e << YAML::Key << "check_interval" << YAML::Value << dur(upstream.health.check_interval);
  e << YAML::Key << "check_path" << YAML::Value << upstream.health.check_path;
  e << YAML::EndMap;
  e << YAML::Key << "pool_per_thread" << YAML::Value << upstream.pool_per_thread;
  e << YAML::Key << "strip_request_headers" << YAML::Value << YAML::Flow << upstream.strip_request_headers;
  e << YAML::Key << "pool_idle" << YAML::Value << dur(upstream.pool_idle);
  e << YAML::Key << "protocol" << YAML::Value << hlscache::to_string(upstream.protocol);
  if (upstream.tls_upstream())
    e << YAML::Key << "tls" << YAML::Value << YAML::BeginMap << YAML::Key << "ca_file" << YAML::Value
      << upstream.tls.ca_file << YAML::Key << "verify" << YAML::Value << upstream.tls.verify << YAML::Key
      << "server_name" << YAML::Value << upstream.tls.server_name << YAML::EndMap;
  e << YAML::Key << "h2_connections_per_host" << YAML::Value << upstream.h2_connections_per_host;
  e << YAML::EndMap;

  e << YAML::Key << "logging" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "level" << YAML::Value << logging.level;
  e << YAML::Key << "access_log" << YAML::Value
    << (!logging.access_log ? std::string("off") : logging.access_log_path.empty() ? std::string("stderr") : logging.access_log_path);
  e << YAML::EndMap;

  e << YAML::Key << "admin" << YAML::Value << YAML::BeginMap;
  if (!admin.token_file.empty()) e << YAML::Key << "token_file" << YAML::Value << admin.token_file;
  else if (!admin.token.empty()) e << YAML::Key << "token" << YAML::Value << "<redacted>";
  e << YAML::EndMap;

  e << YAML::Key << "load" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "interval" << YAML::Value << dur(load.interval);
  e << YAML::Key << "admit_max_predicted_rps" << YAML::Value << load.admit_max_predicted_rps;
  e << YAML::Key << "smoothing" << YAML::Value << dur(load.smoothing.count() > 0 ? load.smoothing : 3 * load.interval);
  e << YAML::EndMap;

  e << YAML::Key << "streams" << YAML::Value << YAML::BeginSeq;
  for (const auto& s : streams) {
    e << YAML::BeginMap;
    e << YAML::Key << "name" << YAML::Value << s.name;
    e << YAML::Key << "target_duration" << YAML::Value << dur(s.target_duration);
    e << YAML::Key << "window" << YAML::Value << s.window;
    e << YAML::Key << "vod_keep" << YAML::Value << dur(s.vod_keep);
    if (s.pause_grace.count() > 0) e << YAML::Key << "pause_grace" << YAML::Value << dur(s.pause_grace);
    e << YAML::Key << "container" << YAML::Value << (s.container == StreamConfig::Container::cmaf ? "cmaf" : "ts");
    if (s.container == StreamConfig::Container::cmaf)
      e << YAML::Key << "part_target" << YAML::Value << dur(s.part_target);
    e << YAML::Key << "renditions" << YAML::Value << YAML::BeginSeq;
    for (const auto& r : s.renditions) {
      e << YAML::BeginMap << YAML::Key << "name" << YAML::Value << r.name << YAML::Key << "source" << YAML::Value
        << YAML::Flow << YAML::BeginMap;
      if (!r.source_file.empty())
        e << YAML::Key << "file" << YAML::Value << r.source_file << YAML::Key << "loop" << YAML::Value << r.loop;
      if (r.ingest)
        e << YAML::Key << "ingest" << YAML::Value << true << YAML::Key << "key" << YAML::Value
          << (r.ingest_key.empty() ? "" : "<redacted>") << YAML::Key << "allow" << YAML::Value << YAML::Flow
          << r.ingest_allow;
      if (r.udp) e << YAML::Key << "udp" << YAML::Value << r.udp->to_string();
      e << YAML::EndMap << YAML::EndMap;
    }
    e << YAML::EndSeq << YAML::EndMap;
  }
  e << YAML::EndSeq;
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

std::string Config::summary() const {
  std::string listeners;
  for (const auto& l : listen)
    listeners += (listeners.empty() ? "" : ",") + l.address.to_string() + (l.tls ? "+tls" : "") + (l.http2 ? "+h2" : "");
  std::string ups;
  for (const auto& g : upstream.groups) {
    std::string members;
    for (const auto& h : g.hosts) members += (members.empty() ? "" : ",") + h.address.to_string();
    if (g.dns) members += (members.empty() ? "dns:" : ",dns:") + g.dns->to_string();
    ups += fmt::format("{}{}=[{}]", ups.empty() ? "" : " ", g.name, members);
  }
  return fmt::format("role={} threads={} listen={} cache={} {} x{} shards upstream={{{}}} streams={} access_log={} admin={}",
                     hlscache::to_string(role), threads, listeners, bytes(cache.capacity), cache.policy, cache.shards,
                     ups, streams.size(), logging.access_log ? "on" : "off", admin.enabled() ? "on" : "off");
}

}  // namespace hlscache
