// SegmenterSource's reading of LL-HLS delivery directives (_HLS_msn, _HLS_part,
// _HLS_skip) from a request target: what a blocking reload asks for, and which
// queries are a 400.
#include <gtest/gtest.h>

#include "source/segmenter_source.hpp"

using namespace hlscache;

TEST(PlaylistDirectives, ReadsMsnPartAndSkipAndIgnoresOtherParameters) {
  auto d = directives_of("/live/a/index.m3u8?token=x&_HLS_msn=1796660653&_HLS_part=2&_HLS_skip=YES");
  EXPECT_TRUE(d.error.empty()) << d.error;
  EXPECT_EQ(d.msn, 1796660653u);
  EXPECT_EQ(d.part, 2u);
  EXPECT_TRUE(d.skip);
  d = directives_of("/live/a/index.m3u8?_HLS_skip=v2&_HLS_msn=0");
  EXPECT_TRUE(d.error.empty()) << d.error;
  EXPECT_EQ(d.msn, 0u);
  EXPECT_FALSE(d.part.has_value());
  EXPECT_TRUE(d.skip);
  d = directives_of("/live/a/index.m3u8");
  EXPECT_TRUE(d.error.empty() && !d.msn && !d.part && !d.skip);
  d = directives_of("/live/a/index.m3u8?x=_HLS_msn=3");
  EXPECT_TRUE(d.error.empty() && !d.msn) << "a value that looks like a directive is not one";
}

TEST(PlaylistDirectives, MalformedDirectivesAreAnError) {
  for (const char* target : {"/i.m3u8?_HLS_msn=", "/i.m3u8?_HLS_msn=-1", "/i.m3u8?_HLS_msn=1x", "/i.m3u8?_HLS_msn=0x10",
                             "/i.m3u8?_HLS_msn=99999999999999999999999", "/i.m3u8?_HLS_part=1",
                             "/i.m3u8?_HLS_msn=1&_HLS_part=one", "/i.m3u8?_HLS_skip=NO", "/i.m3u8?_HLS_skip"}) {
    EXPECT_FALSE(directives_of(target).error.empty()) << target;
  }
}
