#include "support/fake_h2_origin.hpp"
#include "support/log_exception.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <nghttp2/nghttp2.h>

#include <array>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

namespace hlscache::test {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kLogLimit = 1000;
constexpr auto kStopWait = std::chrono::seconds(5);

// The nghttp2 name/value list of `fields` (which must outlive it).
std::vector<nghttp2_nv> nv_list(H2Fields& fields) {
  std::vector<nghttp2_nv> out;
  for (auto& [k, v] : fields)
    out.push_back({reinterpret_cast<std::uint8_t*>(k.data()), reinterpret_cast<std::uint8_t*>(v.data()), k.size(),
                   v.size(), NGHTTP2_NV_FLAG_NONE});
  return out;
}

}  // namespace

struct FakeH2Origin::Impl {
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::unordered_map<std::string, H2OriginReply> replies;
  std::deque<H2OriginRequest> log;
  std::size_t connections = 0;
  bool thread_done = false;

  std::uint16_t port = 0;
  std::unique_ptr<asio::io_context> io = std::make_unique<asio::io_context>(1);
  std::optional<tcp::acceptor> acceptor;
  std::thread thread;

  ~Impl() {
    acceptor.reset();
    io.reset();
  }

  H2OriginReply lookup(const std::string& path) {
    std::lock_guard lock(mu);
    if (auto it = replies.find(path); it != replies.end()) return it->second;
    H2OriginReply nf;
    nf.status = 404;
    nf.body = "not found\n";
    return nf;
  }

  // One connection's nghttp2 session; callbacks only record, answers are submitted after mem_recv.
  struct Conn {
    Impl* origin = nullptr;
    nghttp2_session* session = nullptr;
    struct Stream {
      H2OriginRequest request;
      std::string body;      // the final response's body
      std::size_t sent = 0;  // how much of it went out
    };
    std::map<std::int32_t, Stream> streams;
    std::vector<std::int32_t> complete;  // requests received in full, to answer

    ~Conn() {
      if (session != nullptr) nghttp2_session_del(session);
    }

    static Conn& self(void* p) { return *static_cast<Conn*>(p); }

    static int on_begin_headers(nghttp2_session*, const nghttp2_frame* f, void* p) {
      if (f->hd.type == NGHTTP2_HEADERS) self(p).streams[f->hd.stream_id];
      return 0;
    }
    static int on_header(nghttp2_session*, const nghttp2_frame* f, const std::uint8_t* name, std::size_t namelen,
                         const std::uint8_t* value, std::size_t valuelen, std::uint8_t, void* p) {
      auto& st = self(p).streams[f->hd.stream_id];
      std::string n(reinterpret_cast<const char*>(name), namelen), v(reinterpret_cast<const char*>(value), valuelen);
      if (n == ":path") st.request.path = v;
      st.request.fields.emplace_back(std::move(n), std::move(v));
      return 0;
    }
    static int on_frame_recv(nghttp2_session*, const nghttp2_frame* f, void* p) {
      if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) && (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
        self(p).complete.push_back(f->hd.stream_id);
      return 0;
    }
    static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t, void* p) {
      self(p).streams.erase(id);
      return 0;
    }
    static ssize_t read_body(nghttp2_session*, std::int32_t id, std::uint8_t* buf, std::size_t length,
                             std::uint32_t* flags, nghttp2_data_source*, void* p) {
      auto it = self(p).streams.find(id);
      if (it == self(p).streams.end()) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
      auto& st = it->second;
      const std::size_t n = std::min(length, st.body.size() - st.sent);
      std::memcpy(buf, st.body.data() + st.sent, n);
      st.sent += n;
      if (st.sent == st.body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(n);
    }

    bool start() {
      nghttp2_session_callbacks* cb = nullptr;
      if (nghttp2_session_callbacks_new(&cb) != 0) return false;
      nghttp2_session_callbacks_set_on_begin_headers_callback(cb, &Conn::on_begin_headers);
      nghttp2_session_callbacks_set_on_header_callback(cb, &Conn::on_header);
      nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &Conn::on_frame_recv);
      nghttp2_session_callbacks_set_on_stream_close_callback(cb, &Conn::on_stream_close);
      nghttp2_option* opt = nullptr;
      nghttp2_option_new(&opt);
      nghttp2_option_set_no_http_messaging(opt, 1);  // record what the client sent, however wrong
      const int rv = nghttp2_session_server_new2(&session, cb, this, opt);
      nghttp2_option_del(opt);
      nghttp2_session_callbacks_del(cb);
      if (rv != 0) return false;
      nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
      return nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, settings, 1) == 0;
    }

    void answer(std::int32_t id) {
      auto it = streams.find(id);
      if (it == streams.end()) return;
      auto& st = it->second;
      {
        std::lock_guard lock(origin->mu);
        origin->log.push_back(st.request);
        if (origin->log.size() > kLogLimit) origin->log.pop_front();
      }
      origin->cv.notify_all();
      const H2OriginReply reply = origin->lookup(st.request.path);
      for (const auto& [status, fields] : reply.interim) {
        H2Fields all{{":status", std::to_string(status)}};
        all.insert(all.end(), fields.begin(), fields.end());
        auto nva = nv_list(all);
        nghttp2_submit_headers(session, NGHTTP2_FLAG_NONE, id, nullptr, nva.data(), nva.size(), nullptr);
      }
      H2Fields all{{":status", std::to_string(reply.status)}, {"content-length", std::to_string(reply.body.size())}};
      all.insert(all.end(), reply.headers.begin(), reply.headers.end());
      auto nva = nv_list(all);
      st.body = reply.body;
      nghttp2_data_provider prd{};
      prd.read_callback = &Conn::read_body;
      nghttp2_submit_response(session, id, nva.data(), nva.size(), reply.body.empty() ? nullptr : &prd);
    }
  };

  static asio::awaitable<bool> flush(tcp::socket& s, Conn& c) {
    std::string out;
    for (;;) {
      const std::uint8_t* data = nullptr;
      const auto n = nghttp2_session_mem_send(c.session, &data);
      if (n < 0) co_return false;
      if (n == 0) break;
      out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (out.empty()) co_return true;
    auto [ec, written] = co_await asio::async_write(s, asio::buffer(out), kTuple);
    (void)written;
    co_return !ec;
  }

  asio::awaitable<void> session(tcp::socket s) {
    Conn c;
    c.origin = this;
    if (!c.start()) co_return;
    std::array<char, 16 * 1024> buf{};
    if (!co_await flush(s, c)) co_return;
    for (;;) {
      auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), kTuple);
      if (ec) break;
      if (nghttp2_session_mem_recv(c.session, reinterpret_cast<const std::uint8_t*>(buf.data()), n) < 0) break;
      for (auto id : std::exchange(c.complete, {})) c.answer(id);
      if (!co_await flush(s, c)) break;
      if (nghttp2_session_want_read(c.session) == 0 && nghttp2_session_want_write(c.session) == 0) break;
    }
    boost::system::error_code ignored;
    s.shutdown(tcp::socket::shutdown_both, ignored);
    s.close(ignored);
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, s] = co_await acceptor->async_accept(kTuple);
      if (ec) co_return;
      {
        std::lock_guard lock(mu);
        ++connections;
      }
      asio::co_spawn(*io, session(std::move(s)), log_exception("FakeH2Origin"));
    }
  }
};

FakeH2Origin::FakeH2Origin() : impl_(std::make_shared<Impl>()) {
  Impl& o = *impl_;
  o.acceptor.emplace(*o.io);
  const tcp::endpoint ep(asio::ip::make_address_v4("127.0.0.1"), 0);
  o.acceptor->open(ep.protocol());
  o.acceptor->set_option(asio::socket_base::reuse_address(true));
  o.acceptor->bind(ep);
  o.acceptor->listen();
  o.port = o.acceptor->local_endpoint().port();
  asio::co_spawn(*o.io, o.accept_loop(), log_exception("FakeH2Origin"));
  o.thread = std::thread([self = impl_] {
    try {
      self->io->run();
    } catch (const std::exception& x) {
      std::fprintf(stderr, "FakeH2Origin: io_context stopped by exception: %s\n", x.what());
    }
    {
      std::lock_guard lock(self->mu);
      self->thread_done = true;
    }
    self->cv.notify_all();
  });
}

FakeH2Origin::~FakeH2Origin() {
  Impl& o = *impl_;
  o.io->stop();
  std::unique_lock lock(o.mu);
  const bool done = o.cv.wait_for(lock, kStopWait, [&] { return o.thread_done; });
  lock.unlock();
  if (done) o.thread.join();
  else o.thread.detach();
}

std::uint16_t FakeH2Origin::port() const { return impl_->port; }

void FakeH2Origin::set(std::string path, H2OriginReply reply) {
  std::lock_guard lock(impl_->mu);
  impl_->replies[std::move(path)] = std::move(reply);
}

std::vector<H2OriginRequest> FakeH2Origin::log() const {
  std::lock_guard lock(impl_->mu);
  return {impl_->log.begin(), impl_->log.end()};
}

std::size_t FakeH2Origin::connections_accepted() const {
  std::lock_guard lock(impl_->mu);
  return impl_->connections;
}

}  // namespace hlscache::test
