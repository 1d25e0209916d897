// hlsload's target URLs and the loopback rule that keeps a load test on this machine.
#include <gtest/gtest.h>

#include "hlsload/target.hpp"

namespace hlsload {
namespace {

Target ok(std::string_view url) {
  auto t = parse_target(url);
  if (auto* e = std::get_if<std::string>(&t)) {
    ADD_FAILURE() << url << ": " << *e;
    return {};
  }
  return std::get<Target>(t);
}

std::string bad(std::string_view url) {
  auto t = parse_target(url);
  auto* e = std::get_if<std::string>(&t);
  return e ? *e : "(parsed)";
}

TEST(HlsloadTarget, ParsesHostPortAndPath) {
  auto t = ok("http://127.0.0.1:8080/live/test/index.m3u8?token=a");
  EXPECT_EQ(t.host, "127.0.0.1");
  EXPECT_EQ(t.port, "8080");
  EXPECT_EQ(t.path, "/live/test/index.m3u8?token=a");
  auto d = ok("http://localhost");
  EXPECT_EQ(d.port, "80");
  EXPECT_EQ(d.path, "/");
  auto v6 = ok("http://[::1]:81/a.m3u8");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, "81");
}

TEST(HlsloadTarget, RefusesWhatItCannotUse) {
  EXPECT_NE(bad("https://127.0.0.1/a").find("https"), std::string::npos);
  EXPECT_NE(bad("ftp://x/a").find("http://"), std::string::npos);
  EXPECT_NE(bad("http:///a").find("no host"), std::string::npos);
  EXPECT_NE(bad("http://h:0/").find("port"), std::string::npos);
  EXPECT_NE(bad("http://h:70000/").find("port"), std::string::npos);
  EXPECT_NE(bad("http://h:8o/").find("port"), std::string::npos);
  EXPECT_NE(bad("http://[::1/").find("IPv6"), std::string::npos);
  EXPECT_NE(bad("http://u:p@h/").find("user"), std::string::npos);
}

TEST(HlsloadTarget, LoopbackIsAllOf127AndColonColonOne) {
  using boost::asio::ip::make_address;
  EXPECT_TRUE(is_loopback(make_address("127.0.0.1")));
  EXPECT_TRUE(is_loopback(make_address("127.45.6.7")));
  EXPECT_TRUE(is_loopback(make_address("::1")));
  EXPECT_TRUE(is_loopback(make_address("::ffff:127.0.0.2")));
  EXPECT_FALSE(is_loopback(make_address("10.0.0.1")));
  EXPECT_FALSE(is_loopback(make_address("192.168.1.1")));
  EXPECT_FALSE(is_loopback(make_address("128.0.0.1")));
  EXPECT_FALSE(is_loopback(make_address("::ffff:10.0.0.1")));
  EXPECT_FALSE(is_loopback(make_address("::")));
  EXPECT_FALSE(is_loopback(make_address("fe80::1")));
}

}  // namespace
}  // namespace hlsload
