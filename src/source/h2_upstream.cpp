#include "core/spawn.hpp"
#include "source/h2_upstream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <fmt/format.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <array>
#include <cstring>
#include <map>
#include <unordered_map>

#include "core/h2_driver.hpp"
#include "core/strings.hpp"
#include "source/tls_client.hpp"
#include "source/upstream_request.hpp"

namespace hlscache {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxResponseHeader = 64 * 1024;
constexpr std::size_t kMaxInterimResponses = 16;  // 1xx HEADERS before the final one, at most

Error upstream_error(Errc code, std::string msg, bool retryable = true) {
  return Error::make(ErrorSource::upstream, code, std::move(msg), retryable);
}

// One request's state, filled by callbacks and read by the coroutine that waits on it.
struct ClientStream {
  explicit ClientStream(const asio::any_io_executor& ex) : signal(ex) {}
  std::int32_t id = -1;
  ResponseHead head;
  std::size_t header_bytes = 0;
  bool head_done = false;
  std::size_t interims_seen = 0;       // 1xx heads read past
  std::vector<ResponseHead> interims;  // 103s not yet handed to the request's sink
  std::string pending;  // DATA received, not yet copied into the Fetch
  bool ended = false;   // END_STREAM received
  bool closed = false;
  std::optional<Error> error;
  asio::steady_timer signal;  // the waiting coroutine sleeps on it; wake() cancels it
  void wake() { signal.cancel(); }
  void fail(Error e) {
    if (!error) error = std::move(e);
    wake();
  }
};

class Conn : public std::enable_shared_from_this<Conn>, public H2Driver::Events {
 public:
  enum class State { connecting, ready, dead };

  Conn(asio::any_io_executor ex, std::string host_id, Metrics* metrics)
      : ex_(ex), host_id_(std::move(host_id)), metrics_(metrics), ready_signal_(ex) {}
  virtual ~Conn() = default;

  State state() const { return state_; }
  bool usable() const {
    if (state_ != State::ready || goaway_ || !driver_) return false;
    if (!got_settings_) return true;  // the server's limit is not known yet: nghttp2 queues beyond it
    const auto max = nghttp2_session_get_remote_settings(session(), NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
    return streams_.size() < max;
  }
  std::size_t active() const { return streams_.size(); }
  asio::steady_timer& ready_signal() { return ready_signal_; }
  const std::string& host_id() const { return host_id_; }

  // Connects (TCP, TLS if any) within `deadline`; then starts the reader and writer.
  asio::awaitable<Status> open(const HostPort& host, const H2UpstreamSettings& s, asio::ssl::context* tls);

  std::shared_ptr<ClientStream> submit(const H2UpstreamRequest& req, const std::string& scheme,
                                       const std::string& authority) {
    std::vector<std::pair<std::string, std::string>> fields{
        {":method", "GET"}, {":scheme", scheme}, {":authority", authority}, {":path", req.target}};
    for (auto& f : upstream_request::h2_fields(req.headers)) fields.push_back(std::move(f));
    std::vector<nghttp2_nv> nva;
    H2Driver::to_nv(fields, nva);
    auto st = std::make_shared<ClientStream>(ex_);
    const std::int32_t id = nghttp2_submit_request(session(), nullptr, nva.data(), nva.size(), nullptr, st.get());
    if (id < 0) return nullptr;
    st->id = id;
    streams_[id] = st;
    kick();
    return st;
  }

  void consume(std::int32_t id, std::size_t n) {
    if (state_ == State::dead || !driver_) return;
    nghttp2_session_consume(session(), id, n);
    kick();
  }
  void cancel(std::int32_t id) {
    if (state_ == State::dead || !driver_) return;
    nghttp2_submit_rst_stream(session(), NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    kick();
  }
  void shutdown() {
    if (state_ != State::ready) return;
    goaway_ = true;
    nghttp2_session_terminate_session(session(), NGHTTP2_NO_ERROR);
    kick();
  }

 protected:
  virtual asio::awaitable<std::pair<beast::error_code, std::size_t>> read_some(asio::mutable_buffer b) = 0;
  // The whole batch (the client sends control frames only: one piece, its bytes copied).
  virtual asio::awaitable<beast::error_code> write(const H2OutBatch& batch) = 0;
  virtual void close_socket() = 0;
  bool start_session(const H2UpstreamSettings& s);
  nghttp2_session* session() const { return driver_->session(); }
  void kick() {
    if (driver_) driver_->kick();
  }
  void die(const std::string& why);
  asio::awaitable<void> reader();
  asio::awaitable<void> writer();

  // H2Driver::Events: they only record; streams over a limit are reset in after_recv().
  int on_header(const nghttp2_frame& f, std::string_view n, std::string_view v) override;
  int on_frame_recv(const nghttp2_frame& f) override;
  int on_data_chunk_recv(std::int32_t id, std::string_view data) override;
  int on_stream_close(std::int32_t id, std::uint32_t code) override;
  void after_recv() override {
    for (auto id : to_reset_) nghttp2_submit_rst_stream(session(), NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    to_reset_.clear();
  }

  asio::any_io_executor ex_;
  std::string host_id_;
  Metrics* metrics_;
  std::unique_ptr<H2Driver> driver_;
  State state_ = State::connecting;
  bool goaway_ = false;
  bool got_settings_ = false;
  std::unordered_map<std::int32_t, std::shared_ptr<ClientStream>> streams_;
  std::vector<std::int32_t> to_reset_;  // streams over a limit, reset after mem_recv
  asio::steady_timer ready_signal_;
  std::array<char, 16 * 1024> rbuf_{};
};

bool Conn::start_session(const H2UpstreamSettings& s) {
  H2Driver::Settings ds;
  ds.server = false;
  ds.manual_window = true;  // the window reopens as bodies are copied into fetches
  ds.batch_bytes = 64 * 1024;
  driver_ = std::make_unique<H2Driver>(ex_, *this, ds);
  if (!driver_->ok()) {
    driver_.reset();
    return false;
  }
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, s.window_bytes},
  };
  nghttp2_submit_settings(session(), NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session(), NGHTTP2_FLAG_NONE, 0, static_cast<std::int32_t>(s.window_bytes));
  return true;
}

void Conn::die(const std::string& why) {
  if (state_ == State::dead) return;
  state_ = State::dead;
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, st] : streams)
    st->fail(upstream_error(Errc::io, fmt::format("{}: HTTP/2 connection lost: {}", host_id_, why),
                            /*retryable=*/!st->head_done));
  close_socket();
  kick();
  ready_signal_.cancel();
}

asio::awaitable<void> Conn::reader() {
  auto keep = shared_from_this();
  for (;;) {
    auto [ec, n] = co_await read_some(asio::buffer(rbuf_));
    if (ec) {
      die(ec == asio::error::eof ? "closed by the server" : ec.message());
      co_return;
    }
    const auto rv = driver_->recv(rbuf_.data(), n);  // then after_recv(), and the writer is woken
    if (rv < 0) {
      die(fmt::format("protocol error: {}", nghttp2_strerror(static_cast<int>(rv))));
      co_return;
    }
    if (!driver_->wants_io()) {
      die("the session ended (GOAWAY)");
      co_return;
    }
  }
}

asio::awaitable<void> Conn::writer() {
  auto keep = shared_from_this();
  struct Transport {
    Conn& c;
    beast::error_code ec;
    bool stop() const { return c.state_ == State::dead; }
    bool stop_when_idle() const { return false; }
    asio::awaitable<bool> write(const H2OutBatch& batch) {
      ec = co_await c.write(batch);
      co_return !ec;
    }
  } t{*this, {}};
  const auto end = co_await driver_->flush(t);
  switch (end) {
    case H2Driver::FlushEnd::stopped: break;
    case H2Driver::FlushEnd::session_over: die("the session ended"); break;
    case H2Driver::FlushEnd::send_failed: die(fmt::format("mem_send: {}", nghttp2_strerror(driver_->send_error()))); break;
    case H2Driver::FlushEnd::write_failed: die(t.ec.message()); break;
  }
}

int Conn::on_header(const nghttp2_frame& f, std::string_view n, std::string_view v) {
  if (f.hd.type != NGHTTP2_HEADERS) return 0;
  auto it = streams_.find(f.hd.stream_id);
  if (it == streams_.end() || it->second->head_done) return 0;  // trailers are ignored
  auto& st = *it->second;
  st.header_bytes += n.size() + v.size() + 32;
  if (st.header_bytes > kMaxResponseHeader) {
    if (!st.error) to_reset_.push_back(st.id);
    st.fail(upstream_error(Errc::protocol, fmt::format("{}: response header block over 64 KiB", host_id_)));
    return 0;
  }
  if (n == ":status") {
    st.head.status = 0;
    for (char ch : v) st.head.status = ch >= '0' && ch <= '9' ? st.head.status * 10 + (ch - '0') : -1000;
    return 0;
  }
  if (!n.empty() && n[0] == ':') return 0;
  if (n == "content-length") {
    std::uint64_t len = 0;
    for (char ch : v) len = len * 10 + static_cast<std::uint64_t>(ch - '0');  // nghttp2 checked it is a number
    st.head.content_length = len;
    return 0;
  }
  if (n == "server" || n == "host" || is_hop_by_hop(n)) return 0;
  st.head.headers.emplace_back(std::string(n), std::string(v));
  return 0;
}

int Conn::on_frame_recv(const nghttp2_frame& f) {
  if (f.hd.type == NGHTTP2_SETTINGS && !(f.hd.flags & NGHTTP2_FLAG_ACK)) got_settings_ = true;
  if (f.hd.type == NGHTTP2_GOAWAY) {
    goaway_ = true;  // streams above last_stream_id are closed (REFUSED_STREAM) by nghttp2
    return 0;
  }
  if (f.hd.type != NGHTTP2_HEADERS && f.hd.type != NGHTTP2_DATA) return 0;
  auto it = streams_.find(f.hd.stream_id);
  if (it == streams_.end()) return 0;
  auto& st = *it->second;
  if (f.hd.type == NGHTTP2_HEADERS && !st.head_done && !st.error) {  // a failed stream gets no head
    if (st.head.status >= 100 && st.head.status < 200) {  // informational: the real head follows (nghttp2 refuses 101)
      if (++st.interims_seen > kMaxInterimResponses) {
        if (!st.error) to_reset_.push_back(st.id);
        st.fail(upstream_error(Errc::protocol, fmt::format("{}: more than {} interim (1xx) responses", host_id_,
                                                           kMaxInterimResponses)));
        return 0;
      }
      if (st.head.status == 103) st.interims.push_back(std::move(st.head));
      st.head = ResponseHead{};
      st.header_bytes = 0;
    } else {
      st.head_done = true;
    }
  }
  if (f.hd.flags & NGHTTP2_FLAG_END_STREAM) st.ended = true;
  st.wake();
  return 0;
}

int Conn::on_data_chunk_recv(std::int32_t id, std::string_view data) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return 0;
  it->second->pending.append(data);
  it->second->wake();
  return 0;
}

int Conn::on_stream_close(std::int32_t id, std::uint32_t code) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return 0;
  auto st = std::move(it->second);
  streams_.erase(it);
  st->closed = true;
  if (!st->ended || code != NGHTTP2_NO_ERROR) {
    // REFUSED_STREAM (and anything before the head) is safe to retry elsewhere (RFC 9113 §8.7).
    const bool retryable = code == NGHTTP2_REFUSED_STREAM || !st->head_done;
    st->fail(upstream_error(Errc::protocol,
                            fmt::format("{}: stream reset: {}", host_id_, nghttp2_http2_strerror(code)), retryable));
  }
  st->wake();
  return 0;
}

template <class Stream>
class ConnOver final : public Conn {
 public:
  ConnOver(asio::any_io_executor ex, std::string host_id, Metrics* m, Stream s)
      : Conn(ex, std::move(host_id), m), stream_(std::move(s)) {}
  void begin(const H2UpstreamSettings& s) {
    beast::get_lowest_layer(stream_).expires_never();
    if (!start_session(s)) {
      die("cannot create an nghttp2 session");
      return;
    }
    state_ = State::ready;
    asio::co_spawn(ex_, reader(), log_escape("HTTP/2 upstream reader"));
    asio::co_spawn(ex_, writer(), log_escape("HTTP/2 upstream writer"));
  }

 protected:
  asio::awaitable<std::pair<beast::error_code, std::size_t>> read_some(asio::mutable_buffer b) override {
    auto [ec, n] = co_await stream_.async_read_some(b, kTuple);
    co_return std::pair{ec, n};
  }
  asio::awaitable<beast::error_code> write(const H2OutBatch& batch) override {
    bufs_.clear();
    batch.to_buffers(bufs_);
    auto [ec, n] = co_await asio::async_write(stream_, bufs_, kTuple);
    (void)n;
    co_return ec;
  }
  void close_socket() override {
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(stream_).socket().close(ec);
  }

 private:
  Stream stream_;
  std::vector<asio::const_buffer> bufs_;
};

class Response final : public H2UpstreamResponse {
 public:
  Response(std::shared_ptr<Conn> c, std::shared_ptr<ClientStream> s) : conn_(std::move(c)), st_(std::move(s)) {}
  ~Response() override {
    if (!st_->closed && !st_->ended) conn_->cancel(st_->id);
  }
  const ResponseHead& head() const override { return st_->head; }
  void cancel() override {
    if (!st_->closed) conn_->cancel(st_->id);
    st_->closed = true;
  }
  asio::awaitable<Status> read_body_into(ResponseSink& into, Duration idle, TimePoint deadline) override {
    for (;;) {
      if (!st_->pending.empty()) {
        std::string_view rest = st_->pending;
        const std::size_t n = rest.size();
        while (!rest.empty()) {
          auto [ptr, room] = into.writable();
          if (room == 0) {
            cancel();
            co_return Error::make(ErrorSource::upstream, Errc::too_large, "body over limits.max_object_bytes");
          }
          const std::size_t k = std::min(room, rest.size());
          std::memcpy(ptr, rest.data(), k);
          into.commit(k);
          rest.remove_prefix(k);
        }
        st_->pending.clear();
        conn_->consume(st_->id, n);
      }
      if (st_->error) co_return *st_->error;
      if (st_->ended) co_return Ok{};
      const auto now = SteadyClock::now();
      if (now >= deadline) {
        cancel();
        co_return Error::make(ErrorSource::upstream, Errc::timeout, "upstream body not complete in time");
      }
      st_->signal.expires_at(std::min(deadline, now + idle));
      auto [ec] = co_await st_->signal.async_wait(kTuple);
      if (!ec && st_->pending.empty() && !st_->ended && !st_->error) {
        cancel();
        co_return Error::make(ErrorSource::upstream, Errc::timeout, "upstream body idle too long");
      }
    }
  }

 private:
  std::shared_ptr<Conn> conn_;
  std::shared_ptr<ClientStream> st_;
};

}  // namespace

struct H2Upstream::Impl {
  Impl(asio::any_io_executor e, H2UpstreamSettings s, Metrics* m) : ex(std::move(e)), settings(std::move(s)), metrics(m) {}

  asio::any_io_executor ex;
  H2UpstreamSettings settings;
  Metrics* metrics;
  std::shared_ptr<asio::ssl::context> tls;
  std::string tls_error;
  std::map<std::string, std::vector<std::shared_ptr<Conn>>> conns;  // by host:port
  std::size_t opened = 0;

  void init_tls() {
    if (!settings.tls || tls || !tls_error.empty()) return;
    auto ctx = make_tls_client_context(settings.verify, settings.ca_file, std::string_view("\x02h2", 3));
    if (ctx) tls = std::move(*ctx);
    else tls_error = ctx.error().message;
  }

  asio::awaitable<Result<std::shared_ptr<Conn>>> connect(const HostPort& host) {
    const std::string id = host.to_string();
    const TimePoint deadline = SteadyClock::now() + settings.connect_timeout;
    tcp::resolver resolver(ex);
    auto [rec, results] = co_await resolver.async_resolve(host.host, std::to_string(host.port), kTuple);
    if (rec) co_return upstream_error(Errc::io, fmt::format("{}: resolve: {}", id, rec.message()));
    beast::tcp_stream tcp_s(ex);
    tcp_s.expires_at(deadline);
    auto [cec, ep] = co_await tcp_s.async_connect(results, kTuple);
    (void)ep;
    if (cec)
      co_return upstream_error(cec == beast::error::timeout ? Errc::timeout : Errc::connect_failed,
                               fmt::format("{}: connect: {}", id, cec.message()));
    beast::error_code ignored;
    tcp_s.socket().set_option(tcp::no_delay(true), ignored);
    if (metrics) metrics->upstream_connects.fetch_add(1, std::memory_order_relaxed);
    if (!settings.tls) {
      auto c = std::make_shared<ConnOver<beast::tcp_stream>>(ex, id, metrics, std::move(tcp_s));
      c->begin(settings);
      co_return std::shared_ptr<Conn>(c);
    }
    init_tls();
    if (!tls) co_return upstream_error(Errc::invalid_argument, tls_error, false);
    beast::ssl_stream<beast::tcp_stream> s(std::move(tcp_s), *tls);
    const std::string name = settings.server_name.empty() ? host.host : settings.server_name;
    prepare_tls_client(s.native_handle(), name, settings.verify);
    auto [hec] = co_await s.async_handshake(asio::ssl::stream_base::client, kTuple);
    if (hec) {
      const std::string why = tls_handshake_error(s.native_handle(), hec);
      co_return upstream_error(Errc::io, fmt::format("{}: TLS handshake: {}", id, why));
    }
    const unsigned char* alpn = nullptr;
    unsigned int alpn_len = 0;
    SSL_get0_alpn_selected(s.native_handle(), &alpn, &alpn_len);
    if (alpn_len != 2 || alpn[0] != 'h' || alpn[1] != '2')
      co_return upstream_error(Errc::protocol, fmt::format("{}: the server did not agree on h2 by ALPN", id), false);
    auto c = std::make_shared<ConnOver<beast::ssl_stream<beast::tcp_stream>>>(ex, id, metrics, std::move(s));
    c->begin(settings);
    co_return std::shared_ptr<Conn>(c);
  }

  // A ready connection with room for a stream, opening one if the host has fewer than allowed.
  asio::awaitable<Result<std::shared_ptr<Conn>>> pick(const HostPort& host) {
    const std::string id = host.to_string();
    for (int round = 0; round < 8; ++round) {
      auto& list = conns[id];
      std::erase_if(list, [](const auto& c) { return c->state() == Conn::State::dead; });
      std::shared_ptr<Conn> best, connecting, any_ready;
      for (auto& c : list) {
        if (c->state() == Conn::State::connecting) connecting = c;
        if (c->state() == Conn::State::ready) any_ready = c;
        if (c->usable() && (!best || c->active() < best->active())) best = c;
      }
      if (best) co_return best;
      if (connecting) {  // another fetch is opening one: wait for it (its timer is armed once, cancelled when done)
        co_await connecting->ready_signal().async_wait(kTuple);
        continue;
      }
      if (list.size() >= settings.max_connections_per_host && any_ready) co_return any_ready;  // nghttp2 queues
      // Open one; its placeholder makes concurrent fetches wait instead of opening more.
      auto placeholder = std::make_shared<ConnOver<beast::tcp_stream>>(ex, id, metrics, beast::tcp_stream(ex));
      placeholder->ready_signal().expires_after(settings.connect_timeout + std::chrono::seconds(1));
      list.push_back(placeholder);
      auto made = co_await connect(host);
      std::erase(conns[id], std::shared_ptr<Conn>(placeholder));
      placeholder->ready_signal().cancel();
      if (!made) co_return made.error();
      ++opened;
      conns[id].push_back(*made);
      co_return *made;
    }
    co_return upstream_error(Errc::io, fmt::format("{}: no HTTP/2 connection became ready", id));
  }
};

H2Upstream::H2Upstream(asio::any_io_executor ex, H2UpstreamSettings settings, Metrics* metrics)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(settings), metrics)) {}

H2Upstream::~H2Upstream() { close_all(); }

asio::awaitable<Result<std::shared_ptr<H2UpstreamResponse>>> H2Upstream::request(H2UpstreamRequest req) {
  auto impl = impl_;
  auto conn = co_await impl->pick(req.host);
  if (!conn) co_return conn.error();
  const std::string scheme = impl->settings.tls ? "https" : "http";
  const std::string authority = impl->settings.server_name.empty()
                                    ? req.host.to_string()
                                    : fmt::format("{}:{}", impl->settings.server_name, req.host.port);
  auto st = (*conn)->submit(req, scheme, authority);
  if (!st)
    co_return upstream_error(Errc::protocol, fmt::format("{}: cannot submit the request", req.host.to_string()));
  auto response = std::make_shared<Response>(*conn, st);
  // 103s are handed on here, on the fetch's coroutine, never from inside an nghttp2 callback.
  auto pass_interims = [&] {
    for (auto& h : st->interims)
      if (req.interim != nullptr) req.interim->interim(h.status, std::move(h.headers));
    st->interims.clear();
  };
  while (!st->head_done && !st->error) {
    pass_interims();
    if (SteadyClock::now() >= req.first_byte_deadline) {
      response->cancel();
      co_return upstream_error(Errc::timeout, fmt::format("{} {}: no response in time", req.host.to_string(), req.target));
    }
    st->signal.expires_at(req.first_byte_deadline);
    co_await st->signal.async_wait(kTuple);
  }
  if (st->error && !st->head_done) co_return *st->error;
  pass_interims();
  co_return std::shared_ptr<H2UpstreamResponse>(response);
}

std::size_t H2Upstream::connections_opened() const { return impl_->opened; }

std::size_t H2Upstream::connections_open() const {
  std::size_t n = 0;
  for (const auto& [id, list] : impl_->conns)
    for (const auto& c : list) n += c->state() == Conn::State::ready;
  return n;
}

void H2Upstream::close_all() {
  for (auto& [id, list] : impl_->conns)
    for (auto& c : list) c->shutdown();
}

}  // namespace hlscache
