// H2Upstream: the HTTP/2 client side towards the next tier — one per thread, it
// keeps a few multiplexed connections per upstream host (h2c with prior knowledge,
// or TLS with ALPN "h2" and certificate verification, on by default) and runs each
// fetch as a stream on one of them, so hundreds of concurrent fetches share one
// connection. nghttp2's client session runs on the driver the server uses
// (core/h2_driver.hpp): a reader feeds mem_recv, a writer drains mem_send, callbacks only record.
// Interim (1xx) HEADERS before the final response are read past (a 103's fields are
// handed to the request's `interim` sink; more than 16 fail the stream); request
// fields go out lowercased, without connection-specific ones (RFC 9113 §8.2).
//
// Use (the shape of OriginTier's HTTP/1.1 attempt):
//   auto r = co_await upstream.request(req);          // connect/reuse, send, wait for the head
//   if (!r) -> retryable error (connect, TLS, refused stream, no head in time)
//   (*r)->head()                                     // status, headers, content-length
//   (*r)->cancel()                                   // e.g. a 5xx retried elsewhere: RST_STREAM
//   into->set_head(...); co_await (*r)->read_body_into(*into, idle, deadline);  // then complete/fail
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/response_sink.hpp"
#include "config/config.hpp"
#include "core/result.hpp"
#include "metrics/metrics.hpp"

namespace hlscache {

struct H2UpstreamSettings {
  bool tls = false;               // false: h2c with prior knowledge
  bool verify = true;             // TLS: verify the chain against ca_file and the name against server_name
  std::string ca_file;            // PEM bundle; empty: the system's default CA paths
  std::string server_name;        // SNI and the name checked; empty: the host as configured
  Millis connect_timeout{2'000};  // TCP connect + TLS handshake + the server's SETTINGS
  std::uint32_t max_connections_per_host = 4;  // a new one only when the others are full or going away
  std::uint32_t window_bytes = 16u << 20;      // our receive window, per stream and per connection
};

struct H2UpstreamRequest {
  HostPort host;
  std::string target;             // path and query
  std::vector<Header> headers;    // end-to-end fields to send (lowercased; connection-specific ones dropped here)
  TimePoint first_byte_deadline{};  // the response head must arrive by then
  ResponseSink* interim = nullptr;  // if set: gets interim(103, fields) for each 103 before the final head
};

class H2UpstreamResponse {
 public:
  virtual ~H2UpstreamResponse() = default;
  virtual const ResponseHead& head() const = 0;
  // Copies the body into `into` as DATA arrives (the head is the caller's to publish
  // first). Ok once the stream ended; an error if it was reset, the connection broke,
  // nothing came for `idle`, `deadline` passed, or `into` refused more bytes.
  virtual boost::asio::awaitable<Status> read_body_into(ResponseSink& into, Duration idle, TimePoint deadline) = 0;
  virtual void cancel() = 0;  // RST_STREAM CANCEL; nothing more is read
};

class H2Upstream {
 public:
  // All I/O runs on `ex` (the calling thread's io_context executor).
  H2Upstream(boost::asio::any_io_executor ex, H2UpstreamSettings settings, Metrics* metrics = nullptr);
  ~H2Upstream();
  H2Upstream(const H2Upstream&) = delete;
  H2Upstream& operator=(const H2Upstream&) = delete;

  // Sends GET `req.target` to `req.host` and waits for the response head. Errors are
  // retryable (Error::retryable) when nothing reached the client yet: connect, TLS,
  // a refused or reset stream, a GOAWAY, no head before first_byte_deadline.
  boost::asio::awaitable<Result<std::shared_ptr<H2UpstreamResponse>>> request(H2UpstreamRequest req);

  std::size_t connections_opened() const;  // since construction, for tests and metrics
  std::size_t connections_open() const;
  void close_all();  // GOAWAY and close every connection (shutdown)

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace hlscache
