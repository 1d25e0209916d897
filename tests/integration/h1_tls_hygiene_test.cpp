// The RFC 9112 request rules of http_hygiene_test.cpp hold on a TLS listener too (the
// h1 session is one template over TCP and TLS streams): a small OpenSSL client sends
// the exact bytes over TLS (ALPN http/1.1) and reads until the daemon closes.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "h2_test_util.hpp"

namespace hlscache::test {
namespace {

// Sends `request` over TLS to 127.0.0.1:port and returns what came back before the close.
std::string tls_exchange(std::uint16_t port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return out;
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  static const unsigned char alpn[] = "\x08http/1.1";
  SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, "localhost");
  if (SSL_connect(ssl) == 1 && SSL_write(ssl, request.data(), static_cast<int>(request.size())) > 0) {
    char buf[16384];
    for (;;) {
      const int n = SSL_read(ssl, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ::close(fd);
  return out;
}

// Status lines: "HTTP/1.1 " at the start or after a line end (not in a body's text).
std::size_t responses_in(const std::string& bytes) {
  std::size_t n = bytes.rfind("HTTP/1.1 ", 0) == 0 ? 1 : 0;
  for (std::size_t at = bytes.find("\nHTTP/1.1 "); at != std::string::npos; at = bytes.find("\nHTTP/1.1 ", at + 1)) ++n;
  return n;
}

TEST_F(H2Test, Http11RequestRulesHoldOverTls) {
  start();
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";
  struct Case {
    std::string request;
    const char* status_line;
  };
  const Case cases[] = {
      {"POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" + smuggled, "HTTP/1.1 400 "},
      {"POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + smuggled,
       "HTTP/1.1 501 "},
      {"GET /healthz HTTP/1.1\r\n\r\n" + smuggled, "HTTP/1.1 400 "},
      {"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + smuggled, "HTTP/1.1 400 "},
      {"GET /healthz HTTP/1.1\r\nHost: a\r\nX: one\r\n two\r\n\r\n" + smuggled, "HTTP/1.1 400 "},
      {"GET ftp://a/healthz HTTP/1.1\r\nHost: a\r\n\r\n" + smuggled, "HTTP/1.1 400 "},
      {"GET http://example.com/healthz HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 "},
  };
  for (const auto& [request, status_line] : cases) {
    SCOPED_TRACE(request);
    const std::string got = tls_exchange(tls_port_, request);
    EXPECT_EQ(got.rfind(status_line, 0), 0u) << got;
    EXPECT_EQ(responses_in(got), 1u) << "what followed the refused head was answered:\n" << got;
  }
  EXPECT_NE(tls_exchange(tls_port_, "GET /healthz HTTP/1.1\r\nHost: a\r\nX: one\r\n two\r\n\r\n")
                .find("obsolete line folding"),
            std::string::npos);
}

}  // namespace
}  // namespace hlscache::test
