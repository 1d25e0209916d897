// Config: the daemon's whole configuration, parsed from YAML once at start (and
// on reload), validated, then immutable (shared as shared_ptr<const Config>).
// Every field's unit and default is listed in docs/configuration.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/units.hpp"

namespace hlscache {

enum class Role { edge, origin, local };
const char* to_string(Role r) noexcept;

struct HostPort {
  std::string host;  // literal address or name, without brackets
  std::uint16_t port = 0;
  std::string to_string() const;  // "host:port", "[v6]:port"
};

// One certificate chain and its private key (PEM files). Several on a TLS
// listener are chosen by the client's SNI against each certificate's names.
struct TlsCertificate {
  std::string cert;  // PEM: leaf first, then intermediates
  std::string key;   // PEM private key
};

struct TlsConfig {
  std::vector<TlsCertificate> certificates;  // the first is the default (no SNI / no match)
};

struct ListenerConfig {
  HostPort address;
  // Clear listener: HTTP/2 with prior knowledge (h2c) beside HTTP/1.1, told apart by the
  // connection preface. TLS listener: ALPN offers h2 before http/1.1.
  bool http2 = false;
  std::optional<TlsConfig> tls;  // set: this listener speaks TLS 1.2/1.3 only
};

// HTTP/2 settings and protections, shared by every listener with http2: true.
struct Http2Config {
  std::uint32_t max_concurrent_streams = 256;     // SETTINGS_MAX_CONCURRENT_STREAMS; more: RST_STREAM REFUSED_STREAM
  std::uint32_t max_header_list_bytes = 16 * 1024;  // SETTINGS_MAX_HEADER_LIST_SIZE; over it: 431
  std::uint32_t initial_window_bytes = 1 << 20;   // SETTINGS_INITIAL_WINDOW_SIZE (request bodies we buffer per stream)
  std::uint32_t connection_window_bytes = 4 << 20;  // connection-level receive window
  std::uint32_t max_frame_bytes = 16 * 1024;      // SETTINGS_MAX_FRAME_SIZE we accept
  std::uint32_t reset_burst = 200;                // rapid reset: RST_STREAMs allowed at once ...
  std::uint32_t reset_rate = 100;                 // ... and per second after; over it: GOAWAY ENHANCE_YOUR_CALM
  std::uint32_t max_continuations = 8;            // CONTINUATION frames per header block; over it: GOAWAY
  // Upstream fetches still running that were led by streams the client reset (or that
  // closed before their answer); at the bound the connection's new streams lead none (503).
  std::uint32_t max_orphaned_fetches = 16;
};

struct LimitsConfig {
  std::uint32_t max_connections = 10'000;        // per process; over it: accept then close at once
  std::uint32_t max_header_bytes = 16 * 1024;    // request line + headers; over it: 431
  std::uint32_t max_target_bytes = 4096;         // request target; over it: 414
  std::uint64_t max_request_body = 64 * 1024;    // bodies on non-ingest routes; over it: 413
  std::uint32_t max_followers_per_key = 10'000;  // coalesced waiters on one fetch; over it: 503
  std::uint32_t max_inflight_fetches = 1024;     // distinct upstream fetches at once; over it: 503
  std::uint64_t max_object_bytes = 256ull << 20; // a larger upstream body fails its fetch (clients see a truncated response)
};

struct TimeoutsConfig {
  Millis header_read{10'000};     // whole request header block (slowloris)
  Millis idle{60'000};            // keep-alive between requests
  Millis send{30'000};            // writing to a client that does not read
  Millis drain{10'000};           // SIGTERM: in-flight responses may finish for this long
  Millis upstream_connect{2'000};
  Millis upstream_first_byte{5'000};
  Millis upstream_idle{5'000};    // between body chunks
  Millis upstream_total{30'000};
  Millis follower_wait{30'000};   // a coalesced follower waits at most this long for its leader's bytes
  Millis ingest_idle{10'000};     // a publisher silent this long ends its live session
};

struct CacheConfig {
  std::uint64_t capacity = 512ull << 20;
  std::uint32_t shards = 16;
  std::string policy = "s4lru";   // fifo | lru | s4lru
  std::vector<std::string> key_ignore_params;  // query parameters left out of the cache key
  bool sendfile = true;  // large bodies in page-backed memory, sent with sendfile(2) on clear TCP
  std::uint32_t max_variants = 8;  // Vary: stored responses per key; a new one replaces the oldest
  // The segment size the cache must hold (--check-config warns when it cannot); 0: one
  // segment at 8 Mbit/s of the longest target duration (local) or of 2 s (edge, origin).
  std::uint64_t expected_segment_bytes = 0;
};

struct TtlRule {
  std::string pattern;  // glob over the path: '*' matches any run of characters
  Millis ttl{0};
};

struct FreshnessConfig {
  Millis segment_ttl{86'400'000};   // media segments when the upstream says nothing
  double playlist_ttl_fraction = 0.5;  // live playlist: this x TARGETDURATION
  Millis playlist_ttl_default{1'000};  // live playlist without a readable TARGETDURATION
  Millis stale_grace{10'000};       // stale-while-revalidate / stale-if-error window
  Millis stale_wait{250};           // a stale hit waits this long for the refresh before it gets the stale copy
  Millis negative_ttl{1'000};       // 404/410
  bool gzip_playlists = true;
  std::vector<TtlRule> rules;       // first match wins, before the defaults above
  // RFC 9213 target list: the first of these fields with a valid value replaces
  // Cache-Control and Expires for this cache. Empty: targeted fields are ignored.
  std::vector<std::string> targeted_fields{"CDN-Cache-Control"};
  Millis hit_for_miss{10'000};      // a key whose answer could not be shared is fetched per request this long
  Millis revalidate_keep{60'000};   // past its stale window an object with a validator is kept this long to revalidate
};

// One upstream host of a group and its share of the ring.
struct UpstreamHost {
  HostPort address;
  std::uint32_t weight = 1;  // virtual nodes x weight on the ring
};

enum class HashKey { segment, stream };
const char* to_string(HashKey k) noexcept;

// A named set of hosts placed on a consistent-hash ring.
struct UpstreamGroup {
  std::string name;
  std::vector<UpstreamHost> hosts;      // static members
  std::optional<HostPort> dns;          // dns: name:port — every A/AAAA record is a member
  Millis dns_interval{10'000};          // re-resolve period
  HashKey hash = HashKey::segment;      // segment: normalized cache key; stream: first path component after the route prefix
};

// Requests whose path starts with `prefix` go to `group` (longest prefix wins).
struct UpstreamRoute {
  std::string prefix;
  std::string group;
};

struct HealthConfig {
  std::uint32_t fail_threshold = 3;   // consecutive failures that eject a host (passive health)
  Millis eject_base{5'000};           // first ejection; doubles on each repeated ejection...
  Millis eject_max{60'000};           // ...up to this
  Millis check_interval{0};           // active GET check_path per host when > 0
  std::string check_path = "/healthz";
};

enum class UpstreamProtocol { http1, https, h2c, h2 };  // https: HTTP/1.1 over TLS; h2c: HTTP/2 prior knowledge; h2: TLS with ALPN h2
const char* to_string(UpstreamProtocol p) noexcept;

// Certificate checks for protocols https and h2 (TLS to the next tier or an origin).
struct UpstreamTlsConfig {
  std::string ca_file;      // PEM CA bundle; empty: the system's default CAs
  bool verify = true;       // check the chain and the host name (off only for tests and closed networks)
  std::string server_name;  // SNI and the name checked; empty: each host's own name
};

struct UpstreamConfig {
  std::vector<HostPort> hosts;          // shorthand: one group "default" routed at "/"
  std::vector<UpstreamGroup> groups;    // resolved: `hosts` alone becomes groups[0] = "default"
  std::vector<UpstreamRoute> routes;    // resolved: sorted longest prefix first
  std::uint32_t retries = 2;            // extra hosts tried on connect error, timeout or 5xx before any byte went out
  HealthConfig health;
  std::uint32_t pool_per_thread = 64;   // idle keep-alive connections kept per thread and host (http1)
  // Client request fields not forwarded upstream, beside the hop-by-hop ones, the
  // conditionals and Range (those are never forwarded: the cache makes its own).
  std::vector<std::string> strip_request_headers{"Accept-Encoding"};
  Millis pool_idle{4'000};              // an idle pooled connection is closed after this (less if the host's Keep-Alive says so)
  UpstreamProtocol protocol = UpstreamProtocol::http1;
  UpstreamTlsConfig tls;                // protocols https and h2
  std::uint32_t h2_connections_per_host = 4;  // h2c/h2: multiplexed connections per thread and host, at most
  bool tls_upstream() const { return protocol == UpstreamProtocol::https || protocol == UpstreamProtocol::h2; }
  bool h2_upstream() const { return protocol == UpstreamProtocol::h2c || protocol == UpstreamProtocol::h2; }
  const UpstreamGroup* group(std::string_view name) const;
};

struct LoggingConfig {
  std::string level = "info";    // trace | debug | info | warn | error | off
  // access_log: off | stderr | PATH (true = stderr, false = off; the older
  // access_log_path: key still sets PATH). Reopened on SIGUSR1.
  bool access_log = false;
  std::string access_log_path;   // empty: stderr
};

// The admin API (/admin/*) is off unless a token is set, inline or read from a file
// (its first line, trimmed; read at start and at every reload). Never emitted.
struct AdminConfig {
  std::string token;
  std::string token_file;
  bool enabled() const { return !token.empty(); }
};

// Load counting and the capacity estimate (metrics/load_estimator.hpp).
struct LoadConfig {
  Millis interval{30'000};             // one sample of requests/s and bytes/s per interval
  double admit_max_predicted_rps = 0;  // > 0: shed new connections (probes answered, else 503) while the prediction is above
  Millis smoothing{0};                 // time constant of the load filter; 0: 3 x interval
};

struct RenditionConfig {
  std::string name;
  std::string source_file;       // source: { file: PATH, loop: BOOL }
  bool loop = true;
  bool ingest = false;           // source: { ingest: true, key: "..." }
  std::string ingest_key;        // required as ?key=... (or X-Stream-Key) when set
  std::vector<std::string> ingest_allow;  // addresses or CIDR prefixes allowed to publish; empty: any
  std::optional<HostPort> udp;   // source: { udp: host:port }
};

struct StreamConfig {
  std::string name;
  Millis target_duration{2'000};
  std::uint32_t window = 6;
  Millis vod_keep{600'000};      // an ended stream's playlist and segments stay this long
  // A publisher gone without ending keeps the stream live this long after its last
  // byte (0: ten target durations).
  Millis pause_grace{0};
  Millis effective_pause_grace() const { return pause_grace.count() > 0 ? pause_grace : 10 * target_duration; }
  // cmaf: fMP4 segments cut into Low-Latency HLS parts of at most part_target
  // (docs/low-latency.md); ts: classic MPEG-TS segments.
  enum class Container { ts, cmaf } container = Container::ts;
  Millis part_target{330};
  std::vector<RenditionConfig> renditions;  // a single rendition may be given as source: directly
};

struct Config {
  std::string source_path;  // the file it came from
  Role role = Role::edge;
  std::uint32_t threads = 0;  // resolved: never 0 after load
  std::vector<ListenerConfig> listen;
  Http2Config http2;
  LimitsConfig limits;
  TimeoutsConfig timeouts;
  CacheConfig cache;
  FreshnessConfig freshness;
  UpstreamConfig upstream;
  LoggingConfig logging;
  AdminConfig admin;
  LoadConfig load;
  std::vector<StreamConfig> streams;
  std::string server_name = "hlscache";  // Server and Via pseudonym
  bool status_page = true;              // GET /, /status.json and /assets/* (docs/operations.md)
  std::string assets_dir = "assets";    // static files for the status page (hls.js); relative to the working dir

  // The normalized config as YAML (every default filled in), for --check-config.
  // Secrets (admin token, ingest keys) are printed as <redacted>.
  std::string to_yaml() const;
  std::string summary() const;  // one line for the startup log
};

using ConfigPtr = std::shared_ptr<const Config>;

// Parses and validates. On failure the error's message lists every problem,
// one per line, as "FILE:LINE:COL: key.path: what is wrong".
Result<ConfigPtr> load_config_file(const std::string& path);
// Why `next` cannot replace `running` without a restart (listeners, role, threads,
// cache capacity/shards/policy, coalescing limits, streams); empty if it can.
std::vector<std::string> restart_required(const Config& running, const Config& next);
Result<ConfigPtr> load_config_string(const std::string& yaml, const std::string& name = "<string>");

}  // namespace hlscache
