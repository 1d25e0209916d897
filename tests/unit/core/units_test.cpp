#include "core/units.hpp"

#include <gtest/gtest.h>

using namespace hlscache;
using namespace std::chrono_literals;

TEST(ByteSize, ParsesBinaryAndDecimalUnits) {
  EXPECT_EQ(*parse_byte_size("512MiB"), 512ull << 20);
  EXPECT_EQ(*parse_byte_size("64k"), 64ull << 10);
  EXPECT_EQ(*parse_byte_size("1GB"), 1'000'000'000ull);
  EXPECT_EQ(*parse_byte_size("2gib"), 2ull << 30);
  EXPECT_EQ(*parse_byte_size("4096"), 4096ull);
  EXPECT_EQ(*parse_byte_size(" 1.5KiB "), 1536ull);
}

TEST(ByteSize, RejectsGarbageWithAMessage) {
  for (const char* bad : {"", "MiB", "12 parsecs", "-1MiB", "1e99TB"}) {
    auto r = parse_byte_size(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("byte size"), std::string::npos);
  }
}

TEST(Duration, ParsesUnits) {
  EXPECT_EQ(*parse_duration("250ms"), 250ms);
  EXPECT_EQ(*parse_duration("2s"), 2000ms);
  EXPECT_EQ(*parse_duration("1.5s"), 1500ms);
  EXPECT_EQ(*parse_duration("5m"), 300'000ms);
  EXPECT_EQ(*parse_duration("1h"), 3'600'000ms);
  EXPECT_EQ(*parse_duration("3"), 3000ms);
  EXPECT_FALSE(parse_duration("fast").ok());
  EXPECT_FALSE(parse_duration("2 fortnights").ok());
}

TEST(Format, RoundTrips) {
  EXPECT_EQ(format_byte_size(512ull << 20), "512MiB");
  EXPECT_EQ(format_byte_size(1000), "1000B");
  EXPECT_EQ(format_duration(250ms), "250ms");
  EXPECT_EQ(format_duration(2000ms), "2s");
  EXPECT_EQ(format_duration(120'000ms), "2m");
}
