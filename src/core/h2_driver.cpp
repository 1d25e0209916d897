#include "core/h2_driver.hpp"

namespace hlscache {

namespace {

std::string_view sv(const std::uint8_t* p, std::size_t n) { return {reinterpret_cast<const char*>(p), n}; }

}  // namespace

void H2OutBatch::append_ctrl(const std::uint8_t* p, std::size_t n) {
  const std::size_t at = ctrl_.size();
  ctrl_.append(reinterpret_cast<const char*>(p), n);
  if (!pieces_.empty() && !pieces_.back().chunk.bytes && pieces_.back().end == at)
    pieces_.back().end += n;  // adjacent control bytes share one iovec
  else
    pieces_.push_back({Chunk{}, at, at + n});
  bytes_ += n;
}

H2Driver::H2Driver(const boost::asio::any_io_executor& ex, Events& events, const Settings& settings)
    : events_(events), settings_(settings), wake_(ex) {
  // nghttp2's user data is the driver; each callback forwards to the owner's Events.
  nghttp2_session_callbacks* cb = nullptr;
  if (nghttp2_session_callbacks_new(&cb) != 0) return;
  nghttp2_session_callbacks_set_on_begin_frame_callback(cb, [](nghttp2_session*, const nghttp2_frame_hd* hd, void* p) {
    return self(p).events_.on_begin_frame(*hd);
  });
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(
      cb, [](nghttp2_session*, const nghttp2_frame* f, int lib_error, void* p) {
        return self(p).events_.on_invalid_frame_recv(*f, lib_error);
      });
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, [](nghttp2_session*, const nghttp2_frame* f, void* p) {
    return self(p).events_.on_begin_headers(*f);
  });
  nghttp2_session_callbacks_set_on_header_callback(
      cb, [](nghttp2_session*, const nghttp2_frame* f, const std::uint8_t* name, std::size_t namelen,
             const std::uint8_t* value, std::size_t valuelen, std::uint8_t, void* p) {
        return self(p).events_.on_header(*f, sv(name, namelen), sv(value, valuelen));
      });
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, [](nghttp2_session*, const nghttp2_frame* f, void* p) {
    return self(p).events_.on_frame_recv(*f);
  });
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
      cb, [](nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* data, std::size_t len, void* p) {
        return self(p).events_.on_data_chunk_recv(id, sv(data, len));
      });
  nghttp2_session_callbacks_set_on_stream_close_callback(
      cb, [](nghttp2_session*, std::int32_t id, std::uint32_t code, void* p) {
        return self(p).events_.on_stream_close(id, code);
      });
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, [](nghttp2_session*, const nghttp2_frame* f, void* p) {
    return self(p).events_.on_frame_send(*f);
  });
  nghttp2_session_callbacks_set_send_data_callback(cb, &H2Driver::send_data);

  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  if (settings_.manual_window) nghttp2_option_set_no_auto_window_update(opt, 1);
  if (settings_.max_continuations > 0) nghttp2_option_set_max_continuations(opt, settings_.max_continuations);
  if (settings_.reset_burst > 0) nghttp2_option_set_stream_reset_rate_limit(opt, settings_.reset_burst, settings_.reset_rate);
  const int rv = settings_.server ? nghttp2_session_server_new2(&session_, cb, this, opt)
                                  : nghttp2_session_client_new2(&session_, cb, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);
  if (rv != 0) session_ = nullptr;
}

H2Driver::~H2Driver() {
  if (session_ != nullptr) nghttp2_session_del(session_);
}

ssize_t H2Driver::recv(const char* data, std::size_t n) {
  const auto rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const std::uint8_t*>(data), n);
  if (rv >= 0) events_.after_recv();
  kick();
  return rv;
}

void H2Driver::to_nv(std::vector<std::pair<std::string, std::string>>& fields, std::vector<nghttp2_nv>& nva) {
  nva.reserve(nva.size() + fields.size());
  for (auto& [k, v] : fields)
    nva.push_back({reinterpret_cast<std::uint8_t*>(k.data()), reinterpret_cast<std::uint8_t*>(v.data()), k.size(),
                   v.size(), NGHTTP2_NV_FLAG_NONE});
}

int H2Driver::submit_response(std::int32_t stream_id, const std::vector<nghttp2_nv>& nva, void* source) {
  nghttp2_data_provider prd{};
  prd.source.ptr = source;
  prd.read_callback = &H2Driver::read_data;
  return nghttp2_submit_response(session_, stream_id, nva.data(), nva.size(), source != nullptr ? &prd : nullptr);
}

ssize_t H2Driver::read_data(nghttp2_session*, std::int32_t id, std::uint8_t*, std::size_t length, std::uint32_t* flags,
                            nghttp2_data_source* source, void* p) {
  const ssize_t n = self(p).events_.data_length(id, source->ptr, length, flags);
  if (n > 0) *flags |= NGHTTP2_DATA_FLAG_NO_COPY;  // the payload is written by send_data, from the chunks
  return n;
}

// A DATA frame with NO_COPY: its 9-byte header (and padding, never asked for but
// written as RFC 9113 §6.1 says) copied, the payload referenced.
int H2Driver::send_data(nghttp2_session*, nghttp2_frame* frame, const std::uint8_t* framehd, std::size_t length,
                        nghttp2_data_source* source, void* p) {
  auto& d = self(p);
  auto& out = d.out_;
  if (out.bytes() >= d.settings_.batch_bytes || out.pieces().size() + 8 >= d.settings_.batch_pieces)
    return NGHTTP2_ERR_WOULDBLOCK;  // the batch is full: this frame goes into the next one
  out.append_ctrl(framehd, 9);
  if (frame->data.padlen > 0) {
    const std::uint8_t padlen = static_cast<std::uint8_t>(frame->data.padlen - 1);
    out.append_ctrl(&padlen, 1);
  }
  d.events_.data_payload(source->ptr, length, out);
  if (frame->data.padlen > 1) {
    static const std::uint8_t zeros[256] = {};
    out.append_ctrl(zeros, frame->data.padlen - 1);
  }
  return 0;
}

bool H2Driver::fill() {
  if (send_failed_) return false;
  while (out_.bytes() < settings_.batch_bytes && out_.pieces().size() < settings_.batch_pieces) {
    const std::uint8_t* data = nullptr;
    const auto n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      send_failed_ = true;
      send_error_ = static_cast<int>(n);
      return false;
    }
    if (n == 0) break;
    out_.append_ctrl(data, static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace hlscache
