#include "metrics/access_log.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

using namespace hlscache;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

AccessEntry entry() {
  AccessEntry e;
  e.remote = "127.0.0.1";
  e.method = "GET";
  e.target = "/live/a/seg_1.ts";
  e.protocol = "HTTP/1.1";
  e.status = 200;
  e.bytes = 1234;
  e.user_agent = "curl/7.88";
  e.cache = CacheResult::miss;
  e.upstream_ms = 12.34;
  e.total_ms = 20.0;
  e.received = std::chrono::system_clock::from_time_t(971186136);  // 2000-10-10T13:55:36Z
  return e;
}

}  // namespace

TEST(AccessLine, CombinedFormatPlusCacheUpstreamAndTotal) {
  EXPECT_EQ(format_access_line(entry()),
            R"(127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /live/a/seg_1.ts HTTP/1.1" 200 1234 "-" "curl/7.88" MISS 12.3 20.0)");
  AccessEntry hit = entry();
  hit.cache = CacheResult::hit;
  hit.upstream_ms = -1;
  hit.referer = "http://player/";
  EXPECT_EQ(format_access_line(hit),
            R"(127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /live/a/seg_1.ts HTTP/1.1" 200 1234 "http://player/" "curl/7.88" HIT - 20.0)");
}

TEST(AccessLine, QuotesAndControlBytesAreEscaped) {
  AccessEntry e = entry();
  e.user_agent = "evil\" \\ \n127.0.0.1 - - fake";
  const std::string line = format_access_line(e);
  EXPECT_NE(line.find(R"("evil\" \\ \x0a127.0.0.1 - - fake")"), std::string::npos) << line;
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(AccessLog, WritesAppendsAndReopensAfterRename) {
  char tmpl[] = "/tmp/hlscache-access-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl, path = dir + "/access.log", rotated = dir + "/access.log.1";
  AccessLog log;
  EXPECT_FALSE(log.enabled());
  log.write(entry());  // off: nothing
  ASSERT_TRUE(log.retarget(true, path).ok());
  log.write(entry());
  ASSERT_EQ(std::rename(path.c_str(), rotated.c_str()), 0);
  log.write(entry());  // still the renamed file until reopen
  ASSERT_TRUE(log.reopen().ok());
  log.write(entry());
  auto lines = [](const std::string& s) { return std::count(s.begin(), s.end(), '\n'); };
  EXPECT_EQ(lines(slurp(rotated)), 2);
  EXPECT_EQ(lines(slurp(path)), 1);
  ASSERT_TRUE(log.retarget(false, "").ok());
  log.write(entry());
  EXPECT_EQ(lines(slurp(path)), 1);
  EXPECT_FALSE(log.retarget(true, dir + "/missing/dir/log").ok());
  std::remove(path.c_str());
  std::remove(rotated.c_str());
  rmdir(dir.c_str());
}
