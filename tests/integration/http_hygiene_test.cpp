// RFC 9112 request rules over real sockets, on both parse paths (the fast scanner for
// plain GET/HEAD heads, Beast for the rest): transfer codings other than plain chunked
// (§6.1, §6.3: 400 or 501 and close, never a body read as the next request), Host
// (§3.2), the request-target's forms (§3.2.2-§3.2.4), obs-fold (§5.2) and CR/LF/NUL
// in fields. The same rules over TLS: h1_tls_hygiene_test.cpp.
#include <gtest/gtest.h>

#include "http_fixture.hpp"

namespace hlscache::test {
namespace {

using HttpHygieneTest = HttpDaemonTest;

// Expects `status` with Connection: close, then the close, and nothing else: whatever
// followed the head (a body, a smuggled request) was not taken as a request.
void expect_only_error_then_close(Connection& c, int status, std::string_view body_has = {}) {
  auto r = c.read_response(3s);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, status) << r.describe();
  EXPECT_EQ(r.header("Connection").value_or(""), "close") << r.describe();
  if (!body_has.empty()) {
    EXPECT_NE(r.body.find(body_has), std::string::npos) << r.body;
  }
  std::string rest;
  EXPECT_TRUE(c.wait_closed(3s, &rest)) << "the connection stayed open after a " << status;
  EXPECT_EQ(rest, "") << "bytes after the refused head were answered as a request";
}

TEST_F(HttpHygieneTest, TransferCodingsOtherThanPlainChunkedAreRefusedAndNothingIsSmuggled) {
  struct Case {
    const char* head;
    int status;
  };
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";
  const Case cases[] = {
      {"POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", 400},
      {"POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 400},
      {"POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", 400},
      {"GET /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
      {"POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
      // Two field lines are one list: "gzip, chunked" (Beast alone takes it as chunked).
      {"POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
      {"POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", 501},
      // HTTP/1.0 has no transfer codings: faulty framing.
      {"POST /healthz HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
  };
  for (const auto& [head, status] : cases) {
    SCOPED_TRACE(head);
    auto c = connect();
    // A chunked body would be "0\r\n\r\n"; whatever is read as the body, the smuggled
    // request after it must never be answered.
    ASSERT_TRUE(c.send(std::string(head) + "0\r\n\r\n" + smuggled));
    expect_only_error_then_close(c, status);
  }
  // Plain chunked (any case) is still fine.
  auto c = connect();
  auto r = c.roundtrip("POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 405);
  auto g = c.roundtrip(make_request("GET", "/healthz"));
  EXPECT_EQ(g.status, 200) << g.describe();
}

TEST_F(HttpHygieneTest, Http11NeedsOneValidHostOnBothParsePaths) {
  const char* bad_hosts[] = {
      "",                                          // none at all (HTTP/1.1)
      "Host: a\r\nHost: a\r\n",                    // two field lines, even equal
      "Host: exa mple.com\r\n", "Host: user@example.com\r\n", "Host: example.com/x\r\n",
      "Host: ::1\r\n",                             // an unbracketed IPv6 address
      "Host: 2001:db8::1:8080\r\n", "Host: example.com:http\r\n", "Host: [::1\r\n",
  };
  // GET heads go to the fast scanner first, which must hand these to Beast's path; a
  // Content-Length forces Beast's path from the start.
  for (const char* extra : {"", "Content-Length: 0\r\n"}) {
    for (const char* host : bad_hosts) {
      const std::string req = std::string("GET /healthz HTTP/1.1\r\n") + host + extra + "\r\n";
      SCOPED_TRACE(req);
      auto c = connect();
      ASSERT_TRUE(c.send(req + make_request("GET", "/healthz")));
      expect_only_error_then_close(c, 400);
    }
  }
  for (const char* ok : {"Host: example.com\r\n", "Host: example.com:8080\r\n", "Host: [::1]:8080\r\n",
                         "Host: 127.0.0.1\r\n", "Host:\r\n"}) {
    const std::string req = std::string("GET /healthz HTTP/1.1\r\n") + ok + "\r\n";
    SCOPED_TRACE(req);
    auto r = send_raw(port_, req);
    EXPECT_EQ(r.status, 200) << r.describe();
  }
}

TEST_F(HttpHygieneTest, Http10MayOmitHostButNotSendTwoOrABadOne) {
  auto r = send_raw(port_, "GET /healthz HTTP/1.0\r\n\r\n");
  EXPECT_EQ(r.status, 200) << r.describe();
  for (const char* req : {"GET /healthz HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", "GET /healthz HTTP/1.0\r\nHost: a b\r\n\r\n"}) {
    SCOPED_TRACE(req);
    auto c = connect();
    ASSERT_TRUE(c.send(req));
    expect_only_error_then_close(c, 400);
  }
}

TEST_F(HttpHygieneTest, AbsoluteFormIsServedAsItsPathAndQuery) {
  auto c = connect();
  for (const char* target : {"http://example.com:8080/healthz?x=1", "HTTPS://EXAMPLE.COM/readyz", "http://[::1]/healthz"}) {
    SCOPED_TRACE(target);
    auto r = c.roundtrip(std::string("GET ") + target + " HTTP/1.1\r\nHost: other.example\r\n\r\n");
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.status, 200) << r.describe();
    EXPECT_FALSE(r.header("Connection").has_value()) << "an ordinary answer: the connection stays";
  }
  // HTTP/1.0 needs no Host: the URI's authority is the host.
  auto r10 = send_raw(port_, "HEAD http://example.com/healthz HTTP/1.0\r\n\r\n");
  EXPECT_EQ(r10.status, 200) << r10.describe();
  for (const char* target : {"ftp://example.com/healthz", "http://user@example.com/healthz", "http:///healthz",
                             "http://example.com/healthz#frag", "http:/healthz", "healthz", "example.com:80"}) {
    SCOPED_TRACE(target);
    auto bad = connect();
    ASSERT_TRUE(bad.send(std::string("GET ") + target + " HTTP/1.1\r\nHost: example.com\r\n\r\n"));
    expect_only_error_then_close(bad, 400);
  }
}

TEST_F(HttpHygieneTest, AuthorityFormIsOnlyForConnectAndAsteriskOnlyForOptions) {
  auto c = connect();
  ASSERT_TRUE(c.send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"));
  auto r = c.read_response(3s);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 405) << r.describe();
  EXPECT_EQ(r.header("Allow").value_or(""), "GET, HEAD");
  EXPECT_TRUE(c.wait_closed(3s)) << "after a refused CONNECT the client may already be tunnelling: close";

  auto bad = connect();
  ASSERT_TRUE(bad.send("CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n"));
  expect_only_error_then_close(bad, 400);

  auto star = connect();
  ASSERT_TRUE(star.send("GET * HTTP/1.1\r\nHost: a\r\n\r\n"));
  expect_only_error_then_close(star, 400);
  auto options = connect();
  auto o = options.roundtrip("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(o.ok()) << o.describe();
  EXPECT_NE(o.status, 400) << "asterisk-form is OPTIONS' own";
}

TEST_F(HttpHygieneTest, ObsFoldIsRefusedWithASayingBody) {
  const char* cases[] = {
      "GET /healthz HTTP/1.1\r\nHost: a\r\nX-A: one\r\n two\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: a\r\nX-A: one\r\n\ttwo\r\n\r\n",
      "POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nX-A: one\r\n two\r\n\r\n",
  };
  for (const char* raw : cases) {
    SCOPED_TRACE(raw);
    auto c = connect();
    ASSERT_TRUE(c.send(raw));
    expect_only_error_then_close(c, 400, "obsolete line folding");
  }
  // The folded line in a later write than the line it continues.
  auto c = connect();
  ASSERT_TRUE(c.send("GET /healthz HTTP/1.1\r\nHost: a\r\nX-A: one\r\n"));
  std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(c.send(" two\r\n\r\n"));
  expect_only_error_then_close(c, 400, "obsolete line folding");
  // SP inside a value and a body that holds "\r\n " are no fold.
  auto ok = connect();
  auto r = ok.roundtrip("POST /healthz HTTP/1.1\r\nHost: a\r\nX-A: one two\r\nContent-Length: 6\r\n\r\na\r\n bc");
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.status, 405);
}

TEST_F(HttpHygieneTest, CrLfOrNulInAFieldIs400) {
  const std::string cases[] = {
      std::string("GET /healthz HTTP/1.1\r\nHost: a\r\nX-A: a") + '\0' + "b\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: a\r\nX-A: a\rb\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: a\r\nX-A: a\nX-B: b\r\n\r\n",
      std::string("GET /healthz HTTP/1.1\r\nHost: a\r\nX-") + '\0' + ": b\r\n\r\n",
  };
  for (const auto& raw : cases) {
    SCOPED_TRACE(raw);
    auto c = connect();
    ASSERT_TRUE(c.send(raw));
    expect_only_error_then_close(c, 400);
  }
}

}  // namespace
}  // namespace hlscache::test
