// One HTTP/2 stream's state inside an h2 session: the request being built from
// header callbacks, the handler's Response, and H2BodySource, the cursor the
// nghttp2 data provider reads — a queue of chunk slices (an inline body aliased
// as one chunk, a cached Object's chunks, or what a growing fetch has published)
// handed to the writer by reference, never copied. H2RequestBody is an ingest
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
#include "http/response.hpp"

namespace hlscache {

class H2BodySource {
 public:
  // Takes the body out of `resp` (an inline string is moved into a chunk of its own).
  void reset(Response& resp, bool head_only) {
    const bool no_body = head_only || resp.status == 204 || resp.status == 304;
    if (auto* s = std::get_if<std::string>(&resp.body)) {
      length_ = s->size();
      complete_ = true;
      empty_ = no_body || s->empty();
      if (!empty_) {
        auto holder = std::make_shared<std::string>(std::move(*s));
        Chunk c{std::shared_ptr<char[]>(holder, holder->data()), holder->size(), holder->size()};
        push({c, 0, c.size});
      }
    } else if (auto* o = std::get_if<ObjectBody>(&resp.body)) {
      length_ = o->length;
      complete_ = true;
      empty_ = no_body || o->length == 0;
      if (!empty_) {
        std::uint64_t pos = 0, from = o->offset, to = o->offset + o->length;
        for (const auto& c : o->object->body) {
          std::uint64_t c_begin = pos, c_end = pos + c.size;
          pos = c_end;
          if (c_end <= from || c_begin >= to) continue;
          push({c, static_cast<std::size_t>(std::max(from, c_begin) - c_begin),
                static_cast<std::size_t>(std::min(to, c_end) - c_begin)});
        }
      }
    } else {
      auto& sb = std::get<StreamBody>(resp.body);
      stream_ = sb.stream;
      length_ = sb.length;
      empty_ = no_body;
    }
  }

  std::optional<std::uint64_t> length() const { return length_; }
  bool empty_body() const { return empty_; }
  bool complete() const { return complete_; }
  bool failed() const { return failed_; }
  void fail() { failed_ = true; }
  std::uint64_t ready_bytes() const { return ready_bytes_; }

  // A growing body: picks up what was published since the last look.
  void refill() {
    if (!stream_ || complete_ || failed_ || ready_bytes_ >= kRefillBelow) return;
    if (index_ == ready_.size()) {
      ready_.clear();
      index_ = 0;
    }
    const std::size_t before = ready_.size();
    StreamState st = stream_->poll(polled_, ready_);
    for (std::size_t i = before; i < ready_.size(); ++i) {
      polled_ += ready_[i].end - ready_[i].begin;
      ready_bytes_ += ready_[i].end - ready_[i].begin;
    }
    if (st == StreamState::complete) complete_ = true;
    if (st == StreamState::failed) failed_ = true;
  }

  // Hands the next `n` ready bytes to `emit` as slices (n <= ready_bytes()).
  template <class Emit>
  void take(std::size_t n, Emit&& emit) {
    while (n > 0 && index_ < ready_.size()) {
      const auto& s = ready_[index_];
      std::size_t from = s.begin + offset_;
      std::size_t k = std::min(n, s.end - from);
      emit(ChunkSlice{s.chunk, from, from + k});
      n -= k;
      offset_ += k;
      ready_bytes_ -= k;
      if (from + k == s.end) {
        ready_[index_].chunk = Chunk{};  // written slices let go of their chunk once the write is done
        ++index_;
        offset_ = 0;
      }
    }
  }

  // Waits until a growing body has more than what was polled (or fails / times out).
  boost::asio::awaitable<Status> wait() { co_return co_await stream_->wait(polled_); }

  bool waiting = false;  // a wait() is pending

 private:
  static constexpr std::uint64_t kRefillBelow = 64 * 1024;
  void push(ChunkSlice s) {
    ready_bytes_ += s.end - s.begin;
    ready_.push_back(std::move(s));
  }
  std::vector<ChunkSlice> ready_;
  std::size_t index_ = 0, offset_ = 0;
  std::uint64_t ready_bytes_ = 0;
  std::shared_ptr<BodyStream> stream_;
  std::uint64_t polled_ = 0;
  std::optional<std::uint64_t> length_;
  bool complete_ = false, failed_ = false, empty_ = false;
};

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
  H2BodySource source;
  std::uint64_t sent = 0;      // body bytes framed
  std::unique_ptr<H2RequestBody> body;
};

}  // namespace hlscache
