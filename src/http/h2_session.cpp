#include "http/h2_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <nghttp2/nghttp2.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <unordered_map>

#include "http/h2_headers.hpp"
#include "http/h2_stream.hpp"
#include "http/interim.hpp"
#include "http/orphaned_fetches.hpp"

namespace hlscache {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kBatchBytes = 256 * 1024;  // bytes gathered into one write
constexpr std::size_t kBatchPieces = 512;        // iovecs per write (IOV_MAX is 1024)
constexpr std::size_t kTlsRecordBatch = 64 * 1024;  // TLS: staged plaintext per write

std::size_t whole_writes(const boost::system::error_code& ec, std::size_t) { return ec ? 0 : std::size_t{1} << 30; }

Method to_method(std::string_view m) {
  if (m == "GET") return Method::get;
  if (m == "HEAD") return Method::head;
  if (m == "PUT") return Method::put;
  if (m == "POST") return Method::post;
  return Method::other;
}

std::string_view sv(const std::uint8_t* p, std::size_t n) { return {reinterpret_cast<const char*>(p), n}; }

template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

template <class Stream>
class H2Connection : public std::enable_shared_from_this<H2Connection<Stream>> {
 public:
  H2Connection(Stream stream, const SessionEnv& env, ConnectionSet& connections)
      : stream_(std::move(stream)),
        env_(env),
        config_(env.current_config()),
        cfg_(*config_),
        connections_(connections),
        orphans_(cfg_.http2.max_orphaned_fetches, cfg_.http2.max_concurrent_streams),
        wake_(stream_.get_executor()),
        watchdog_timer_(stream_.get_executor()),
        writer_exit_(stream_.get_executor()) {
    beast::error_code ec;
    remote_ = lowest_socket(stream_).remote_endpoint(ec).address();
    lowest_socket(stream_).set_option(tcp::no_delay(true), ec);
    tcp_layer(stream_).expires_never();  // our own deadlines: reader and writer run at once
    reset_tokens_ = cfg_.http2.reset_burst;
    last_refill_ = SteadyClock::now();
  }
  ~H2Connection() {
    connections_.remove(&handle_);  // run() did already unless its frame was destroyed mid-way (shutdown)
    if (session_ != nullptr) nghttp2_session_del(session_);
  }

  asio::awaitable<void> run(std::string_view prefix);

 private:
  using Self = H2Connection<Stream>;
  static Self& self(void* p) { return *static_cast<Self*>(p); }

  bool init_session();
  bool feed(const char* data, std::size_t n);
  void after_recv();
  void kick() { wake_.cancel(); }
  void graceful_close();
  void hard_close();
  asio::awaitable<void> reader();
  asio::awaitable<void> writer();
  asio::awaitable<void> watchdog();
  asio::awaitable<bool> write_out();
  void fill();
  void append_ctrl(const std::uint8_t* p, std::size_t n);
  void clear_out();

  void dispatch(const std::shared_ptr<H2Stream>& st);
  void end_request(H2Stream& st);
  void make_request_body(H2Stream& st);
  asio::awaitable<void> answer(std::shared_ptr<Self> keep, std::shared_ptr<H2Stream> st);
  void submit(H2Stream& st);
  void submit_interim(H2Stream& st, int status, const std::vector<Header>& headers);
  void note_orphan(H2Stream& st);
  void note_reset(std::int32_t id) { reset_ids_[reset_next_++ % reset_ids_.size()] = id; }
  bool was_reset(std::int32_t id) const {
    return std::find(reset_ids_.begin(), reset_ids_.end(), id) != reset_ids_.end();
  }

  // A 1xx HEADERS frame (103 Early Hints) on the stream, before its final response.
  class StreamInterim final : public InterimWriter {
   public:
    StreamInterim(Self& c, H2Stream& st) : c_(c), st_(st) {}
    asio::awaitable<void> send_interim(int status, const std::vector<Header>& headers) override {
      c_.submit_interim(st_, status, headers);
      co_return;
    }

   private:
    Self& c_;
    H2Stream& st_;
  };
  void await_body(const std::shared_ptr<H2Stream>& st);
  void finish_stream(H2Stream& st);
  H2Stream* find(std::int32_t id) {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second.get();
  }

  // nghttp2 callbacks: they only record what happened; whatever calls back into
  // nghttp2 (consume, dispatch, terminate) is queued and done after mem_recv.
  static int on_begin_frame(nghttp2_session*, const nghttp2_frame_hd* hd, void* p);
  static int on_invalid_frame_recv(nghttp2_session*, const nghttp2_frame* f, int lib_error, void* p);
  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* f, void* p);
  static int on_header(nghttp2_session*, const nghttp2_frame* f, const std::uint8_t* name, std::size_t namelen,
                       const std::uint8_t* value, std::size_t valuelen, std::uint8_t flags, void* p);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* f, void* p);
  static int on_data_chunk_recv(nghttp2_session*, std::uint8_t flags, std::int32_t id, const std::uint8_t* data,
                                std::size_t len, void* p);
  static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t error_code, void* p);
  static int on_frame_send(nghttp2_session*, const nghttp2_frame* f, void* p);
  static ssize_t read_body(nghttp2_session*, std::int32_t id, std::uint8_t* buf, std::size_t length,
                           std::uint32_t* flags, nghttp2_data_source* source, void* p);
  static int send_data(nghttp2_session*, nghttp2_frame* frame, const std::uint8_t* framehd, std::size_t length,
                       nghttp2_data_source* source, void* p);

  Stream stream_;
  const SessionEnv& env_;
  const ConfigPtr config_;  // this connection's snapshot: a reload applies to the connections after it
  const Config& cfg_;
  ConnectionSet& connections_;
  ConnectionHandle handle_;
  asio::ip::address remote_;
  nghttp2_session* session_ = nullptr;
  std::unordered_map<std::int32_t, std::shared_ptr<H2Stream>> streams_;
  std::size_t answering_ = 0;  // dispatched streams not yet closed
  TimePoint idle_since_{};

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

  OrphanedFetches orphans_;  // http2.max_orphaned_fetches

  // Rapid reset (CVE-2023-44487): a token bucket over RST_STREAMs received.
  double reset_tokens_ = 0;
  TimePoint last_refill_{};

  // Output batch: control frames copied into ctrl_, DATA payloads as chunk slices.
  struct Piece {
    Chunk chunk;  // empty: bytes [begin, end) of ctrl_
    std::size_t begin = 0, end = 0;
  };
  std::string ctrl_;
  std::vector<Piece> pieces_;
  std::size_t out_bytes_ = 0;
  std::vector<asio::const_buffer> bufs_;
  std::string tls_stage_;
  std::array<char, 16 * 1024> rbuf_{};

  asio::steady_timer wake_;            // the writer sleeps on it; kick() cancels it
  asio::steady_timer watchdog_timer_;
  asio::steady_timer writer_exit_;     // run() waits on it for the writer to finish
  bool writing_ = false;
  TimePoint write_started_{};
  bool peer_gone_ = false;   // EOF or an I/O error: nothing more can be sent
  bool reading_done_ = false;  // the reader stopped: flush what is queued, then end
  bool writer_done_ = false;
  bool dead_ = false;        // the connection is over: late handlers drop their answers
  bool goaway_sent_ = false;
};

// ---------------------------------------------------------------- lifecycle

template <class Stream>
bool H2Connection<Stream>::init_session() {
  nghttp2_session_callbacks* cb = nullptr;
  if (nghttp2_session_callbacks_new(&cb) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_frame_callback(cb, &Self::on_begin_frame);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cb, &Self::on_invalid_frame_recv);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, &Self::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cb, &Self::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &Self::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &Self::on_data_chunk_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, &Self::on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, &Self::on_frame_send);
  nghttp2_session_callbacks_set_send_data_callback(cb, &Self::send_data);

  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  // Request bodies are acknowledged (WINDOW_UPDATE) only as the handler reads them: back-pressure for ingest.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_max_continuations(opt, cfg_.http2.max_continuations);
  // nghttp2's own rapid-reset limiter stays as a backstop behind ours (which answers ENHANCE_YOUR_CALM).
  nghttp2_option_set_stream_reset_rate_limit(opt, 2ull * cfg_.http2.reset_burst, 2ull * cfg_.http2.reset_rate);
  const int rv = nghttp2_session_server_new2(&session_, cb, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);
  if (rv != 0) return false;

  const auto& h = cfg_.http2;
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, h.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, h.initial_window_bytes},
      {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, h.max_frame_bytes},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, h.max_header_list_bytes},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
  };
  if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings)) != 0) return false;
  if (h.connection_window_bytes > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE)
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                          static_cast<std::int32_t>(h.connection_window_bytes));
  return true;
}

template <class Stream>
asio::awaitable<void> H2Connection<Stream>::run(std::string_view prefix) {
  ProtocolScope counted(*env_.metrics, Metrics::Protocol::http2);
  if (!init_session()) {
    spdlog::error("h2: cannot create an nghttp2 session");
    co_return;
  }
  handle_.close = [this] { graceful_close(); };
  handle_.drain = [this] { graceful_close(); };
  connections_.add(&handle_);
  idle_since_ = SteadyClock::now();
  auto keep = this->shared_from_this();
  auto log_exception = [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& err) {
      spdlog::error("h2 session task ended by an exception: {}", err.what());
    }
  };
  writer_exit_.expires_at(TimePoint::max());
  asio::co_spawn(stream_.get_executor(), [keep]() { return keep->writer(); }, log_exception);
  asio::co_spawn(stream_.get_executor(), [keep]() { return keep->watchdog(); }, log_exception);

  bool ok = true;
  if (!prefix.empty()) ok = feed(prefix.data(), prefix.size());
  if (ok) co_await reader();
  reading_done_ = true;

  // Let the writer flush what is queued (a GOAWAY, the last responses); it stops at
  // the send deadline, when the peer is gone, or once nghttp2 has nothing left.
  kick();
  if (!writer_done_) co_await writer_exit_.async_wait(kTuple);
  dead_ = true;
  connections_.remove(&handle_);
  for (auto& [id, st] : streams_)
    if (st->body) st->body->abort();
  streams_.clear();
  watchdog_timer_.cancel();
  beast::error_code ec;
  lowest_socket(stream_).shutdown(tcp::socket::shutdown_both, ec);
  lowest_socket(stream_).close(ec);
}

template <class Stream>
void H2Connection<Stream>::graceful_close() {
  if (dead_ || goaway_sent_) return;
  goaway_sent_ = true;
  // Streams up to the last one we processed still get their answers (RFC 9113 §6.8).
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                        NGHTTP2_NO_ERROR, nullptr, 0);
  kick();
}

template <class Stream>
void H2Connection<Stream>::hard_close() {
  peer_gone_ = true;
  beast::error_code ec;
  lowest_socket(stream_).shutdown(tcp::socket::shutdown_both, ec);
  lowest_socket(stream_).close(ec);
  kick();
}

// ---------------------------------------------------------------- reading

template <class Stream>
asio::awaitable<void> H2Connection<Stream>::reader() {
  for (;;) {
    auto [ec, n] = co_await stream_.async_read_some(asio::buffer(rbuf_), kTuple);
    if (ec) {
      peer_gone_ = true;  // EOF, reset, or closed by us (timeouts)
      break;
    }
    const bool fed = feed(rbuf_.data(), n);
    kick();
    if (!fed || nghttp2_session_want_read(session_) == 0) break;
  }
}

template <class Stream>
bool H2Connection<Stream>::feed(const char* data, std::size_t n) {
  const auto rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const std::uint8_t*>(data), n);
  if (rv < 0) {
    // Fatal to the connection: a bad preface, a flood nghttp2 detected, out of memory.
    // nghttp2 queued a GOAWAY where RFC 9113 wants one; the writer still sends it.
    spdlog::debug("h2 {}: closing on {}", remote_.to_string(),
                  lower_stream_id_ ? "a HEADERS with a lower stream id" : nghttp2_strerror(static_cast<int>(rv)));
    env_.metrics->h2_protocol_errors.fetch_add(1, std::memory_order_relaxed);
    if (rv == NGHTTP2_ERR_NOMEM) {
      peer_gone_ = true;  // nothing to say it with
    } else if (!goaway_sent_) {
      // A bad preface (RFC 9113 §3.4 lets us omit the GOAWAY; we send it, after our
      // SETTINGS, which nghttp2 has queued), a HEADERS with a lower stream id (§5.1.1),
      // a flood (of CONTINUATIONs, SETTINGS, PINGs...) or another fatal error: say why before closing.
      const bool flood = rv == NGHTTP2_ERR_FLOODED || rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS;
      nghttp2_session_terminate_session(session_, flood ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR);
    }
    return false;
  }
  after_recv();
  return true;
}

template <class Stream>
void H2Connection<Stream>::after_recv() {
  for (auto [id, len] : to_consume_) nghttp2_session_consume(session_, id, len);
  to_consume_.clear();

  if (rapid_reset_) {
    to_dispatch_.clear();  // the connection is going away: answer nothing more
    return;
  }
  auto ready = std::move(to_dispatch_);
  to_dispatch_.clear();
  for (auto& st : ready)
    if (!st->closed && !st->dispatched) dispatch(st);  // a stream may be queued twice (431, then its END_STREAM)
}

// Before nghttp2 looks at a frame: a HEADERS whose stream id is below one already seen
// opens no new stream legally (RFC 9113 §5.1.1) unless it is the trailers of a stream
// still open (nghttp2 holds it) or a late frame on a stream we reset (§5.1: ignored).
// Anything else is a connection error PROTOCOL_ERROR: failing the callback makes
// mem_recv return, and feed() sends the GOAWAY (nghttp2 itself would ignore the frame
// silently, leaving the client waiting for an answer that never comes).
template <class Stream>
int H2Connection<Stream>::on_begin_frame(nghttp2_session*, const nghttp2_frame_hd* hd, void* p) {
  auto& c = self(p);
  if (hd->type != NGHTTP2_HEADERS || hd->stream_id % 2 == 0) return 0;  // 0 and even ids: nghttp2's checks
  if (hd->stream_id >= c.max_headers_id_) {
    c.max_headers_id_ = hd->stream_id;
    return 0;
  }
  nghttp2_stream* known = nghttp2_session_find_stream(c.session_, hd->stream_id);  // a lookup, no state change
  if (known != nullptr && nghttp2_stream_get_state(known) != NGHTTP2_STREAM_STATE_IDLE) return 0;
  if (c.was_reset(hd->stream_id)) return 0;
  c.lower_stream_id_ = true;
  return NGHTTP2_ERR_CALLBACK_FAILURE;
}

// nghttp2 refused a frame; for a HEADERS that means it resets (or refuses) the stream:
// remember the id before the RST_STREAM is even sent, so late frames on it are ignored.
template <class Stream>
int H2Connection<Stream>::on_invalid_frame_recv(nghttp2_session*, const nghttp2_frame* f, int, void* p) {
  if (f->hd.type == NGHTTP2_HEADERS && f->hd.stream_id % 2 == 1) self(p).note_reset(f->hd.stream_id);
  return 0;
}

template <class Stream>
int H2Connection<Stream>::on_begin_headers(nghttp2_session*, const nghttp2_frame* f, void* p) {
  auto& c = self(p);
  if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto st = std::make_shared<H2Stream>();
  st->id = f->hd.stream_id;
  st->ctx.received = SteadyClock::now();
  st->ctx.received_wall = std::chrono::system_clock::now();
  st->ctx.protocol = "HTTP/2.0";
  st->ctx.remote = c.remote_;
  c.streams_[st->id] = st;
  nghttp2_session_set_stream_user_data(c.session_, st->id, st.get());
  c.env_.metrics->h2_streams.fetch_add(1, std::memory_order_relaxed);
  return 0;
}

template <class Stream>
int H2Connection<Stream>::on_header(nghttp2_session*, const nghttp2_frame* f, const std::uint8_t* name,
                                    std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                                    std::uint8_t, void* p) {
  auto& c = self(p);
  // Trailers are not merged into the request's header section (RFC 9110 §6.5.1): dropped.
  if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  H2Stream* st = c.find(f->hd.stream_id);
  if (st == nullptr || st->dispatched) return 0;
  // RFC 9113 §6.5.2: the size of a field is its name and value lengths plus 32.
  st->header_bytes += namelen + valuelen + 32;
  if (st->header_bytes > c.cfg_.http2.max_header_list_bytes) {
    st->header_too_large = true;  // answered 431 once the block ends; the rest is not stored
    return 0;
  }
  auto n = sv(name, namelen), v = sv(value, valuelen);
  // nghttp2 refuses these (RFC 9113 §8.2.1); request fields are forwarded upstream, so check again.
  constexpr std::string_view kForbidden("\r\n\0", 3);
  if (n.find_first_of(kForbidden) != std::string_view::npos || v.find_first_of(kForbidden) != std::string_view::npos) {
    st->bad_field = true;
    return 0;
  }
  auto& ctx = st->ctx;
  if (!n.empty() && n[0] == ':') {
    if (n == ":method") {
      ctx.method_text = std::string(v);
      ctx.method = to_method(v);
    } else if (n == ":path") {
      ctx.target = std::string(v);
    } else if (n == ":authority") {
      st->authority = std::string(v);
    }
    return 0;  // nghttp2 has checked the pseudo-header set (RFC 9113 §8.3.1)
  }
  ctx.headers.emplace_back(std::string(n), std::string(v));
  return 0;
}

template <class Stream>
int H2Connection<Stream>::on_frame_recv(nghttp2_session*, const nghttp2_frame* f, void* p) {
  auto& c = self(p);
  switch (f->hd.type) {
    case NGHTTP2_HEADERS: {
      H2Stream* st = c.find(f->hd.stream_id);
      if (st == nullptr) break;
      const bool end = (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
      if (f->headers.cat != NGHTTP2_HCAT_REQUEST) {
        // Trailers (RFC 9113 §8.1; nghttp2 has checked they carry END_STREAM): the request ends here.
        if (end) c.end_request(*st);
        break;
      }
      if (st->dispatched) break;
      st->request_ended = end;
      st->ingest = (st->ctx.method == Method::put || st->ctx.method == Method::post) &&
                   st->ctx.path().substr(0, 8) == "/ingest/";
      // The body sink exists before any DATA of this stream is taken (it may be in this same read).
      if (st->ingest && !end) c.make_request_body(*st);
      // Bodiless requests and ingest (streamed) go to the handler now; other bodies are read first.
      if (end || st->ingest || st->header_too_large) c.to_dispatch_.push_back(c.streams_[st->id]);
      break;
    }
    case NGHTTP2_DATA: {
      H2Stream* st = c.find(f->hd.stream_id);
      if (st == nullptr || (f->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) break;
      c.end_request(*st);
      break;
    }
    case NGHTTP2_RST_STREAM: {
      c.env_.metrics->h2_resets_received.fetch_add(1, std::memory_order_relaxed);
      // Rapid reset (CVE-2023-44487): a token bucket, checked frame by frame, since one read
      // can hold hundreds of HEADERS+RST_STREAM pairs. Terminating queues a GOAWAY and makes
      // nghttp2 ignore the rest of the input; nghttp2 does the same from this point itself.
      const auto now = SteadyClock::now();
      const double elapsed = std::chrono::duration<double>(now - c.last_refill_).count();
      c.last_refill_ = now;
      c.reset_tokens_ = std::min<double>(c.cfg_.http2.reset_burst, c.reset_tokens_ + elapsed * c.cfg_.http2.reset_rate);
      c.reset_tokens_ -= 1;
      if (c.reset_tokens_ < 0 && !c.rapid_reset_) {
        c.rapid_reset_ = true;
        spdlog::warn("h2 {}: too many stream resets (rapid reset): GOAWAY ENHANCE_YOUR_CALM", c.remote_.to_string());
        c.env_.metrics->h2_protocol_errors.fetch_add(1, std::memory_order_relaxed);
        nghttp2_session_terminate_session(c.session_, NGHTTP2_ENHANCE_YOUR_CALM);
      }
      break;
    }
    default: break;
  }
  return 0;
}

template <class Stream>
int H2Connection<Stream>::on_data_chunk_recv(nghttp2_session*, std::uint8_t, std::int32_t id,
                                             const std::uint8_t* data, std::size_t len, void* p) {
  auto& c = self(p);
  H2Stream* st = c.find(id);
  if (st != nullptr && st->body) {
    st->body->push(sv(data, len));  // consumed (window reopened) as the handler reads it
    return 0;
  }
  if (st != nullptr) st->body_received += len;  // read and dropped, bounded by limits.max_request_body
  c.to_consume_.emplace_back(id, len);
  return 0;
}

template <class Stream>
int H2Connection<Stream>::on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t error_code, void* p) {
  auto& c = self(p);
  auto it = c.streams_.find(id);
  if (it == c.streams_.end()) return 0;
  auto st = std::move(it->second);
  c.streams_.erase(it);
  st->closed = true;
  st->reset = error_code != NGHTTP2_NO_ERROR;
  if (st->body) st->body->abort();
  if (st->dispatched && (st->reset || !st->response_done)) {
    st->abandoned = true;
    c.note_orphan(*st);  // its handler may have started an upstream fetch nobody will read
  }
  if (st->dispatched) {
    if (--c.answering_ == 0) c.idle_since_ = SteadyClock::now();
    c.handle_.busy = c.answering_ > 0;
  }
  if (st->responded) c.finish_stream(*st);
  return 0;
}

template <class Stream>
int H2Connection<Stream>::on_frame_send(nghttp2_session*, const nghttp2_frame* f, void* p) {
  auto& c = self(p);
  if (f->hd.type == NGHTTP2_GOAWAY) {
    c.goaway_sent_ = true;
    c.env_.metrics->h2_goaways_sent.fetch_add(1, std::memory_order_relaxed);
  }
  if (f->hd.type == NGHTTP2_RST_STREAM) c.note_reset(f->hd.stream_id);
  return 0;
}

// ---------------------------------------------------------------- answering

template <class Stream>
void H2Connection<Stream>::dispatch(const std::shared_ptr<H2Stream>& st) {
  st->dispatched = true;
  ++answering_;
  handle_.busy = true;
  auto& ctx = st->ctx;
  if (!st->authority.empty() && ctx.header("host").empty()) ctx.headers.emplace_back("host", st->authority);
  if (st->body) ctx.body = st->body.get();
  // Too many fetches left running by this connection's reset streams: this one may not start another.
  ctx.may_lead_fetch = orphans_.may_lead();
  asio::co_spawn(stream_.get_executor(), answer(this->shared_from_this(), st), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& err) {
      spdlog::error("h2 stream task ended by an exception: {}", err.what());
    }
  });
}

// The request's last frame (DATA or trailers with END_STREAM) arrived.
template <class Stream>
void H2Connection<Stream>::end_request(H2Stream& st) {
  st.request_ended = true;
  if (st.body) st.body->end();
  if (!st.dispatched) to_dispatch_.push_back(streams_[st.id]);
}

// A stream closed before its answer was done: the fetch its handler led (if it led
// one, and it still runs) now serves nobody on this connection. Called at the close
// and again when the handler returns (it may set led_fetch after the reset).
template <class Stream>
void H2Connection<Stream>::note_orphan(H2Stream& st) {
  if (st.orphan_noted || st.ctx.led_fetch.expired()) return;
  st.orphan_noted = true;
  orphans_.add(st.ctx.led_fetch);
}

// An ingest request's body: DATA is queued for the handler, and the flow-control
// window reopens (nghttp2_session_consume, outside any callback) as it reads.
template <class Stream>
void H2Connection<Stream>::make_request_body(H2Stream& st) {
  std::weak_ptr<Self> weak = this->shared_from_this();
  const std::int32_t id = st.id;
  st.body = std::make_unique<H2RequestBody>(stream_.get_executor(), [weak, id](std::size_t n) {
    auto c = weak.lock();
    if (!c || c->dead_) return;
    nghttp2_session_consume(c->session_, id, n);
    c->kick();
  });
}

template <class Stream>
asio::awaitable<void> H2Connection<Stream>::answer(std::shared_ptr<Self> keep, std::shared_ptr<H2Stream> st) {
  (void)keep;  // the connection outlives every stream task
  auto& ctx = st->ctx;
  if (st->closed) co_return;  // reset before its handler ran: nothing to answer, no fetch to start
  if (st->header_too_large) {
    env_.metrics->bad_requests.fetch_add(1, std::memory_order_relaxed);
    st->resp = Response::error(431, "request header block too large");
  } else if (st->bad_field) {
    env_.metrics->bad_requests.fetch_add(1, std::memory_order_relaxed);
    st->resp = Response::error(400, "CR, LF or NUL in a field");
  } else if (st->body_received > cfg_.limits.max_request_body) {
    env_.metrics->bad_requests.fetch_add(1, std::memory_order_relaxed);
    st->resp = Response::error(413, "request body too large");
  } else if (ctx.target.empty() || (ctx.target.front() != '/' && ctx.target != "*")) {
    env_.metrics->bad_requests.fetch_add(1, std::memory_order_relaxed);
    st->resp = Response::error(400, "request target must be an absolute path");
  } else if (ctx.target.size() > cfg_.limits.max_target_bytes) {
    env_.metrics->bad_requests.fetch_add(1, std::memory_order_relaxed);
    st->resp = Response::error(414, "request target too long");
  } else {
    try {
      std::optional<Response> now = env_.handler->answer_now(ctx);  // a fresh hit: no handler coroutines
      if (now) {
        st->resp = std::move(*now);
      } else {
        st->interim = std::make_unique<StreamInterim>(*this, *st);
        ctx.interim = st->interim.get();
        st->resp = co_await env_.handler->handle(ctx);
      }
    } catch (const std::exception& e) {
      spdlog::error("handler failed for {} {}: {}", ctx.method_text, ctx.target, e.what());
      st->resp = Response::error(500);
    }
    ctx.interim = nullptr;
    if (st->abandoned) note_orphan(*st);  // reset while the handler ran: led_fetch may be set only now
  }
  if (dead_ || st->closed) co_return;  // the client reset the stream or the connection is gone
  submit(*st);
  kick();
}

template <class Stream>
void H2Connection<Stream>::submit(H2Stream& st) {
  const bool head_only = st.ctx.method == Method::head;
  std::optional<std::uint64_t> length;
  st.source.reset(st.resp, head_only);
  length = st.source.length();
  H2HeaderList headers;
  build_h2_response_headers(st.resp, cfg_.server_name, length, headers);
  std::vector<nghttp2_nv> nva;
  nva.reserve(headers.fields.size());
  for (auto& [k, v] : headers.fields)
    nva.push_back({reinterpret_cast<std::uint8_t*>(k.data()), reinterpret_cast<std::uint8_t*>(v.data()), k.size(),
                   v.size(), NGHTTP2_NV_FLAG_NONE});
  nghttp2_data_provider prd{};
  prd.source.ptr = &st;
  prd.read_callback = &Self::read_body;
  const bool body = !st.source.empty_body();
  st.responded = true;
  st.response_done = !body;  // HEADERS with END_STREAM
  const int rv = nghttp2_submit_response(session_, st.id, nva.data(), nva.size(), body ? &prd : nullptr);
  if (rv != 0) {
    spdlog::debug("h2: submit_response on stream {}: {}", st.id, nghttp2_strerror(rv));
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, st.id, NGHTTP2_INTERNAL_ERROR);
  }
}

// A 1xx response (RFC 9113 §8.1: HEADERS without END_STREAM before the final one),
// queued ahead of it and sent by the writer. Dropped once the final response is
// submitted or the stream is gone. Called from the handler's coroutine, never from
// inside an nghttp2 callback.
template <class Stream>
void H2Connection<Stream>::submit_interim(H2Stream& st, int status, const std::vector<Header>& headers) {
  if (dead_ || st.closed || st.responded || !forwardable_interim(status)) return;
  std::vector<std::pair<std::string, std::string>> fields;
  build_h2_interim_headers(status, headers, fields);
  std::vector<nghttp2_nv> nva;
  nva.reserve(fields.size());
  for (auto& [k, v] : fields)
    nva.push_back({reinterpret_cast<std::uint8_t*>(k.data()), reinterpret_cast<std::uint8_t*>(v.data()), k.size(),
                   v.size(), NGHTTP2_NV_FLAG_NONE});
  const int rv = nghttp2_submit_headers(session_, NGHTTP2_FLAG_NONE, st.id, nullptr, nva.data(), nva.size(), nullptr);
  if (rv != 0) spdlog::debug("h2: submit_headers ({}) on stream {}: {}", status, st.id, nghttp2_strerror(rv));
  kick();
}

// nghttp2 asks how many bytes of the body to frame next; they are written by send_data.
template <class Stream>
ssize_t H2Connection<Stream>::read_body(nghttp2_session*, std::int32_t, std::uint8_t*, std::size_t length,
                                        std::uint32_t* flags, nghttp2_data_source* source, void* p) {
  auto& c = self(p);
  auto* st = static_cast<H2Stream*>(source->ptr);
  auto& src = st->source;
  src.refill();
  if (src.failed()) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // RST_STREAM: the client sees a cut body
  const std::uint64_t avail = src.ready_bytes();
  if (avail == 0) {
    if (src.complete()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      st->response_done = true;
      return 0;
    }
    c.await_body(c.streams_.at(st->id));
    return NGHTTP2_ERR_DEFERRED;
  }
  const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(length, avail));
  *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
  if (src.complete() && n == avail) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    st->response_done = true;
  }
  return static_cast<ssize_t>(n);
}

// A growing body has no bytes past what was sent: wait (on this executor) for more, then resume.
template <class Stream>
void H2Connection<Stream>::await_body(const std::shared_ptr<H2Stream>& st) {
  if (st->source.waiting) return;
  st->source.waiting = true;
  auto task = [](std::shared_ptr<Self> c, std::shared_ptr<H2Stream> s) -> asio::awaitable<void> {
    Status w = co_await s->source.wait();
    s->source.waiting = false;
    if (!w) s->source.fail();
    if (c->dead_ || s->closed) co_return;
    nghttp2_session_resume_data(c->session_, s->id);
    c->kick();
  };
  asio::co_spawn(stream_.get_executor(), task(this->shared_from_this(), st), asio::detached);
}

template <class Stream>
int H2Connection<Stream>::send_data(nghttp2_session*, nghttp2_frame* frame, const std::uint8_t* framehd,
                                    std::size_t length, nghttp2_data_source* source, void* p) {
  auto& c = self(p);
  if (c.out_bytes_ >= kBatchBytes || c.pieces_.size() + 8 >= kBatchPieces)
    return NGHTTP2_ERR_WOULDBLOCK;  // the batch is full: this frame goes into the next one
  auto* st = static_cast<H2Stream*>(source->ptr);
  c.append_ctrl(framehd, 9);
  if (frame->data.padlen > 0) {  // we never ask for padding; written as RFC 9113 §6.1 says anyway
    const std::uint8_t padlen = static_cast<std::uint8_t>(frame->data.padlen - 1);
    c.append_ctrl(&padlen, 1);
  }
  st->source.take(length, [&c](const ChunkSlice& s) {
    c.pieces_.push_back({s.chunk, s.begin, s.end});
    c.out_bytes_ += s.end - s.begin;
  });
  st->sent += length;
  if (frame->data.padlen > 1) {
    static const std::uint8_t zeros[256] = {};
    c.append_ctrl(zeros, frame->data.padlen - 1);
  }
  return 0;
}

template <class Stream>
void H2Connection<Stream>::finish_stream(H2Stream& st) {
  env_.metrics->count_response(st.resp.status, st.resp.cache, st.sent);
  if (env_.access_log && env_.access_log->enabled()) hlscache::log_access(env_, st.ctx, st.resp, st.sent);
}

// ---------------------------------------------------------------- writing

template <class Stream>
void H2Connection<Stream>::append_ctrl(const std::uint8_t* p, std::size_t n) {
  const std::size_t at = ctrl_.size();
  ctrl_.append(reinterpret_cast<const char*>(p), n);
  if (!pieces_.empty() && !pieces_.back().chunk.bytes && pieces_.back().end == at)
    pieces_.back().end += n;  // adjacent control bytes share one iovec
  else
    pieces_.push_back({Chunk{}, at, at + n});
  out_bytes_ += n;
}

template <class Stream>
void H2Connection<Stream>::clear_out() {
  ctrl_.clear();
  pieces_.clear();  // releases the chunks written
  out_bytes_ = 0;
}

template <class Stream>
void H2Connection<Stream>::fill() {
  while (out_bytes_ < kBatchBytes && pieces_.size() < kBatchPieces) {
    const std::uint8_t* data = nullptr;
    const auto n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      spdlog::debug("h2 {}: mem_send: {}", remote_.to_string(), nghttp2_strerror(static_cast<int>(n)));
      peer_gone_ = true;
      return;
    }
    if (n == 0) return;
    append_ctrl(data, static_cast<std::size_t>(n));
  }
}

template <class Stream>
asio::awaitable<bool> H2Connection<Stream>::write_out() {
  if constexpr (kIsTls<Stream>) {
    // TLS encrypts a copy anyway: stage the batch in record-sized runs so that frame
    // headers do not become TLS records of their own.
    std::size_t i = 0, off = 0;
    while (i < pieces_.size()) {
      tls_stage_.clear();
      while (i < pieces_.size() && tls_stage_.size() < kTlsRecordBatch) {
        const auto& pc = pieces_[i];
        const char* base = pc.chunk.bytes ? pc.chunk.bytes.get() : ctrl_.data();
        std::size_t take = std::min(pc.end - pc.begin - off, kTlsRecordBatch - tls_stage_.size());
        tls_stage_.append(base + pc.begin + off, take);
        off += take;
        if (pc.begin + off == pc.end) {
          ++i;
          off = 0;
        }
      }
      auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(tls_stage_), kTuple);
      (void)n;
      if (ec) co_return false;
    }
    co_return true;
  } else {
    bufs_.clear();
    for (const auto& pc : pieces_) {
      const char* base = pc.chunk.bytes ? pc.chunk.bytes.get() : ctrl_.data();
      bufs_.emplace_back(base + pc.begin, pc.end - pc.begin);
    }
    auto [ec, n] = co_await asio::async_write(stream_, bufs_, whole_writes, kTuple);
    (void)n;
    co_return !ec;
  }
}

template <class Stream>
asio::awaitable<void> H2Connection<Stream>::writer() {
  for (;;) {
    if (peer_gone_ || dead_) break;
    fill();
    if (out_bytes_ == 0) {
      if (peer_gone_ || reading_done_) break;
      if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) break;
      wake_.expires_at(TimePoint::max());
      co_await wake_.async_wait(kTuple);
      continue;
    }
    writing_ = true;
    write_started_ = SteadyClock::now();
    const bool ok = co_await write_out();
    writing_ = false;
    clear_out();
    if (!ok) {
      peer_gone_ = true;
      break;
    }
  }
  writer_done_ = true;
  clear_out();
  // Nothing more will be written: end the reader too (it may be waiting on a silent peer).
  beast::error_code ec;
  lowest_socket(stream_).shutdown(tcp::socket::shutdown_both, ec);
  lowest_socket(stream_).cancel(ec);
  writer_exit_.cancel();
}

// Deadlines: a write that takes longer than timeouts.send (a peer that never reads)
// ends the connection; with no request being answered for timeouts.idle, GOAWAY.
template <class Stream>
asio::awaitable<void> H2Connection<Stream>::watchdog() {
  const auto send = std::chrono::duration_cast<Duration>(cfg_.timeouts.send);
  const auto idle = std::chrono::duration_cast<Duration>(cfg_.timeouts.idle);
  for (;;) {
    if (dead_ || writer_done_) co_return;
    const auto now = SteadyClock::now();
    if (writing_ && now - write_started_ >= send) {
      spdlog::debug("h2 {}: send timeout, closing", remote_.to_string());
      hard_close();
      co_return;
    }
    if (answering_ == 0 && now - idle_since_ >= idle) {
      if (!goaway_sent_) {
        // Streams still receiving their header block or body are given up with the connection.
        goaway_sent_ = true;
        nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
        kick();
      } else if (!writing_) {
        hard_close();  // GOAWAY sent long ago and the peer still holds streams open
        co_return;
      }
      idle_since_ = now;
    }
    TimePoint next = now + std::min(send, idle);
    if (writing_) next = std::min(next, write_started_ + send);
    if (answering_ == 0) next = std::min(next, idle_since_ + idle);
    watchdog_timer_.expires_at(next);
    co_await watchdog_timer_.async_wait(kTuple);
  }
}

}  // namespace

asio::awaitable<void> run_h2_session(TcpStream stream, std::string_view prefix, const SessionEnv& env,
                                     ConnectionSet& connections) {
  auto conn = std::make_shared<H2Connection<TcpStream>>(std::move(stream), env, connections);
  co_await conn->run(prefix);
}

asio::awaitable<void> run_h2_session(TlsStream stream, const SessionEnv& env, ConnectionSet& connections) {
  auto conn = std::make_shared<H2Connection<TlsStream>>(std::move(stream), env, connections);
  co_await conn->run({});
}

}  // namespace hlscache
