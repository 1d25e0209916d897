#include "http/h1_exchange.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include "http/wire.hpp"

namespace hlscache {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxBuffersPerWrite = 64;           // body slices per gather write
constexpr std::uint64_t kMaxBytesPerWrite = 1024 * 1024;  // each write has its own send deadline

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

}  // namespace

template <class Stream>
H1Exchange<Stream>::H1Exchange(Stream& stream, BodyWriter<Stream>& writer, const SessionEnv& env, const Config& cfg)
    : stream_(stream), writer_(writer), env_(env), cfg_(cfg), interim_done_(stream.get_executor()) {}

template <class Stream>
asio::awaitable<bool> H1Exchange<Stream>::serve(RequestContext& ctx, H1Head head, const RequestBody* streaming) {
  bool keep_alive = head.keep_alive;
  const bool http10 = head.http10;
  if (env_.drain->draining.load(std::memory_order_relaxed)) keep_alive = false;
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

  const bool head_only = ctx.method == Method::head;
  bool ok = false;
  if (prepare(resp, head_only, keep_alive, http10)) {
    ok = co_await writer_.write(bufs_);
  } else {
    bool framed_keep_alive = keep_alive;  // a close-delimited body says close in its head
    ok = co_await write_body(resp, head_only, framed_keep_alive, http10);
  }
  account(ctx, resp);
  co_return ok && keep_alive;
}

template <class Stream>
asio::awaitable<void> H1Exchange<Stream>::refuse(const H1Refusal& refusal, const asio::ip::address& remote) {
  env_.metrics->bad_requests.fetch_add(1, std::memory_order_relaxed);
  Response resp = Response::error(refusal.status, refusal.detail);
  if (!refusal.allow.empty()) resp.add("Allow", std::string(refusal.allow));
  RequestContext none;  // the request could not be parsed: log it as "-"
  none.method = Method::get;
  none.method_text = "-";
  none.target = "-";
  none.received = SteadyClock::now();
  none.received_wall = std::chrono::system_clock::now();
  none.remote = remote;
  prepare(resp, /*head_only=*/false, /*keep_alive=*/false, /*http10=*/false);  // an inline body: one write
  co_await writer_.write(bufs_);
  account(none, resp);
}

template <class Stream>
bool H1Exchange<Stream>::prepare(Response& resp, bool head_only, bool keep_alive, bool http10) {
  const bool no_body = head_only || resp.status == 304 || resp.status == 204;
  bufs_.clear();
  head_.clear();
  body_bytes_ = 0;
  if (auto* s = std::get_if<std::string>(&resp.body)) {
    serialize_h1_head(head_, resp, cfg_.server_name, static_cast<long long>(s->size()), keep_alive, http10);
    bufs_.emplace_back(asio::buffer(head_));
    if (!no_body) {
      bufs_.emplace_back(asio::buffer(*s));
      body_bytes_ = s->size();
    }
    return true;
  }
  if (auto* o = std::get_if<ObjectBody>(&resp.body)) {
    serialize_h1_head(head_, resp, cfg_.server_name, static_cast<long long>(o->length), keep_alive, http10);
    bufs_.emplace_back(asio::buffer(head_));
    if (no_body) return true;
    body_bytes_ = o->length;
    // The head goes out with the body's buffers in one gather write: a hit of one batch
    // is written by the caller, without write_body's coroutine frame, straight from the
    // cached chunks (the Response holds the Object until the write is done).
    if (o->length <= kMaxBytesPerWrite) {
      for_each_slice(*o, [this](const Chunk& c, std::size_t b, std::size_t e) {
        bufs_.emplace_back(c.bytes.get() + b, e - b);
      });
      if (bufs_.size() <= kMaxBuffersPerWrite) return true;  // + the head
      bufs_.resize(1);
    }
    source_.reset(resp, head_only);  // several batches: write_body() takes them from the source
    return false;
  }
  return false;
}

// Writes what the body source has ready in batches, each under its own send deadline;
// `unsent_head` (a response head not yet sent) goes out in front of the first batch.
template <class Stream>
asio::awaitable<bool> H1Exchange<Stream>::write_batches(bool chunked, std::string_view& unsent_head) {
  while (source_.ready_pieces() > 0) {
    bufs_.clear();
    if (!unsent_head.empty()) {
      bufs_.emplace_back(asio::buffer(unsent_head));
      unsent_head = {};
    }
    const std::size_t size_line_at = bufs_.size();
    if (chunked) bufs_.emplace_back();  // the chunk's size line, once the batch's size is known
    const std::uint64_t n = source_.take_batch(kMaxBuffersPerWrite, kMaxBytesPerWrite,
                                               [this](const char* p, std::size_t k) { bufs_.emplace_back(p, k); });
    if (chunked) {
      h1_chunk_size_line(chunk_line_, n);
      bufs_[size_line_at] = asio::buffer(chunk_line_);
      bufs_.emplace_back(asio::buffer(kH1ChunkEnd));
    }
    const bool written = co_await writer_.write(bufs_);
    if (!written) co_return false;
  }
  co_return true;
}

template <class Stream>
asio::awaitable<bool> H1Exchange<Stream>::write_body(Response& resp, bool head_only, bool& keep_alive, bool http10) {
  if (std::holds_alternative<ObjectBody>(resp.body)) {  // more than one batch; prepare() made the head
    std::string_view unsent_head = head_;
    co_return co_await write_batches(false, unsent_head);
  }
  const bool no_body = head_only || resp.status == 304 || resp.status == 204;
  auto& sb = std::get<StreamBody>(resp.body);
  NotsentLowat lowat(lowest_socket(stream_), kStreamNotsentLowat);
  const long long framing = sb.length ? static_cast<long long>(*sb.length) : (http10 ? kCloseDelimited : kChunked);
  if (framing == kCloseDelimited) keep_alive = false;
  serialize_h1_head(head_, resp, cfg_.server_name, framing, keep_alive, http10);
  source_.reset(resp, head_only);
  // The head goes out with the first body bytes (one gather write for a follower
  // woken when the whole segment is in): until a byte of body is published nothing
  // is sent, so a fetch that fails before its body is still a clean 502/504.
  std::string_view unsent_head = head_;
  bool ok = true, fetch_failed = false, timed_out = false;
  if (no_body) {
    bufs_.emplace_back(asio::buffer(head_));
    unsent_head = {};
    ok = co_await writer_.write(bufs_);
  }
  while (ok && !no_body) {
    source_.refill();
    const bool got = source_.ready_pieces() > 0;
    if (got) ok = co_await write_batches(framing == kChunked, unsent_head);
    if (!ok) break;
    if (source_.complete()) {
      if (!unsent_head.empty()) bufs_.emplace_back(asio::buffer(unsent_head));  // an empty body
      unsent_head = {};
      if (framing == kChunked) bufs_.emplace_back(asio::buffer(kH1LastChunk));
      if (!bufs_.empty()) ok = co_await writer_.write(bufs_);
      break;
    }
    if (source_.failed()) {  // cut: the client sees a truncated body
      ok = false;
      fetch_failed = true;
      break;
    }
    if (!got) {
      Status w = co_await source_.wait();
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
    serialize_h1_head(head_, failed, cfg_.server_name,
                      static_cast<long long>(std::get<std::string>(failed.body).size()), /*keep_alive=*/false, http10);
    bufs_.clear();
    bufs_.emplace_back(asio::buffer(head_));
    bufs_.emplace_back(asio::buffer(std::get<std::string>(failed.body)));
    co_await writer_.write(bufs_);
    resp.status = failed.status;
  }
  body_bytes_ = source_.polled();
  co_return ok;
}

template <class Stream>
void H1Exchange<Stream>::account(const RequestContext& req, const Response& resp) {
  env_.metrics->count_response(resp.status, resp.cache, body_bytes_);
  if (env_.access_log && env_.access_log->enabled()) log_access(env_, req, resp, body_bytes_);
}

// A 1xx head, written at once (under the send deadline) while the handler still works
// on the final answer. Dropped when the final head is already due or the client is
// HTTP/1.0; a failed write leaves the final answer's write to find the broken connection.
template <class Stream>
asio::awaitable<void> H1Exchange<Stream>::write_interim(int status, const std::vector<Header>& headers) {
  while (interim_writes_ > 0) {  // one at a time
    interim_done_.expires_at(TimePoint::max());
    co_await interim_done_.async_wait(kTuple);
  }
  if (!interim_open_ || !forwardable_interim(status)) co_return;
  std::string head;
  serialize_h1_interim(head, status, headers);
  std::vector<asio::const_buffer> bufs{asio::buffer(head)};
  ++interim_writes_;
  const bool ok = co_await writer_.write(bufs);
  --interim_writes_;
  interim_done_.cancel();
  if (!ok) interim_open_ = false;
}

template class H1Exchange<TcpStream>;
template class H1Exchange<TlsStream>;

}  // namespace hlscache
