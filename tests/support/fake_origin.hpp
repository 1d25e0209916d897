// FakeOrigin: an in-process HTTP/1.1 origin on 127.0.0.1:<ephemeral> for tests (docs/design.md, style rule 8).
// It counts every request per path, can hold an answer behind a named barrier until the test releases it,
// and can misbehave on purpose: delay, trickle, cut short, never answer, send garbage, send 1xx heads
// before the answer, close without answering, write unsolicited bytes on an idle connection, or close
// idle keep-alive connections after a while (as Node does after 5 s), optionally saying so (Keep-Alive).
// One Asio io_context on one thread of its own; each connection is a coroutine (keep-alive loop).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hlscache::test {

// What the origin answers for one request. Defaults: 200, Content-Length framing, answer at once.
struct OriginReply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. Cache-Control, ETag, Content-Type
  std::string body;
  bool chunked = false;                        // Transfer-Encoding: chunked instead of Content-Length
  std::chrono::milliseconds delay{0};          // pause before the status line
  std::size_t slow_chunk = 0;                  // if >0: send the body in pieces of this size...
  std::chrono::milliseconds slow_interval{0};  // ...with this pause between pieces
  std::optional<std::size_t> cut_after;        // close after this many body bytes (declared length stays full)
  std::chrono::milliseconds pause_after_head{0};  // pause after the head, before any body (or the cut)
  bool never_answer = false;                   // read the request, then never respond (until the origin stops)
  std::string raw;                             // if set: write these bytes verbatim instead of a response, then close
  std::string hold;                            // if set: park the answer until release(hold) (barrier)
  bool close = false;                          // send Connection: close and close after the response
  std::vector<std::string> interim;            // raw 1xx heads ("HTTP/1.1 103 Early Hints\r\n...\r\n\r\n"),
                                               // each written on its own before the response
  std::chrono::milliseconds interim_pause{0};  // pause after each of them
  bool drop = false;                           // read the request, then close without a byte of answer
  std::string after;                           // written on the connection `after_delay` after the answer, unasked
  std::chrono::milliseconds after_delay{50};
  // A Content-Length or Transfer-Encoding given in `headers` replaces the one the origin would add
  // (lets a test declare a length that does not match the body). HEAD answers carry no body.
};

// One received request, as seen when its header arrived.
struct OriginRequest {
  std::string method;
  std::string target;                                         // including the query
  std::vector<std::pair<std::string, std::string>> headers;   // in arrival order
  std::string body;                                           // only in what the handler sees; empty in log()
  std::size_t connection = 0;                                 // which accepted connection it came on (1, 2, ...)
  std::size_t nth = 0;                                        // its place on that connection (1: the first)

  std::string path() const;                                   // target without the query
  std::optional<std::string> header(std::string_view name) const;  // first match, case-insensitive
};

class FakeOrigin {
 public:
  using Request = OriginRequest;
  // Consulted first for every request, on the origin's thread (must not block); nullopt falls back to set().
  using Handler = std::function<std::optional<OriginReply>(const OriginRequest&)>;

  FakeOrigin();   // listening on 127.0.0.1:0 when it returns
  ~FakeOrigin();  // stops the thread (bounded wait), closes every connection, drops parked answers
  FakeOrigin(const FakeOrigin&) = delete;
  FakeOrigin& operator=(const FakeOrigin&) = delete;

  std::uint16_t port() const;
  std::string base_url() const;  // "http://127.0.0.1:<port>"

  void set(std::string path, OriginReply reply);  // exact path (no query) -> reply; unknown paths get 404
  void set_handler(Handler handler);
  // Wakes every request parked on `hold` and lets later ones through at once.
  void release(const std::string& hold);
  // Makes `hold` block again for requests that arrive from now on.
  void rearm(const std::string& hold);
  // A keep-alive connection idle (no byte of a next request) for `after` is closed, like Node's
  // keepAliveTimeout; zero (the default) keeps it open. With `advertise`, keep-alive answers carry
  // `Keep-Alive: timeout=<after in whole seconds, at least 1>`. Applies to waits that start later.
  void set_idle_close(std::chrono::milliseconds after, bool advertise = false);

  std::size_t requests(const std::string& path) const;  // counted when the request header arrived
  std::size_t total_requests() const;
  std::size_t in_flight() const;      // requests received and not yet answered (last write issued)
  std::size_t max_in_flight() const;
  std::size_t held(const std::string& hold) const;  // requests parked on `hold` right now
  std::size_t connections_accepted() const;
  std::size_t idle_closes() const;                  // connections closed by set_idle_close
  std::size_t requests_on_reused_connections() const;  // requests that were not the first on their connection
  std::vector<OriginRequest> log() const;  // the last 10000 requests, oldest first
  // Blocks until requests(path) >= n (true) or the timeout passes (false).
  bool wait_for_requests(const std::string& path, std::size_t n, std::chrono::milliseconds timeout) const;
  // Blocks until held(hold) >= n (true) or the timeout passes (false).
  bool wait_for_held(const std::string& hold, std::size_t n, std::chrono::milliseconds timeout) const;
  // When the latest answer for `path` finished: stamped just before its final write is issued, so it is
  // already set when the client holds the last byte (epoch if none yet). Cut and raw answers count too.
  std::chrono::steady_clock::time_point last_byte_sent(const std::string& path) const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace hlscache::test
