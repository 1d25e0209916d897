// BodySource: a Response body as a cursor of chunk slices — an inline body aliased as
// one chunk, a cached Object's chunks (a byte range of them), or what a growing
// fetch (StreamBody) has published — handed to the writer by reference, never
// copied. Both sessions read bodies through it: HTTP/1.1 gathers its slices into one
// write (body_writer.hpp), HTTP/2's data provider frames them as DATA (NO_COPY).
#pragma once

#include <boost/asio/awaitable.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/body_stream.hpp"
#include "http/response.hpp"

namespace hlscache {

// Calls emit(chunk, begin, end) for each part of a cached object's chunks that
// `body` (a byte range of the object) covers, in order.
template <class Emit>
void for_each_slice(const ObjectBody& body, Emit&& emit) {
  std::uint64_t pos = 0;
  const std::uint64_t from = body.offset, to = body.offset + body.length;
  for (const auto& c : body.object->body) {
    const std::uint64_t c_begin = pos, c_end = pos + c.size;
    pos = c_end;
    if (c_end <= from) continue;
    if (c_begin >= to) break;
    emit(c, static_cast<std::size_t>(std::max(from, c_begin) - c_begin),
         static_cast<std::size_t>(std::min(to, c_end) - c_begin));
  }
}

class BodySource {
 public:
  // Takes the body out of `resp` (an inline string is moved into a chunk of its own);
  // whatever the source held before is dropped (the vectors keep their capacity).
  void reset(Response& resp, bool head_only) {
    clear();
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
      if (!empty_) for_each_slice(*o, [this](const Chunk& c, std::size_t b, std::size_t e) { push({c, b, e}); });
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
  std::size_t ready_pieces() const { return ready_.size() - index_; }
  std::uint64_t polled() const { return polled_; }  // a growing body's bytes taken in so far

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

  // Hands ready slices to `emit(const char* bytes, std::size_t n)`, whole ones, up to
  // `max_pieces` slices and about `max_bytes` (the last slice may pass it); returns the
  // bytes handed over. The source holds their chunks until the next refill() or reset().
  template <class Emit>
  std::uint64_t take_batch(std::size_t max_pieces, std::uint64_t max_bytes, Emit&& emit) {
    std::uint64_t bytes = 0;
    for (std::size_t k = 0; k < max_pieces && bytes < max_bytes && index_ < ready_.size(); ++k) {
      auto& s = ready_[index_];
      const std::size_t from = s.begin + offset_;
      emit(s.chunk.bytes.get() + from, s.end - from);
      bytes += s.end - from;
      ready_bytes_ -= s.end - from;
      ++index_;  // the slice keeps its chunk until the next refill: the bytes are being written
      offset_ = 0;
    }
    return bytes;
  }

  // Waits until a growing body has more than what was polled (or fails / times out).
  boost::asio::awaitable<Status> wait() { co_return co_await stream_->wait(polled_); }

  bool waiting = false;  // a wait() is pending

 private:
  static constexpr std::uint64_t kRefillBelow = 64 * 1024;
  void clear() {
    ready_.clear();
    index_ = offset_ = 0;
    ready_bytes_ = polled_ = 0;
    stream_.reset();
    length_.reset();
    complete_ = failed_ = empty_ = waiting = false;
  }
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

}  // namespace hlscache
