// The HTTP/1.1 codec's reading half without a socket (http/h1_codec.hpp): the
// scanner's path (take_simple_head) and Beast's (H1HeadParser) turn bytes into a
// RequestContext — pipelined heads one at a time, heads fed in pieces — or into the
// refusal the exchange will send (RFC 9112 rules: 400, 405 + Allow, 413, 414, 431,
// 501); a read error maps to its answer or to a quiet close; chunk size lines.
#include <gtest/gtest.h>

#include <boost/beast/http/error.hpp>

#include <string>

#include "http/h1_codec.hpp"

namespace hlscache {
namespace {

const LimitsConfig kLimits{};

// Beast's path over `bytes`, fed `piece` bytes at a time.
struct Parsed {
  H1HeadParser::Step step = H1HeadParser::Step::more;
  std::size_t consumed = 0;
  H1Refusal refusal;
  RequestContext ctx;
  H1Head head;
};

Parsed parse(std::string_view bytes, std::size_t piece = 1 << 20, const LimitsConfig& limits = kLimits) {
  Parsed out;
  H1HeadParser p(limits);
  std::size_t avail = 0;
  while (out.step == H1HeadParser::Step::more) {
    avail = std::min(bytes.size(), avail + piece);
    std::size_t used = 0;
    out.step = p.put(bytes.substr(out.consumed, avail - out.consumed), used);
    out.consumed += used;
    if (out.step == H1HeadParser::Step::more && avail == bytes.size()) out.step = p.put_eof();
  }
  if (out.step == H1HeadParser::Step::done) {
    out.refusal = p.finish(out.ctx, out.head);
  } else {
    bool quiet = false;
    out.refusal = refusal_for(p.error(), quiet);
  }
  return out;
}

TEST(H1Codec, ScannerTakesPipelinedSimpleHeadsOneAtATime) {
  const std::string bytes =
      "GET /live/a.ts?token=1 HTTP/1.1\r\nHost: edge\r\nAccept: */*\r\n\r\n"
      "HEAD /live/b.ts HTTP/1.0\r\nHost: edge\r\n\r\n";
  SimpleRequestHead scratch;
  RequestContext ctx;
  H1Head head;
  const std::size_t first = take_simple_head(bytes, kLimits, scratch, ctx, head);
  ASSERT_GT(first, 0u);
  EXPECT_EQ(ctx.method, Method::get);
  EXPECT_EQ(ctx.target, "/live/a.ts?token=1");
  ASSERT_EQ(ctx.headers.size(), 2u);
  EXPECT_EQ(ctx.headers[1], (Header{"Accept", "*/*"}));
  EXPECT_FALSE(head.http10);
  EXPECT_TRUE(head.keep_alive);

  const std::size_t second = take_simple_head(std::string_view(bytes).substr(first), kLimits, scratch, ctx, head);
  EXPECT_EQ(first + second, bytes.size());
  EXPECT_EQ(ctx.method, Method::head);
  EXPECT_EQ(ctx.target, "/live/b.ts");
  EXPECT_EQ(ctx.headers.size(), 1u) << "the previous request's fields are not kept";
  EXPECT_TRUE(head.http10);
  EXPECT_FALSE(head.keep_alive) << "HTTP/1.0 without keep-alive";
}

TEST(H1Codec, ScannerLeavesEverythingElseToBeast) {
  SimpleRequestHead scratch;
  RequestContext ctx;
  H1Head head;
  for (std::string_view bytes : {
           std::string_view("POST /ingest/x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"),
           std::string_view("GET /a HTTP/1.1\r\nHost: a\r\n"),  // not whole yet
           std::string_view("GET /a HTTP/1.1\r\n\r\n"),         // no Host
       })
    EXPECT_EQ(take_simple_head(bytes, kLimits, scratch, ctx, head), 0u) << bytes;
  LimitsConfig short_targets;
  short_targets.max_target_bytes = 4;
  EXPECT_EQ(take_simple_head("GET /abcdef HTTP/1.1\r\nHost: a\r\n\r\n", short_targets, scratch, ctx, head), 0u)
      << "Beast's path answers 414";
}

TEST(H1Codec, BeastPathBuildsTheRequestFromPieces) {
  const std::string bytes =
      "PUT /ingest/push?key=k HTTP/1.1\r\nHost: edge:8080\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
  for (std::size_t piece : {std::size_t{1}, std::size_t{7}, bytes.size()}) {
    Parsed p = parse(bytes, piece);
    ASSERT_EQ(p.step, H1HeadParser::Step::done) << piece;
    EXPECT_FALSE(p.refusal) << p.refusal.status;
    EXPECT_EQ(p.consumed, bytes.size() - 5) << "the body stays buffered";
    EXPECT_EQ(p.ctx.method, Method::put);
    EXPECT_EQ(p.ctx.method_text, "PUT");
    EXPECT_EQ(p.ctx.target, "/ingest/push?key=k");
    EXPECT_EQ(p.ctx.header("host"), "edge:8080");
    EXPECT_FALSE(p.head.keep_alive) << "Connection: close";
  }
}

TEST(H1Codec, AbsoluteFormBecomesPathAndHost) {
  Parsed p = parse("GET http://origin.example/live/a.m3u8 HTTP/1.1\r\nHost: origin.example\r\n\r\n");
  ASSERT_EQ(p.step, H1HeadParser::Step::done);
  EXPECT_FALSE(p.refusal);
  EXPECT_EQ(p.ctx.target, "/live/a.m3u8");
}

TEST(H1Codec, RefusalsFollowRfc9112) {
  struct Case {
    std::string bytes;
    int status;
  };
  const Case cases[] = {
      {"GET /a HTTP/1.1\r\nHost: a\r\nX: 1\r\n  folded\r\n\r\n", 400},  // obs-fold
      {"GET /a HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
      {"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
      {"GET /a HTTP/1.1\r\n\r\n", 400},  // no Host
      {"BREW /a HTTP/1.1\r\nHost: a\r\n\r\n", 501},
      {"GET /a HTTP/2.0\r\nHost: a\r\n\r\n", 400},  // Beast refuses versions other than 1.x (bad_version)
      {"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 405},
      {"POST /media HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999\r\n\r\n", 413},
      {"GET /" + std::string(kLimits.max_target_bytes, 'x') + " HTTP/1.1\r\nHost: a\r\n\r\n", 414},
      {"GET /a HTTP/1.1\r\nHost: a\r\nX: " + std::string(kLimits.max_header_bytes, 'x') + "\r\n\r\n", 431},
  };
  for (const auto& c : cases) {
    Parsed p = parse(c.bytes, 64);
    EXPECT_EQ(p.refusal.status, c.status) << c.bytes.substr(0, 80);
    if (c.status == 405) {
      EXPECT_EQ(p.refusal.allow, "GET, HEAD");
    }
  }
  Parsed ingest = parse("POST /ingest/x HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999\r\n\r\n");
  EXPECT_FALSE(ingest.refusal) << "ingest bodies have no length bound";
}

TEST(H1Codec, ReadErrorsMapToAnswersOrAQuietClose) {
  bool quiet = false;
  EXPECT_EQ(refusal_for(boost::beast::error::timeout, quiet).status, 408);
  EXPECT_FALSE(quiet);
  EXPECT_EQ(refusal_for(boost::beast::http::error::header_limit, quiet).status, 431);
  EXPECT_FALSE(refusal_for(boost::beast::http::error::end_of_stream, quiet));
  EXPECT_TRUE(quiet);
  Parsed cut = parse("GET /a HTTP/1.1\r\nHost: a\r\n");  // the peer closed mid-head
  EXPECT_EQ(cut.step, H1HeadParser::Step::failed);
  EXPECT_EQ(cut.refusal.status, 400);
}

TEST(H1Codec, ChunkSizeLineIsHex) {
  std::string line;
  h1_chunk_size_line(line, 0x1f400);
  EXPECT_EQ(line, "1f400\r\n");
  h1_chunk_size_line(line, 5);
  EXPECT_EQ(line, "5\r\n") << "replaces, does not append";
}

}  // namespace
}  // namespace hlscache
