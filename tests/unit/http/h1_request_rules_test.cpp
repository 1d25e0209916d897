// RFC 9112 request rules (h1_request_rules.hpp): transfer codings (§6.1, §6.3, §7),
// Host (§3.2), the request-target's forms (§3.2.1-§3.2.4), obs-fold (§5.2), and the
// agreement of the fast scanner with the Beast path on everything either takes.
#include <gtest/gtest.h>

#include <boost/beast/http.hpp>

#include <string>

#include "http/h1_request_head.hpp"
#include "http/h1_request_rules.hpp"

namespace hlscache {
namespace {

RequestError te(const char* value, int version = 11) { return check_transfer_encoding(std::string(value), version); }

TEST(RequestRules, OnlyPlainChunkedIsATransferCodingWeTake) {
  EXPECT_FALSE(check_transfer_encoding(std::nullopt, 11));
  EXPECT_FALSE(check_transfer_encoding(std::nullopt, 10));
  EXPECT_FALSE(te("chunked"));
  EXPECT_FALSE(te("Chunked"));  // coding names are case-insensitive (§7)
  EXPECT_FALSE(te(" chunked , "));
  // chunked not the final coding: the length cannot be determined (§6.3): 400.
  EXPECT_EQ(te("xchunked").status, 400);
  EXPECT_EQ(te("chunked, identity").status, 400);
  EXPECT_EQ(te("identity").status, 400);
  EXPECT_EQ(te("gzip").status, 400);
  EXPECT_EQ(te("").status, 400);
  EXPECT_EQ(te(",").status, 400);
  // chunked twice (§7.1 forbids it): 400.
  EXPECT_EQ(te("chunked, chunked").status, 400);
  // chunked last, but another coding we do not implement before it (§6.1): 501.
  EXPECT_EQ(te("gzip, chunked").status, 501);
  EXPECT_EQ(te("identity, chunked").status, 501);
  EXPECT_EQ(te("xchunked, chunked").status, 501);
  EXPECT_EQ(te("chunked;ext=1").status, 501);
  // Several field lines are one list (combined by the caller, RFC 9110 §5.3).
  EXPECT_EQ(te("gzip, chunked").status, 501);
  // HTTP/1.0 has no transfer codings: its framing is faulty (§6.1): 400, even for chunked.
  EXPECT_EQ(te("chunked", 10).status, 400);
}

TEST(RequestRules, HostIsUriHostAndAnOptionalPort) {
  for (const char* ok : {"example.com", "example.com:8080", "127.0.0.1", "127.0.0.1:80", "[::1]", "[::1]:443",
                         "[2001:db8::7]", "[::ffff:192.0.2.1]", "[v1.fe80::a+en1]", "xn--bcher-kva.example",
                         "a_b~c-d.e", "ex%41mple.com", "sub!$&'()*+,;=", "", "host:", "HOST.example"})
    EXPECT_TRUE(valid_authority(ok)) << ok;
  for (const char* bad : {"exa mple.com", "user@example.com", "example.com/path", "::1", "2001:db8::1",
                          "example.com:http", "example.com:80:80", "[::1", "[::1]x", "[::1]:8a", "[zz::1]",
                          "[fe80::1%eth0]", "example.com\t", "ex%4", "ex%zzample", "a\"b", "[]", "[v1.]", "[vz.a]",
                          "exam<ple", "a\\b"})
    EXPECT_FALSE(valid_authority(bad)) << bad;
  EXPECT_FALSE(valid_authority("", /*need_host=*/true));
  EXPECT_FALSE(valid_authority(":80", /*need_host=*/true));
}

TEST(RequestRules, Http11NeedsExactlyOneValidHost) {
  using F = std::vector<Header>;
  EXPECT_FALSE(check_host(F{{"Host", "a.example"}}, 11));
  EXPECT_FALSE(check_host(F{{"host", ""}}, 11));  // empty is allowed (§3.2)
  EXPECT_EQ(check_host(F{}, 11).status, 400);
  EXPECT_EQ(check_host(F{{"Host", "a"}, {"HOST", "a"}}, 11).status, 400);
  EXPECT_EQ(check_host(F{{"Host", "a b"}}, 11).status, 400);
  // HTTP/1.0 may leave it out, but not send two or a bad one.
  EXPECT_FALSE(check_host(F{}, 10));
  EXPECT_EQ(check_host(F{{"Host", "a"}, {"Host", "b"}}, 10).status, 400);
  EXPECT_EQ(check_host(F{{"Host", "a@b"}}, 10).status, 400);
}

TEST(RequestRules, AbsoluteFormBecomesOriginFormWithTheAuthorityAsHost) {
  std::string target = "http://example.com:8080/live/x.m3u8?q";
  std::vector<Header> fields{{"Host", "other.example"}, {"Accept", "*/*"}};
  EXPECT_FALSE(normalize_target("GET", target, fields));
  EXPECT_EQ(target, "/live/x.m3u8?q");
  EXPECT_EQ(field_value(fields, "Host"), "example.com:8080");
  EXPECT_EQ(field_count(fields, "Host"), 1u);

  target = "HTTPS://Example.COM";  // scheme case-insensitive; an empty path is "/"
  fields.clear();                 // (HTTP/1.0: no Host field) one is added
  EXPECT_FALSE(normalize_target("HEAD", target, fields));
  EXPECT_EQ(target, "/");
  EXPECT_EQ(field_value(fields, "Host"), "Example.COM");

  target = "http://[::1]:80?x=1";
  EXPECT_FALSE(normalize_target("GET", target, fields));
  EXPECT_EQ(target, "/?x=1");
  EXPECT_EQ(field_value(fields, "host"), "[::1]:80");

  for (const char* bad : {"ftp://example.com/x", "http:/x", "http:example.com", "http://user@example.com/",
                          "http:///x", "http://exa mple/x", "http://example.com/x#frag", "mailto:a@b", "healthz",
                          "1http://x/", "://x/", ""}) {
    std::string t = bad;
    std::vector<Header> f{{"Host", "a"}};
    EXPECT_EQ(normalize_target("GET", t, f).status, 400) << bad;
    EXPECT_EQ(t, bad) << "left alone";
  }
}

TEST(RequestRules, AuthorityFormOnlyForConnectAndAsteriskOnlyForOptions) {
  std::vector<Header> f{{"Host", "example.com:443"}};
  std::string t = "example.com:443";
  EXPECT_EQ(normalize_target("CONNECT", t, f).status, 405);  // a method we know, not served here
  t = "/x";
  EXPECT_EQ(normalize_target("CONNECT", t, f).status, 400);
  t = "example.com";
  EXPECT_EQ(normalize_target("CONNECT", t, f).status, 400);  // the port is required
  t = "example.com:443";
  EXPECT_EQ(normalize_target("GET", t, f).status, 400);  // scheme "example.com": not http(s)
  t = "*";
  EXPECT_FALSE(normalize_target("OPTIONS", t, f));
  EXPECT_EQ(t, "*");
  EXPECT_EQ(normalize_target("GET", t, f).status, 400);
  t = "/live/a.ts";
  EXPECT_FALSE(normalize_target("GET", t, f));
  EXPECT_EQ(t, "/live/a.ts");
}

TEST(RequestRules, ObsFoldIsAFieldLineStartingWithWhitespace) {
  EXPECT_TRUE(has_obs_fold("GET / HTTP/1.1\r\nX-A: one\r\n two\r\n\r\n", 0));
  EXPECT_TRUE(has_obs_fold("GET / HTTP/1.1\r\nX-A: one\r\n\ttwo\r\n\r\n", 0));
  EXPECT_TRUE(has_obs_fold("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 0));  // whitespace before the first field too
  EXPECT_FALSE(has_obs_fold("GET / HTTP/1.1\r\nX-A: one two\r\n\r\n", 0));
  // The body (or the next request) after the empty line is not looked at.
  EXPECT_FALSE(has_obs_fold("POST / HTTP/1.1\r\nContent-Length: 8\r\n\r\nab\r\n cd\r\n", 0));
  EXPECT_FALSE(has_obs_fold("GET / HTTP/1.1\r\n\r\n GET", 0));
  // What the parser consumed already: its last byte says whether a line starts here.
  EXPECT_TRUE(has_obs_fold(" two\r\n\r\n", '\n'));
  EXPECT_FALSE(has_obs_fold(" two\r\n\r\n", 'e'));
  EXPECT_FALSE(has_obs_fold("\r\n x", '\n'));  // the empty line came first
  EXPECT_FALSE(has_obs_fold("\r", '\n'));      // maybe the empty line: not a fold
}

TEST(RequestRules, ForbiddenBytesInFields) {
  EXPECT_FALSE(has_forbidden_bytes({{"X", "a b\tc"}}));
  EXPECT_TRUE(has_forbidden_bytes({{"X", "a\rb"}}));
  EXPECT_TRUE(has_forbidden_bytes({{"X", "a\nb"}}));
  EXPECT_TRUE(has_forbidden_bytes({{"X", std::string("a\0b", 3)}}));
  EXPECT_TRUE(has_forbidden_bytes({{"X\n", "v"}}));
}

// The scanner never takes a head that Beast plus these rules would refuse, and
// whatever both take, they read the same. A corpus of ordinary and hostile heads.
TEST(RequestRules, TheFastScannerNeverTakesWhatTheBeastPathRefuses) {
  namespace http = boost::beast::http;
  const char* cases[] = {
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /a HTTP/1.1\r\n\r\n",
      "GET /a HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
      "GET /a HTTP/1.1\r\nHost: a b\r\n\r\n",
      "GET /a HTTP/1.1\r\nHost: a@b\r\n\r\n",
      "GET /a HTTP/1.1\r\nHost: a/b\r\n\r\n",
      "GET /a HTTP/1.1\r\nHost: ::1\r\n\r\n",
      "GET /a HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
      "GET /a HTTP/1.1\r\nHost: a:b\r\n\r\n",
      "GET /a HTTP/1.1\r\nhost:\r\n\r\n",
      "GET /a HTTP/1.0\r\n\r\n",
      "GET /a HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
      "HEAD /b.m3u8?x=1 HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n",
      "GET /a HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n",
      "GET /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
      "GET /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "GET http://a/b HTTP/1.1\r\nHost: a\r\n\r\n",
  };
  for (const char* c : cases) {
    SCOPED_TRACE(c);
    SimpleRequestHead h;
    const bool fast = scan_simple_request_head(c, 16 * 1024, h) == ScanResult::ok;
    http::request_parser<http::empty_body> p;
    boost::beast::error_code ec;
    const std::string_view bytes(c);
    p.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    bool beast_path = !ec && p.is_header_done() && !has_obs_fold(bytes, 0);
    std::vector<Header> fields;
    std::string target;
    if (beast_path) {
      for (const auto& f : p.get()) fields.emplace_back(std::string(f.name_string()), std::string(f.value()));
      target = std::string(p.get().target());
      const int version = static_cast<int>(p.get().version());
      beast_path = !check_transfer_encoding(combined_field(fields, "Transfer-Encoding"), version) &&
                   !check_host(fields, version) &&
                   !normalize_target(std::string(p.get().method_string()), target, fields) &&
                   !has_forbidden_bytes(fields);
    }
    if (fast) {
      EXPECT_TRUE(beast_path) << "the scanner took a head the Beast path refuses";
      EXPECT_EQ(h.target, target);
      ASSERT_EQ(h.fields.size(), fields.size());
      for (std::size_t i = 0; i < fields.size(); ++i) EXPECT_EQ(h.fields[i].second, fields[i].second);
    }
  }
}

}  // namespace
}  // namespace hlscache
