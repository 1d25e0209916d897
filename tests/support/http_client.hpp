// A tiny blocking HTTP/1.1 client for integration tests, on raw POSIX sockets, so
// tests can send exactly the bytes they mean (malformed, pipelined, trickled) and
// see exactly what came back. Every call has a deadline; a response is read by its
// framing (Content-Length, chunked, or until close) and leftover bytes stay
// buffered for the next pipelined response.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hlscache::test {

using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;

// What reading a response ended with.
enum class Outcome {
  response,        // a complete response was parsed
  closed,          // the peer closed (EOF) before a complete response
  reset,           // the peer reset the connection (ECONNRESET / EPIPE)
  timeout,         // no complete response within the deadline
  malformed,       // bytes arrived that are not an HTTP/1.x response
  connect_failed,  // could not connect at all
};
const char* to_string(Outcome o) noexcept;

struct HttpResponse {
  Outcome outcome = Outcome::timeout;
  int status = 0;
  std::string version;  // "HTTP/1.1"
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string received;  // the raw bytes of this response (or whatever arrived before it failed)
  // Informational (1xx, not 101) responses read before this one, as a client must (RFC 9110 §15.2).
  struct Interim {
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
  };
  std::vector<Interim> interim;

  bool ok() const { return outcome == Outcome::response; }
  std::optional<std::string> header(std::string_view name) const;  // first value, case-insensitive
  std::size_t header_count(std::string_view name) const;
  bool has_header(std::string_view name) const { return header_count(name) > 0; }
  std::string describe() const;  // for assertion messages
};

// One client connection to 127.0.0.1:port.
class Connection {
 public:
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  Connection(Connection&& o) noexcept;
  Connection& operator=(Connection&& o) noexcept;
  ~Connection();

  // Connects (bounded); check connected() afterwards. `from`: a loopback source
  // address to bind first (e.g. "127.0.0.2": another client as the daemon sees it).
  static Connection open(std::uint16_t port, Millis timeout = 2s, const char* from = nullptr);
  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  const std::string& error() const { return error_; }

  // Writes all of `bytes` (bounded). False if the peer closed/reset or the deadline passed.
  bool send(std::string_view bytes, Millis timeout = 2s);

  // Reads one response, past any 1xx before it (kept in `interim`). `bodyless` for
  // responses to HEAD (Content-Length but no body).
  HttpResponse read_response(Millis timeout = 2s, bool bodyless = false);

  // Sends one request and reads its response.
  HttpResponse roundtrip(std::string_view request, Millis timeout = 2s, bool bodyless = false);

  // Waits until the peer closes (EOF or reset) or the deadline passes; true if it closed.
  // Any bytes that arrive meanwhile are appended to *received (if given).
  bool wait_closed(Millis timeout, std::string* received = nullptr);

  // True if nothing is readable and the peer has not closed (a zero-wait check).
  bool idle_and_open();

  void close();
  void shutdown_write();

 private:
  enum class Fill { data, eof, reset, timeout };
  HttpResponse read_one(std::chrono::steady_clock::time_point deadline, bool bodyless);
  Fill fill(std::chrono::steady_clock::time_point deadline);  // reads more bytes into in_

  int fd_ = -1;
  std::string in_;  // received, not yet consumed
  bool eof_ = false;
  std::string error_;
};

// A plain listening socket on 127.0.0.1 (no SO_REUSEPORT, like any other program's)
// that never accepts: connections complete in the kernel backlog and then hear
// nothing. Holds a port busy, or plays an upstream that never answers.
class SilentListener {
 public:
  SilentListener();  // binds 127.0.0.1:0; port() == 0 if that failed
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  ~SilentListener();
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// Builds "METHOD target HTTP/1.1\r\nHost: 127.0.0.1\r\n<headers>\r\n".
std::string make_request(std::string_view method, std::string_view target,
                         const std::vector<std::pair<std::string, std::string>>& headers = {});

// One request on a fresh connection.
HttpResponse get(std::uint16_t port, std::string_view target,
                 const std::vector<std::pair<std::string, std::string>>& headers = {}, Millis timeout = 2s);
HttpResponse head(std::uint16_t port, std::string_view target, Millis timeout = 2s);
HttpResponse send_raw(std::uint16_t port, std::string_view bytes, Millis timeout = 2s);

// Counter/gauge value of a Prometheus sample line "name{labels} value" (labels may be "").
std::optional<double> metric_value(const std::string& exposition, std::string_view name,
                                   std::string_view labels = {});

}  // namespace hlscache::test
