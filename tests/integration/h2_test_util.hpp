// Helpers for the HTTP/2 + TLS integration suite: a raw HTTP/2 client that writes
// frames byte by byte (RFC 9113 §4: 9-byte header + payload; request headers in
// HPACK literals without Huffman coding, RFC 7541 §6.2.2), so tests can send
// exactly the malformed or abusive sequences they mean and read back each frame
// the daemon sends; self-signed certificates made with the openssl CLI; an
// H2Test fixture (FakeOrigin upstream, the real daemon with an h2c listener and a
// TLS listener, checked healthy and cleanly stoppable after every test).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "local_test_util.hpp"
#include "support/daemon.hpp"
#include "support/fake_origin.hpp"
#include "support/http_client.hpp"

namespace hlscache::test {

namespace h2 {
enum FrameType : std::uint8_t {
  kData = 0, kHeaders = 1, kRstStream = 3, kSettings = 4, kPing = 6, kGoaway = 7, kWindowUpdate = 8,
  kContinuation = 9
};
enum Flags : std::uint8_t { kEndStream = 0x1, kAck = 0x1, kEndHeaders = 0x4 };
enum ErrorCode : std::uint32_t {
  kNoError = 0, kProtocolError = 1, kFrameSizeError = 6, kCancel = 8, kEnhanceYourCalm = 0xb
};

std::string frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream, std::string_view payload);
std::string settings(const std::vector<std::pair<std::uint16_t, std::uint32_t>>& values = {});
std::string window_update(std::uint32_t stream, std::uint32_t increment);
std::string rst_stream(std::uint32_t stream, std::uint32_t code);
// HPACK block of a GET request: pseudo-headers, then `extra` fields, all literal.
std::string request_block(std::string_view path, const std::vector<std::pair<std::string, std::string>>& extra = {},
                          std::string_view method = "GET");
std::string hpack_literal(std::string_view name, std::string_view value);

struct Frame {
  std::uint8_t type = 0, flags = 0;
  std::uint32_t stream = 0;
  std::string payload;
  std::vector<std::pair<std::string, std::string>> fields;  // HEADERS: the decoded block (HPACK)
  std::uint32_t goaway_error() const;  // for GOAWAY frames
  int status() const;                  // HEADERS: :status, or 0
};

// One raw connection: the preface and our SETTINGS are sent by start().
class RawClient {
 public:
  explicit RawClient(std::uint16_t port) : conn_(Connection::open(port)) {}
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  bool connected() const { return conn_.connected(); }
  bool start(const std::vector<std::pair<std::uint16_t, std::uint32_t>>& our_settings = {});
  bool send(std::string_view bytes, Millis timeout = 2s) { return conn_.send(bytes, timeout); }
  // The next frame, or nullopt when the peer closed or nothing came within `timeout`.
  std::optional<Frame> read_frame(Millis timeout = 2s);
  // Reads frames until one of `type` arrives (returned) or the connection ends / times out.
  std::optional<Frame> read_until(std::uint8_t type, Millis timeout = 5s);
  bool closed() const { return closed_; }

 private:
  Connection conn_;
  std::string in_;
  bool closed_ = false;
  void* inflater_ = nullptr;  // nghttp2_hd_inflater: every HEADERS block is decoded, in order
};
}  // namespace h2

// A self-signed certificate (EC P-256) for `names` (the first is also the CN), written as
// dir/<stem>.pem and dir/<stem>.key. Returns false (and a test failure) if openssl failed.
bool make_certificate(const std::string& dir, const std::string& stem, const std::vector<std::string>& names);

// curl/nghttp/h2load/openssl present? Checked once.
bool have_h2_tools();
#define H2_REQUIRE_TOOLS()                                                                            \
  do {                                                                                                \
    if (!::hlscache::test::have_h2_tools())                                                           \
      GTEST_SKIP() << "curl with HTTP/2, nghttp, h2load (Debian nghttp2-client) and openssl are needed"; \
  } while (0)

class H2Test : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  // Starts the daemon: listener 0 = clear with http2 (h2c + HTTP/1.1), listener 1 = TLS with http2.
  // `http2` and `timeouts` are the insides of YAML flow maps.
  void start(const std::string& http2 = {}, const std::string& timeouts = {}, const std::string& limits = {});

  std::string cert_dir_;
  FakeOrigin origin_;
  Daemon daemon_;
  std::uint16_t port_ = 0;      // h2c + HTTP/1.1
  std::uint16_t tls_port_ = 0;  // TLS, ALPN h2 / http/1.1
};

}  // namespace hlscache::test
