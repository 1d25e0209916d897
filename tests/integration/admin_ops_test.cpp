// Operations through the real edge daemon: the access log's format and its reopen
// on SIGUSR1 (logrotate: rename, signal, new lines land in a new file); SIGHUP
// reload — TTL rules and the log level apply, open connections and cached objects
// stay; a change that needs a restart (cache capacity) or a broken file is refused
// and the old config stays; and `promtool check metrics` accepts /metrics after a
// mix of hits, misses, coalesced and failed requests.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <regex>

#include "edge_test_util.hpp"

namespace hlscache::test {
namespace {

using AdminOpsTest = EdgeTest;
using Clock = std::chrono::steady_clock;

constexpr const char* kToken = "it-admin-token-0123456789";

OriginReply segment(std::string body, std::string cache_control = {}) {
  OriginReply r;
  r.body = std::move(body);
  r.headers = {{"Content-Type", "video/mp2t"}};
  if (!cache_control.empty()) r.headers.emplace_back("Cache-Control", cache_control);
  return r;
}

std::size_t count_lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

// Polls until pred() or the timeout; true if it held.
bool eventually(const std::function<bool()>& pred, Millis timeout = 3s) {
  const auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

TEST_F(AdminOpsTest, AccessLogLinesAndReopenOnSigusr1) {
  origin_.set("/live/x/seg_1.ts", segment("0123456789", "max-age=600"));
  const std::string dir = make_temp_dir("hlscache-access-");
  const std::string path = dir + "/access.log", rotated = dir + "/access.log.1";
  start(EdgeYaml{}.with_logging("level: error, access_log: " + path));

  EXPECT_EQ(get("/live/x/seg_1.ts", {{"User-Agent", "it \"agent\""}, {"Referer", "http://player/"}}).status, 200);
  EXPECT_EQ(get("/live/x/seg_1.ts").status, 200);
  ASSERT_TRUE(eventually([&] { return count_lines(read_file(path)) == 2; })) << read_file(path);
  const std::string before = read_file(path);
  static const std::regex line(
      R"re(127\.0\.0\.1 - - \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "GET /live/x/seg_1\.ts HTTP/1\.1" 200 10 "(.*)" "(.*)" (MISS|HIT) (-|\d+\.\d) \d+\.\d)re");
  // The two lines may land in either order (each is written after its last byte went out).
  std::map<std::string, std::vector<std::string>> by_cache;  // cache result -> the line's fields
  for (std::size_t pos = 0, eol; (eol = before.find('\n', pos)) != std::string::npos; pos = eol + 1) {
    const std::string text = before.substr(pos, eol - pos);
    std::smatch m;
    ASSERT_TRUE(std::regex_match(text, m, line)) << text;
    by_cache[m[3]] = {m[0], m[1], m[2], m[3], m[4]};
  }
  ASSERT_EQ(by_cache.size(), 2u) << before;
  const auto& miss = by_cache["MISS"];
  EXPECT_EQ(miss[1], "http://player/");
  EXPECT_EQ(miss[2], R"(it \"agent\")");
  EXPECT_NE(miss[4], "-");  // a miss has an upstream time
  const auto& hit = by_cache["HIT"];
  EXPECT_EQ(hit[1], "-");
  EXPECT_EQ(hit[4], "-");

  // logrotate: move the file, signal, and the next lines go to a new file at the old path.
  ASSERT_EQ(std::rename(path.c_str(), rotated.c_str()), 0);
  daemon_.signal(SIGUSR1);
  ASSERT_TRUE(eventually([&] {
    get("/healthz");
    return !read_file(path).empty();
  })) << daemon_.log();
  // Until the signal is handled, polling lines may still land in the old file; nothing is lost.
  const std::string old_file = read_file(rotated);
  EXPECT_EQ(old_file.substr(0, before.size()), before);
  EXPECT_EQ(old_file.find("seg_1", before.size()), std::string::npos) << old_file;
  EXPECT_NE(read_file(path).find("\"GET /healthz HTTP/1.1\" 200"), std::string::npos) << read_file(path);
  remove_tree(dir);
}

TEST_F(AdminOpsTest, ReloadAppliesTtlRulesAndLogLevelKeepingConnectionsAndCache) {
  // No Cache-Control: freshness comes from the config (segment_ttl, then rules on reload).
  origin_.set("/r/short1.ts", segment("one"));
  origin_.set("/r/short2.ts", segment("two"));
  EdgeYaml y = EdgeYaml{}.with_freshness("stale_grace: 0s").with_admin(std::string("token: ") + kToken);
  start(y);
  Connection kept = Connection::open(port_);
  ASSERT_TRUE(kept.connected());
  EXPECT_EQ(kept.roundtrip(make_request("GET", "/r/short1.ts"), 2s).header("X-Cache").value_or(""), "MISS");

  // The new file: a 300 ms TTL for /r/short*, and log level info.
  EdgeYaml next = y;
  next.freshness = "stale_grace: 0s, rules: [{pattern: '/r/short*', ttl: 300ms}]";
  next.logging = "level: info";
  next.upstream_port = origin_.port();
  write_file(daemon_.config_path(), next.str());
  daemon_.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return daemon_.log().find("config reloaded from") != std::string::npos; }))
      << daemon_.log();

  // The rule applies to what is fetched from now on: short2 expires after 300 ms...
  EXPECT_EQ(get("/r/short2.ts").header("X-Cache").value_or(""), "MISS");
  std::this_thread::sleep_for(600ms);
  EXPECT_EQ(get("/r/short2.ts").header("X-Cache").value_or(""), "MISS");
  EXPECT_EQ(origin_.requests("/r/short2.ts"), 2u);
  // ...while short1, stored before the reload with the default TTL, is still in the cache,
  // and the connection opened before the reload is still served.
  auto on_kept = kept.roundtrip(make_request("GET", "/r/short1.ts"), 2s);
  ASSERT_TRUE(on_kept.ok()) << on_kept.describe();
  EXPECT_EQ(on_kept.header("X-Cache").value_or(""), "HIT");
  EXPECT_EQ(origin_.requests("/r/short1.ts"), 1u);

  // The log level is now info: an info line (SIGUSR1's) shows up.
  daemon_.signal(SIGUSR1);
  EXPECT_TRUE(eventually([&] { return daemon_.log().find("SIGUSR1: access log reopened") != std::string::npos; }))
      << daemon_.log();
  auto cfg = get("/admin/config", {{"Authorization", std::string("Bearer ") + kToken}});
  EXPECT_NE(cfg.body.find("pattern: /r/short*"), std::string::npos) << cfg.body;
  EXPECT_NE(cfg.body.find("level: info"), std::string::npos) << cfg.body;
}

TEST_F(AdminOpsTest, ReloadNeedingARestartOrBrokenIsRefusedAndTheOldConfigStays) {
  origin_.set("/r/a.ts", segment("a"));
  EdgeYaml y = EdgeYaml{}.with_cache("capacity: 64MiB").with_admin(std::string("token: ") + kToken);
  start(y);
  EXPECT_EQ(get("/r/a.ts").header("X-Cache").value_or(""), "MISS");

  EdgeYaml bigger = y;
  bigger.cache = "capacity: 128MiB";
  bigger.freshness = "rules: [{pattern: '*', ttl: 1ms}]";  // would apply, were the file accepted
  bigger.upstream_port = origin_.port();
  write_file(daemon_.config_path(), bigger.str());
  daemon_.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] {
    return daemon_.log().find("reload refused: cache.capacity changed (needs a restart)") != std::string::npos;
  })) << daemon_.log();
  auto cfg = get("/admin/config", {{"Authorization", std::string("Bearer ") + kToken}});
  EXPECT_NE(cfg.body.find("capacity: 64MiB"), std::string::npos) << cfg.body;
  EXPECT_EQ(cfg.body.find("ttl: 1ms"), std::string::npos) << cfg.body;
  EXPECT_EQ(get("/r/a.ts").header("X-Cache").value_or(""), "HIT");

  write_file(daemon_.config_path(), "role: edge\nlisten: [{address: 127.0.0.1:0}\n");
  daemon_.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return daemon_.log().find("has errors; the running config stays") != std::string::npos; }))
      << daemon_.log();
  EXPECT_EQ(get("/r/a.ts").header("X-Cache").value_or(""), "HIT");
}

TEST_F(AdminOpsTest, PromtoolAcceptsTheMetrics) {
  if (::access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "promtool missing (Debian package prometheus)";
  origin_.set("/m/seg.ts", segment(std::string(5000, 's'), "max-age=600"));
  OriginReply held = segment("held", "max-age=600");
  held.hold = "h";
  origin_.set("/m/held.ts", held);
  start(EdgeYaml{}.with_load("interval: 200ms"));
  get("/m/seg.ts");
  get("/m/seg.ts");
  get("/m/missing.ts");  // 404 from the origin
  {
    ClientHerd herd(port_, {make_request("GET", "/m/held.ts"), make_request("GET", "/m/held.ts"),
                            make_request("GET", "/m/held.ts")});
    ASSERT_TRUE(herd.connect_all());
    herd.start();
    ASSERT_TRUE(origin_.wait_for_held("h", 1, 3s));
    ASSERT_TRUE(wait_metric_at_least(port_, "hlscache_coalesce_followers_total", "", 2, 3s));
    origin_.release("h");
    ASSERT_TRUE(herd.wait_finished(5s));
  }
  std::this_thread::sleep_for(700ms);  // three load intervals
  auto m = get("/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_GE(metric_value(m.body, "hlscache_responses_total", "code=\"200\",cache=\"COALESCED\"").value_or(0), 2);
  EXPECT_GE(metric_value(m.body, "hlscache_responses_total", "code=\"404\",cache=\"MISS\"").value_or(0), 1);
  EXPECT_GE(metric_value(m.body, "hlscache_coalesce_followers_per_fetch_count").value_or(0), 3);
  EXPECT_GE(metric_value(m.body, "hlscache_coalesce_followers_per_fetch_bucket", "le=\"2\"").value_or(0), 3);
  EXPECT_GE(metric_value(m.body, "hlscache_connections_by_protocol_total", "protocol=\"http1\"").value_or(0), 5);

  const std::string dir = make_temp_dir("hlscache-promtool-");
  write_file(dir + "/metrics.txt", m.body);
  const pid_t pid = spawn({"sh", "-c", "exec /usr/bin/promtool check metrics < " + dir + "/metrics.txt"},
                          dir + "/out.txt", dir + "/err.txt");
  int status = 0;
  pid_t done = 0;
  const auto until = Clock::now() + 20s;
  while ((done = ::waitpid(pid, &status, WNOHANG)) == 0 && Clock::now() < until) std::this_thread::sleep_for(20ms);
  if (done == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    FAIL() << "promtool did not finish in 20 s";
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "promtool check metrics:\n" << read_file(dir + "/out.txt") << read_file(dir + "/err.txt");
  remove_tree(dir);
}

}  // namespace
}  // namespace hlscache::test
