// HTTP/2 pieces that need no socket: response headers for HTTP/2 (lower-case names,
// connection-specific fields dropped, our content-length) and BodySource, the
// cursor the data provider reads — slices shared with the body's chunks, never
// copies, for inline, cached-object (with a byte range) and growing bodies.
#include <gtest/gtest.h>

#include <map>

#include "http/h2_headers.hpp"
#include "http/h2_stream.hpp"

namespace hlscache {
namespace {

std::string drain(BodySource& src, std::size_t frame, std::vector<const char*>* bases = nullptr) {
  std::string out;
  while (src.ready_bytes() > 0) {
    std::size_t n = std::min<std::uint64_t>(frame, src.ready_bytes());
    src.take(n, [&](const ChunkSlice& s) {
      out.append(s.chunk.bytes.get() + s.begin, s.end - s.begin);
      if (bases) bases->push_back(s.chunk.bytes.get());
    });
  }
  return out;
}

TEST(H2Headers, LowerCaseNamesNoConnectionFieldsOwnContentLength) {
  Response r;
  r.status = 200;
  r.stored_wire =
      "Content-Type: video/mp2t\r\nConnection: keep-alive\r\nETag: \"x\"\r\nX-Cache: HIT\r\nContent-Length: 999\r\n";
  r.headers = {{"Transfer-Encoding", "chunked"}, {"Cache-Status", "hlscache; hit"}, {"Upgrade", "h2c"}};
  H2HeaderList h;
  build_h2_response_headers(r, "edge-1", 1234, h);
  ASSERT_GE(h.fields.size(), 3u);
  EXPECT_EQ(h.fields[0], (std::pair<std::string, std::string>{":status", "200"}));
  std::map<std::string, std::string> m(h.fields.begin(), h.fields.end());
  EXPECT_EQ(m["server"], "edge-1");
  EXPECT_FALSE(m["date"].empty());
  EXPECT_EQ(m["content-type"], "video/mp2t");
  EXPECT_EQ(m["etag"], "\"x\"");
  EXPECT_EQ(m["x-cache"], "HIT");
  EXPECT_EQ(m["cache-status"], "hlscache; hit");
  EXPECT_EQ(m["content-length"], "1234") << "ours, not the stored one";
  for (const char* gone : {"connection", "transfer-encoding", "upgrade"}) EXPECT_EQ(m.count(gone), 0u) << gone;
  for (const auto& [k, v] : h.fields)
    for (char c : k) EXPECT_FALSE(std::isupper(static_cast<unsigned char>(c))) << k;

  Response not_modified;
  not_modified.status = 304;
  build_h2_response_headers(not_modified, "s", 10, h);
  for (const auto& [k, v] : h.fields) EXPECT_NE(k, "content-length") << "304 has no content-length of ours";
}

TEST(BodySource, InlineBodyIsOneSharedChunk) {
  Response r = Response::text(200, std::string(40'000, 'q'));
  BodySource src;
  src.reset(r, false);
  EXPECT_TRUE(src.complete());
  EXPECT_FALSE(src.empty_body());
  EXPECT_EQ(src.length(), 40'000u);
  std::vector<const char*> bases;
  EXPECT_EQ(drain(src, 16384, &bases), std::string(40'000, 'q'));
  ASSERT_EQ(bases.size(), 3u);
  EXPECT_EQ(bases[0], bases[2]) << "every frame slices the same buffer";

  Response head = Response::text(200, "abc");
  BodySource h;
  h.reset(head, /*head_only=*/true);
  EXPECT_TRUE(h.empty_body());
  EXPECT_EQ(h.length(), 3u);
}

TEST(BodySource, ObjectRangeSlicesTheCachedChunksWithoutCopying) {
  auto obj = std::make_shared<Object>();
  std::string all;
  for (int i = 0; i < 3; ++i) {
    std::string part(1000, static_cast<char>('a' + i));
    obj->body.push_back(Chunk::copy_of(part));
    all += part;
  }
  obj->body_size = all.size();
  Response r;
  r.status = 206;
  r.body = ObjectBody{obj, 900, 1200};
  BodySource src;
  src.reset(r, false);
  EXPECT_EQ(src.length(), 1200u);
  std::vector<const char*> bases;
  EXPECT_EQ(drain(src, 500, &bases), all.substr(900, 1200));
  for (auto* b : bases)
    EXPECT_TRUE(b == obj->body[0].bytes.get() || b == obj->body[1].bytes.get() || b == obj->body[2].bytes.get());
}

// HTTP/1.1's use: whole slices in batches bounded by pieces and bytes, straight from
// the chunks; a source reused for the next response forgets the previous one.
TEST(BodySource, TakeBatchHandsWholeSlicesWithinItsBounds) {
  auto obj = std::make_shared<Object>();
  for (int i = 0; i < 5; ++i) obj->body.push_back(Chunk::copy_of(std::string(1000, static_cast<char>('a' + i))));
  obj->body_size = 5000;
  Response r;
  r.status = 200;
  r.body = ObjectBody{obj, 0, 5000};
  BodySource src;
  src.reset(r, false);
  EXPECT_EQ(src.ready_pieces(), 5u);
  std::vector<std::pair<const char*, std::size_t>> got;
  auto emit = [&](const char* p, std::size_t n) { got.emplace_back(p, n); };
  EXPECT_EQ(src.take_batch(2, 1 << 20, emit), 2000u) << "two pieces at most";
  EXPECT_EQ(src.take_batch(64, 1500, emit), 2000u) << "the slice that passes the byte bound is whole";
  EXPECT_EQ(src.take_batch(64, 1 << 20, emit), 1000u);
  EXPECT_EQ(src.ready_pieces(), 0u);
  ASSERT_EQ(got.size(), 5u);
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].first, obj->body[i].bytes.get()) << i;

  r.body = ObjectBody{obj, 0, 5000};
  src.reset(r, /*head_only=*/true);
  EXPECT_TRUE(src.empty_body());
  EXPECT_EQ(src.ready_pieces(), 0u);
  EXPECT_EQ(src.ready_bytes(), 0u);
}

// A BodyStream whose bytes are published by the test.
class TestStream final : public BodyStream {
 public:
  std::vector<Chunk> chunks;
  bool done = false;
  StreamState poll(std::uint64_t offset, std::vector<ChunkSlice>& out) override {
    std::uint64_t pos = 0;
    for (const auto& c : chunks) {
      if (pos + c.size > offset) out.push_back({c, static_cast<std::size_t>(offset > pos ? offset - pos : 0), c.size});
      pos += c.size;
    }
    return done && offset <= pos ? StreamState::complete : StreamState::more;
  }
  boost::asio::awaitable<Status> wait(std::uint64_t) override { co_return Ok{}; }
};

TEST(BodySource, GrowingBodyTakesWhatIsPublishedThenCompletes) {
  auto s = std::make_shared<TestStream>();
  Response r;
  r.body = StreamBody{s, std::nullopt};
  BodySource src;
  src.reset(r, false);
  EXPECT_FALSE(src.length().has_value());
  src.refill();
  EXPECT_EQ(src.ready_bytes(), 0u);
  EXPECT_FALSE(src.complete());
  s->chunks.push_back(Chunk::copy_of("hello "));
  src.refill();
  EXPECT_EQ(drain(src, 4), "hello ");
  s->chunks.push_back(Chunk::copy_of("world"));
  s->done = true;
  src.refill();
  EXPECT_TRUE(src.complete());
  EXPECT_EQ(drain(src, 100), "world");
}

}  // namespace
}  // namespace hlscache
