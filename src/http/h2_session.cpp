#include "core/spawn.hpp"
#include "http/h2_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include <array>

#include "http/body_writer.hpp"
#include "http/h2_codec.hpp"
#include "http/h2_exchange.hpp"
#include "http/orphaned_fetches.hpp"

namespace hlscache {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kTlsRecordBatch = 64 * 1024;  // TLS: staged plaintext per write

template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

asio::ip::address remote_of(auto& stream) {
  beast::error_code ec;
  return lowest_socket(stream).remote_endpoint(ec).address();
}

// The connection: the socket's reader and writer, the deadlines, the drain handle;
// frames are the codec's, each request's life is its exchange's.
template <class Stream>
class H2Connection : public std::enable_shared_from_this<H2Connection<Stream>>, public H2ServerCodec::Owner {
 public:
  H2Connection(Stream stream, const SessionEnv& env, ConnectionSet& connections)
      : stream_(std::move(stream)),
        env_(env),
        config_(env.current_config()),
        cfg_(*config_),
        connections_(connections),
        remote_(remote_of(stream_)),
        codec_(stream_.get_executor(), *this, cfg_, *env.metrics, remote_),
        orphans_(cfg_.http2.max_orphaned_fetches, cfg_.http2.max_concurrent_streams),
        // No send deadline of the writer's own: the watchdog bounds every write. DATA
        // payloads in the page store are written with writev, not sendfile (yet).
        writer_(stream_, *env.metrics, nullptr, cfg_.timeouts.send, /*sendfile=*/false),
        watchdog_timer_(stream_.get_executor()),
        writer_exit_(stream_.get_executor()) {
    beast::error_code ec;
    lowest_socket(stream_).set_option(tcp::no_delay(true), ec);
    // Synchronous writes on clear TCP never block (BodyWriter); Asio's own async
    // operations keep working as before in this mode.
    if constexpr (!kIsTls<Stream>) lowest_socket(stream_).non_blocking(true, ec);
    tcp_layer(stream_).expires_never();  // our own deadlines: reader and writer run at once
  }
  ~H2Connection() {
    connections_.remove(&handle_);  // run() did already unless its frame was destroyed mid-way (shutdown)
  }

  asio::awaitable<void> run(std::string_view prefix);

  // H2ServerCodec::Owner
  void dispatch(const std::shared_ptr<H2Stream>& st) override;
  void make_request_body(H2Stream& st) override;
  void await_body(const std::shared_ptr<H2Stream>& st) override;
  void stream_closed(H2Stream& st) override;

 private:
  using Self = H2Connection<Stream>;

  void kick() { codec_.driver().kick(); }
  void hard_close();
  asio::awaitable<void> reader();
  asio::awaitable<void> writer();
  asio::awaitable<void> watchdog();
  asio::awaitable<bool> write_out(const H2OutBatch& batch);

  Stream stream_;
  const SessionEnv& env_;
  const ConfigPtr config_;  // this connection's snapshot: a reload applies to the connections after it
  const Config& cfg_;
  ConnectionSet& connections_;
  ConnectionHandle handle_;
  asio::ip::address remote_;
  H2ServerCodec codec_;
  std::size_t answering_ = 0;  // dispatched streams not yet closed
  TimePoint idle_since_{};
  OrphanedFetches orphans_;  // http2.max_orphaned_fetches
  BodyWriter<Stream> writer_;

  std::vector<asio::const_buffer> bufs_;
  std::string tls_stage_;
  std::array<char, 16 * 1024> rbuf_{};

  asio::steady_timer watchdog_timer_;
  asio::steady_timer writer_exit_;     // run() waits on it for the writer to finish
  bool peer_gone_ = false;   // EOF or an I/O error: nothing more can be sent
  bool reading_done_ = false;  // the reader stopped: flush what is queued, then end
  bool writer_done_ = false;
};

// ---------------------------------------------------------------- lifecycle

template <class Stream>
asio::awaitable<void> H2Connection<Stream>::run(std::string_view prefix) {
  ProtocolScope counted(*env_.metrics, Metrics::Protocol::http2);
  if (!codec_.start()) {
    spdlog::error("h2: cannot create an nghttp2 session");
    co_return;
  }
  handle_.close = [this] { codec_.goaway(); };
  handle_.drain = [this] { codec_.goaway(); };
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
  if (!prefix.empty()) {
    ok = codec_.feed(prefix.data(), prefix.size());
    if (codec_.out_of_memory()) peer_gone_ = true;
  }
  if (ok) co_await reader();
  reading_done_ = true;

  // Let the writer flush what is queued (a GOAWAY, the last responses); it stops at
  // the send deadline, when the peer is gone, or once nghttp2 has nothing left.
  kick();
  if (!writer_done_) co_await writer_exit_.async_wait(kTuple);
  codec_.close();
  connections_.remove(&handle_);
  for (auto& [id, st] : codec_.streams())
    if (st->body) st->body->abort();
  codec_.streams().clear();
  watchdog_timer_.cancel();
  beast::error_code ec;
  lowest_socket(stream_).shutdown(tcp::socket::shutdown_both, ec);
  lowest_socket(stream_).close(ec);
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
    const bool fed = codec_.feed(rbuf_.data(), n);
    if (codec_.out_of_memory()) peer_gone_ = true;
    kick();
    if (!fed || nghttp2_session_want_read(codec_.session()) == 0) break;
  }
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
  asio::co_spawn(stream_.get_executor(),
                 run_h2_exchange(this->shared_from_this(), H2ExchangeScope{env_, cfg_, codec_, orphans_}, st),
                 [](std::exception_ptr e) {
                   if (!e) return;
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& err) {
                     spdlog::error("h2 stream task ended by an exception: {}", err.what());
                   }
                 });
}

template <class Stream>
void H2Connection<Stream>::stream_closed(H2Stream& st) {
  if (st.abandoned) note_h2_orphan(orphans_, st);  // its handler may have started an upstream fetch nobody will read
  if (st.dispatched) {
    if (--answering_ == 0) idle_since_ = SteadyClock::now();
    handle_.busy = answering_ > 0;
  }
  if (st.responded) finish_h2_exchange(env_, st);
}

// An ingest request's body: DATA is queued for the handler, and the flow-control
// window reopens (nghttp2_session_consume, outside any callback) as it reads.
template <class Stream>
void H2Connection<Stream>::make_request_body(H2Stream& st) {
  std::weak_ptr<Self> weak = this->shared_from_this();
  const std::int32_t id = st.id;
  st.body = std::make_unique<H2RequestBody>(stream_.get_executor(), [weak, id](std::size_t n) {
    auto c = weak.lock();
    if (!c) return;
    c->codec_.consume(id, n);
  });
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
    if (c->codec_.closed() || s->closed) co_return;
    nghttp2_session_resume_data(c->codec_.session(), s->id);
    c->kick();
  };
  asio::co_spawn(stream_.get_executor(), task(this->shared_from_this(), st), log_escape("HTTP/2 stream"));
}

// ---------------------------------------------------------------- writing

template <class Stream>
asio::awaitable<bool> H2Connection<Stream>::write_out(const H2OutBatch& batch) {
  if constexpr (kIsTls<Stream>) {
    // TLS encrypts a copy anyway: stage the batch in record-sized runs so that frame
    // headers do not become TLS records of their own.
    const auto& pieces = batch.pieces();
    std::size_t i = 0, off = 0;
    while (i < pieces.size()) {
      tls_stage_.clear();
      while (i < pieces.size() && tls_stage_.size() < kTlsRecordBatch) {
        const auto& pc = pieces[i];
        const char* base = batch.base(pc);
        std::size_t take = std::min(pc.end - pc.begin - off, kTlsRecordBatch - tls_stage_.size());
        tls_stage_.append(base + pc.begin + off, take);
        off += take;
        if (pc.begin + off == pc.end) {
          ++i;
          off = 0;
        }
      }
      bufs_.clear();
      bufs_.emplace_back(asio::buffer(tls_stage_));
      const bool ok = co_await writer_.write(bufs_);
      if (!ok) co_return false;
    }
    co_return true;
  } else {
    // Clear TCP: frame headers and DATA payloads (the body's chunks) in one gather write.
    bufs_.clear();
    batch.to_buffers(bufs_);
    co_return co_await writer_.write(bufs_);
  }
}

template <class Stream>
asio::awaitable<void> H2Connection<Stream>::writer() {
  struct Transport {
    Self& c;
    bool stop() const { return c.peer_gone_ || c.codec_.closed(); }
    bool stop_when_idle() const { return c.peer_gone_ || c.reading_done_; }
    asio::awaitable<bool> write(const H2OutBatch& batch) { return c.write_out(batch); }
  } t{*this};
  const auto end = co_await codec_.driver().flush(t);
  if (end == H2Driver::FlushEnd::send_failed)
    spdlog::debug("h2 {}: mem_send: {}", remote_.to_string(), nghttp2_strerror(codec_.driver().send_error()));
  if (end == H2Driver::FlushEnd::send_failed || end == H2Driver::FlushEnd::write_failed) peer_gone_ = true;
  writer_done_ = true;
  codec_.driver().out().clear();
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
    if (codec_.closed() || writer_done_) co_return;
    const auto now = SteadyClock::now();
    const bool writing = codec_.driver().writing();
    const TimePoint write_started = codec_.driver().write_started();
    if (writing && now - write_started >= send) {
      spdlog::debug("h2 {}: send timeout, closing", remote_.to_string());
      hard_close();
      co_return;
    }
    if (answering_ == 0 && now - idle_since_ >= idle) {
      if (!codec_.goaway_sent()) {
        // Streams still receiving their header block or body are given up with the connection.
        codec_.terminate(NGHTTP2_NO_ERROR);
      } else if (!writing) {
        hard_close();  // GOAWAY sent long ago and the peer still holds streams open
        co_return;
      }
      idle_since_ = now;
    }
    TimePoint next = now + std::min(send, idle);
    if (writing) next = std::min(next, write_started + send);
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
