#include "config/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

using namespace hlscache;
using namespace std::chrono_literals;

namespace {
Result<ConfigPtr> load(const std::string& yaml) { return load_config_string(yaml, "t.yaml"); }
std::string errors_of(const std::string& yaml) {
  auto r = load(yaml);
  EXPECT_FALSE(r.ok()) << yaml;
  return r.ok() ? "" : r.error().message;
}
}  // namespace

TEST(Config, IssueExampleLoadsWithDefaults) {
  auto r = load(R"(
role: edge
threads: 2
listen:
  - address: 127.0.0.1:8080
cache:
  capacity: 512MiB
  shards: 16
  policy: s4lru
upstream:
  hosts: [127.0.0.1:9000]
streams:
  - name: test
    source: { file: a.ts }
)");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = **r;
  EXPECT_EQ(c.role, Role::edge);
  EXPECT_EQ(c.threads, 2u);
  ASSERT_EQ(c.listen.size(), 1u);
  EXPECT_EQ(c.listen[0].address.host, "127.0.0.1");
  EXPECT_EQ(c.listen[0].address.port, 8080);
  EXPECT_EQ(c.cache.capacity, 512ull << 20);
  EXPECT_EQ(c.cache.policy, "s4lru");
  EXPECT_TRUE(c.cache.sendfile);
  ASSERT_EQ(c.upstream.hosts.size(), 1u);
  EXPECT_EQ(c.upstream.hosts[0].port, 9000);
  EXPECT_EQ(c.timeouts.header_read, 10s);
  EXPECT_EQ(c.freshness.negative_ttl, 1s);
  ASSERT_EQ(c.streams.size(), 1u);
  ASSERT_EQ(c.streams[0].renditions.size(), 1u);
  EXPECT_EQ(c.streams[0].renditions[0].source_file, "a.ts");
}

TEST(Config, ThreadsDefaultToCores) {
  auto r = load("role: edge\nlisten: [{address: '127.0.0.1:0'}]\nupstream: {hosts: ['127.0.0.1:1']}\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_GE((*r)->threads, 1u);
}

TEST(Config, UnknownKeyNamesKeyLineAndColumn) {
  auto e = errors_of("role: edge\nlisten: [{address: '127.0.0.1:0'}]\nupstream: {hosts: ['127.0.0.1:1']}\ncache:\n  capasity: 1GiB\n");
  EXPECT_NE(e.find("t.yaml:5:3: cache.capasity: unknown key"), std::string::npos) << e;
}

TEST(Config, WrongTypesAndRangesAreReportedAllAtOnce) {
  auto e = errors_of(R"(role: edge
threads: many
listen:
  - address: localhost
cache:
  capacity: 12 parsecs
  shards: 0
  policy: random
upstream:
  hosts: [127.0.0.1:99999]
timeouts:
  header_read: soon
)");
  EXPECT_NE(e.find("t.yaml:2:10: threads: 'many' is not a whole number"), std::string::npos) << e;
  EXPECT_NE(e.find("t.yaml:4:14: listen[0].address:"), std::string::npos) << e;
  EXPECT_NE(e.find("t.yaml:6:13: cache.capacity:"), std::string::npos) << e;
  EXPECT_NE(e.find("t.yaml:7:11: cache.shards: 0 is out of range"), std::string::npos) << e;
  EXPECT_NE(e.find("t.yaml:8:11: cache.policy: 'random' is not one of fifo, lru, s4lru"), std::string::npos) << e;
  EXPECT_NE(e.find("t.yaml:10:11: upstream.hosts[0]:"), std::string::npos) << e;
  EXPECT_NE(e.find("t.yaml:12:16: timeouts.header_read:"), std::string::npos) << e;
}

TEST(Config, CacheSendfileIsABoolean) {
  const std::string head = "role: edge\nlisten: [{address: '127.0.0.1:1'}]\nupstream: {hosts: ['127.0.0.1:2']}\n";
  auto off = load(head + "cache:\n  sendfile: false\n");
  ASSERT_TRUE(off.ok()) << off.error().message;
  EXPECT_FALSE((*off)->cache.sendfile);
  auto again = load_config_string((*off)->to_yaml(), "again.yaml");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_FALSE((*again)->cache.sendfile) << "emitted and read back";
  const std::string e = errors_of(head + "cache:\n  sendfile: sometimes\n");
  EXPECT_NE(e.find("t.yaml:5:13: cache.sendfile: 'sometimes' is not a boolean"), std::string::npos) << e;
}

TEST(Config, MissingRequiredPieces) {
  EXPECT_NE(errors_of("threads: 2\nlisten: [{address: '127.0.0.1:1'}]\n").find("role: is required"), std::string::npos);
  EXPECT_NE(errors_of("role: edge\nlisten: [{address: '127.0.0.1:1'}]\n").find("needs upstream.hosts or upstream.groups"),
            std::string::npos);
  EXPECT_NE(errors_of("role: local\nlisten: [{address: '127.0.0.1:1'}]\n").find("needs at least one stream"),
            std::string::npos);
  EXPECT_NE(errors_of("role: edge\nupstream: {hosts: ['a:1']}\n").find("at least one listener"), std::string::npos);
}

TEST(Config, InvalidYamlNamesLine) {
  auto e = errors_of("role: edge\nlisten: [\n  - bad: [\n");
  EXPECT_NE(e.find("t.yaml:"), std::string::npos);
  EXPECT_NE(e.find("not valid YAML"), std::string::npos) << e;
}

TEST(Config, StreamsNeedOneSourceKind) {
  auto e = errors_of(R"(role: local
listen: [{address: '127.0.0.1:1'}]
streams:
  - name: test
    source: { file: a.ts, ingest: true }
  - name: "bad/name"
    source: { ingest: true }
)");
  EXPECT_NE(e.find("streams[0].source: give exactly one of"), std::string::npos) << e;
  EXPECT_NE(e.find("streams[1].name: must be"), std::string::npos) << e;
}

TEST(Config, RenditionsList) {
  auto r = load(R"(role: local
listen: [{address: '[::1]:8080', http2: true}]
streams:
  - name: test
    target_duration: 2s
    window: 6
    renditions:
      - name: 720p
        source: { file: samples/test-720p.ts, loop: true }
      - name: 360p
        source: { ingest: true, key: "secret" }
)");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& s = (*r)->streams.at(0);
  EXPECT_EQ((*r)->listen[0].address.host, "::1");
  EXPECT_TRUE((*r)->listen[0].http2);
  ASSERT_EQ(s.renditions.size(), 2u);
  EXPECT_EQ(s.renditions[1].ingest_key, "secret");
  EXPECT_TRUE(s.renditions[1].ingest);
}

TEST(Config, NormalizedYamlReloadsToTheSameConfig) {
  auto r = load("role: edge\nlisten: [{address: '127.0.0.1:8080'}]\nupstream: {hosts: ['127.0.0.1:9000']}\n"
                "freshness: {rules: [{pattern: '*.m3u8', ttl: 500ms}]}\ncache: {key_ignore_params: [token, exp]}\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::string y = (*r)->to_yaml();
  auto again = load(y);
  ASSERT_TRUE(again.ok()) << again.error().message << "\n" << y;
  EXPECT_EQ((*again)->to_yaml(), y);
  EXPECT_NE(y.find("capacity: 512MiB"), std::string::npos) << y;
  EXPECT_NE(y.find("header_read: 10s"), std::string::npos) << y;
}

TEST(Config, TlsListenersAndHttp2Settings) {
  auto r = load(R"(
role: edge
listen:
  - {address: 127.0.0.1:8443, http2: true, tls: {cert: a.pem, key: a.key}}
  - address: 127.0.0.1:8444
    tls:
      cert: default.pem
      key: default.key
      certificates:
        - {cert: b.pem, key: b.key}
  - {address: 127.0.0.1:8080, http2: true}
http2:
  max_concurrent_streams: 1000
  max_header_list_bytes: 32KiB
  initial_window_bytes: 256KiB
  connection_window_bytes: 8MiB
  max_frame_bytes: 64KiB
  reset_burst: 50
  reset_rate: 10
  max_continuations: 4
  max_orphaned_fetches: 3
upstream: {hosts: [127.0.0.1:9000]}
)");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = **r;
  ASSERT_EQ(c.listen.size(), 3u);
  ASSERT_TRUE(c.listen[0].tls);
  ASSERT_EQ(c.listen[0].tls->certificates.size(), 1u);
  EXPECT_EQ(c.listen[0].tls->certificates[0].cert, "a.pem");
  EXPECT_EQ(c.listen[0].tls->certificates[0].key, "a.key");
  ASSERT_TRUE(c.listen[1].tls);
  ASSERT_EQ(c.listen[1].tls->certificates.size(), 2u);
  EXPECT_EQ(c.listen[1].tls->certificates[0].cert, "default.pem") << "the top-level pair is the default";
  EXPECT_EQ(c.listen[1].tls->certificates[1].key, "b.key");
  EXPECT_FALSE(c.listen[1].http2);
  EXPECT_FALSE(c.listen[2].tls);
  EXPECT_EQ(c.http2.max_concurrent_streams, 1000u);
  EXPECT_EQ(c.http2.max_header_list_bytes, 32u * 1024);
  EXPECT_EQ(c.http2.initial_window_bytes, 256u * 1024);
  EXPECT_EQ(c.http2.connection_window_bytes, 8u << 20);
  EXPECT_EQ(c.http2.max_frame_bytes, 64u * 1024);
  EXPECT_EQ(c.http2.reset_burst, 50u);
  EXPECT_EQ(c.http2.reset_rate, 10u);
  EXPECT_EQ(c.http2.max_continuations, 4u);
  EXPECT_EQ(c.http2.max_orphaned_fetches, 3u);

  // The normalized form keeps all of it.
  std::string y = c.to_yaml();
  auto again = load(y);
  ASSERT_TRUE(again.ok()) << again.error().message << "\n" << y;
  EXPECT_EQ((*again)->to_yaml(), y);
  EXPECT_EQ((*again)->listen[1].tls->certificates.size(), 2u);
  EXPECT_NE(y.find("max_concurrent_streams: 1000"), std::string::npos) << y;
}

TEST(Config, Http2DefaultsAndBadTlsValues) {
  auto ok = load("role: edge\nlisten: [{address: '127.0.0.1:8080'}]\nupstream: {hosts: ['127.0.0.1:9000']}\n");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)->http2.max_concurrent_streams, 256u);
  EXPECT_EQ((*ok)->http2.max_frame_bytes, 16u * 1024);
  EXPECT_EQ((*ok)->http2.max_orphaned_fetches, 16u);
  EXPECT_FALSE((*ok)->listen[0].tls);

  auto e = errors_of(R"(role: edge
listen:
  - {address: 127.0.0.1:1, tls: {cert: a.pem}}
  - {address: 127.0.0.1:2, tls: {}}
  - {address: 127.0.0.1:3, tls: {certificates: [{cert: x.pem}]}}
  - {address: 127.0.0.1:4, tls: {cert: a.pem, key: a.key, ciphers: all}}
http2: {max_frame_bytes: 1KiB, max_concurrent_streams: 0, reset_rate: -1, max_orphaned_fetches: 0}
upstream: {hosts: ['127.0.0.1:9000']}
)");
  EXPECT_NE(e.find("t.yaml:3:"), std::string::npos) << e;
  EXPECT_NE(e.find("listen[0].tls: give both cert: and key:"), std::string::npos) << e;
  EXPECT_NE(e.find("listen[1].tls: needs cert: and key:"), std::string::npos) << e;
  EXPECT_NE(e.find("listen[2].tls.certificates[0]: a certificate needs both"), std::string::npos) << e;
  EXPECT_NE(e.find("listen[3].tls.ciphers"), std::string::npos) << e;
  EXPECT_NE(e.find("http2.max_frame_bytes"), std::string::npos) << e;
  EXPECT_NE(e.find("http2.max_concurrent_streams"), std::string::npos) << e;
  EXPECT_NE(e.find("http2.reset_rate"), std::string::npos) << e;
  EXPECT_NE(e.find("http2.max_orphaned_fetches"), std::string::npos) << e;
}

// --- upstream groups, routes, health (issue: tiers) ---

TEST(ConfigUpstream, HostsAloneIsOneGroupRoutedAtRoot) {
  auto r = load("role: edge\nlisten: [{address: '127.0.0.1:0'}]\nupstream: {hosts: ['127.0.0.1:9000', '127.0.0.1:9001']}\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& u = (*r)->upstream;
  ASSERT_EQ(u.groups.size(), 1u);
  EXPECT_EQ(u.groups[0].name, "default");
  EXPECT_EQ(u.groups[0].hosts.size(), 2u);
  EXPECT_EQ(u.groups[0].hash, HashKey::segment);
  ASSERT_EQ(u.routes.size(), 1u);
  EXPECT_EQ(u.routes[0].prefix, "/");
  EXPECT_EQ(u.retries, 2u);
  EXPECT_EQ(u.health.fail_threshold, 3u);
}

TEST(ConfigUpstream, IssueExampleGroupsAndRoutes) {
  auto r = load(R"(role: edge
listen: [{address: '127.0.0.1:0'}]
upstream:
  groups:
    origin: { hosts: [127.0.0.1:9101, {address: 127.0.0.1:9102, weight: 3}], hash: segment }
    pop:    { hosts: [127.0.0.1:9201, 127.0.0.1:9202], hash: stream }
    k8s:    { dns: 'origin.hls.svc.cluster.local:8080', dns_interval: 5s }
  routes:
    - { prefix: /live/, group: origin }
    - { prefix: /live/pop/, group: pop }
    - { prefix: /k/, group: k8s }
  retries: 1
  health: { fail_threshold: 2, eject_base: 1s, eject_max: 8s, check_interval: 500ms, check_path: /readyz }
)");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& u = (*r)->upstream;
  ASSERT_EQ(u.groups.size(), 3u);
  const auto* origin = u.group("origin");
  ASSERT_TRUE(origin);
  ASSERT_EQ(origin->hosts.size(), 2u);
  EXPECT_EQ(origin->hosts[1].weight, 3u);
  EXPECT_EQ(u.group("pop")->hash, HashKey::stream);
  ASSERT_TRUE(u.group("k8s")->dns);
  EXPECT_EQ(u.group("k8s")->dns->host, "origin.hls.svc.cluster.local");
  EXPECT_EQ(u.group("k8s")->dns_interval, 5s);
  ASSERT_EQ(u.routes.size(), 3u);
  EXPECT_EQ(u.routes[0].prefix, "/live/pop/");  // longest first
  EXPECT_EQ(u.retries, 1u);
  EXPECT_EQ(u.health.fail_threshold, 2u);
  EXPECT_EQ(u.health.check_interval, 500ms);
  EXPECT_EQ(u.health.check_path, "/readyz");
  // The normalized YAML loads back to the same thing.
  auto again = load_config_string((*r)->to_yaml(), "again.yaml");
  ASSERT_TRUE(again.ok()) << again.error().message << "\n" << (*r)->to_yaml();
  EXPECT_EQ((*again)->to_yaml(), (*r)->to_yaml());
}

TEST(ConfigUpstream, ErrorsNameKeyAndLine) {
  auto e = errors_of(R"(role: edge
listen: [{address: '127.0.0.1:0'}]
upstream:
  groups:
    origin: { hosts: [127.0.0.1:9101], hash: url }
    empty: { hash: segment }
  routes:
    - { prefix: live/, group: origin }
    - { prefix: /x/, group: nowhere }
)");
  EXPECT_NE(e.find("t.yaml:5:46: upstream.groups.origin.hash: 'url' is not one of segment, stream"), std::string::npos) << e;
  EXPECT_NE(e.find("upstream.groups.empty: a group needs hosts: or dns:"), std::string::npos) << e;
  EXPECT_NE(e.find("t.yaml:8:17: upstream.routes[0].prefix: must start with '/'"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown group 'nowhere'"), std::string::npos) << e;
}

TEST(ConfigUpstream, HostsAndGroupsTogetherIsAnError) {
  auto e = errors_of("role: edge\nlisten: [{address: '127.0.0.1:0'}]\nupstream:\n  hosts: ['127.0.0.1:1']\n  groups: {o: {hosts: ['127.0.0.1:2']}}\n");
  EXPECT_NE(e.find("upstream.hosts: give either hosts:"), std::string::npos) << e;
}

TEST(ConfigUpstream, SeveralGroupsNeedRoutes) {
  auto e = errors_of("role: edge\nlisten: [{address: '127.0.0.1:0'}]\nupstream:\n  groups: {a: {hosts: ['127.0.0.1:1']}, b: {hosts: ['127.0.0.1:2']}}\n");
  EXPECT_NE(e.find("upstream.routes: with more than one group"), std::string::npos) << e;
  auto one = load("role: edge\nlisten: [{address: '127.0.0.1:0'}]\nupstream:\n  groups: {a: {hosts: ['127.0.0.1:1']}}\n");
  ASSERT_TRUE(one.ok()) << one.error().message;
  ASSERT_EQ((*one)->upstream.routes.size(), 1u);
  EXPECT_EQ((*one)->upstream.routes[0].prefix, "/");
}

TEST(ConfigUpstream, DuplicateHostAndBadHealthAreErrors) {
  auto e = errors_of(R"(role: edge
listen: [{address: '127.0.0.1:0'}]
upstream:
  groups:
    o: { hosts: [127.0.0.1:1, 127.0.0.1:1] }
  health: { eject_base: 10s, eject_max: 1s, check_path: healthz }
)");
  EXPECT_NE(e.find("host 127.0.0.1:1 is listed twice"), std::string::npos) << e;
  EXPECT_NE(e.find("upstream.health.eject_max: must not be shorter than eject_base"), std::string::npos) << e;
  EXPECT_NE(e.find("upstream.health.check_path: must start with '/'"), std::string::npos) << e;
}

namespace {
const char* kEdgeBase = "role: edge\nlisten: [{address: '127.0.0.1:0'}]\nupstream: {hosts: ['127.0.0.1:1']}\n";
}

TEST(Config, AdminTokenIsReadAndNeverEmitted) {
  auto r = load(std::string(kEdgeBase) + "admin: {token: 'abcdefghijklmnop-secret'}\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE((*r)->admin.enabled());
  EXPECT_EQ((*r)->admin.token, "abcdefghijklmnop-secret");
  const std::string y = (*r)->to_yaml();
  EXPECT_EQ(y.find("abcdefghijklmnop-secret"), std::string::npos) << y;
  EXPECT_NE(y.find("token: <redacted>"), std::string::npos) << y;
  auto off = load(kEdgeBase);
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE((*off)->admin.enabled());
}

TEST(Config, AdminTokenFileIsReadTrimmedAndItsPathEmitted) {
  char path[] = "/tmp/hlscache-token-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string text = "  file-token-0123456789  \nsecond line ignored\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  auto r = load(std::string(kEdgeBase) + "admin: {token_file: '" + path + "'}\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)->admin.token, "file-token-0123456789");
  const std::string y = (*r)->to_yaml();
  EXPECT_NE(y.find(std::string("token_file: ") + path), std::string::npos) << y;
  EXPECT_EQ(y.find("file-token-0123456789"), std::string::npos) << y;
  // The normalized form loads to the same token (the file is read again).
  auto again = load(y);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ((*again)->admin.token, "file-token-0123456789");
  unlink(path);
}

TEST(Config, AdminTokenProblems) {
  auto e = errors_of(std::string(kEdgeBase) + "admin:\n  token: short\n");
  EXPECT_NE(e.find("t.yaml:5:10: admin.token: must be at least 16 characters"), std::string::npos) << e;
  e = errors_of(std::string(kEdgeBase) + "admin:\n  token_file: /nonexistent/token\n");
  EXPECT_NE(e.find("t.yaml:5:15: admin.token_file: cannot read '/nonexistent/token'"), std::string::npos) << e;
  e = errors_of(std::string(kEdgeBase) + "admin:\n  token: abcdefghijklmnopq\n  token_file: /x\n");
  EXPECT_NE(e.find("admin: give token: or token_file:, not both"), std::string::npos) << e;
  e = errors_of(std::string(kEdgeBase) + "admin:\n  tokn: x\n");
  EXPECT_NE(e.find("admin.tokn: unknown key"), std::string::npos) << e;
}

TEST(Config, LoadKeys) {
  auto r = load(kEdgeBase);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->load.interval, 30s);
  EXPECT_EQ((*r)->load.admit_max_predicted_rps, 0);
  r = load(std::string(kEdgeBase) + "load: {interval: 500ms, admit_max_predicted_rps: 2500}\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)->load.interval, 500ms);
  EXPECT_EQ((*r)->load.admit_max_predicted_rps, 2500);
  const std::string y = (*r)->to_yaml();
  EXPECT_NE(y.find("interval: 500ms"), std::string::npos) << y;
  EXPECT_NE(y.find("admit_max_predicted_rps: 2500"), std::string::npos) << y;
  auto e = errors_of(std::string(kEdgeBase) + "load:\n  interval: 10ms\n  admit_max_predicted_rps: -1\n");
  EXPECT_NE(e.find("t.yaml:5:13: load.interval:"), std::string::npos) << e;
  EXPECT_NE(e.find("t.yaml:6:28: load.admit_max_predicted_rps:"), std::string::npos) << e;
}

TEST(Config, AccessLogOffStderrOrPath) {
  auto at = [&](const std::string& v) {
    auto r = load(std::string(kEdgeBase) + "logging: {access_log: " + v + "}\n");
    EXPECT_TRUE(r.ok()) << v;
    return r.ok() ? (*r)->logging : LoggingConfig{};
  };
  EXPECT_FALSE(at("off").access_log);
  EXPECT_FALSE(at("false").access_log);
  EXPECT_TRUE(at("stderr").access_log);
  EXPECT_TRUE(at("stderr").access_log_path.empty());
  EXPECT_TRUE(at("true").access_log);
  auto f = at("/var/log/hlscache/access.log");
  EXPECT_TRUE(f.access_log);
  EXPECT_EQ(f.access_log_path, "/var/log/hlscache/access.log");
  auto r = load(std::string(kEdgeBase) + "logging: {access_log: /var/log/a.log}\n");
  ASSERT_TRUE(r.ok());
  EXPECT_NE((*r)->to_yaml().find("access_log: /var/log/a.log"), std::string::npos);
  auto e = errors_of(std::string(kEdgeBase) + "logging: {access_log: ''}\n");
  EXPECT_NE(e.find("logging.access_log: give off, stderr or a file path"), std::string::npos) << e;
}

TEST(Config, RestartRequiredNamesWhatChanged) {
  auto a = load(std::string(kEdgeBase) + "threads: 2\ncache: {capacity: 64MiB}\n");
  ASSERT_TRUE(a.ok());
  auto same_but_reloadable = load(std::string(kEdgeBase) +
                                  "threads: 2\ncache: {capacity: 64MiB}\nlogging: {level: debug}\n"
                                  "freshness: {rules: [{pattern: '*.m3u8', ttl: 3s}]}\nadmin: {token: 0123456789abcdef}\n");
  ASSERT_TRUE(same_but_reloadable.ok());
  EXPECT_TRUE(restart_required(**a, **same_but_reloadable).empty());
  auto bigger = load(std::string(kEdgeBase) + "threads: 2\ncache: {capacity: 128MiB, policy: lru}\n");
  ASSERT_TRUE(bigger.ok());
  auto why = restart_required(**a, **bigger);
  ASSERT_EQ(why.size(), 2u);
  EXPECT_EQ(why[0], "cache.capacity changed");
  EXPECT_EQ(why[1], "cache.policy changed");
  auto moved = load("role: origin\nthreads: 3\nlisten: [{address: '127.0.0.1:1'}]\nupstream: {hosts: ['127.0.0.1:1']}\n"
                    "cache: {capacity: 64MiB}\n");
  ASSERT_TRUE(moved.ok());
  why = restart_required(**a, **moved);
  EXPECT_EQ(why, (std::vector<std::string>{"role changed", "threads changed", "listen changed"}));
}

TEST(Config, StatusPageIsOnByDefaultAndCanBeTurnedOff) {
  const std::string base = "role: edge\nlisten: [{address: '127.0.0.1:0'}]\nupstream: {hosts: ['127.0.0.1:1']}\n";
  auto d = load(base);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_TRUE((*d)->status_page);
  EXPECT_EQ((*d)->assets_dir, "assets");
  auto off = load(base + "status_page: false\nassets_dir: /usr/share/hlscache/assets\n");
  ASSERT_TRUE(off.ok()) << off.error().message;
  EXPECT_FALSE((*off)->status_page);
  EXPECT_EQ((*off)->assets_dir, "/usr/share/hlscache/assets");
  const std::string y = (*off)->to_yaml();
  EXPECT_NE(y.find("status_page: false"), std::string::npos) << y;
  EXPECT_NE(y.find("assets_dir: /usr/share/hlscache/assets"), std::string::npos) << y;
  auto again = load(y);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_FALSE((*again)->status_page);
  auto e = errors_of(base + "status_page: maybe\n");
  EXPECT_NE(e.find("t.yaml:4:14: status_page:"), std::string::npos) << e;
  e = errors_of(base + "assets_dir: ''\n");
  EXPECT_NE(e.find("assets_dir: must not be empty"), std::string::npos) << e;
}

TEST(ConfigUpstream, Http2ProtocolAndTls) {
  auto r = load(R"(role: edge
listen: [{address: 127.0.0.1:0}]
upstream:
  hosts: [origin.example:443]
  protocol: h2
  tls: {ca_file: /etc/ssl/ca.pem, server_name: origin.example}
  h2_connections_per_host: 2
  pool_idle: 750ms
)");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& u = (*r)->upstream;
  EXPECT_EQ(u.protocol, UpstreamProtocol::h2);
  EXPECT_EQ(u.tls.ca_file, "/etc/ssl/ca.pem");
  EXPECT_TRUE(u.tls.verify) << "verification is on by default";
  EXPECT_EQ(u.tls.server_name, "origin.example");
  EXPECT_EQ(u.h2_connections_per_host, 2u);
  EXPECT_EQ(u.pool_idle, Millis(750));
  std::string y = (*r)->to_yaml();
  auto again = load(y);
  ASSERT_TRUE(again.ok()) << again.error().message << "\n" << y;
  EXPECT_EQ((*again)->to_yaml(), y);

  auto plain = load("role: edge\nlisten: [{address: '127.0.0.1:0'}]\nupstream: {hosts: ['127.0.0.1:9000']}\n");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ((*plain)->upstream.protocol, UpstreamProtocol::http1);
  EXPECT_EQ((*plain)->upstream.pool_idle, Millis(4'000)) << "the default";

  auto e = errors_of(R"(role: edge
listen: [{address: 127.0.0.1:0}]
upstream: {hosts: ['127.0.0.1:9000'], protocol: h3, tls: {verify: false}, h2_connections_per_host: 0, pool_idle: 0s}
)");
  EXPECT_NE(e.find("upstream.protocol: 'h3' is not one of http1, https, h2c, h2"), std::string::npos) << e;
  EXPECT_NE(e.find("upstream.tls: applies to protocol: https (HTTP/1.1 over TLS) or h2"), std::string::npos) << e;
  auto https = load("role: edge\nlisten: [{address: '127.0.0.1:0'}]\n"
                    "upstream: {hosts: ['origin.example:443'], protocol: https, tls: {ca_file: /etc/ca.pem}}\n");
  ASSERT_TRUE(https.ok()) << https.error().message;
  EXPECT_EQ((*https)->upstream.protocol, UpstreamProtocol::https);
  EXPECT_TRUE((*https)->upstream.tls_upstream());
  EXPECT_FALSE((*https)->upstream.h2_upstream());
  EXPECT_NE((*https)->to_yaml().find("ca_file: /etc/ca.pem"), std::string::npos) << (*https)->to_yaml();
  EXPECT_NE(e.find("upstream.h2_connections_per_host"), std::string::npos) << e;
  EXPECT_NE(e.find("upstream.pool_idle"), std::string::npos) << e;
}
