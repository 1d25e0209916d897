// FakeH2Origin: an in-process HTTP/2 origin (h2c with prior knowledge) on
// 127.0.0.1:<ephemeral>, for tests of the upstream HTTP/2 client. It is nghttp2's
// server session with its HTTP checks off (no_http_messaging), so it records each
// request's fields exactly as they came — uppercase names and connection-specific
// fields included — and it answers with scripted interim (1xx) HEADERS before the
// final response. One Asio io_context on a thread of its own; one coroutine per
// connection feeding mem_recv and writing what mem_send gives after each read.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace hlscache::test {

using H2Fields = std::vector<std::pair<std::string, std::string>>;

struct H2OriginReply {
  int status = 200;
  H2Fields headers;                            // regular fields of the final response (lowercase)
  std::string body;
  std::vector<std::pair<int, H2Fields>> interim;  // 1xx HEADERS sent before the final response, in order
};

struct H2OriginRequest {
  H2Fields fields;  // as received, pseudo-fields included, in order
  std::string path;
};

class FakeH2Origin {
 public:
  FakeH2Origin();   // listening on 127.0.0.1:0 when it returns
  ~FakeH2Origin();  // stops the thread (bounded wait), closes every connection
  FakeH2Origin(const FakeH2Origin&) = delete;
  FakeH2Origin& operator=(const FakeH2Origin&) = delete;

  std::uint16_t port() const;
  void set(std::string path, H2OriginReply reply);  // exact :path -> reply; unknown paths get 404
  std::vector<H2OriginRequest> log() const;         // every request so far, oldest first (at most 1000)
  std::size_t connections_accepted() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace hlscache::test
