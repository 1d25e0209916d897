// The HTTP/1.1 connection OriginTier uses towards an upstream host, in clear text or
// over TLS (upstream.protocol: https), and the exchanges it needs whatever the
// transport: request head out, response heads in up to the final one (every 1xx
// read past on the same connection with a fresh parser, RFC 9110 §15.2), the body
// streamed into a ResponseSink; and the verdict whether the connection may carry
// another request (source/h1_pool.hpp keeps the ones that may).
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/clock.hpp"
#include "core/http_fields.hpp"
#include "core/response_sink.hpp"

namespace hlscache::h1_upstream {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

inline constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
inline constexpr std::size_t kUpstreamReadBytes = 64 * 1024;
inline constexpr std::uint32_t kMaxResponseHeader = 64 * 1024;  // per head, 1xx ones included
inline constexpr int kMaxInterimResponses = 16;                 // 1xx heads before the final one, at most

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using ResponseParser = http::response_parser<http::buffer_body>;

// One upstream HTTP/1.1 connection, in clear text or over TLS (protocol: https).
struct Connection {
  // Beast reads the socket into `buffer` before the parser moves body bytes into the
  // Fetch, asking for max(512, free capacity) bytes per read. Left at the few hundred
  // bytes the header needed, a 1 MiB body arrives in ~2000 reads, each a commit that
  // wakes every follower; with room reserved each read takes up to 64 KiB.
  template <class S>
  explicit Connection(S s) : stream(std::move(s)) { buffer.reserve(kUpstreamReadBytes); }
  std::variant<PlainStream, TlsStream> stream;
  beast::flat_buffer buffer;     // read but not yet parsed; must be empty whenever the connection is idle
  TimePoint reuse_until{};       // set by the pool: not handed out again after this
  std::uint32_t exchanges = 0;   // final responses read on it
  beast::tcp_stream& tcp() {
    return std::visit([](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(s); }, stream);
  }
};

// How sending a request and reading its response head ended.
struct HeadRead {
  beast::error_code ec;        // the write or read that failed
  std::string refused;         // a head we do not take (101, too many 1xx); set: the attempt failed
  bool any_byte = false;       // some byte of a response arrived (otherwise a reused connection was stale)
  int interims = 0;            // 1xx heads read past
  bool ok() const { return !ec && refused.empty(); }
};

// Sends `head`, then reads response heads until the final one, into a fresh `parser`
// per message (Beast completes a message at a 1xx head; what follows stays in the
// connection's buffer for the next parser). A 103's fields go to
// `interim_to->interim(103, ...)` (if given); 100, 102 and other 1xx are dropped. A 101
// (we never ask to upgrade) or more than kMaxInterimResponses 1xx heads are refused:
// the caller must close the connection. The caller arms the stream's timer.
asio::awaitable<HeadRead> exchange_head(Connection& c, const std::string& head, std::optional<ResponseParser>& parser,
                                        ResponseSink* interim_to);

// The fields of a response head that a cache passes on: not hop-by-hop (RFC 9110
// §7.6.1, Connection's tokens included), not framing (Content-Length), not Server.
std::vector<Header> end_to_end_fields(const http::fields& fields);

// What the upstream's Keep-Alive field (RFC 2068 §19.7.1.1; every line) announces.
struct KeepAliveHint {
  std::optional<Duration> timeout;     // timeout=N (seconds): it closes connections idle that long
  std::optional<std::uint64_t> max;    // max=N: requests it still takes on this connection
};
KeepAliveHint parse_keep_alive(const http::fields& fields);

// How long after its response a connection may wait in the pool: `pool_idle`, cut so
// it ends min(1 s, timeout / 4) before an advertised idle timeout; nullopt when the
// upstream announced no further use (max=0, or a timeout too short to leave any).
std::optional<Duration> reuse_window(const KeepAliveHint& hint, Duration pool_idle);

// Whether `c` may carry another request once this response ended: the parser read
// the whole message (a close-delimited body never qualifies), both ends keep it
// open (HTTP/1.1 without Connection: close, or HTTP/1.0 with keep-alive), and
// nothing beyond the message is buffered.
bool reusable(const Connection& c, const ResponseParser& parser);

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

}  // namespace hlscache::h1_upstream
