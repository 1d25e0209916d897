// One HTTP/2 stream's state inside an h2 session: the request being built from
// header callbacks (h2_codec.cpp), the handler's Response (h2_exchange.cpp), and the
// BodySource the nghttp2 data provider reads. H2RequestBody is an ingest
// request body: DATA arrives by callback, the handler reads it, and the window is
// reopened (WINDOW_UPDATE) only for what it has read.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/body_stream.hpp"
#include "core/request.hpp"
#include "http/body_source.hpp"
#include "http/response.hpp"

namespace hlscache {

class H2RequestBody final : public RequestBody {
 public:
  H2RequestBody(const boost::asio::any_io_executor& ex, std::function<void(std::size_t)> consume)
      : timer_(ex), consume_(std::move(consume)) {}

  void push(std::string_view bytes) {
    pending_.append(bytes);
    timer_.cancel();
  }
  void end() {
    ended_ = true;
    timer_.cancel();
  }
  void abort() {
    aborted_ = true;
    timer_.cancel();
  }

  boost::asio::awaitable<Result<std::string_view>> read_some(Duration idle) override {
    release();
    for (;;) {
      if (!pending_.empty()) {
        current_.swap(pending_);
        pending_.clear();
        given_ = current_.size();
        co_return std::string_view(current_);
      }
      if (aborted_) co_return Error::make(ErrorSource::downstream, Errc::io, "request stream reset by the client");
      if (ended_) co_return std::string_view{};
      timer_.expires_after(idle);
      auto [ec] = co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
      if (!ec && pending_.empty() && !ended_ && !aborted_)
        co_return Error::make(ErrorSource::downstream, Errc::timeout, "request body idle too long");
    }
  }
  bool done() const override { return ended_ && pending_.empty(); }

 private:
  // The bytes handed out last time are read: let the client send as many more.
  void release() {
    if (given_ > 0 && consume_) consume_(given_);
    given_ = 0;
  }
  boost::asio::steady_timer timer_;
  std::function<void(std::size_t)> consume_;
  std::string pending_, current_;
  std::size_t given_ = 0;
  bool ended_ = false, aborted_ = false;
};

struct H2Stream {
  std::int32_t id = 0;
  RequestContext ctx;
  std::string authority;
  std::size_t header_bytes = 0;
  bool header_too_large = false;
  bool bad_field = false;      // a field with CR, LF or NUL (nghttp2 refuses them first): 400
  bool ingest = false;
  bool dispatched = false;     // the handler was called
  bool request_ended = false;  // END_STREAM received (on DATA, the request HEADERS or trailers)
  bool closed = false;         // nghttp2 closed the stream
  bool reset = false;          // ... with an error code (RST_STREAM either way)
  bool responded = false;      // a response was submitted
  bool response_done = false;  // ... and its last frame (END_STREAM) handed to nghttp2
  bool abandoned = false;      // closed before its response was done (reset, most often)
  bool orphan_noted = false;   // the fetch it led is in the connection's OrphanedFetches
  std::unique_ptr<InterimWriter> interim;  // made for the handler's call (not for answer_now hits)
  std::uint64_t body_received = 0;  // a non-ingest request body, dropped
  Response resp;
  BodySource source;
  std::uint64_t sent = 0;      // body bytes framed
  std::unique_ptr<H2RequestBody> body;
};

}  // namespace hlscache
