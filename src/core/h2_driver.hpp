// H2Driver: one nghttp2 session (server or client) driven from Asio coroutines —
// the rules both the server session (http/h2_session.cpp) and the upstream client
// (source/h2_upstream.cpp) follow, kept in one place. Callbacks only record what
// happened (the owner's H2Driver::Events); whatever calls back into nghttp2 is
// queued by the owner and done in Events::after_recv(), once mem_recv returned.
// Output goes out in batches (H2OutBatch): control frames copied, DATA payloads
// referenced as chunk slices (NGHTTP2_DATA_FLAG_NO_COPY) — flush() fills a batch from
// mem_send, has the transport write it, and sleeps on a timer when nothing is due
// (kick() wakes it). No socket here: the transport is the owner's.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/body_stream.hpp"
#include "core/clock.hpp"

namespace hlscache {

// One batch of output: control bytes copied into ctrl_ (adjacent ones share a piece),
// DATA payloads as slices of the body's chunks (not copied).
class H2OutBatch {
 public:
  struct Piece {
    Chunk chunk;  // empty: bytes [begin, end) of the control bytes
    std::size_t begin = 0, end = 0;
  };
  void append_ctrl(const std::uint8_t* p, std::size_t n);
  void append_slice(const ChunkSlice& s) {
    pieces_.push_back({s.chunk, s.begin, s.end});
    bytes_ += s.end - s.begin;
  }
  void clear() {
    ctrl_.clear();
    pieces_.clear();  // releases the chunks written
    bytes_ = 0;
  }
  bool empty() const { return bytes_ == 0; }
  std::size_t bytes() const { return bytes_; }
  const std::vector<Piece>& pieces() const { return pieces_; }
  const char* base(const Piece& p) const { return p.chunk.bytes ? p.chunk.bytes.get() : ctrl_.data(); }
  // Appends one buffer per piece (the batch must outlive them).
  void to_buffers(std::vector<boost::asio::const_buffer>& out) const {
    for (const auto& p : pieces_) out.emplace_back(base(p) + p.begin, p.end - p.begin);
  }

 private:
  std::string ctrl_;
  std::vector<Piece> pieces_;
  std::size_t bytes_ = 0;
};

class H2Driver {
 public:
  // What nghttp2 tells the owner; each returns 0 or an nghttp2 error code (a
  // callback failure ends mem_recv). Never call back into nghttp2 from these.
  class Events {
   public:
    virtual int on_begin_frame(const nghttp2_frame_hd&) { return 0; }
    virtual int on_invalid_frame_recv(const nghttp2_frame&, int /*lib_error*/) { return 0; }
    virtual int on_begin_headers(const nghttp2_frame&) { return 0; }
    virtual int on_header(const nghttp2_frame&, std::string_view /*name*/, std::string_view /*value*/) { return 0; }
    virtual int on_frame_recv(const nghttp2_frame&) { return 0; }
    virtual int on_data_chunk_recv(std::int32_t /*stream_id*/, std::string_view /*data*/) { return 0; }
    virtual int on_stream_close(std::int32_t /*stream_id*/, std::uint32_t /*error_code*/) { return 0; }
    virtual int on_frame_send(const nghttp2_frame&) { return 0; }
    // A response body (submit_response with a source): how many bytes to frame next
    // (<= max; set NGHTTP2_DATA_FLAG_EOF in *flags on the last), or NGHTTP2_ERR_DEFERRED /
    // NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE. The payload is always NO_COPY.
    virtual ssize_t data_length(std::int32_t /*stream_id*/, void* /*source*/, std::size_t /*max*/,
                                std::uint32_t* /*flags*/) {
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    // ... and the payload of a DATA frame being written: `length` bytes of `source` into `out`.
    virtual void data_payload(void* /*source*/, std::size_t /*length*/, H2OutBatch& /*out*/) {}
    // mem_recv returned (without a fatal error): do what the callbacks queued.
    virtual void after_recv() {}

    virtual ~Events() = default;
  };

  struct Settings {
    bool server = true;
    bool manual_window = false;            // WINDOW_UPDATE only as the owner consumes (nghttp2_session_consume)
    std::size_t max_continuations = 0;     // 0: nghttp2's default
    std::uint64_t reset_burst = 0, reset_rate = 0;  // nghttp2's own RST_STREAM limiter; 0: its default
    std::size_t batch_bytes = 256 * 1024;  // output gathered into one write
    std::size_t batch_pieces = 512;        // iovecs per write (IOV_MAX is 1024)
  };

  H2Driver(const boost::asio::any_io_executor& ex, Events& events, const Settings& settings);
  ~H2Driver();
  H2Driver(const H2Driver&) = delete;
  H2Driver& operator=(const H2Driver&) = delete;

  bool ok() const { return session_ != nullptr; }  // false: nghttp2 could not make the session
  nghttp2_session* session() const { return session_; }

  // Feeds received bytes to nghttp2; then (unless it failed) Events::after_recv().
  // Wakes the writer either way. Returns mem_recv's result.
  ssize_t recv(const char* data, std::size_t n);

  // Submits a response (server) whose body, if `source` is set, is read through
  // Events::data_length / data_payload.
  int submit_response(std::int32_t stream_id, const std::vector<nghttp2_nv>& nva, void* source);
  static void to_nv(std::vector<std::pair<std::string, std::string>>& fields, std::vector<nghttp2_nv>& nva);

  void kick() { wake_.cancel(); }  // the writer has something to look at
  bool wants_io() const {
    return nghttp2_session_want_read(session_) != 0 || nghttp2_session_want_write(session_) != 0;
  }
  bool writing() const { return writing_; }  // a batch is being written (since write_started())
  TimePoint write_started() const { return write_started_; }

  enum class FlushEnd { stopped, session_over, send_failed, write_failed };
  // The writer loop. Transport: bool stop() — end now (checked before each batch);
  // bool stop_when_idle() — end once nothing is queued; awaitable<bool> write(const
  // H2OutBatch&) — the whole batch, false on error. A mem_send failure still writes
  // what was gathered, then ends.
  template <class Transport>
  boost::asio::awaitable<FlushEnd> flush(Transport& t);

  // Fills out_ from mem_send up to the batch bounds; false once mem_send failed.
  bool fill();
  H2OutBatch& out() { return out_; }
  int send_error() const { return send_error_; }  // mem_send's error, once fill() returned false

 private:
  static H2Driver& self(void* p) { return *static_cast<H2Driver*>(p); }
  static ssize_t read_data(nghttp2_session*, std::int32_t id, std::uint8_t*, std::size_t length, std::uint32_t* flags,
                           nghttp2_data_source* source, void* p);
  static int send_data(nghttp2_session*, nghttp2_frame* frame, const std::uint8_t* framehd, std::size_t length,
                       nghttp2_data_source* source, void* p);

  Events& events_;
  Settings settings_;
  nghttp2_session* session_ = nullptr;
  H2OutBatch out_;
  boost::asio::steady_timer wake_;
  bool writing_ = false;
  bool send_failed_ = false;
  int send_error_ = 0;
  TimePoint write_started_{};
};

template <class Transport>
boost::asio::awaitable<H2Driver::FlushEnd> H2Driver::flush(Transport& t) {
  for (;;) {
    if (t.stop()) co_return FlushEnd::stopped;
    const bool filled = fill();
    if (out_.empty()) {
      if (!filled) co_return FlushEnd::send_failed;
      if (t.stop_when_idle()) co_return FlushEnd::stopped;
      if (!wants_io()) co_return FlushEnd::session_over;
      wake_.expires_at(TimePoint::max());
      co_await wake_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
      continue;
    }
    writing_ = true;
    write_started_ = SteadyClock::now();
    const bool ok = co_await t.write(out_);
    writing_ = false;
    out_.clear();
    if (!ok) co_return FlushEnd::write_failed;
    if (!filled) co_return FlushEnd::send_failed;
  }
}

}  // namespace hlscache
