// Helpers for the coalescing suites: run a reader coroutine to the end of a Fetch
// on an io_context, and make deterministic byte patterns to write and compare.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "coalesce/fetch.hpp"

namespace hlscache::test {

// What a reader saw: the head, the body bytes in order, how it ended.
struct ReadOutcome {
  bool done = false;
  int status = 0;
  std::string body;
  StreamState end = StreamState::more;
  std::optional<Error> error;  // from wait_head or wait
  int wakeups = 0;             // wait() calls that returned Ok
};

// Streams the whole fetch the way a session does: wait_head, then poll / wait until
// complete or failed. Every slice must start at the reader's offset (in order, no gaps).
inline boost::asio::awaitable<void> read_to_end(FetchPtr f, ReadOutcome& out) {
  auto head = co_await f->wait_head();
  if (!head) {
    out.error = head.error();
    out.end = StreamState::failed;
    out.done = true;
    co_return;
  }
  out.status = head->status;
  std::uint64_t offset = 0;
  for (;;) {
    std::vector<ChunkSlice> slices;
    StreamState st = f->poll(offset, slices);
    for (const auto& s : slices) {
      out.body.append(s.chunk.bytes.get() + s.begin, s.end - s.begin);
      offset += s.end - s.begin;
    }
    if (st != StreamState::more) {
      out.end = st;
      break;
    }
    Status w = co_await f->wait(offset);
    if (!w) {
      out.error = w.error();
      break;
    }
    ++out.wakeups;
  }
  out.done = true;
}

inline void spawn_reader(boost::asio::io_context& io, FetchPtr f, ReadOutcome& out) {
  boost::asio::co_spawn(io, read_to_end(std::move(f), out), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
}

// n bytes whose value depends on position and a seed, so reordering or gaps show.
inline std::string pattern(std::size_t n, unsigned seed = 0) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7 + i / 251) & 0xff);
  return s;
}

inline ResponseHead head_200(std::optional<std::uint64_t> content_length = std::nullopt) {
  ResponseHead h;
  h.status = 200;
  h.headers = {{"Content-Type", "video/mp2t"}};
  h.content_length = content_length;
  return h;
}

constexpr auto kLongWait = std::chrono::seconds(10);
constexpr std::uint64_t kMaxBody = 64ull << 20;

}  // namespace hlscache::test
