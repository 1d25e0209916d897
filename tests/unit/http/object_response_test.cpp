// respond_from_object: a stored Object turned into a response — Age, Cache-Status,
// X-Cache and Via; 304 for If-None-Match / If-Modified-Since; one byte range
// (206/416, If-Range); the gzip variant of playlists. Time is a parameter. Every
// case runs twice: with the object's headers pre-serialized (the cache handler's
// hit fast path: stored_wire + cache_lines) and without (the general `headers`).
// Also gzip_compress / gzip_decompress (src/core/gzip.*), which make that variant.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <strings.h>

#include "core/gzip.hpp"
#include "core/strings.hpp"
#include "http/cache_handler.hpp"

namespace hlscache {
namespace {

using namespace std::chrono_literals;

const TimePoint t0 = TimePoint{} + std::chrono::hours(100);
constexpr std::uint64_t kSize = 1000;
constexpr const char* kLastModified = "Wed, 21 Oct 2015 07:28:00 GMT";

std::string body_bytes(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

// A segment stored at t0 with Age 5 from upstream, fresh for 60 s, then 10 s of grace.
std::shared_ptr<Object> make_object(bool wire, std::string etag = "\"v1\"", int status = 200,
                                    std::vector<Header> extra = {}) {
  auto o = std::make_shared<Object>();
  o->status = status;
  o->headers = {{"Content-Type", "video/mp2t"}, {"Cache-Control", "max-age=60"}, {"ETag", etag},
                {"Last-Modified", kLastModified}};
  o->headers.insert(o->headers.end(), extra.begin(), extra.end());
  const std::string b = body_bytes(kSize);
  o->body.push_back(Chunk::copy_of(b.substr(0, 600)));
  o->body.push_back(Chunk::copy_of(b.substr(600)));
  o->body_size = kSize;
  o->stored_at = t0;
  o->initial_age = 5s;
  o->fresh_until = t0 + 60s;
  o->stale_until = t0 + 70s;
  o->etag = etag;
  o->last_modified = kLastModified;
  if (wire) o->serialize_headers();
  return o;
}

// A live playlist with its gzip variant, as the cache handler builds it.
std::shared_ptr<Object> make_playlist(bool wire) {
  const std::string text = "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.0,\nseg_1.ts\n";
  auto o = std::make_shared<Object>();
  o->headers = {{"Content-Type", "application/vnd.apple.mpegurl"}, {"ETag", "\"p1\""}};
  o->body.push_back(Chunk::copy_of(text));
  o->body_size = text.size();
  o->stored_at = t0;
  o->fresh_until = t0 + 3s;
  o->stale_until = t0 + 13s;
  o->etag = "\"p1\"";
  auto gz = gzip_compress(text);
  auto z = std::make_shared<Object>();
  z->headers = o->headers;
  z->headers.emplace_back("Content-Encoding", "gzip");
  z->body.push_back(Chunk::copy_of(*gz));
  z->body_size = gz->size();
  if (wire) {
    o->serialize_headers();
    z->serialize_headers();
  }
  o->gzipped = z;
  return o;
}

RequestContext request(std::vector<Header> headers = {}) {
  RequestContext r;
  r.method = Method::get;
  r.method_text = "GET";
  r.target = "/live/s/seg_1.ts";
  r.headers = std::move(headers);
  return r;
}

Response respond(const ObjectPtr& o, std::vector<Header> headers = {}, TimePoint now = t0 + 12s,
                 CacheResult result = CacheResult::hit) {
  return respond_from_object(o, request(std::move(headers)), now, result, "hlscache");
}

// Every header the session would write: the stored block, this response's cache
// lines (both in wire form on the fast path), then `headers`.
std::vector<Header> all_headers(const Response& r) {
  std::vector<Header> out;
  std::string lines;
  if (r.cache_lines) append_cache_lines(lines, *r.cache_lines, "hlscache");
  for (std::string_view block : {r.stored_wire, std::string_view(lines)}) {
    while (!block.empty()) {
      auto eol = block.find("\r\n");
      EXPECT_NE(eol, std::string_view::npos) << "unterminated header line";
      auto line = block.substr(0, eol);
      auto colon = line.find(": ");
      EXPECT_NE(colon, std::string_view::npos) << line;
      out.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 2)));
      block.remove_prefix(eol == std::string_view::npos ? block.size() : eol + 2);
    }
  }
  out.insert(out.end(), r.headers.begin(), r.headers.end());
  return out;
}
std::string header(const Response& r, std::string_view name) {
  for (const auto& [k, v] : all_headers(r))
    if (iequal(k, name)) return v;
  return {};
}
int count_header(const Response& r, std::string_view name) {
  int n = 0;
  for (const auto& [k, v] : all_headers(r))
    if (iequal(k, name)) ++n;
  return n;
}
bool has_content_headers(const Response& r) {
  for (const auto& [k, v] : all_headers(r))
    if (::strncasecmp(k.c_str(), "Content-", 8) == 0) return true;
  return false;
}
const ObjectBody& object_body(const Response& r) { return std::get<ObjectBody>(r.body); }

// What the response body would write: the object's bytes [offset, offset + length).
std::string body_text(const Response& r) {
  const auto& b = object_body(r);
  return b.object->body_string().substr(b.offset, b.length);
}

class ObjectResponse : public ::testing::TestWithParam<bool> {};  // true: pre-serialized headers

TEST_P(ObjectResponse, FreshHitCarriesAgeCacheStatusXCacheAndVia) {
  auto o = make_object(GetParam());
  Response r = respond(o);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(header(r, "Age"), "17");  // 12 s in the cache + 5 s upstream
  EXPECT_EQ(header(r, "Cache-Status"), "hlscache; hit; ttl=48");
  EXPECT_EQ(header(r, "X-Cache"), "HIT");
  EXPECT_EQ(header(r, "Via"), "1.1 hlscache");
  EXPECT_EQ(header(r, "Accept-Ranges"), "bytes");
  EXPECT_EQ(header(r, "Content-Type"), "video/mp2t");  // the stored headers
  EXPECT_EQ(header(r, "ETag"), "\"v1\"");
  EXPECT_EQ(count_header(r, "Vary"), 0);  // no gzip variant
  EXPECT_EQ(r.cache, CacheResult::hit);
  const auto& b = object_body(r);
  EXPECT_EQ(b.object, o);  // the stored object itself: no copy
  EXPECT_EQ(b.offset, 0u);
  EXPECT_EQ(b.length, kSize);
  EXPECT_EQ(body_text(r), body_bytes(kSize));

  EXPECT_EQ(header(respond(o, {}, t0), "Age"), "5");
  EXPECT_EQ(header(respond(o, {}, t0 + 1999ms), "Age"), "6");  // whole seconds, rounded down
}

TEST_P(ObjectResponse, StaleHitSaysSo) {
  auto o = make_object(GetParam());
  Response r = respond(o, {}, t0 + 65s, CacheResult::stale);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(header(r, "Age"), "70");
  EXPECT_EQ(header(r, "Cache-Status"), "hlscache; hit; ttl=-5; detail=stale-while-revalidate");
  EXPECT_EQ(header(r, "X-Cache"), "STALE");
  EXPECT_EQ(r.cache, CacheResult::stale);
}

TEST_P(ObjectResponse, IfNoneMatchGives304WithoutBodyOrContentHeaders) {
  auto o = make_object(GetParam());
  for (std::string inm : {"\"v1\"", "W/\"v1\"", "\"a\", W/\"v1\"", "\"a\",\"v1\" , \"b\"", "*"}) {
    SCOPED_TRACE(inm);
    Response r = respond(o, {{"If-None-Match", inm}});
    EXPECT_EQ(r.status, 304);
    ASSERT_TRUE(std::holds_alternative<std::string>(r.body));
    EXPECT_TRUE(std::get<std::string>(r.body).empty());
    EXPECT_FALSE(has_content_headers(r));
    EXPECT_EQ(header(r, "ETag"), "\"v1\"");
    EXPECT_EQ(header(r, "Cache-Control"), "max-age=60");
    EXPECT_EQ(header(r, "Age"), "17");
    EXPECT_EQ(header(r, "X-Cache"), "HIT");
    EXPECT_EQ(count_header(r, "Accept-Ranges"), 0);
  }
  for (std::string inm : {"\"v2\"", "\"v1", "W/\"v2\", \"x\""}) {
    SCOPED_TRACE(inm);
    EXPECT_EQ(respond(o, {{"If-None-Match", inm}}).status, 200);
  }
  // A weak stored validator matches its strong form (weak comparison).
  EXPECT_EQ(respond(make_object(GetParam(), "W/\"v1\""), {{"If-None-Match", "\"v1\""}}).status, 304);
  // No stored ETag: nothing matches, not even *.
  EXPECT_EQ(respond(make_object(GetParam(), ""), {{"If-None-Match", "*"}}).status, 200);
  // Only successful objects are revalidated.
  EXPECT_EQ(respond(make_object(GetParam(), "\"v1\"", 404), {{"If-None-Match", "\"v1\""}}).status, 404);
}

TEST_P(ObjectResponse, IfModifiedSinceGives304WhenNotModified) {
  auto o = make_object(GetParam());
  for (std::string ims : {kLastModified, "Wed, 21 Oct 2015 07:28:01 GMT", "Thu, 01 Jan 2026 00:00:00 GMT"}) {
    SCOPED_TRACE(ims);
    Response r = respond(o, {{"If-Modified-Since", ims}});
    EXPECT_EQ(r.status, 304);
    EXPECT_TRUE(std::get<std::string>(r.body).empty());
    EXPECT_FALSE(has_content_headers(r));
  }
  for (std::string ims : {"Wed, 21 Oct 2015 07:27:59 GMT", "yesterday", ""}) {
    SCOPED_TRACE(ims);
    EXPECT_EQ(respond(o, {{"If-Modified-Since", ims}}).status, 200);
  }
  // If-None-Match is evaluated instead of If-Modified-Since when both are sent.
  EXPECT_EQ(respond(o, {{"If-None-Match", "\"v2\""}, {"If-Modified-Since", kLastModified}}).status, 200);
  EXPECT_EQ(respond(o, {{"If-None-Match", "\"v1\""}, {"If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"}}).status,
            304);
  auto no_lm = make_object(GetParam());
  no_lm->last_modified.clear();
  EXPECT_EQ(respond(no_lm, {{"If-Modified-Since", kLastModified}}).status, 200);
}

TEST_P(ObjectResponse, SingleRangesGive206WithTheRightSlice) {
  auto o = make_object(GetParam());
  struct Case {
    const char* range;
    std::uint64_t first, last;
  };
  for (Case c : {Case{"bytes=0-99", 0, 99}, Case{"bytes=100-", 100, 999}, Case{"bytes=-50", 950, 999},
                 Case{"bytes=590-609", 590, 609} /* across the chunk boundary */, Case{"bytes=990-5000", 990, 999},
                 Case{"bytes=-5000", 0, 999}, Case{"bytes=999-999", 999, 999}}) {
    SCOPED_TRACE(c.range);
    Response r = respond(o, {{"Range", c.range}});
    EXPECT_EQ(r.status, 206);
    EXPECT_EQ(header(r, "Content-Range"), fmt::format("bytes {}-{}/{}", c.first, c.last, kSize));
    const auto& b = object_body(r);
    EXPECT_EQ(b.object, o);
    EXPECT_EQ(b.offset, c.first);
    EXPECT_EQ(b.length, c.last - c.first + 1);
    EXPECT_EQ(body_text(r), body_bytes(kSize).substr(c.first, c.last - c.first + 1));
    EXPECT_EQ(header(r, "X-Cache"), "HIT");
  }
}

TEST_P(ObjectResponse, RangesThatCannotBeServedAsOne) {
  auto o = make_object(GetParam());
  // Several ranges, other units, malformed: ignored, the whole object (200).
  for (const char* range : {"bytes=0-1,5-6", "items=0-9", "bytes=5-2", "bytes=a-b", "bytes=", "bytes=-", "0-99"}) {
    SCOPED_TRACE(range);
    Response r = respond(o, {{"Range", range}});
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(count_header(r, "Content-Range"), 0);
    EXPECT_EQ(object_body(r).offset, 0u);
    EXPECT_EQ(object_body(r).length, kSize);
  }
  // Past the end: 416 with the size.
  for (const char* range : {"bytes=1000-", "bytes=5000-6000", "bytes=-0"}) {
    SCOPED_TRACE(range);
    Response r = respond(o, {{"Range", range}});
    EXPECT_EQ(r.status, 416);
    EXPECT_EQ(header(r, "Content-Range"), "bytes */1000");
    EXPECT_EQ(r.cache, CacheResult::hit);
    EXPECT_FALSE(std::holds_alternative<ObjectBody>(r.body));
  }
}

TEST_P(ObjectResponse, IfRangeMismatchSendsTheWholeObject) {
  auto o = make_object(GetParam());
  Response r = respond(o, {{"Range", "bytes=0-99"}, {"If-Range", "\"v1\""}});
  EXPECT_EQ(r.status, 206);
  r = respond(o, {{"Range", "bytes=0-99"}, {"If-Range", kLastModified}});
  EXPECT_EQ(r.status, 206);
  for (const char* if_range : {"\"v0\"", "Wed, 21 Oct 2015 07:28:01 GMT"}) {
    SCOPED_TRACE(if_range);
    r = respond(o, {{"Range", "bytes=0-99"}, {"If-Range", if_range}});
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(count_header(r, "Content-Range"), 0);
    EXPECT_EQ(object_body(r).length, kSize);
  }
  // An unsatisfiable range under a stale If-Range is not an error either.
  EXPECT_EQ(respond(o, {{"Range", "bytes=5000-"}, {"If-Range", "\"v0\""}}).status, 200);
}

TEST_P(ObjectResponse, GzipVariantForClientsThatAcceptIt) {
  auto o = make_playlist(GetParam());
  for (std::string ae : {"gzip", "GZIP", "gzip, deflate, br", "br;q=1.0, gzip;q=0.8", "deflate,gzip"}) {
    SCOPED_TRACE(ae);
    Response r = respond(o, {{"Accept-Encoding", ae}}, t0 + 1s);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(object_body(r).object, o->gzipped);
    EXPECT_EQ(object_body(r).length, o->gzipped->body_size);
    EXPECT_EQ(header(r, "Content-Encoding"), "gzip");
    EXPECT_EQ(header(r, "Vary"), "Accept-Encoding");
    EXPECT_EQ(header(r, "Cache-Status"), "hlscache; hit; ttl=2");  // the stored object's freshness
    EXPECT_EQ(header(r, "Age"), "1");
    auto plain = gzip_decompress(o->gzipped->body_string(), 1 << 20);
    ASSERT_TRUE(plain);
    EXPECT_EQ(*plain, o->body_string());
  }
  for (std::string ae : {"", "identity", "deflate, br", "gzip;q=0", "gzip; q=0", "br, gzip;q=0", "gzip;q=0.0",
                         "gzip;q=0.000", "xgzip"}) {
    SCOPED_TRACE(ae);
    Response r = respond(o, ae.empty() ? std::vector<Header>{} : std::vector<Header>{{"Accept-Encoding", ae}});
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(object_body(r).object, o);
    EXPECT_EQ(count_header(r, "Content-Encoding"), 0);
    EXPECT_EQ(header(r, "Vary"), "Accept-Encoding");  // the response still varies
    EXPECT_EQ(count_header(r, "Vary"), 1);
  }
  for (const char* ae : {"gzip;q=0.5", "gzip;q=0.001", "gzip;q=1", "gzip;q=1.0"})
    EXPECT_EQ(object_body(respond(o, {{"Accept-Encoding", ae}})).object, o->gzipped) << ae;
  // Objects without a variant ignore Accept-Encoding.
  auto seg = make_object(GetParam());
  Response r = respond(seg, {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(object_body(r).object, seg);
  EXPECT_EQ(count_header(r, "Vary"), 0);
}

TEST_P(ObjectResponse, NotModifiedForAPlaylistWithAGzipVariantKeepsVary) {
  // RFC 9110 §15.4.5: a 304 carries the Vary a 200 would have carried.
  auto o = make_playlist(GetParam());
  Response r = respond(o, {{"If-None-Match", "\"p1\""}, {"Accept-Encoding", "gzip"}}, t0 + 1s);
  EXPECT_EQ(r.status, 304);
  EXPECT_FALSE(has_content_headers(r));
  EXPECT_EQ(header(r, "Vary"), "Accept-Encoding");
  EXPECT_EQ(header(r, "ETag"), "\"p1\"");
}

TEST_P(ObjectResponse, UpstreamViaAndCacheStatusListsAreExtended) {
  auto o = make_object(GetParam(), "\"v1\"", 200, {{"Via", "1.1 origin-a"}, {"Cache-Status", "origin-a; fwd=miss"}});
  Response r = respond(o);
  EXPECT_EQ(header(r, "Via"), "1.1 origin-a, 1.1 hlscache");
  EXPECT_EQ(header(r, "Cache-Status"), "origin-a; fwd=miss, hlscache; hit; ttl=48");
  EXPECT_EQ(count_header(r, "Via"), 1);
  EXPECT_EQ(count_header(r, "Cache-Status"), 1);
  EXPECT_EQ(count_header(r, "X-Cache"), 1);
  r = respond(o, {}, t0 + 65s, CacheResult::stale);
  EXPECT_EQ(header(r, "Cache-Status"), "origin-a; fwd=miss, hlscache; hit; ttl=-5; detail=stale-while-revalidate");
}

INSTANTIATE_TEST_SUITE_P(HeaderForms, ObjectResponse, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "serialized" : "headers"; });

TEST(Gzip, RoundTrip) {
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{100}, std::size_t{300'000}}) {
    SCOPED_TRACE(n);
    const std::string in = body_bytes(n);
    auto gz = gzip_compress(in);
    ASSERT_TRUE(gz);
    ASSERT_GE(gz->size(), 18u);  // header + trailer
    EXPECT_EQ(static_cast<unsigned char>((*gz)[0]), 0x1f);
    EXPECT_EQ(static_cast<unsigned char>((*gz)[1]), 0x8b);
    auto out = gzip_decompress(*gz, n + 1);
    ASSERT_TRUE(out);
    EXPECT_TRUE(*out == in);
  }
  const std::string text = body_bytes(50'000);
  auto fast = gzip_compress(text, 1), best = gzip_compress(text, 9);
  ASSERT_TRUE(fast && best);
  EXPECT_LT(best->size(), text.size() / 10);
  EXPECT_EQ(*gzip_decompress(*fast, 1 << 20), text);
}

TEST(Gzip, DecompressRejectsGarbageTruncationAndOversize) {
  const std::string text = body_bytes(100'000);
  auto gz = gzip_compress(text);
  ASSERT_TRUE(gz);
  EXPECT_FALSE(gzip_decompress(*gz, 50'000));  // over max_output
  EXPECT_FALSE(gzip_decompress(gz->substr(0, gz->size() / 2), 1 << 20));
  EXPECT_FALSE(gzip_decompress("not gzip at all", 1 << 20));
  EXPECT_FALSE(gzip_decompress("", 1 << 20));
  std::string corrupt = *gz;
  corrupt[corrupt.size() - 6] ^= 0x55;  // CRC32 in the trailer
  EXPECT_FALSE(gzip_decompress(corrupt, 1 << 20));
}

}  // namespace
}  // namespace hlscache
