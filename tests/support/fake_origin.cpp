#include "support/fake_origin.hpp"
#include "support/log_exception.hpp"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace hlscache::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kLogLimit = 10000;
constexpr std::size_t kHeaderLimit = 64 * 1024;
constexpr std::uint64_t kBodyLimit = 64ull * 1024 * 1024;
constexpr auto kStopWait = std::chrono::seconds(5);  // bound on joining the origin's thread

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool has_header(const OriginReply& r, std::string_view name) {
  return std::any_of(r.headers.begin(), r.headers.end(), [&](const auto& h) { return iequals(h.first, name); });
}

void close_socket(tcp::socket& s) {
  boost::system::error_code ignored;
  s.shutdown(tcp::socket::shutdown_send, ignored);
  s.close(ignored);
}

}  // namespace

std::string OriginRequest::path() const { return target.substr(0, target.find('?')); }

std::optional<std::string> OriginRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return std::nullopt;
}

struct FakeOrigin::Impl {
  struct Hold {
    bool released = false;
    std::vector<std::shared_ptr<asio::steady_timer>> waiters;  // parked answers, woken by release()
  };

  // Everything below `mu` is shared with the test thread.
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::unordered_map<std::string, OriginReply> replies;
  Handler handler;
  std::unordered_map<std::string, Hold> holds;
  std::unordered_map<std::string, std::size_t> counts;
  std::unordered_map<std::string, Clock::time_point> last_byte;
  std::deque<OriginRequest> log;
  std::size_t total = 0, in_flight = 0, max_in_flight = 0, connections = 0, idle_closes = 0, reused_requests = 0;
  std::chrono::milliseconds idle_close{0};
  bool advertise_idle = false;
  bool thread_done = false;

  std::uint16_t port = 0;
  std::unique_ptr<asio::io_context> io = std::make_unique<asio::io_context>(1);
  std::optional<tcp::acceptor> acceptor;
  std::thread thread;

  ~Impl() {
    // Destroys parked coroutines (their sockets close) while the state they touch still exists.
    acceptor.reset();
    io.reset();
  }

  // Counts a request from its arrival until its answer is (about to be) fully written, or abandoned.
  class InFlight {
   public:
    InFlight(Impl& origin, const OriginRequest& req) : o_(origin), path_(req.path()) {
      {
        std::lock_guard lock(o_.mu);
        ++o_.counts[path_];
        ++o_.total;
        if (req.nth > 1) ++o_.reused_requests;
        o_.max_in_flight = std::max(o_.max_in_flight, ++o_.in_flight);
        o_.log.push_back(req);
        if (o_.log.size() > kLogLimit) o_.log.pop_front();
      }
      o_.cv.notify_all();
    }
    ~InFlight() { leave(false); }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

    // Called just before the final write is issued, so the test thread sees the stamp (and the
    // lower in-flight count) no later than the client sees the last byte.
    void answered() { leave(true); }

   private:
    void leave(bool stamp) {
      if (left_) return;
      left_ = true;
      std::lock_guard lock(o_.mu);
      --o_.in_flight;
      if (stamp) o_.last_byte[path_] = Clock::now();
    }
    Impl& o_;
    std::string path_;
    bool left_ = false;
  };

  OriginReply lookup(const OriginRequest& req) {
    Handler h;
    {
      std::lock_guard lock(mu);
      h = handler;
    }
    if (h) {
      if (auto r = h(req)) return std::move(*r);
    }
    std::lock_guard lock(mu);
    if (auto it = replies.find(req.path()); it != replies.end()) return it->second;
    OriginReply nf;
    nf.status = 404;
    nf.headers = {{"Content-Type", "text/plain"}};
    nf.body = "not found\n";
    return nf;
  }

  asio::awaitable<void> wait_hold(const std::string& name) {
    for (;;) {
      std::shared_ptr<asio::steady_timer> timer;
      {
        std::lock_guard lock(mu);
        auto& h = holds[name];
        if (h.released) co_return;
        timer = std::make_shared<asio::steady_timer>(*io, Clock::time_point::max());
        h.waiters.push_back(timer);
      }
      cv.notify_all();
      co_await timer->async_wait(kTuple);  // release() moves the expiry to now; then re-check
    }
  }

  static asio::awaitable<void> sleep(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(kTuple);
  }

  static asio::awaitable<bool> write(tcp::socket& s, std::string_view bytes) {
    auto [ec, n] = co_await asio::async_write(s, asio::buffer(bytes.data(), bytes.size()), kTuple);
    co_return !ec;
  }

  // Writes the answer as a list of writes (header, body pieces, chunked terminator) so that the last
  // one is known: `counted.answered()` runs right before it. False when the connection must close.
  asio::awaitable<bool> respond(tcp::socket& s, const OriginRequest& req, const OriginReply& r, bool keep_alive,
                                InFlight& counted) {
    const bool bodiless_status = r.status == 204 || r.status == 304 || r.status / 100 == 1;
    const bool no_body = req.method == "HEAD" || bodiless_status;
    const bool framing_given = has_header(r, "Content-Length") || has_header(r, "Transfer-Encoding");
    const bool chunked = r.chunked && !no_body;
    std::string head = "HTTP/1.1 " + std::to_string(r.status) + " " +
                       std::string(http::obsolete_reason(static_cast<http::status>(r.status))) + "\r\n";
    for (const auto& [k, v] : r.headers) head += k + ": " + v + "\r\n";
    if (!framing_given && !bodiless_status) {
      if (r.chunked)
        head += "Transfer-Encoding: chunked\r\n";
      else
        head += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
    }
    if (!has_header(r, "Connection")) head += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
    if (keep_alive && !has_header(r, "Keep-Alive")) {
      std::lock_guard lock(mu);
      if (advertise_idle && idle_close.count() > 0)
        head += "Keep-Alive: timeout=" + std::to_string(std::max<long long>(1, idle_close.count() / 1000)) + "\r\n";
    }
    head += "\r\n";

    for (const auto& early : r.interim) {
      const bool sent = co_await write(s, early);
      if (!sent) co_return false;
      if (r.interim_pause.count() > 0) co_await sleep(r.interim_pause);
    }
    std::vector<std::string> writes{std::move(head)};
    const std::size_t first_piece = 1;  // index in `writes` of the first body piece
    if (!no_body) {
      const std::string_view body = r.body;
      const std::size_t limit = r.cut_after ? std::min(*r.cut_after, body.size()) : body.size();
      const std::size_t piece = r.slow_chunk > 0 ? r.slow_chunk : std::max<std::size_t>(body.size(), 1);
      for (std::size_t pos = 0; pos < limit; pos += piece) {
        const std::size_t whole = std::min(piece, body.size() - pos);  // this piece as declared
        const std::size_t sent = std::min(whole, limit - pos);          // ...and as actually sent
        std::string out;
        if (chunked) {
          char size_line[32];
          std::snprintf(size_line, sizeof size_line, "%zx\r\n", whole);
          out += size_line;
        }
        out.append(body.substr(pos, sent));
        if (chunked && sent == whole) out += "\r\n";
        writes.push_back(std::move(out));
      }
      if (chunked && !r.cut_after) writes.emplace_back("0\r\n\r\n");
    }
    for (std::size_t i = 0; i < writes.size(); ++i) {
      if (i > first_piece && r.slow_interval.count() > 0 && !(chunked && !r.cut_after && i + 1 == writes.size()))
        co_await sleep(r.slow_interval);  // pause between body pieces (not before the terminator)
      if (i + 1 == writes.size()) counted.answered();
      const bool written = co_await write(s, writes[i]);  // not inside the condition: GCC 12 miscompiles that
      if (!written) co_return false;
      if (i == 0 && r.pause_after_head.count() > 0) co_await sleep(r.pause_after_head);
    }
    co_return !r.cut_after;
  }

  // Waits until the client sends a byte of its next request (true) or the connection has been idle
  // for set_idle_close's period (false: the caller closes it, as Node does).
  asio::awaitable<bool> wait_next_request(tcp::socket& s, const beast::flat_buffer& buffer) {
    std::chrono::milliseconds idle;
    {
      std::lock_guard lock(mu);
      idle = idle_close;
    }
    if (idle.count() <= 0 || buffer.size() > 0) co_return true;
    asio::steady_timer timer(s.get_executor(), idle);
    bool expired = false;
    // The handler touches the frame only when the timer really fired (not when cancelled below).
    timer.async_wait([&expired, &s](boost::system::error_code ec) {
      if (ec) return;
      expired = true;
      s.cancel();
    });
    co_await s.async_wait(tcp::socket::wait_read, kTuple);
    timer.cancel();
    if (!expired) co_return true;
    std::lock_guard lock(mu);
    ++idle_closes;
    co_return false;
  }

  asio::awaitable<void> session(tcp::socket s, std::size_t connection) {
    boost::system::error_code ignored;
    s.set_option(tcp::no_delay(true), ignored);
    beast::flat_buffer buffer;
    for (std::size_t nth = 1;; ++nth) {
      if (nth > 1 && !co_await wait_next_request(s, buffer)) break;
      http::request_parser<http::string_body> parser;
      parser.header_limit(kHeaderLimit);
      parser.body_limit(kBodyLimit);
      auto [ec, n] = co_await http::async_read_header(s, buffer, parser, kTuple);
      if (ec) break;
      OriginRequest req;
      const auto& msg = parser.get();
      req.method = std::string(msg.method_string());
      req.target = std::string(msg.target());
      req.connection = connection;
      req.nth = nth;
      for (const auto& f : msg) req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      InFlight counted(*this, req);
      if (!parser.is_done()) {
        auto [ec2, n2] = co_await http::async_read(s, buffer, parser, kTuple);
        if (ec2) break;
      }
      const bool client_keep_alive = parser.get().keep_alive();
      req.body = std::move(parser.get().body());

      const OriginReply reply = lookup(req);
      if (!reply.hold.empty()) co_await wait_hold(reply.hold);
      if (reply.never_answer) {
        asio::steady_timer forever(*io, Clock::time_point::max());
        co_await forever.async_wait(kTuple);
        break;
      }
      if (reply.delay.count() > 0) co_await sleep(reply.delay);
      if (reply.drop) break;
      if (!reply.raw.empty()) {
        counted.answered();
        // Corked until the close: the bytes and the FIN leave in one segment, so the
        // reader sees the data and the end together (a cut "at once", not a race
        // between the data's wake-up and a FIN a moment later).
        const int on = 1;
        ::setsockopt(s.native_handle(), IPPROTO_TCP, TCP_CORK, &on, sizeof on);
        co_await write(s, reply.raw);
        break;
      }
      const bool keep_alive = client_keep_alive && !reply.close;
      const bool responded = co_await respond(s, req, reply, keep_alive, counted);
      if (!responded || !keep_alive) break;
      if (!reply.after.empty()) {
        co_await sleep(reply.after_delay);
        const bool sent = co_await write(s, reply.after);
        if (!sent) break;
      }
    }
    close_socket(s);
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, s] = co_await acceptor->async_accept(kTuple);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
        co_await sleep(std::chrono::milliseconds(5));  // e.g. EMFILE: back off instead of spinning
        continue;
      }
      std::size_t id;
      {
        std::lock_guard lock(mu);
        id = ++connections;
      }
      asio::co_spawn(*io, session(std::move(s), id), log_exception("FakeOrigin"));
    }
  }
};

FakeOrigin::FakeOrigin() : impl_(std::make_shared<Impl>()) {
  Impl& o = *impl_;
  o.acceptor.emplace(*o.io);
  const tcp::endpoint ep(asio::ip::make_address_v4("127.0.0.1"), 0);
  o.acceptor->open(ep.protocol());
  o.acceptor->set_option(asio::socket_base::reuse_address(true));
  o.acceptor->bind(ep);
  o.acceptor->listen(asio::socket_base::max_listen_connections);
  o.port = o.acceptor->local_endpoint().port();
  asio::co_spawn(*o.io, o.accept_loop(), log_exception("FakeOrigin"));
  // The thread keeps Impl alive, so a thread that overruns the stop bound can be left behind safely.
  o.thread = std::thread([self = impl_] {
    try {
      self->io->run();
    } catch (const std::exception& x) {
      std::fprintf(stderr, "FakeOrigin: io_context stopped by exception: %s\n", x.what());
    }
    {
      std::lock_guard lock(self->mu);
      self->thread_done = true;
    }
    self->cv.notify_all();
  });
}

FakeOrigin::~FakeOrigin() {
  Impl& o = *impl_;
  {
    std::lock_guard lock(o.mu);
    for (auto& [name, h] : o.holds) {
      h.released = true;
      h.waiters.clear();
    }
  }
  o.io->stop();
  std::unique_lock lock(o.mu);
  const bool done = o.cv.wait_for(lock, kStopWait, [&] { return o.thread_done; });
  lock.unlock();
  if (done) {
    o.thread.join();
  } else {
    std::fprintf(stderr, "FakeOrigin: thread did not stop within %llds (blocking handler?); detaching\n",
                 static_cast<long long>(kStopWait.count()));
    o.thread.detach();
  }
}

std::uint16_t FakeOrigin::port() const { return impl_->port; }

std::string FakeOrigin::base_url() const { return "http://127.0.0.1:" + std::to_string(impl_->port); }

void FakeOrigin::set(std::string path, OriginReply reply) {
  std::lock_guard lock(impl_->mu);
  impl_->replies[std::move(path)] = std::move(reply);
}

void FakeOrigin::set_handler(Handler handler) {
  std::lock_guard lock(impl_->mu);
  impl_->handler = std::move(handler);
}

void FakeOrigin::release(const std::string& hold) {
  std::vector<std::shared_ptr<asio::steady_timer>> waiters;
  {
    std::lock_guard lock(impl_->mu);
    auto& h = impl_->holds[hold];
    h.released = true;
    waiters.swap(h.waiters);
  }
  impl_->cv.notify_all();
  // Timers belong to the origin's thread: wake them there (expiry moved to now also covers a wait not yet begun).
  asio::post(*impl_->io, [waiters = std::move(waiters)] {
    for (const auto& t : waiters) t->expires_at(Clock::now());
  });
}

void FakeOrigin::rearm(const std::string& hold) {
  std::lock_guard lock(impl_->mu);
  impl_->holds[hold].released = false;
}

std::size_t FakeOrigin::requests(const std::string& path) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->counts.find(path);
  return it == impl_->counts.end() ? 0 : it->second;
}

std::size_t FakeOrigin::total_requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->total;
}

std::size_t FakeOrigin::in_flight() const {
  std::lock_guard lock(impl_->mu);
  return impl_->in_flight;
}

std::size_t FakeOrigin::max_in_flight() const {
  std::lock_guard lock(impl_->mu);
  return impl_->max_in_flight;
}

std::size_t FakeOrigin::held(const std::string& hold) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->holds.find(hold);
  return it == impl_->holds.end() ? 0 : it->second.waiters.size();
}

std::size_t FakeOrigin::connections_accepted() const {
  std::lock_guard lock(impl_->mu);
  return impl_->connections;
}

void FakeOrigin::set_idle_close(std::chrono::milliseconds after, bool advertise) {
  std::lock_guard lock(impl_->mu);
  impl_->idle_close = after;
  impl_->advertise_idle = advertise;
}

std::size_t FakeOrigin::idle_closes() const {
  std::lock_guard lock(impl_->mu);
  return impl_->idle_closes;
}

std::size_t FakeOrigin::requests_on_reused_connections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->reused_requests;
}

std::vector<OriginRequest> FakeOrigin::log() const {
  std::lock_guard lock(impl_->mu);
  return {impl_->log.begin(), impl_->log.end()};
}

bool FakeOrigin::wait_for_requests(const std::string& path, std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] {
    auto it = impl_->counts.find(path);
    return it != impl_->counts.end() && it->second >= n;
  });
}

bool FakeOrigin::wait_for_held(const std::string& hold, std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] {
    auto it = impl_->holds.find(hold);
    return it != impl_->holds.end() && it->second.waiters.size() >= n;
  });
}

Clock::time_point FakeOrigin::last_byte_sent(const std::string& path) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->last_byte.find(path);
  return it == impl_->last_byte.end() ? Clock::time_point{} : it->second;
}

}  // namespace hlscache::test
