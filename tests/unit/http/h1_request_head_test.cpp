// The simple-request scanner takes GET/HEAD heads whole and hands everything else to
// Beast's parser (fallback), never accepting bytes RFC 9112 forbids.
#include <gtest/gtest.h>

#include <boost/beast/http.hpp>

#include <string>

#include "http/h1_request_head.hpp"

namespace hlscache {
namespace {

constexpr std::size_t kMax = 16 * 1024;

ScanResult scan(std::string_view bytes, SimpleRequestHead& out, std::size_t max = kMax) {
  return scan_simple_request_head(bytes, max, out);
}

TEST(SimpleRequestHead, TakesAGetWithItsFieldsAndStopsAtTheEmptyLine) {
  const std::string req =
      "GET /live/seg_00042.ts?token=abc HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent:  curl/7.88 \r\n"
      "Accept-Encoding:gzip\r\nX-Empty:\r\n\r\nGET /next HTTP/1.1\r\n";
  SimpleRequestHead h;
  ASSERT_EQ(scan(req, h), ScanResult::ok);
  EXPECT_FALSE(h.head_method);
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.target, "/live/seg_00042.ts?token=abc");
  EXPECT_EQ(h.version, 11);
  EXPECT_TRUE(h.keep_alive);
  ASSERT_EQ(h.fields.size(), 4u);
  EXPECT_EQ(h.fields[0].first, "Host");
  EXPECT_EQ(h.fields[0].second, "127.0.0.1:8080");
  EXPECT_EQ(h.fields[1].second, "curl/7.88");  // OWS trimmed both sides
  EXPECT_EQ(h.fields[2].second, "gzip");
  EXPECT_EQ(h.fields[3].first, "X-Empty");
  EXPECT_EQ(h.fields[3].second, "");
  EXPECT_EQ(h.size, req.find("GET /next"));  // a pipelined request after it is left alone
}

TEST(SimpleRequestHead, HeadAndHttp10AndConnectionTokens) {
  SimpleRequestHead h;
  ASSERT_EQ(scan("HEAD /a.m3u8 HTTP/1.0\r\n\r\n", h), ScanResult::ok);
  EXPECT_TRUE(h.head_method);
  EXPECT_EQ(h.version, 10);
  EXPECT_FALSE(h.keep_alive) << "HTTP/1.0 closes unless asked";
  ASSERT_EQ(scan("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", h), ScanResult::ok);
  EXPECT_TRUE(h.keep_alive);
  ASSERT_EQ(scan("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, CLOSE\r\n\r\n", h), ScanResult::ok);
  EXPECT_FALSE(h.keep_alive);
  ASSERT_EQ(scan("GET / HTTP/1.1\r\nconnection: keep-alive\r\nhost: a\r\n\r\n", h), ScanResult::ok);
  EXPECT_TRUE(h.keep_alive);
}

TEST(SimpleRequestHead, EverythingElseFallsBackToTheFullParser) {
  const char* cases[] = {
      "GET / HTTP/1.1\r\nHost: a\r\n",                       // head not complete yet
      "POST /ingest/x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",  // other methods
      "get / HTTP/1.1\r\n\r\n",                              // methods are case-sensitive
      "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",         // any framing field: Beast checks it
      "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n",              // obs-fold
      "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\nX-B: c\r\n\r\n",            // bare LF inside the head
      "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n",                 // bare CR
      "GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n",               // SP in a field name
      "GET / HTTP/1.1\r\nHost: a\r\nX-A : x\r\n\r\n",                   // SP before the colon
      "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n",                       // empty name
      "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n",
      "GET  / HTTP/1.1\r\n\r\n",                             // two spaces
      "GET http://h/ HTTP/1.1\r\n\r\n",                      // absolute-form
      "GET * HTTP/1.1\r\n\r\n",
      "GET /a b HTTP/1.1\r\n\r\n",                           // SP in the target
      "GET /\x7f HTTP/1.1\r\n\r\n",                          // DEL in the target
      "GET / HTTP/2.0\r\n\r\n",
      "GET / HTTP/1.1 \r\n\r\n",
      "GET /\r\n\r\n",                                       // HTTP/0.9
      "GET / HTTP/1.1\r\n\r\n",                             // HTTP/1.1 without Host (RFC 9112 §3.2)
      "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",         // two Hosts
      "GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",                // not uri-host [":" port]
      "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: ::1\r\n\r\n",
      "GET / HTTP/1.0\r\nHost: a:x\r\n\r\n",
  };
  for (const char* c : cases) {
    SimpleRequestHead h;
    EXPECT_EQ(scan(c, h), ScanResult::fallback) << c;
  }
  SimpleRequestHead h;
  constexpr char kNulValue[] = "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\0c\r\n\r\n";
  const std::string nul_value(kNulValue, sizeof kNulValue - 1);  // the NUL inside included
  EXPECT_EQ(scan(nul_value, h), ScanResult::fallback);
  // Over the header limit: Beast's path answers 431.
  const std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(200, 'x') + "\r\n\r\n";
  EXPECT_EQ(scan(big, h, 100), ScanResult::fallback);
  EXPECT_EQ(scan(big, h, big.size()), ScanResult::ok);
}

// Whatever the scanner takes, Beast's parser takes too, with the same method, target,
// version, keep-alive and fields.
TEST(SimpleRequestHead, AgreesWithBeastOnWhatItTakes) {
  namespace http = boost::beast::http;
  const char* cases[] = {
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n",
      "HEAD /b.m3u8?x=1&y=%20 HTTP/1.0\r\nConnection: keep-alive\r\nAccept: */*\r\n\r\n",
      "GET /c HTTP/1.1\r\nConnection: close\r\nX-Tab:\tv\t\r\nX-Obs: caf\xc3\xa9\r\nHost: [::1]:80\r\n\r\n",
      "GET /d HTTP/1.0\r\n\r\n",
  };
  for (const char* c : cases) {
    SCOPED_TRACE(c);
    SimpleRequestHead h;
    ASSERT_EQ(scan(c, h), ScanResult::ok);
    http::request_parser<http::empty_body> p;
    boost::beast::error_code ec;
    const std::string_view bytes(c);
    const std::size_t used = p.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_TRUE(p.is_header_done());
    EXPECT_EQ(used, h.size);
    const auto& req = p.get();
    EXPECT_EQ(std::string_view(req.method_string()), h.method);
    EXPECT_EQ(std::string_view(req.target()), h.target);
    EXPECT_EQ(static_cast<int>(req.version()), h.version);
    EXPECT_EQ(req.keep_alive(), h.keep_alive);
    std::size_t i = 0;
    for (const auto& f : req) {
      ASSERT_LT(i, h.fields.size());
      EXPECT_EQ(std::string_view(f.name_string()), h.fields[i].first);
      EXPECT_EQ(std::string_view(f.value()), h.fields[i].second);
      ++i;
    }
    EXPECT_EQ(i, h.fields.size());
  }
}

}  // namespace
}  // namespace hlscache
