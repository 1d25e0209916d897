// The server's sections: listen (each listener's address, http2 and tls), http2,
// limits, timeouts, logging, admin and load.
#include "config/config_readers.hpp"

#include <fmt/format.h>

#include <cctype>
#include <fstream>
#include <set>

namespace hlscache::config_detail {

using namespace std::chrono_literals;

namespace {

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

}  // namespace

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

}  // namespace hlscache::config_detail
