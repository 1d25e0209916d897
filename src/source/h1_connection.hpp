// The HTTP/1.1 connection OriginTier uses towards an upstream host, in clear text or
// over TLS (upstream.protocol: https), the exchanges it needs whatever the transport
// (request head out + response head in; the body streamed into a Fetch), and this
// thread's pool of idle keep-alive connections.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>

#include "core/clock.hpp"
#include "core/response_sink.hpp"
#include "core/clock.hpp"

namespace hlscache::h1_upstream {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

inline constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
inline constexpr std::size_t kUpstreamReadBytes = 64 * 1024;

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One upstream HTTP/1.1 connection, in clear text or over TLS (protocol: https).
struct Connection {
  // Beast reads the socket into `buffer` before the parser moves body bytes into the
  // Fetch, asking for max(512, free capacity) bytes per read. Left at the few hundred
  // bytes the header needed, a 1 MiB body arrives in ~2000 reads, each a commit that
  // wakes every follower; with room reserved each read takes up to 64 KiB.
  template <class S>
  explicit Connection(S s) : stream(std::move(s)) { buffer.reserve(kUpstreamReadBytes); }
  std::variant<PlainStream, TlsStream> stream;
  beast::flat_buffer buffer;
  beast::tcp_stream& tcp() {
    return std::visit([](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(s); }, stream);
  }
};

template <class S, class Parser>
asio::awaitable<beast::error_code> write_and_read_head_on(S& s, beast::flat_buffer& buffer, const std::string& head,
                                                          Parser& parser) {
  auto [wec, wn] = co_await asio::async_write(s, asio::buffer(head), kTuple);
  (void)wn;
  if (wec) co_return wec;
  auto [rec, rn] = co_await http::async_read_header(s, buffer, parser, kTuple);
  (void)rn;
  co_return rec;
}

// Sends the request head and reads the response head, whatever the transport.
template <class Parser>
asio::awaitable<beast::error_code> write_and_read_head(Connection& c, const std::string& head, Parser& parser) {
  if (auto* tls = std::get_if<TlsStream>(&c.stream)) co_return co_await write_and_read_head_on(*tls, c.buffer, head, parser);
  co_return co_await write_and_read_head_on(std::get<PlainStream>(c.stream), c.buffer, head, parser);
}

template <class Parser>
asio::awaitable<beast::error_code> read_some(Connection& c, Parser& parser) {
  if (auto* tls = std::get_if<TlsStream>(&c.stream)) {
    auto [ec, n] = co_await http::async_read_some(*tls, c.buffer, parser, kTuple);
    (void)n;
    co_return ec;
  }
  auto [ec, n] = co_await http::async_read_some(std::get<PlainStream>(c.stream), c.buffer, parser, kTuple);
  (void)n;
  co_return ec;
}

using ResponseParser = http::response_parser<http::buffer_body>;

// How streaming a body into a Fetch ended.
struct BodyRead {
  std::uint64_t received = 0;
  beast::error_code ec;     // the read that failed; none when the body is complete
  bool too_large = false;   // the Fetch refused more bytes (limits.max_object_bytes)
};

// Publishes `head` to `into`, then reads the rest of the response into the Fetch's
// chunks, each read bounded by the smaller of `idle` and what is left until `deadline`.
// Readers are woken once per batch: while at least 1 KiB more is readable without
// waiting (clear TCP only) bytes are published with ResponseSink::Wake::later, up to 1 MiB,
// so a follower's first write carries the head and what has arrived. The caller
// completes or fails the Fetch.
boost::asio::awaitable<BodyRead> stream_body_into(Connection& c, ResponseParser& parser, ResponseHead head,
                                                  ResponseSink& into, Duration idle, TimePoint deadline);

// What is left until `deadline`, at most `cap`, at least 1 ms (a timer of 0 would not wait).
inline Duration remaining(TimePoint deadline, Duration cap) {
  return std::max<Duration>(std::chrono::milliseconds(1), std::min<Duration>(deadline - SteadyClock::now(), cap));
}

// Idle keep-alive connections of this thread, per pool key (tier, group, host,
// transport). A fetch runs on one io_context thread from start to end, so the pool
// needs no lock.
std::unique_ptr<Connection> take_pooled(const std::string& key);
// Keeps `c` for reuse if the pool has room (`max`) and nothing unread is buffered.
void give_back(const std::string& key, std::unique_ptr<Connection> c, std::size_t max);

}  // namespace hlscache::h1_upstream
