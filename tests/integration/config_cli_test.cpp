// The command line of the real binary: --check-config prints the normalized config
// or every error as FILE:LINE:COL: key: what; --config with a bad file exits
// non-zero without listening; a listen port already in use fails clearly.
#include <gtest/gtest.h>

#include "support/daemon.hpp"
#include "support/http_client.hpp"

namespace hlscache::test {
namespace {

const std::string kGood =
    "role: edge\n"
    "listen:\n"
    "  - address: 127.0.0.1:0\n"
    "upstream:\n"
    "  hosts: [\"127.0.0.1:1\"]\n";

std::string with_port(std::uint16_t port) {
  std::string s = kGood;
  s.replace(s.find("127.0.0.1:0"), 11, "127.0.0.1:" + std::to_string(port));
  return s;
}

TEST(ConfigCli, CheckConfigPrintsTheNormalizedConfig) {
  auto r = check_config(kGood);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  // Every default filled in, sizes and durations in their canonical units.
  for (const char* expected : {"role: edge", "capacity: 512MiB", "policy: s4lru", "max_header_bytes: 16KiB",
                               "max_request_body: 64KiB", "header_read: 10s", "idle: 1m", "drain: 10s",
                               "address: 127.0.0.1:0", "server_name: hlscache"})
    EXPECT_NE(r.out.find(expected), std::string::npos) << "missing '" << expected << "' in:\n" << r.out;
  EXPECT_NE(r.out.find("threads: "), std::string::npos);
  EXPECT_EQ(r.out.find("threads: 0"), std::string::npos) << "threads is resolved, never 0";

  // The normalized form is itself a valid config, and normalizing it again changes nothing.
  auto again = check_config(r.out);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, r.out);
}

TEST(ConfigCli, CheckConfigNormalizesUnits) {
  auto r = check_config(kGood + "cache: {capacity: 1073741824}\ntimeouts: {idle: 90000ms}\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("capacity: 1GiB"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("idle: 90s"), std::string::npos) << r.out;
}

// docs/configuration.md#cache: the largest cacheable object is capacity / shards (/ 4 for
// S4LRU) less a 4 KiB allowance; --check-config prints it and warns (stderr, exit 0)
// when a segment of the expected size would not fit.
TEST(ConfigCli, CheckConfigPrintsTheLargestCacheableObjectAndWarnsBelowTheSegmentSize) {
  // The proxy-layer example docs/deployment.md used to give: 64 MiB in 16 S4LRU shards.
  auto small = check_config(kGood + "cache: {capacity: 64MiB, shards: 16, policy: s4lru}\n");
  ASSERT_EQ(small.exit_code, 0) << small.err;
  EXPECT_NE(small.out.find("# largest cacheable object: 1044480 bytes (1048576 charged: cache.capacity 64MiB / 16 "
                           "shards / 4 (an S4LRU queue)"),
            std::string::npos)
      << small.out;
  EXPECT_NE(small.out.find("expected segment: 2000000 bytes"), std::string::npos) << small.out;
  EXPECT_NE(small.err.find("warning: cache: the largest cacheable object (1044480 bytes"), std::string::npos)
      << small.err;
  EXPECT_NE(small.err.find("hlscache_cache_rejected_too_large_total"), std::string::npos) << small.err;

  // Four shards: 4 MiB per object, a 2 MB segment fits.
  auto fixed = check_config(kGood + "cache: {capacity: 64MiB, shards: 4, policy: s4lru}\n");
  ASSERT_EQ(fixed.exit_code, 0) << fixed.err;
  EXPECT_EQ(fixed.err, "");
  EXPECT_NE(fixed.out.find("# largest cacheable object: 4190208 bytes"), std::string::npos) << fixed.out;
  // LRU keeps the whole shard budget.
  auto lru = check_config(kGood + "cache: {capacity: 64MiB, shards: 16, policy: lru}\n");
  EXPECT_EQ(lru.err, "");
  EXPECT_NE(lru.out.find("# largest cacheable object: 4190208 bytes"), std::string::npos) << lru.out;

  // Smaller segments said so: no warning at 1 MiB.
  auto told = check_config(kGood + "cache: {capacity: 64MiB, shards: 16, expected_segment_bytes: 600KiB}\n");
  EXPECT_EQ(told.err, "");
  EXPECT_NE(told.out.find("expected_segment_bytes: 600KiB"), std::string::npos) << told.out;
  EXPECT_NE(told.out.find("expected segment: 614400 bytes (cache.expected_segment_bytes)"), std::string::npos)
      << told.out;

  // Role local: the longest target duration at 8 Mbit/s — 6 s segments are 6 MB, over 4 MiB.
  const std::string local =
      "role: local\nlisten:\n  - address: 127.0.0.1:0\ncache: {capacity: 64MiB, shards: 4}\n"
      "streams:\n  - {name: a, target_duration: 2s, source: {ingest: true}}\n"
      "  - {name: b, target_duration: 6s, source: {ingest: true}}\n";
  auto six = check_config(local);
  ASSERT_EQ(six.exit_code, 0) << six.err;
  EXPECT_NE(six.out.find("expected segment: 6000000 bytes (6000 ms (longest streams[].target_duration) at 8 Mbit/s)"),
            std::string::npos)
      << six.out;
  EXPECT_NE(six.err.find("warning: cache:"), std::string::npos) << six.err;
}

struct BadCase {
  const char* what;
  std::string yaml;
  std::string expected;  // after "FILE:"
};

TEST(ConfigCli, CheckConfigNamesTheKeyAndPositionOfEachError) {
  const BadCase cases[] = {
      {"unknown key", kGood + "limits:\n  max_conections: 3\n", ":7:3: limits.max_conections: unknown key"},
      {"wrong type", "threads: many\n" + kGood, ":1:10: threads: 'many' is not a whole number"},
      {"bad byte size", kGood + "cache:\n  capacity: 12 parsecs\n", ":7:13: cache.capacity: '12 parsecs' is not a byte size"},
      {"byte size out of range", kGood + "limits: {max_header_bytes: 10}\n", ":6:28: limits.max_header_bytes: 10 is out of range"},
      {"bad duration", kGood + "timeouts: {idle: 5 fortnights}\n", ":6:18: timeouts.idle: '5 fortnights' is not a duration"},
      {"bad enum", kGood + "cache: {policy: random}\n", ":6:17: cache.policy: 'random' is not one of fifo, lru, s4lru"},
      {"mapping expected", kGood + "limits: 3\n", ":6:9: limits: must be a mapping"},
      {"bad address", "role: edge\nlisten:\n  - address: localhost\nupstream: {hosts: [\"127.0.0.1:1\"]}\n",
       ":3:14: listen[0].address: 'localhost' is not host:port"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    std::string path;
    auto r = check_config(c.yaml, &path);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(r.out, "") << "nothing on stdout when the config is bad";
    EXPECT_NE(r.err.find(path + c.expected), std::string::npos) << "expected '" << path << c.expected << "' in:\n"
                                                                 << r.err;
  }
}

TEST(ConfigCli, CheckConfigReportsEveryErrorAtOnce) {
  std::string path;
  auto r = check_config("threads: many\n" + kGood + "limits:\n  max_conections: 3\ncache: {capacity: 5XB}\n", &path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(path + ":1:10: threads:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(path + ":8:3: limits.max_conections:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(path + ":9:19: cache.capacity:"), std::string::npos) << r.err;
}

TEST(ConfigCli, CheckConfigRejectsInvalidYamlAndMissingFields) {
  std::string path;
  auto syntax = check_config("role: edge\nlisten: [\n", &path);
  EXPECT_NE(syntax.exit_code, 0);
  EXPECT_NE(syntax.err.find(path + ":3:1: not valid YAML"), std::string::npos) << syntax.err;

  auto no_role = check_config("listen:\n  - address: 127.0.0.1:0\n");
  EXPECT_NE(no_role.exit_code, 0);
  EXPECT_NE(no_role.err.find("role: is required"), std::string::npos) << no_role.err;

  auto no_upstream = check_config("role: edge\nlisten:\n  - address: 127.0.0.1:0\n");
  EXPECT_NE(no_upstream.exit_code, 0);
  EXPECT_NE(no_upstream.err.find("upstream.hosts"), std::string::npos) << no_upstream.err;

  auto missing = run_hlscache({"--check-config", "/nonexistent/hlscache.yaml"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("/nonexistent/hlscache.yaml: cannot open"), std::string::npos) << missing.err;
}

TEST(ConfigCli, BadCommandLineIsUsageError) {
  auto unknown = run_hlscache({"--frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown argument '--frobnicate'"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("usage:"), std::string::npos) << unknown.err;

  auto no_value = run_hlscache({"--config"});
  EXPECT_EQ(no_value.exit_code, 2);
  EXPECT_NE(no_value.err.find("--config needs a value"), std::string::npos) << no_value.err;

  auto nothing = run_hlscache({});
  EXPECT_EQ(nothing.exit_code, 2);

  auto version = run_hlscache({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("hlscache ", 0), 0u) << version.out;
}

TEST(ConfigCli, DaemonWithBadConfigExitsWithoutListening) {
  auto d = Daemon::start(kGood + "limits:\n  max_conections: 3\n");
  ASSERT_FALSE(d.running()) << "the daemon started with a bad config";
  auto st = d.wait_exit(1s);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->exited && st->code != 0) << st->describe();
  EXPECT_FALSE(st->timed_out) << d.error();
  EXPECT_TRUE(d.endpoints().empty());
  EXPECT_EQ(read_file(d.dir() + "/ports"), "") << "a ports file was written";
  EXPECT_NE(d.log().find(d.config_path() + ":7:3: limits.max_conections: unknown key"), std::string::npos)
      << d.log();
}

TEST(ConfigCli, ListenPortHeldByAnotherProgramFailsClearly) {
  SilentListener other;  // no SO_REUSEPORT, like any other program's socket
  ASSERT_NE(other.port(), 0);
  auto d = Daemon::start(with_port(other.port()));
  ASSERT_FALSE(d.running()) << "the daemon started on a port that is in use";
  auto st = d.wait_exit(1s);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->exited && st->code != 0) << st->describe();
  auto log = d.log();
  EXPECT_NE(log.find("127.0.0.1:" + std::to_string(other.port())), std::string::npos) << log;
  EXPECT_NE(log.find("in use"), std::string::npos) << log;
}

TEST(ConfigCli, ListenPortHeldByAnotherHlscacheFailsClearly) {
  // Our acceptors use SO_REUSEPORT; a second daemon must not quietly join the first one's port.
  auto first = Daemon::start(kGood);
  ASSERT_TRUE(first.running()) << first.error();
  auto second = Daemon::start(with_port(first.port()));
  ASSERT_FALSE(second.running()) << "a second daemon started on the first one's port " << first.port();
  auto st = second.wait_exit(1s);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->exited && st->code != 0) << st->describe();
  EXPECT_NE(second.log().find("127.0.0.1:" + std::to_string(first.port()) + " is already in use"), std::string::npos)
      << second.log();
  // The first daemon is untouched.
  auto r = get(first.port(), "/healthz");
  EXPECT_TRUE(r.ok() && r.status == 200) << r.describe();
  auto fst = first.stop();
  EXPECT_TRUE(fst.exited && fst.code == 0) << fst.describe();
}

}  // namespace
}  // namespace hlscache::test
