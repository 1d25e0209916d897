// Informational responses on the wire (interim.hpp): which statuses go, which fields,
// and their HTTP/1.1 and HTTP/2 forms.
#include <gtest/gtest.h>

#include "http/interim.hpp"

namespace hlscache {
namespace {

TEST(Interim, OnlyOneXxButSwitchingProtocolsGoes) {
  EXPECT_TRUE(forwardable_interim(103));
  EXPECT_TRUE(forwardable_interim(100));
  EXPECT_TRUE(forwardable_interim(199));
  EXPECT_FALSE(forwardable_interim(101));
  EXPECT_FALSE(forwardable_interim(200));
  EXPECT_FALSE(forwardable_interim(99));
}

TEST(Interim, Http11HeadWithEndToEndFieldsOnly) {
  std::string out = "before|";
  serialize_h1_interim(out, 103,
                       {{"Link", "</style.css>; rel=preload; as=style"},
                        {"Link", "</app.js>; rel=preload; as=script"},
                        {"Connection", "close, X-Hop"},
                        {"X-Hop", "1"},
                        {"Keep-Alive", "timeout=5"},
                        {"Transfer-Encoding", "chunked"},
                        {"Content-Length", "0"},
                        {"Bad Name", "x"},
                        {"X-Split", "a\r\nInjected: yes"},
                        {"X-Nul", std::string("a\0b", 3)}});
  EXPECT_EQ(out,
            "before|HTTP/1.1 103 Early Hints\r\n"
            "Link: </style.css>; rel=preload; as=style\r\n"
            "Link: </app.js>; rel=preload; as=script\r\n"
            "\r\n");
  out.clear();
  serialize_h1_interim(out, 199, {});
  EXPECT_EQ(out, "HTTP/1.1 199 \r\n\r\n");  // an empty reason phrase is allowed (RFC 9112 §4)
}

TEST(Interim, Http2FieldsLowerCaseAfterStatus) {
  std::vector<std::pair<std::string, std::string>> out{{"stale", "x"}};
  build_h2_interim_headers(103, {{"Link", "</a.css>; rel=preload"}, {"TE", "trailers"}, {"Upgrade", "h2c"}}, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], (std::pair<std::string, std::string>{":status", "103"}));
  EXPECT_EQ(out[1], (std::pair<std::string, std::string>{"link", "</a.css>; rel=preload"}));
}

}  // namespace
}  // namespace hlscache
