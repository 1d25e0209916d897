// HTTP field facts (src/core/http_fields.*): lookups over every field line, list
// members, hop-by-hop, HTTP-dates in exactly the three RFC 9110 §5.6.7 forms,
// Cache-Control over every line (RFC 9111 §5.2), and RFC 9213 targeted fields
// read as RFC 8941 dictionaries.
#include <gtest/gtest.h>

#include "core/http_fields.hpp"

namespace hlscache {
namespace {

constexpr std::time_t kSunday = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT

TEST(HttpFields, LookupsCoverEveryLineCaseInsensitively) {
  const std::vector<Header> h{{"Cache-Control", "max-age=5"}, {"x-a", "1"}, {"cache-control", "s-maxage=9"}};
  EXPECT_EQ(field_value(h, "CACHE-CONTROL"), "max-age=5");
  EXPECT_EQ(field_count(h, "Cache-Control"), 2u);
  EXPECT_EQ(combined_field(h, "cache-control").value(), "max-age=5, s-maxage=9");
  EXPECT_FALSE(combined_field(h, "Vary").has_value());
  EXPECT_TRUE(has_field(h, "X-A"));
  std::vector<Header> copy = h;
  remove_field(copy, "CACHE-control");
  EXPECT_EQ(copy.size(), 1u);
}

TEST(HttpFields, ListMembersSplitOutsideQuotes) {
  std::vector<std::string> got;
  for_each_member(R"( a , no-cache="x, y",, b="q\"," ,c )", [&](std::string_view m) { got.emplace_back(m); });
  EXPECT_EQ(got, (std::vector<std::string>{"a", R"(no-cache="x, y")", R"(b="q\",")", "c"}));
}

TEST(HttpFields, HopByHopFixedSetAndConnectionNames) {
  for (const char* h : {"Connection", "connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
                        "Proxy-Authorization", "TE", "te", "Trailer", "Transfer-Encoding", "UPGRADE"})
    EXPECT_TRUE(is_hop_by_hop(h)) << h;
  for (const char* h : {"Content-Length", "Content-Type", "ETag", "Cache-Control", "Age", "Trailers", "T"})
    EXPECT_FALSE(is_hop_by_hop(h)) << h;
  EXPECT_TRUE(is_hop_by_hop("X-Session", "close, X-Session"));
  EXPECT_TRUE(is_hop_by_hop("x-session", " X-Session ,X-Other"));
  EXPECT_TRUE(is_hop_by_hop("X-Other", " X-Session ,X-Other"));
  EXPECT_FALSE(is_hop_by_hop("X-Sess", "X-Session"));
  EXPECT_FALSE(is_hop_by_hop("X-Session", "keep-alive"));
  EXPECT_FALSE(is_hop_by_hop("X-Session", ""));
}

TEST(HttpDate, TheThreeFormatsOfRfc9110) {
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), kSunday);       // IMF-fixdate
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), kSunday);      // RFC 850
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), kSunday);            // asctime, day padded with SP
  EXPECT_EQ(parse_http_date("Sun Nov 16 08:49:37 1994"), kSunday + 10 * 86400);
  EXPECT_EQ(parse_http_date(" Sun, 06 Nov 1994 08:49:37 GMT "), kSunday);     // surrounding OWS
  EXPECT_EQ(parse_http_date("Thu, 29 Feb 2024 23:59:60 GMT").value() % 60, 0);  // leap day, leap second
  EXPECT_EQ(format_http_date(kSunday), "Sun, 06 Nov 1994 08:49:37 GMT");
}

TEST(HttpDate, AnythingElseIsInvalid) {
  // RFC 9111 §5.3: an invalid Expires means "already expired"; the parser must say invalid.
  for (const char* bad : {"0", "", "garbage", "Sun, 06 Nov 1994  08:49:37 GMT",  // double space
                          "Sun,  06 Nov 1994 08:49:37 GMT", "Sun, 6 Nov 1994 08:49:37 GMT",  // one-digit day
                          "Sun, 06 Nov 1994 8:49:37 GMT",                                    // one-digit hour
                          "Sun, 06 Nov 94 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37",
                          "sun, 06 nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
                          "Sun, 31 Nov 1994 08:49:37 GMT", "Mon, 29 Feb 2023 08:49:37 GMT",
                          "Sun, 06 Nov 1994 08:49:37 GMT x", "Sun Nov 6 08:49:37 1994", "Sunday, 06-Nov-1994 08:49:37 GMT",
                          "Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT"})
    EXPECT_FALSE(parse_http_date(bad).has_value()) << '"' << bad << '"';
}

TEST(CacheControl, DirectivesFromEveryLineCaseInsensitive) {
  auto cc = parse_cache_control({{"Cache-Control", "public"}, {"X", "y"}, {"cache-control", "S-MAXAGE=30"}});
  EXPECT_TRUE(cc.is_public);
  EXPECT_EQ(cc.s_maxage, 30);
  cc = parse_cache_control_value(R"(max-age="45", no-transform, immutable, must-understand, only-if-cached)");
  EXPECT_EQ(cc.max_age, 45);
  EXPECT_TRUE(cc.no_transform && cc.immutable && cc.must_understand && cc.only_if_cached);
  EXPECT_FALSE(cc.no_store || cc.no_cache || cc.is_private);
}

TEST(CacheControl, QualifiedNoCacheAndPrivateNameFieldsOnly) {
  auto cc = parse_cache_control_value(R"(no-cache="Set-Cookie, X-Token", private="X-User", max-age=60)");
  EXPECT_FALSE(cc.no_cache);
  EXPECT_FALSE(cc.is_private);
  EXPECT_EQ(cc.no_cache_fields, (std::vector<std::string>{"Set-Cookie", "X-Token"}));
  EXPECT_EQ(cc.private_fields, (std::vector<std::string>{"X-User"}));
  cc = parse_cache_control_value("no-cache, private");
  EXPECT_TRUE(cc.no_cache);
  EXPECT_TRUE(cc.is_private);
}

TEST(CacheControl, DeltaSecondsStrictAndCapped) {
  EXPECT_EQ(parse_cache_control_value("max-age=99999999999999999999").max_age, 2147483648);  // §1.2.2
  for (const char* bad : {"max-age=-1", "max-age=1.5", "max-age=", "max-age", "max-age=abc", "max-age=+5"})
    EXPECT_FALSE(parse_cache_control_value(bad).max_age.has_value()) << bad;
  auto cc = parse_cache_control_value("max-age=5, max-age=6");
  EXPECT_TRUE(cc.conflicting);  // §4.2.1: then the response is stale
  EXPECT_FALSE(parse_cache_control_value("max-age=5, max-age=5").conflicting);
  EXPECT_EQ(parse_cache_control_value("stale-while-revalidate=30, stale-if-error=60").stale_if_error, 60);
}

TEST(TargetedCacheControl, StructuredDictionary) {
  auto cc = parse_targeted_cache_control("max-age=60, private, no-cache=\"Set-Cookie\"");
  ASSERT_TRUE(cc);
  EXPECT_EQ(cc->max_age, 60);
  EXPECT_TRUE(cc->is_private);
  EXPECT_EQ(cc->no_cache_fields, (std::vector<std::string>{"Set-Cookie"}));
  cc = parse_targeted_cache_control("no-store=?1, public=?0;x=1, s-maxage=30;a=b, foo=(1 2), bar=:aGk=:");
  ASSERT_TRUE(cc);
  EXPECT_TRUE(cc->no_store);
  EXPECT_FALSE(cc->is_public);
  EXPECT_EQ(cc->s_maxage, 30);
  cc = parse_targeted_cache_control("max-age=5, max-age=7");  // RFC 8941: the last one wins
  ASSERT_TRUE(cc);
  EXPECT_EQ(cc->max_age, 7);
  cc = parse_targeted_cache_control("max-age=1.5, s-maxage=\"10\", stale-if-error=-3");  // wrong types: ignored
  ASSERT_TRUE(cc);
  EXPECT_FALSE(cc->max_age || cc->s_maxage || cc->stale_if_error);
}

TEST(TargetedCacheControl, EmptyOrInvalidFieldsAreNotUsed) {
  // RFC 9213 §2.1: then the next field of the target list (or Cache-Control) applies.
  for (const char* bad : {"", "   ", "Max-Age=5", "max-age=5,", "max-age=5;;", "max-age=\"x", "max-age=5 no-store",
                          "=5", "max-age=(1", "a=?2", "a=:not base64!:", "max-age=1234567890123456"})
    EXPECT_FALSE(parse_targeted_cache_control(bad).has_value()) << '"' << bad << '"';
}

}  // namespace
}  // namespace hlscache
