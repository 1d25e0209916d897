// What an upstream is sent (source/upstream_request.hpp): the client's fields with
// client spelling reach an HTTP/1.1 upstream as given and an HTTP/2 one lowercased;
// unsafe lines (a name that is not a token, a value with CR/LF/NUL), hop-by-hop and
// connection-specific fields, Host and Content-Length never do (RFC 9110 §5.1, §5.5,
// §7.6.1; RFC 9113 §8.2.1, §8.2.2).
#include <gtest/gtest.h>

#include "source/upstream_request.hpp"

using namespace hlscache;
using namespace hlscache::upstream_request;

namespace {

SourceRequest request(std::vector<Header> headers) {
  SourceRequest r;
  r.key = "/live/a.ts";
  r.target = "/live/a.ts?token=1";
  r.headers = std::move(headers);
  r.client_address = "192.0.2.7";
  return r;
}

std::vector<std::string> names(const std::vector<Header>& fields) {
  std::vector<std::string> out;
  for (const auto& [k, v] : fields) out.push_back(k);
  return out;
}

}  // namespace

TEST(UpstreamRequest, TokensAndSafeValues) {
  EXPECT_TRUE(is_token("X-Custom_1.a~b!"));
  EXPECT_FALSE(is_token(""));
  EXPECT_FALSE(is_token("Bad Name"));
  EXPECT_FALSE(is_token("Bad:Name"));
  EXPECT_FALSE(is_token(":path"));
  EXPECT_FALSE(is_token("X\x01"));
  EXPECT_FALSE(is_token("Ünicode"));
  EXPECT_TRUE(is_safe_field_value("text/html; q=0.9, \"quoted\"\t x"));
  EXPECT_FALSE(is_safe_field_value("a\r\nInjected: 1"));
  EXPECT_FALSE(is_safe_field_value("a\nb"));
  EXPECT_FALSE(is_safe_field_value(std::string_view("a\0b", 3)));
}

TEST(UpstreamRequest, Http11HeadCarriesTheClientFieldsAndNoUnsafeLine) {
  const std::string head = h1_head(request({{"User-Agent", "X"},
                                            {"accept", "*/*"},
                                            {"X-Custom", "  spaced value  "},
                                            {"Bad Name", "1"},
                                            {"X-Split", "a\r\nInjected: yes"},
                                            {"X-Nul", std::string("a\0b", 3)},
                                            {"X-Lf", "a\nb"},
                                            {"Host", "evil.example"},
                                            {"Content-Length", "5"},
                                            {"Connection", "X-Secret"},
                                            {"X-Secret", "1"},
                                            {"Keep-Alive", "timeout=5"},
                                            {"Transfer-Encoding", "chunked"}}),
                                   HostPort{"origin.example", 8080}, "edge-1");
  EXPECT_EQ(head,
            "GET /live/a.ts?token=1 HTTP/1.1\r\n"
            "Host: origin.example:8080\r\n"
            "User-Agent: X\r\n"
            "accept: */*\r\n"
            "X-Custom: spaced value\r\n"
            "Via: 1.1 edge-1\r\n"
            "X-Forwarded-For: 192.0.2.7\r\n"
            "Connection: keep-alive\r\n\r\n");
}

TEST(UpstreamRequest, Http2FieldsAreLowercaseWithoutConnectionSpecificOnes) {
  const auto fields = h2_fields(request({{"User-Agent", "X"},
                                         {"ACCEPT", "*/*"},
                                         {"X-Custom", "v"},
                                         {"Connection", "keep-alive, X-Secret"},
                                         {"X-Secret", "1"},
                                         {"Keep-Alive", "timeout=5"},
                                         {"Proxy-Connection", "keep-alive"},
                                         {"Transfer-Encoding", "chunked"},
                                         {"Upgrade", "h2c"},
                                         {"Host", "evil.example"},
                                         {"TE", "gzip"},
                                         {":path", "/other"},
                                         {"X-Split", "a\r\nb"}}),
                                "edge-1");
  const std::vector<Header> want{{"user-agent", "X"}, {"accept", "*/*"}, {"x-custom", "v"}, {"via", "2 edge-1"},
                                 {"x-forwarded-for", "192.0.2.7"}};
  EXPECT_EQ(fields, want);
  for (const auto& n : names(fields))
    for (char c : n) EXPECT_FALSE(c >= 'A' && c <= 'Z') << n;
}

TEST(UpstreamRequest, Http2KeepsTeOnlyWhenItIsTrailers) {
  EXPECT_EQ(h2_fields(std::vector<Header>{{"TE", "trailers"}}), (std::vector<Header>{{"te", "trailers"}}));
  EXPECT_EQ(h2_fields(std::vector<Header>{{"te", " Trailers "}}), (std::vector<Header>{{"te", "trailers"}}));
  EXPECT_TRUE(h2_fields(std::vector<Header>{{"TE", "trailers, deflate"}}).empty());
  EXPECT_TRUE(h2_fields(std::vector<Header>{{"TE", "gzip"}}).empty());
}
