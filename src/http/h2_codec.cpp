#include "http/h2_codec.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "http/h2_headers.hpp"
#include "http/interim.hpp"

namespace hlscache {

namespace {

Method to_method(std::string_view m) {
  if (m == "GET") return Method::get;
  if (m == "HEAD") return Method::head;
  if (m == "PUT") return Method::put;
  if (m == "POST") return Method::post;
  return Method::other;
}

H2Driver::Settings driver_settings(const Http2Config& h) {
  H2Driver::Settings s;
  s.server = true;
  // Request bodies are acknowledged (WINDOW_UPDATE) only as the handler reads them: back-pressure for ingest.
  s.manual_window = true;
  s.max_continuations = h.max_continuations;
  // nghttp2's own rapid-reset limiter stays as a backstop behind ours (which answers ENHANCE_YOUR_CALM).
  s.reset_burst = 2ull * h.reset_burst;
  s.reset_rate = 2ull * h.reset_rate;
  return s;
}

}  // namespace

H2ServerCodec::H2ServerCodec(const boost::asio::any_io_executor& ex, Owner& owner, const Config& cfg,
                             Metrics& metrics, boost::asio::ip::address remote)
    : owner_(owner),
      cfg_(cfg),
      metrics_(metrics),
      remote_(std::move(remote)),
      driver_(ex, *this, driver_settings(cfg.http2)) {
  reset_tokens_ = cfg_.http2.reset_burst;
  last_refill_ = SteadyClock::now();
}

bool H2ServerCodec::start() {
  if (!driver_.ok()) return false;
  const auto& h = cfg_.http2;
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, h.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, h.initial_window_bytes},
      {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, h.max_frame_bytes},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, h.max_header_list_bytes},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
  };
  if (nghttp2_submit_settings(session(), NGHTTP2_FLAG_NONE, settings, std::size(settings)) != 0) return false;
  if (h.connection_window_bytes > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE)
    nghttp2_session_set_local_window_size(session(), NGHTTP2_FLAG_NONE, 0,
                                          static_cast<std::int32_t>(h.connection_window_bytes));
  return true;
}

void H2ServerCodec::goaway() {
  if (closed_ || goaway_sent_) return;
  goaway_sent_ = true;
  // Streams up to the last one we processed still get their answers (RFC 9113 §6.8).
  nghttp2_submit_goaway(session(), NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session()),
                        NGHTTP2_NO_ERROR, nullptr, 0);
  driver_.kick();
}

void H2ServerCodec::terminate(std::uint32_t error_code) {
  goaway_sent_ = true;
  nghttp2_session_terminate_session(session(), error_code);
  driver_.kick();
}

void H2ServerCodec::consume(std::int32_t id, std::size_t n) {
  if (closed_) return;
  nghttp2_session_consume(session(), id, n);
  driver_.kick();
}

bool H2ServerCodec::was_reset(std::int32_t id) const {
  return std::find(reset_ids_.begin(), reset_ids_.end(), id) != reset_ids_.end();
}

// ---------------------------------------------------------------- reading

bool H2ServerCodec::feed(const char* data, std::size_t n) {
  const auto rv = driver_.recv(data, n);  // then after_recv()
  if (rv < 0) {
    // Fatal to the connection: a bad preface, a flood nghttp2 detected, out of memory.
    // nghttp2 queued a GOAWAY where RFC 9113 wants one; the writer still sends it.
    spdlog::debug("h2 {}: closing on {}", remote_.to_string(),
                  lower_stream_id_ ? "a HEADERS with a lower stream id" : nghttp2_strerror(static_cast<int>(rv)));
    metrics_.h2_protocol_errors.fetch_add(1, std::memory_order_relaxed);
    if (rv == NGHTTP2_ERR_NOMEM) {
      out_of_memory_ = true;  // nothing to say it with
    } else if (!goaway_sent_) {
      // A bad preface (RFC 9113 §3.4 lets us omit the GOAWAY; we send it, after our
      // SETTINGS, which nghttp2 has queued), a HEADERS with a lower stream id (§5.1.1),
      // a flood (of CONTINUATIONs, SETTINGS, PINGs...) or another fatal error: say why before closing.
      const bool flood = rv == NGHTTP2_ERR_FLOODED || rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS;
      nghttp2_session_terminate_session(session(), flood ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR);
    }
    return false;
  }
  return true;
}

void H2ServerCodec::after_recv() {
  for (auto [id, len] : to_consume_) nghttp2_session_consume(session(), id, len);
  to_consume_.clear();

  if (rapid_reset_) {
    to_dispatch_.clear();  // the connection is going away: answer nothing more
    return;
  }
  auto ready = std::move(to_dispatch_);
  to_dispatch_.clear();
  for (auto& st : ready)
    if (!st->closed && !st->dispatched) owner_.dispatch(st);  // a stream may be queued twice (431, then its END_STREAM)
}

// Before nghttp2 looks at a frame: a HEADERS whose stream id is below one already seen
// opens no new stream legally (RFC 9113 §5.1.1) unless it is the trailers of a stream
// still open (nghttp2 holds it) or a late frame on a stream we reset (§5.1: ignored).
// Anything else is a connection error PROTOCOL_ERROR: failing the callback makes
// mem_recv return, and feed() sends the GOAWAY (nghttp2 itself would ignore the frame
// silently, leaving the client waiting for an answer that never comes).
int H2ServerCodec::on_begin_frame(const nghttp2_frame_hd& hd) {
  if (hd.type != NGHTTP2_HEADERS || hd.stream_id % 2 == 0) return 0;  // 0 and even ids: nghttp2's checks
  if (hd.stream_id >= max_headers_id_) {
    max_headers_id_ = hd.stream_id;
    return 0;
  }
  nghttp2_stream* known = nghttp2_session_find_stream(session(), hd.stream_id);  // a lookup, no state change
  if (known != nullptr && nghttp2_stream_get_state(known) != NGHTTP2_STREAM_STATE_IDLE) return 0;
  if (was_reset(hd.stream_id)) return 0;
  lower_stream_id_ = true;
  return NGHTTP2_ERR_CALLBACK_FAILURE;
}

// nghttp2 refused a frame; for a HEADERS that means it resets (or refuses) the stream:
// remember the id before the RST_STREAM is even sent, so late frames on it are ignored.
int H2ServerCodec::on_invalid_frame_recv(const nghttp2_frame& f, int) {
  if (f.hd.type == NGHTTP2_HEADERS && f.hd.stream_id % 2 == 1) note_reset(f.hd.stream_id);
  return 0;
}

int H2ServerCodec::on_begin_headers(const nghttp2_frame& f) {
  if (f.hd.type != NGHTTP2_HEADERS || f.headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto st = std::make_shared<H2Stream>();
  st->id = f.hd.stream_id;
  st->ctx.received = SteadyClock::now();
  st->ctx.received_wall = std::chrono::system_clock::now();
  st->ctx.protocol = "HTTP/2.0";
  st->ctx.remote = remote_;
  streams_[st->id] = st;
  nghttp2_session_set_stream_user_data(session(), st->id, st.get());
  metrics_.h2_streams.fetch_add(1, std::memory_order_relaxed);
  return 0;
}

int H2ServerCodec::on_header(const nghttp2_frame& f, std::string_view n, std::string_view v) {
  // Trailers are not merged into the request's header section (RFC 9110 §6.5.1): dropped.
  if (f.hd.type != NGHTTP2_HEADERS || f.headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  H2Stream* st = find(f.hd.stream_id);
  if (st == nullptr || st->dispatched) return 0;
  // RFC 9113 §6.5.2: the size of a field is its name and value lengths plus 32.
  st->header_bytes += n.size() + v.size() + 32;
  if (st->header_bytes > cfg_.http2.max_header_list_bytes) {
    st->header_too_large = true;  // answered 431 once the block ends; the rest is not stored
    return 0;
  }
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

int H2ServerCodec::on_frame_recv(const nghttp2_frame& f) {
  switch (f.hd.type) {
    case NGHTTP2_HEADERS: {
      H2Stream* st = find(f.hd.stream_id);
      if (st == nullptr) break;
      const bool end = (f.hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
      if (f.headers.cat != NGHTTP2_HCAT_REQUEST) {
        // Trailers (RFC 9113 §8.1; nghttp2 has checked they carry END_STREAM): the request ends here.
        if (end) end_request(*st);
        break;
      }
      if (st->dispatched) break;
      st->request_ended = end;
      st->ingest = (st->ctx.method == Method::put || st->ctx.method == Method::post) &&
                   st->ctx.path().substr(0, 8) == "/ingest/";
      // The body sink exists before any DATA of this stream is taken (it may be in this same read).
      if (st->ingest && !end) owner_.make_request_body(*st);
      // Bodiless requests and ingest (streamed) go to the handler now; other bodies are read first.
      if (end || st->ingest || st->header_too_large) to_dispatch_.push_back(streams_[st->id]);
      break;
    }
    case NGHTTP2_DATA: {
      H2Stream* st = find(f.hd.stream_id);
      if (st == nullptr || (f.hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) break;
      end_request(*st);
      break;
    }
    case NGHTTP2_RST_STREAM: {
      metrics_.h2_resets_received.fetch_add(1, std::memory_order_relaxed);
      // Rapid reset (CVE-2023-44487): a token bucket, checked frame by frame, since one read
      // can hold hundreds of HEADERS+RST_STREAM pairs. Terminating queues a GOAWAY and makes
      // nghttp2 ignore the rest of the input; nghttp2 does the same from this point itself.
      const auto now = SteadyClock::now();
      const double elapsed = std::chrono::duration<double>(now - last_refill_).count();
      last_refill_ = now;
      reset_tokens_ = std::min<double>(cfg_.http2.reset_burst, reset_tokens_ + elapsed * cfg_.http2.reset_rate);
      reset_tokens_ -= 1;
      if (reset_tokens_ < 0 && !rapid_reset_) {
        rapid_reset_ = true;
        spdlog::warn("h2 {}: too many stream resets (rapid reset): GOAWAY ENHANCE_YOUR_CALM", remote_.to_string());
        metrics_.h2_protocol_errors.fetch_add(1, std::memory_order_relaxed);
        nghttp2_session_terminate_session(session(), NGHTTP2_ENHANCE_YOUR_CALM);
      }
      break;
    }
    default: break;
  }
  return 0;
}

int H2ServerCodec::on_data_chunk_recv(std::int32_t id, std::string_view data) {
  H2Stream* st = find(id);
  if (st != nullptr && st->body) {
    st->body->push(data);  // consumed (window reopened) as the handler reads it
    return 0;
  }
  if (st != nullptr) st->body_received += data.size();  // read and dropped, bounded by limits.max_request_body
  to_consume_.emplace_back(id, data.size());
  return 0;
}

int H2ServerCodec::on_stream_close(std::int32_t id, std::uint32_t error_code) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return 0;
  auto st = std::move(it->second);
  streams_.erase(it);
  st->closed = true;
  st->reset = error_code != NGHTTP2_NO_ERROR;
  if (st->body) st->body->abort();
  if (st->dispatched && (st->reset || !st->response_done)) st->abandoned = true;
  owner_.stream_closed(*st);
  return 0;
}

int H2ServerCodec::on_frame_send(const nghttp2_frame& f) {
  if (f.hd.type == NGHTTP2_GOAWAY) {
    goaway_sent_ = true;
    metrics_.h2_goaways_sent.fetch_add(1, std::memory_order_relaxed);
  }
  if (f.hd.type == NGHTTP2_RST_STREAM) note_reset(f.hd.stream_id);
  return 0;
}

// ---------------------------------------------------------------- writing

// The request's last frame (DATA or trailers with END_STREAM) arrived.
void H2ServerCodec::end_request(H2Stream& st) {
  st.request_ended = true;
  if (st.body) st.body->end();
  if (!st.dispatched) to_dispatch_.push_back(streams_[st.id]);
}

void H2ServerCodec::submit(H2Stream& st) {
  const bool head_only = st.ctx.method == Method::head;
  std::optional<std::uint64_t> length;
  st.source.reset(st.resp, head_only);
  length = st.source.length();
  H2HeaderList headers;
  build_h2_response_headers(st.resp, cfg_.server_name, length, headers);
  std::vector<nghttp2_nv> nva;
  H2Driver::to_nv(headers.fields, nva);
  const bool body = !st.source.empty_body();
  st.responded = true;
  st.response_done = !body;  // HEADERS with END_STREAM
  const int rv = driver_.submit_response(st.id, nva, body ? &st : nullptr);
  if (rv != 0) {
    spdlog::debug("h2: submit_response on stream {}: {}", st.id, nghttp2_strerror(rv));
    nghttp2_submit_rst_stream(session(), NGHTTP2_FLAG_NONE, st.id, NGHTTP2_INTERNAL_ERROR);
  }
}

// A 1xx response (RFC 9113 §8.1: HEADERS without END_STREAM before the final one),
// queued ahead of it and sent by the writer. Dropped once the final response is
// submitted or the stream is gone. Called from the handler's coroutine, never from
// inside an nghttp2 callback.
void H2ServerCodec::submit_interim(H2Stream& st, int status, const std::vector<Header>& headers) {
  if (closed_ || st.closed || st.responded || !forwardable_interim(status)) return;
  std::vector<std::pair<std::string, std::string>> fields;
  build_h2_interim_headers(status, headers, fields);
  std::vector<nghttp2_nv> nva;
  H2Driver::to_nv(fields, nva);
  const int rv = nghttp2_submit_headers(session(), NGHTTP2_FLAG_NONE, st.id, nullptr, nva.data(), nva.size(), nullptr);
  if (rv != 0) spdlog::debug("h2: submit_headers ({}) on stream {}: {}", status, st.id, nghttp2_strerror(rv));
  driver_.kick();
}

// nghttp2 asks how many bytes of the body to frame next; data_payload hands them over.
ssize_t H2ServerCodec::data_length(std::int32_t, void* source, std::size_t length, std::uint32_t* flags) {
  auto* st = static_cast<H2Stream*>(source);
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
    owner_.await_body(streams_.at(st->id));
    return NGHTTP2_ERR_DEFERRED;
  }
  const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(length, avail));  // NO_COPY: the driver
  if (src.complete() && n == avail) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    st->response_done = true;
  }
  return static_cast<ssize_t>(n);
}

void H2ServerCodec::data_payload(void* source, std::size_t length, H2OutBatch& out) {
  auto* st = static_cast<H2Stream*>(source);
  st->source.take(length, [&out](const ChunkSlice& s) { out.append_slice(s); });
  st->sent += length;
}

}  // namespace hlscache
