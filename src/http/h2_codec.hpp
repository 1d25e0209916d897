// H2ServerCodec: HTTP/2 frames <-> requests and responses for one server connection,
// on nghttp2's server session (through core/h2_driver.hpp). It builds each stream's
// RequestContext from HEADERS, enforces the stream-id, header-size and rapid-reset
// rules, feeds ingest bodies, and frames the handler's Response (HEADERS, then DATA
// straight from the body's chunks). No socket and no handler: the session
// (h2_session.cpp) moves the bytes, and the Owner runs each request's exchange
// (h2_exchange.cpp) when the codec says a stream is ready.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/address.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "core/h2_driver.hpp"
#include "http/h2_stream.hpp"
#include "metrics/metrics.hpp"

namespace hlscache {

class H2ServerCodec final : public H2Driver::Events {
 public:
  // What the codec asks of its session. Called after mem_recv returned (dispatch) or
  // from nghttp2 callbacks (the others: they must not call back into nghttp2).
  class Owner {
   public:
    virtual void dispatch(const std::shared_ptr<H2Stream>& st) = 0;  // the request is ready for its handler
    virtual void make_request_body(H2Stream& st) = 0;                 // an ingest stream: its body sink
    virtual void await_body(const std::shared_ptr<H2Stream>& st) = 0;  // a growing body has nothing new: resume later
    virtual void stream_closed(H2Stream& st) = 0;                     // nghttp2 closed the stream
    virtual ~Owner() = default;
  };

  H2ServerCodec(const boost::asio::any_io_executor& ex, Owner& owner, const Config& cfg, Metrics& metrics,
                boost::asio::ip::address remote);

  // Creates the session and queues our SETTINGS; false if nghttp2 cannot.
  bool start();
  H2Driver& driver() { return driver_; }
  nghttp2_session* session() const { return driver_.session(); }

  // Received bytes. False: the connection must end (a GOAWAY saying why is queued
  // when there is one to say).
  bool feed(const char* data, std::size_t n);
  bool out_of_memory() const { return out_of_memory_; }  // feed failed for want of memory: nothing more can be said

  // Queues the stream's response (HEADERS, and DATA read from st.source).
  void submit(H2Stream& st);
  // A 1xx HEADERS ahead of the final response; dropped once that was submitted.
  void submit_interim(H2Stream& st, int status, const std::vector<Header>& headers);
  // The handler read `n` bytes of an ingest body: reopen the window for as many.
  void consume(std::int32_t id, std::size_t n);
  // GOAWAY with the last stream we processed (those still get their answers).
  void goaway();
  void terminate(std::uint32_t error_code);  // GOAWAY now; nghttp2 ignores later input
  bool goaway_sent() const { return goaway_sent_; }

  // The connection is over: nothing more is submitted, late handlers drop their answers.
  void close() { closed_ = true; }
  bool closed() const { return closed_; }

  H2Stream* find(std::int32_t id) {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second.get();
  }
  std::unordered_map<std::int32_t, std::shared_ptr<H2Stream>>& streams() { return streams_; }

  // H2Driver::Events: they only record; whatever calls back into nghttp2 waits for after_recv().
  int on_begin_frame(const nghttp2_frame_hd& hd) override;
  int on_invalid_frame_recv(const nghttp2_frame& f, int lib_error) override;
  int on_begin_headers(const nghttp2_frame& f) override;
  int on_header(const nghttp2_frame& f, std::string_view name, std::string_view value) override;
  int on_frame_recv(const nghttp2_frame& f) override;
  int on_data_chunk_recv(std::int32_t id, std::string_view data) override;
  int on_stream_close(std::int32_t id, std::uint32_t error_code) override;
  int on_frame_send(const nghttp2_frame& f) override;
  ssize_t data_length(std::int32_t id, void* source, std::size_t max, std::uint32_t* flags) override;
  void data_payload(void* source, std::size_t length, H2OutBatch& out) override;
  void after_recv() override;

 private:
  void end_request(H2Stream& st);
  void note_reset(std::int32_t id) { reset_ids_[reset_next_++ % reset_ids_.size()] = id; }
  bool was_reset(std::int32_t id) const;

  Owner& owner_;
  const Config& cfg_;
  Metrics& metrics_;
  boost::asio::ip::address remote_;
  H2Driver driver_;
  std::unordered_map<std::int32_t, std::shared_ptr<H2Stream>> streams_;

  // Work queued by callbacks, done after mem_recv returns (the one exception:
  // the rapid-reset GOAWAY, see on_frame_recv).
  std::vector<std::shared_ptr<H2Stream>> to_dispatch_;
  std::vector<std::pair<std::int32_t, std::size_t>> to_consume_;
  bool rapid_reset_ = false;

  // RFC 9113 §5.1.1: a new stream's id must exceed every earlier one's. nghttp2 ignores
  // a HEADERS below the highest id it has seen unless it still holds that stream, so
  // on_begin_frame checks: the highest HEADERS stream id so far, and the last streams
  // we reset (late frames on those are ignored, §5.1) in a ring of 64.
  std::int32_t max_headers_id_ = 0;
  std::array<std::int32_t, 64> reset_ids_{};
  std::size_t reset_next_ = 0;
  bool lower_stream_id_ = false;

  // Rapid reset (CVE-2023-44487): a token bucket over RST_STREAMs received.
  double reset_tokens_ = 0;
  TimePoint last_refill_{};

  bool goaway_sent_ = false;
  bool out_of_memory_ = false;
  bool closed_ = false;
};

}  // namespace hlscache
