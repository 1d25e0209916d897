// The YAML section readers parse() is made of, one per top-level key (and the
// helpers more than one of them use), each filling its part of a Config from a node
// through a YamlReader that records every problem with its place. Private to config/:
//   config_read_server.cpp     listen (and tls), http2, limits, timeouts, logging, admin, load
//   config_read_cache.cpp      cache, freshness (and lists of HTTP field names)
//   config_read_upstream.cpp   upstream: hosts, groups, routes, health, protocol, tls
//   config_read_streams.cpp    streams: renditions and their sources
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/yaml_reader.hpp"

namespace hlscache::config_detail {

inline constexpr Millis kMaxTimeout = std::chrono::hours(24);

// config_read_server.cpp
void read_listener(YamlReader& r, const YAML::Node& n, const std::string& path, ListenerConfig& l);
void read_http2(YamlReader& r, const YAML::Node& n, const std::string& path, Http2Config& h);
void read_limits(YamlReader& r, const YAML::Node& n, const std::string& path, LimitsConfig& l);
void read_timeouts(YamlReader& r, const YAML::Node& n, const std::string& path, TimeoutsConfig& t);
void read_logging(YamlReader& r, const YAML::Node& n, const std::string& path, LoggingConfig& l);
void read_admin(YamlReader& r, const YAML::Node& n, const std::string& path, AdminConfig& a);
void read_load(YamlReader& r, const YAML::Node& n, const std::string& path, LoadConfig& l);

// config_read_cache.cpp
void read_cache(YamlReader& r, const YAML::Node& n, const std::string& path, CacheConfig& c);
void read_field_names(YamlReader& r, const YAML::Node& v, const std::string& p, std::vector<std::string>& out);
void read_freshness(YamlReader& r, const YAML::Node& n, const std::string& path, FreshnessConfig& f);

// config_read_upstream.cpp
void read_upstream(YamlReader& r, const YAML::Node& n, const std::string& path, UpstreamConfig& u);

// config_read_streams.cpp
void read_stream(YamlReader& r, const YAML::Node& n, const std::string& path, StreamConfig& s);

}  // namespace hlscache::config_detail
