// The streams section (role local): each stream's name, timing and window, and its
// renditions' sources (a looped file, HTTP push ingest, UDP).
#include "config/config_readers.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <fmt/format.h>

#include <cctype>
#include <set>

namespace hlscache::config_detail {

using namespace std::chrono_literals;

namespace {

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

}  // namespace

void read_stream(YamlReader& r, const YAML::Node& n, const std::string& path, StreamConfig& s) {
  bool direct_source = false;
  YAML::Node part_target_node;
  std::string part_target_path;
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
      {"container", [&](auto& v, auto& p) {
         std::string c;
         r.read(v, p, c);
         if (c == "ts") s.container = StreamConfig::Container::ts;
         else if (c == "cmaf") s.container = StreamConfig::Container::cmaf;
         else r.error(v, p, "must be ts or cmaf");
       }},
      {"part_target", [&](auto& v, auto& p) {
         r.read_duration(v, p, s.part_target, 100ms, 30s);
         part_target_node = v;
         part_target_path = p;
       }},
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
  // PART-HOLD-BACK is three part targets and must stay below the hold-back of three
  // target durations; at most half a target duration leaves every segment two parts.
  if (part_target_node && s.part_target * 2 > s.target_duration)
    r.error(part_target_node, part_target_path, "must be at most half the stream's target_duration");
  if (direct_source && !s.renditions.empty()) r.error(n, path, "give either source: or renditions:, not both");
  if (direct_source) s.renditions.push_back(direct);
  if (!direct_source && s.renditions.empty()) r.error(n, path, "a stream needs source: or renditions:");
  std::set<std::string> names;
  for (const auto& rc : s.renditions)
    if (!names.insert(rc.name).second) r.error(n, path, fmt::format("rendition name '{}' is used twice", rc.name));
}

}  // namespace hlscache::config_detail
