#include "http/h1_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <type_traits>
#include <spdlog/spdlog.h>

#include "core/page_store.hpp"
#include "http/h1_request_head.hpp"
#include "http/h1_request_rules.hpp"
#include "http/interim.hpp"
#include "http/io_deadline.hpp"
#include "http/wire.hpp"

namespace hlscache {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxBuffersPerWrite = 64;           // iovecs per gather write
constexpr std::uint64_t kMaxBytesPerWrite = 1024 * 1024;  // each write has its own send deadline

// Asio's transfer_all caps every writev at 64 KiB (17 syscalls for a 1 MiB segment);
// offer the kernel the whole gather list each time instead.
std::size_t whole_writes(const boost::system::error_code& ec, std::size_t /*transferred*/) {
  return ec ? 0 : std::size_t{1} << 30;
}

// While a coalesced stream is written, its socket may hold this many unsent bytes
// (TCP_NOTSENT_LOWAT); 0 afterwards gives the system's default back. A stream is
// usually one of many started at once (a herd): capped, a follower's write takes a
// share and the session goes on to the next one, so the kernel sends the segment
// to all of them in turn instead of queueing it whole for each, one after another.
// Measured (docs/performance.md): herd TTFB p50 and TTLB p99 down ~20 ms; on plain
// hits it only cost throughput, so hits keep the default.
constexpr int kStreamNotsentLowat = 128 * 1024;

class NotsentLowat {
 public:
  NotsentLowat(tcp::socket& socket, int bytes) : fd_(socket.native_handle()) { set(bytes); }
  ~NotsentLowat() { set(0); }
  NotsentLowat(const NotsentLowat&) = delete;
  NotsentLowat& operator=(const NotsentLowat&) = delete;

 private:
  void set(int bytes) const { ::setsockopt(fd_, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &bytes, sizeof bytes); }
  int fd_;
};

// Drops the first `n` bytes of `bufs`; true when nothing is left.
bool drop_written(std::vector<asio::const_buffer>& bufs, std::size_t n) {
  std::size_t whole = 0;
  while (whole < bufs.size() && n >= bufs[whole].size()) n -= bufs[whole++].size();
  bufs.erase(bufs.begin(), bufs.begin() + static_cast<std::ptrdiff_t>(whole));
  if (bufs.empty()) return true;
  bufs.front() += n;
  return false;
}

Method to_method(http::verb v) {
  switch (v) {
    case http::verb::get: return Method::get;
    case http::verb::head: return Method::head;
    case http::verb::put: return Method::put;
    case http::verb::post: return Method::post;
    default: return Method::other;
  }
}

// Checks Beast leaves to us: conflicting Content-Lengths, CL together with TE.
std::string framing_problem(const http::request_parser<http::empty_body>::value_type& req) {
  std::string_view first_cl;
  int n_cl = 0;
  for (const auto& f : req) {
    if (f.name() == http::field::content_length) {
      if (n_cl++ && f.value() != first_cl) return "conflicting Content-Length headers";
      first_cl = f.value();
    }
  }
  if (n_cl && req.count(http::field::transfer_encoding)) return "both Content-Length and Transfer-Encoding";
  return {};
}

// RFC 9112 §9.3 over every Connection line: "close" ends the connection; HTTP/1.0
// persists only with "keep-alive". Beast's keep_alive() reads one line (the message's) or
// lets keep-alive outweigh close in HTTP/1.0 (the parser's); the scanner's path does this.
bool persists(const http::request_parser<http::empty_body>::value_type& req) {
  bool close = false, keep_alive = false;
  for (const auto& f : req) {
    if (f.name() != http::field::connection) continue;
    for (const auto& token : http::token_list{f.value()}) {
      if (beast::iequals(token, "close")) close = true;
      else if (beast::iequals(token, "keep-alive")) keep_alive = true;
    }
  }
  return !close && (req.version() == 11 || keep_alive);
}

// Streams a request body through Beast's buffer_body into a fixed buffer.
template <class Stream>
class H1RequestBody final : public RequestBody {
 public:
  H1RequestBody(Stream& stream, beast::flat_buffer& buffer, IoDeadline& deadline,
                http::request_parser<http::empty_body>&& p)
      : stream_(stream), buffer_(buffer), deadline_(deadline), parser_(std::move(p)) {
    parser_.body_limit(boost::none);  // a live stream has no length bound; the idle deadline bounds it in time
  }
  asio::awaitable<Result<std::string_view>> read_some(Duration idle) override {
    for (;;) {
      if (parser_.is_done()) co_return std::string_view{};
      auto& body = parser_.get().body();
      body.data = data_;
      body.size = sizeof data_;
      body.more = true;
      deadline_.set(idle);
      auto [ec, n] = co_await http::async_read_some(stream_, buffer_, parser_, kTuple);
      (void)n;
      const bool timed_out = deadline_.expired();  // before clear(), which resets it
      deadline_.clear();
      std::size_t got = sizeof data_ - body.size;
      if (ec == http::error::need_buffer) ec = {};
      if (got > 0) co_return std::string_view(data_, got);
      if (ec && timed_out)
        co_return Error::make(ErrorSource::downstream, Errc::timeout, "request body idle too long");
      if (ec) co_return Error::make(ErrorSource::downstream, Errc::io, ec.message());
    }
  }
  bool done() const override { return parser_.is_done(); }

 private:
  Stream& stream_;
  beast::flat_buffer& buffer_;
  IoDeadline& deadline_;
  http::request_parser<http::buffer_body> parser_;
  char data_[64 * 1024];
};

template <class Stream>
class H1Connection {
 public:
  H1Connection(Stream stream, std::string_view prefix, const SessionEnv& env, ConnectionSet& connections)
      : stream_(std::move(stream)),
        env_(env),
        config_(env.current_config()),
        cfg_(*config_),
        connections_(connections),
        deadline_(stream_.get_executor(),
                  std::min({cfg_.timeouts.header_read, cfg_.timeouts.idle, cfg_.timeouts.send,
                            cfg_.timeouts.ingest_idle}),
                  [this] {
                    beast::error_code ignored;
                    lowest_socket(stream_).cancel(ignored);  // the pending read or write ends: operation_aborted
                  }) {
    tcp_layer(stream_).expires_never();  // deadlines are deadline_'s (the listener's handshake one included)
    beast::error_code ec;
    remote_ = lowest_socket(stream_).remote_endpoint(ec).address();
    lowest_socket(stream_).set_option(tcp::no_delay(true), ec);
    // Synchronous writes on clear TCP never block (write_buffers); Asio's own async
    // operations keep working as before in this mode.
    if constexpr (std::is_same_v<Stream, TcpStream>) lowest_socket(stream_).non_blocking(true, ec);
    if (!prefix.empty()) {
      auto room = buffer_.prepare(prefix.size());
      std::memcpy(room.data(), prefix.data(), prefix.size());
      buffer_.commit(prefix.size());
    }
    handle_.close = [this] {
      beast::error_code ignored;
      lowest_socket(stream_).shutdown(tcp::socket::shutdown_both, ignored);
      lowest_socket(stream_).close(ignored);
    };
    handle_.accepted_draining = env_.drain->draining.load(std::memory_order_relaxed);
    connections_.add(&handle_);
  }
  ~H1Connection() { connections_.remove(&handle_); }

  asio::awaitable<void> run();

 private:
  asio::awaitable<bool> wait_for_request(bool first);
  bool take_simple_request(RequestContext& ctx, bool& http10, bool& keep_alive);
  asio::awaitable<bool> read_request(RequestContext& ctx, bool& http10, bool& keep_alive,
                                     std::unique_ptr<H1RequestBody<Stream>>& streaming);
  asio::awaitable<beast::error_code> read_header(http::request_parser<http::empty_body>& parser);
  asio::awaitable<void> send_error(int status, std::string_view detail, std::string_view allow = {});
  asio::awaitable<bool> write_response(Response& resp, const RequestContext& req, bool keep_alive, bool http10);
  asio::awaitable<bool> write_buffers(std::vector<asio::const_buffer>& bufs);
  asio::awaitable<bool> write_with_sendfile(std::vector<asio::const_buffer>& bufs, const PageStore& store);
  asio::awaitable<bool> write_slices(std::vector<ChunkSlice>& slices, bool chunked, std::string_view prefix = {});
  asio::awaitable<void> write_interim(int status, const std::vector<Header>& headers);

  // 1xx heads (103 Early Hints) ahead of the final one (RFC 9110 §15.2): open while the
  // handler of an HTTP/1.1 request runs, closed before the final head is written.
  class Interim final : public InterimWriter {
   public:
    explicit Interim(H1Connection& c) : c_(c) {}
    asio::awaitable<void> send_interim(int status, const std::vector<Header>& headers) override {
      return c_.write_interim(status, headers);
    }

   private:
    H1Connection& c_;
  };

  Stream stream_;
  const SessionEnv& env_;
  const ConfigPtr config_;  // this connection's snapshot: a reload applies to the connections after it
  const Config& cfg_;
  ConnectionSet& connections_;
  ConnectionHandle handle_;
  IoDeadline deadline_;
  asio::ip::address remote_;
  beast::flat_buffer buffer_;
  std::string head_;
  // Reused across requests so a hit allocates as little as possible.
  std::vector<Header> header_store_;
  std::string target_store_;
  SimpleRequestHead simple_;
  std::vector<asio::const_buffer> bufs_;
  std::vector<ChunkSlice> slices_;
  Interim interim_{*this};
  bool interim_open_ = false;
  int interim_writes_ = 0;        // interim heads being written (the final head waits for them)
  asio::steady_timer interim_done_{stream_.get_executor()};
};

template <class Stream>
asio::awaitable<bool> H1Connection<Stream>::wait_for_request(bool first) {
  // Between requests the idle deadline applies; the header-read deadline starts with the first byte.
  if (buffer_.size() > 0) co_return true;
  deadline_.set(first ? cfg_.timeouts.header_read : cfg_.timeouts.idle);
  auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(4096), kTuple);
  if (ec) co_return false;
  buffer_.commit(n);
  co_return true;
}

// Reads the request header, counting every byte the parser consumes. Beast's
// header_limit only bounds the part of the header not yet consumed (complete fields
// are consumed as they are parsed), so a header sent in small pieces would otherwise
// pass limits.max_header_bytes.
template <class Stream>
asio::awaitable<beast::error_code> H1Connection<Stream>::read_header(http::request_parser<http::empty_body>& parser) {
  const std::size_t limit = cfg_.limits.max_header_bytes;
  std::size_t consumed = 0;
  char last_consumed = 0;  // obs-fold: a line that starts after it with SP/HTAB
  for (;;) {
    if (buffer_.size() > 0) {
      const std::string_view unparsed(static_cast<const char*>(buffer_.data().data()), buffer_.size());
      if (has_obs_fold(unparsed, last_consumed)) co_return http::error::bad_obs_fold;  // Beast would fold it
      beast::error_code ec;
      std::size_t used = parser.put(buffer_.data(), ec);
      if (used > 0) last_consumed = unparsed[used - 1];
      buffer_.consume(used);
      consumed += used;
      if (consumed > limit) co_return http::error::header_limit;
      if (parser.is_header_done()) co_return beast::error_code{};
      if (ec != http::error::need_more) co_return ec;
    }
    if (deadline_.expired()) co_return beast::error::timeout;  // also after a read that beat the cancel
    auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(4096), kTuple);
    buffer_.commit(n);
    if (ec && deadline_.expired()) co_return beast::error::timeout;
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
      if (!parser.got_some()) co_return http::error::end_of_stream;
      beast::error_code eof_ec;
      parser.put_eof(eof_ec);
      co_return eof_ec ? eof_ec : beast::error_code(http::error::partial_message);
    }
    if (ec) co_return ec;
  }
}

template <class Stream>
asio::awaitable<void> H1Connection<Stream>::send_error(int status, std::string_view detail, std::string_view allow) {
  env_.metrics->bad_requests.fetch_add(1, std::memory_order_relaxed);
  Response resp = Response::error(status, detail);
  if (!allow.empty()) resp.add("Allow", std::string(allow));
  RequestContext none;  // the request could not be parsed: log it as "-"
  none.method = Method::get;
  none.method_text = "-";
  none.target = "-";
  none.received = SteadyClock::now();
  none.received_wall = std::chrono::system_clock::now();
  none.remote = remote_;
  co_await write_response(resp, none, /*keep_alive=*/false, /*http10=*/false);
  beast::error_code ec;
  lowest_socket(stream_).shutdown(tcp::socket::shutdown_send, ec);
}

// The common request — GET or HEAD with no body, its whole head in the buffer — is
// taken by scan_simple_request_head(); anything else by Beast's parser, which also
// answers every malformed request.
template <class Stream>
bool H1Connection<Stream>::take_simple_request(RequestContext& ctx, bool& http10, bool& keep_alive) {
  const auto bytes = buffer_.data();
  const std::string_view head(static_cast<const char*>(bytes.data()), bytes.size());
  if (scan_simple_request_head(head, cfg_.limits.max_header_bytes, simple_) != ScanResult::ok) return false;
  if (simple_.target.size() > cfg_.limits.max_target_bytes) return false;  // Beast's path answers 414
  ctx.method = simple_.head_method ? Method::head : Method::get;
  ctx.method_text.assign(simple_.method);
  ctx.target.assign(simple_.target);
  // Assigned into the previous request's strings, which keep their capacity.
  auto& headers = ctx.headers;
  std::size_t i = 0;
  for (const auto& [name, value] : simple_.fields) {
    if (i < headers.size()) {
      headers[i].first.assign(name);
      headers[i].second.assign(value);
    } else {
      headers.emplace_back(std::string(name), std::string(value));
    }
    ++i;
  }
  headers.resize(i);
  http10 = simple_.version == 10;
  keep_alive = simple_.keep_alive;
  buffer_.consume(simple_.size);
  return true;
}

// Reads and checks a request head (and any body) with Beast. False: the connection
// ends here (an error was answered, or the peer left).
template <class Stream>
asio::awaitable<bool> H1Connection<Stream>::read_request(RequestContext& ctx, bool& http10, bool& keep_alive,
                                                         std::unique_ptr<H1RequestBody<Stream>>& streaming) {
  http::request_parser<http::empty_body> parser;
  parser.header_limit(cfg_.limits.max_header_bytes);
  // No body limit while the header is parsed: Beast would refuse a Content-Length over
  // it right there, before the route is known, and ingest routes take bodies of any
  // length (H1RequestBody). Other routes are held to max_request_body below.
  parser.body_limit(boost::none);
  parser.eager(false);
  beast::error_code ec = co_await read_header(parser);
  int status = 0;
  std::string detail;
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
    status = 431, detail = "request header block too large";
  } else if (ec == http::error::bad_obs_fold) {
    status = 400, detail = "obsolete line folding is not accepted (RFC 9112 §5.2)";
  } else if (ec == beast::error::timeout) {
    status = 408, detail = "request header not received in time";
  } else if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::operation_aborted ||
             ec == asio::error::connection_reset || ec == asio::ssl::error::stream_truncated) {
    co_return false;
  } else if (ec) {
    status = 400, detail = ec.message();
  }
  if (status == 0) {
    auto& req = parser.get();
    if (req.target().size() > cfg_.limits.max_target_bytes) status = 414, detail = "request target too long";
    else if (auto problem = framing_problem(req); !problem.empty()) status = 400, detail = problem;
    else if (req.version() != 11 && req.version() != 10) status = 505;
    else if (req.method() == http::verb::unknown) status = 501, detail = "unknown method";
  }
  if (status != 0) {
    co_await send_error(status, detail);
    co_return false;
  }

  auto& req = parser.get();
  ctx.method = to_method(req.method());
  ctx.method_text = std::string(req.method_string());
  ctx.target = std::string(req.target());
  for (const auto& f : req) ctx.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  http10 = req.version() == 10;
  keep_alive = persists(req);

  // What Beast leaves to us (h1_request_rules.hpp): framing, Host, the target's form.
  RequestError problem = check_transfer_encoding(combined_field(ctx.headers, "Transfer-Encoding"), req.version());
  if (!problem) problem = check_host(ctx.headers, req.version());
  if (!problem) problem = normalize_target(ctx.method_text, ctx.target, ctx.headers);
  if (!problem && has_forbidden_bytes(ctx.headers)) problem = {400, "CR, LF or NUL in a field"};
  if (problem) {
    if (problem.status == 405) {
      co_await send_error(405, problem.detail, "GET, HEAD");
    } else {
      co_await send_error(problem.status, problem.detail);
    }
    co_return false;
  }

  // Bodies stream to ingest routes; elsewhere they are read and dropped, bounded.
  const bool ingest = (ctx.method == Method::put || ctx.method == Method::post) &&
                      ctx.path().substr(0, 8) == "/ingest/";
  if (!ingest && parser.content_length().value_or(0) > cfg_.limits.max_request_body) {
    co_await send_error(413, "request body too large");
    co_return false;
  }
  if (ingest && !parser.is_done()) {
    streaming = std::make_unique<H1RequestBody<Stream>>(stream_, buffer_, deadline_, std::move(parser));
    ctx.body = streaming.get();
  } else if (!parser.is_done()) {
    http::request_parser<http::string_body> body_parser(std::move(parser));
    body_parser.body_limit(cfg_.limits.max_request_body);
    auto [bec, bn] = co_await http::async_read(stream_, buffer_, body_parser, kTuple);
    (void)bn;
    if (bec) {
      if (deadline_.expired()) status = 408, detail = "request body not received in time";
      else if (bec == http::error::body_limit) status = 413, detail = "request body too large";
      else status = 400, detail = bec.message();
      co_await send_error(status, detail);
      co_return false;
    }
  }
  co_return true;
}

template <class Stream>
asio::awaitable<void> H1Connection<Stream>::run() {
  bool first = true;
  for (;;) {
    // Awaits are statements of their own throughout: GCC 12 miscompiles some awaits inside conditions.
    const bool have_request = co_await wait_for_request(first);
    if (!have_request) co_return;
    first = false;
    deadline_.set(cfg_.timeouts.header_read);

    RequestContext ctx;
    // The previous request's buffers, capacity kept.
    ctx.headers = std::move(header_store_);
    ctx.target = std::move(target_store_);
    bool http10 = false, keep_alive = false;
    std::unique_ptr<H1RequestBody<Stream>> streaming;
    if (!take_simple_request(ctx, http10, keep_alive)) {
      ctx.headers.clear();
      ctx.target.clear();
      const bool read = co_await read_request(ctx, http10, keep_alive, streaming);
      if (!read) co_return;
    }
    ctx.remote = remote_;
    ctx.received_wall = std::chrono::system_clock::now();
    ctx.received = SteadyClock::now();
    if (env_.drain->draining.load(std::memory_order_relaxed)) keep_alive = false;

    deadline_.clear();  // the handler may wait on an upstream; the response write sets its own
    handle_.busy = true;
    Response resp;
    try {
      std::optional<Response> now = env_.handler->answer_now(ctx);  // a fresh hit: no handler coroutines
      if (now) {
        resp = std::move(*now);
      } else {
        interim_open_ = !http10;  // HTTP/1.0 clients get no 1xx (RFC 9110 §15.2)
        if (interim_open_) ctx.interim = &interim_;
        resp = co_await env_.handler->handle(ctx);
      }
    } catch (const std::exception& e) {
      spdlog::error("handler failed for {} {}: {}", ctx.method_text, ctx.target, e.what());
      resp = Response::error(500);
    }
    interim_open_ = false;  // nothing informational after this: the final head is next
    ctx.interim = nullptr;
    while (interim_writes_ > 0) {  // a 1xx still being written (by a task the handler left running)
      interim_done_.expires_at(TimePoint::max());
      co_await interim_done_.async_wait(kTuple);
    }
    if (resp.close || env_.drain->draining.load(std::memory_order_relaxed)) keep_alive = false;
    if (streaming && !streaming->done()) keep_alive = false;  // the rest of an unread body can't be skipped
    bool ok = co_await write_response(resp, ctx, keep_alive, http10);
    header_store_ = std::move(ctx.headers);
    target_store_ = std::move(ctx.target);
    handle_.busy = false;
    if (!ok || !keep_alive) {
      beast::error_code ignored;
      lowest_socket(stream_).shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
  }
}

// A 1xx head, written at once (under the send deadline) while the handler still works
// on the final answer. Dropped when the final head is already due or the client is
// HTTP/1.0; a failed write leaves the final answer's write to find the broken connection.
template <class Stream>
asio::awaitable<void> H1Connection<Stream>::write_interim(int status, const std::vector<Header>& headers) {
  while (interim_writes_ > 0) {  // one at a time
    interim_done_.expires_at(TimePoint::max());
    co_await interim_done_.async_wait(kTuple);
  }
  if (!interim_open_ || !forwardable_interim(status)) co_return;
  std::string head;
  serialize_h1_interim(head, status, headers);
  std::vector<asio::const_buffer> bufs{asio::buffer(head)};
  ++interim_writes_;
  const bool ok = co_await write_buffers(bufs);
  --interim_writes_;
  interim_done_.cancel();
  if (!ok) interim_open_ = false;
}

// The page-store file offset of a buffer worth a sendfile (cache.sendfile); smaller
// pieces are copied with the memory around them.
std::optional<std::uint64_t> page_range(const asio::const_buffer& b, const PageStore& store) {
  if (b.size() < PageStore::kMinChunk) return std::nullopt;
  return store.offset_of(b.data(), b.size());
}

bool has_page_range(const std::vector<asio::const_buffer>& bufs, const PageStore& store) {
  return std::any_of(bufs.begin(), bufs.end(), [&](const auto& b) { return page_range(b, store).has_value(); });
}

template <class Stream>
asio::awaitable<bool> H1Connection<Stream>::write_buffers(std::vector<asio::const_buffer>& bufs) {
  if constexpr (std::is_same_v<Stream, TcpStream>) {
    // installed(), not current(): this connection keeps the cache.sendfile it started with.
    if (const PageStore* store = PageStore::installed(); store && cfg_.cache.sendfile && has_page_range(bufs, *store))
      co_return co_await write_with_sendfile(bufs, *store);
    // Clear TCP: write what the socket takes now (it is in non-blocking mode), and only
    // suspend for what it does not — a 4 KiB hit then costs no trip through the
    // scheduler for its write.
    beast::error_code ec;
    const std::size_t n = lowest_socket(stream_).write_some(bufs, ec);
    if (ec && ec != asio::error::would_block && ec != asio::error::try_again && ec != asio::error::interrupted) {
      bufs.clear();
      co_return false;
    }
    if (drop_written(bufs, ec ? 0 : n)) co_return true;
  }
  deadline_.set(cfg_.timeouts.send);
  auto [ec, n] = co_await asio::async_write(stream_, bufs, whole_writes, kTuple);
  deadline_.clear();
  bufs.clear();
  co_return !ec;
}

// Clear TCP with body ranges in the page store: memory runs (the head, chunk framing,
// heap chunks) go with sendmsg(MSG_MORE), so they leave in the same segments as the
// pages after them; page ranges (adjacent ones merged) go with sendfile, which hands
// the pages to the socket without copying them. Non-blocking throughout: only what
// the socket does not take waits, under the send deadline.
template <class Stream>
asio::awaitable<bool> H1Connection<Stream>::write_with_sendfile(std::vector<asio::const_buffer>& bufs,
                                                                const PageStore& store) {
  auto& socket = lowest_socket(stream_);
  const int fd = socket.native_handle();
  bool waited = false;
  bool ok = true;
  while (!bufs.empty()) {
    if (bufs.front().size() == 0) {
      bufs.erase(bufs.begin());
      continue;
    }
    ssize_t n = 0;
    bool from_pages = false;
    if (const auto front = page_range(bufs.front(), store)) {
      std::size_t len = bufs.front().size();
      const char* end = static_cast<const char*>(bufs.front().data()) + len;
      for (std::size_t i = 1; i < bufs.size() && bufs[i].data() == end && store.offset_of(bufs[i].data(), bufs[i].size());
           ++i) {
        len += bufs[i].size();
        end += bufs[i].size();
      }
      off_t off = static_cast<off_t>(*front);
      n = ::sendfile(fd, store.fd(), &off, len);
      from_pages = true;
    } else {
      iovec iov[kMaxBuffersPerWrite];
      std::size_t k = 0;
      for (; k < bufs.size() && k < kMaxBuffersPerWrite; ++k) {
        if (page_range(bufs[k], store)) break;
        iov[k] = {const_cast<void*>(bufs[k].data()), bufs[k].size()};
      }
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = k;
      n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | (k < bufs.size() ? MSG_MORE : 0));
    }
    if (n > 0) {
      if (from_pages) env_.metrics->bytes_sendfile.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
      drop_written(bufs, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
      ok = false;
      break;
    }
    if (!waited) deadline_.set(cfg_.timeouts.send);
    waited = true;
    auto [ec] = co_await socket.async_wait(tcp::socket::wait_write, kTuple);
    if (ec || deadline_.expired()) {
      ok = false;
      break;
    }
  }
  if (waited) deadline_.clear();
  bufs.clear();
  co_return ok;
}

// Writes published slices in batches, each batch under its own send deadline;
// `prefix` (a response head not yet sent) goes out in front of the first batch.
template <class Stream>
asio::awaitable<bool> H1Connection<Stream>::write_slices(std::vector<ChunkSlice>& slices, bool chunked,
                                                         std::string_view prefix) {
  auto& bufs = bufs_;  // the connection's; write_buffers() leaves it empty
  bufs.clear();
  std::string chunk_header;
  std::size_t i = 0;
  while (i < slices.size()) {
    if (!prefix.empty()) {
      bufs.emplace_back(asio::buffer(prefix));
      prefix = {};
    }
    std::uint64_t batch_bytes = 0;
    std::size_t start = i;
    while (i < slices.size() && i - start < kMaxBuffersPerWrite && batch_bytes < kMaxBytesPerWrite) {
      batch_bytes += slices[i].end - slices[i].begin;
      ++i;
    }
    if (chunked) {
      chunk_header = fmt::format("{:x}\r\n", batch_bytes);
      bufs.emplace_back(asio::buffer(chunk_header));
    }
    for (std::size_t j = start; j < i; ++j)
      bufs.emplace_back(slices[j].chunk.bytes.get() + slices[j].begin, slices[j].end - slices[j].begin);
    if (chunked) bufs.emplace_back(asio::buffer("\r\n", 2));
    const bool written = co_await write_buffers(bufs);
    if (!written) co_return false;
  }
  co_return true;
}

template <class Stream>
asio::awaitable<bool> H1Connection<Stream>::write_response(Response& resp, const RequestContext& req, bool keep_alive,
                                                   bool http10) {
  const bool head_only = req.method == Method::head;
  const bool no_body = head_only || resp.status == 304 || resp.status == 204;
  auto& bufs = bufs_;
  bufs.clear();
  std::uint64_t body_bytes = 0;
  head_.clear();
  bool ok = true;

  if (auto* s = std::get_if<std::string>(&resp.body)) {
    serialize_h1_head(head_, resp, cfg_.server_name, static_cast<long long>(s->size()),
                      keep_alive, http10);
    bufs.emplace_back(asio::buffer(head_));
    if (!no_body) {
      bufs.emplace_back(asio::buffer(*s));
      body_bytes = s->size();
    }
    ok = co_await write_buffers(bufs);
  } else if (auto* o = std::get_if<ObjectBody>(&resp.body)) {
    serialize_h1_head(head_, resp, cfg_.server_name, static_cast<long long>(o->length),
                      keep_alive, http10);
    auto& slices = slices_;
    slices.clear();
    if (!no_body) {
      std::uint64_t pos = 0, from = o->offset, to = o->offset + o->length;
      for (const auto& c : o->object->body) {
        std::uint64_t c_begin = pos, c_end = pos + c.size;
        pos = c_end;
        if (c_end <= from || c_begin >= to) continue;
        slices.push_back({c, static_cast<std::size_t>(std::max(from, c_begin) - c_begin),
                          static_cast<std::size_t>(std::min(to, c_end) - c_begin)});
      }
      body_bytes = o->length;
    }
    // The head goes out with the first batch of body buffers in one gather write. A hit
    // that fits one batch is written here, without write_slices' coroutine frame.
    if (slices.empty()) {
      bufs.emplace_back(asio::buffer(head_));
      ok = co_await write_buffers(bufs);
    } else if (slices.size() < kMaxBuffersPerWrite && o->length <= kMaxBytesPerWrite) {  // + the head
      bufs.emplace_back(asio::buffer(head_));
      for (auto& sl : slices) bufs.emplace_back(sl.chunk.bytes.get() + sl.begin, sl.end - sl.begin);
      ok = co_await write_buffers(bufs);
    } else {
      ok = co_await write_slices(slices, false, head_);
    }
  } else {
    auto& sb = std::get<StreamBody>(resp.body);
    NotsentLowat lowat(lowest_socket(stream_), kStreamNotsentLowat);
    long long framing = sb.length ? static_cast<long long>(*sb.length) : (http10 ? kCloseDelimited : kChunked);
    if (framing == kCloseDelimited) keep_alive = false;
    serialize_h1_head(head_, resp, cfg_.server_name, framing, keep_alive, http10);
    // The head goes out with the first body bytes (one gather write for a follower
    // woken when the whole segment is in): until a byte of body is published nothing
    // is sent, so a fetch that fails before its body is still a clean 502/504.
    std::string_view unsent_head = head_;
    std::uint64_t offset = 0;
    auto& slices = slices_;
    bool fetch_failed = false, timed_out = false;
    if (no_body) {
      bufs.emplace_back(asio::buffer(head_));
      unsent_head = {};
      ok = co_await write_buffers(bufs);
    }
    while (ok && !no_body) {
      slices.clear();
      StreamState st = sb.stream->poll(offset, slices);
      for (const auto& sl : slices) offset += sl.end - sl.begin;
      if (!slices.empty()) {
        const bool sent = co_await write_slices(slices, framing == kChunked, unsent_head);
        ok = sent;
        unsent_head = {};
      }
      if (!ok) break;
      if (st == StreamState::complete) {
        if (!unsent_head.empty()) bufs.emplace_back(asio::buffer(unsent_head));  // an empty body
        unsent_head = {};
        if (framing == kChunked) bufs.emplace_back(asio::buffer("0\r\n\r\n", 5));
        if (!bufs.empty()) ok = co_await write_buffers(bufs);
        break;
      }
      if (st == StreamState::failed) { ok = false; fetch_failed = true; break; }  // cut: the client sees a truncated body
      if (slices.empty()) {
        Status w = co_await sb.stream->wait(offset);
        if (!w) {
          ok = false;
          fetch_failed = true;
          timed_out = w.error().code == Errc::timeout;
          break;
        }
      }
    }
    if (fetch_failed && !unsent_head.empty()) {
      // Not a byte went out: the client gets a clean 502 (504 when the wait for the
      // body timed out) instead of a cut response.
      Response failed = timed_out ? Response::error(504, "no upstream body in time")
                                  : Response::error(502, "upstream fetch failed before the body");
      head_.clear();
      serialize_h1_head(head_, failed, cfg_.server_name, static_cast<long long>(std::get<std::string>(failed.body).size()),
                        /*keep_alive=*/false, http10);
      bufs.emplace_back(asio::buffer(head_));
      bufs.emplace_back(asio::buffer(std::get<std::string>(failed.body)));
      co_await write_buffers(bufs);
      resp.status = failed.status;
    }
    body_bytes = offset;
  }
  env_.metrics->count_response(resp.status, resp.cache, body_bytes);
  if (env_.access_log && env_.access_log->enabled()) log_access(env_, req, resp, body_bytes);
  co_return ok;
}

}  // namespace

asio::awaitable<void> run_h1_session(TcpStream stream, std::string_view prefix, const SessionEnv& env,
                                     ConnectionSet& connections) {
  ProtocolScope counted(*env.metrics, Metrics::Protocol::http1);
  H1Connection<TcpStream> conn(std::move(stream), prefix, env, connections);
  co_await conn.run();
}

asio::awaitable<void> run_h1_session(TlsStream stream, const SessionEnv& env, ConnectionSet& connections) {
  ProtocolScope counted(*env.metrics, Metrics::Protocol::http1);
  H1Connection<TlsStream> conn(std::move(stream), {}, env, connections);
  co_await conn.run();
}

}  // namespace hlscache
