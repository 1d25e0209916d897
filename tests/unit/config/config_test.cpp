#include "config/config.hpp"

#include <gtest/gtest.h>

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

TEST(Config, MissingRequiredPieces) {
  EXPECT_NE(errors_of("threads: 2\nlisten: [{address: '127.0.0.1:1'}]\n").find("role: is required"), std::string::npos);
  EXPECT_NE(errors_of("role: edge\nlisten: [{address: '127.0.0.1:1'}]\n").find("needs at least one upstream host"),
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
