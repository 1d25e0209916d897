// Upstream HTTP/1.1 responses, as the origin tier reads them (src/source/origin_attempt_h1.cpp,
// h1_connection.*): Beast's response_parser<buffer_body> with a 64 KiB header limit and
// no body limit, the head read with read_header, the body streamed into a fixed buffer
// of `room` bytes per read (stream_body_into), Content-Length, chunked and
// read-until-close framing; several messages on one byte stream (1xx interim heads, then
// the final response; a kept-alive connection's next response), and the health check's
// head-only parse (response_parser<empty_body>, skip). The bytes arrive in reads of a
// chosen size through a synchronous stream, so Beast runs the same read algorithm as
// the async code. Input: one byte of settings (read size, buffer room, health check),
// then the upstream's bytes.
//
// read_exchange() is the one place that knows how the client reads a response: point
// it at the origin tier's own function when that one can run on a byte stream.
#include <boost/asio/buffer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "beast_assert.hpp"
#include "fuzz_support.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr std::size_t kMaxUpstreamHeader = 64 * 1024;  // h1_connection.hpp: kMaxResponseHeader
constexpr std::size_t kUpstreamReadBytes = 64 * 1024;  // h1_connection.hpp: the connection buffer's reserve

// A SyncReadStream over the fuzz bytes: at most `piece` bytes per read, then EOF.
class PieceStream {
 public:
  PieceStream(std::string_view bytes, std::size_t piece) : bytes_(bytes), piece_(piece) {}
  template <class Buffers>
  std::size_t read_some(const Buffers& buffers, beast::error_code& ec) {
    ec = {};
    if (bytes_.empty()) {
      ec = asio::error::eof;
      return 0;
    }
    const std::size_t n = asio::buffer_copy(buffers, asio::buffer(bytes_.data(), std::min(piece_, bytes_.size())));
    bytes_.remove_prefix(n);
    return n;
  }
  template <class Buffers>
  std::size_t read_some(const Buffers& buffers) {
    beast::error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }

 private:
  std::string_view bytes_;
  std::size_t piece_;
};

struct Exchange {
  int status = 0;
  bool complete = false;  // the final response's body was read to its end
  std::uint64_t received = 0;
};

// One request's answer: interim 1xx heads, then the final head and its body, streamed
// `room` bytes at a time. Returns false when the connection cannot be reused.
bool read_exchange(PieceStream& s, beast::flat_buffer& buffer, std::size_t room, Exchange& out) {
  std::vector<char> sink(room);
  for (int interim = 0; interim < 16; ++interim) {
    http::response_parser<http::buffer_body> parser;  // h1_upstream::ResponseParser
    parser.header_limit(kMaxUpstreamHeader);
    parser.body_limit(boost::none);
    beast::error_code ec;
    http::read_header(s, buffer, parser, ec);
    if (ec) return false;
    const auto& res = parser.get();
    out.status = static_cast<int>(res.result_int());
    // Beast takes any three digits; the origin tier refuses a status outside 100..599
    // (a protocol error: 502 to the client, the connection dropped).
    if (out.status < 100 || out.status > 599) return false;
    if (out.status / 100 == 1 && out.status != 101) {
      FUZZ_CHECK(parser.is_done());  // an interim response has no body
      continue;
    }
    const auto announced = parser.content_length();
    auto& body = parser.get().body();
    // stream_body_into(): each read is given the free room; need_buffer means it filled.
    std::size_t reads = 0;
    while (!parser.is_done()) {
      body.data = sink.data();
      body.size = room;
      body.more = true;
      http::read_some(s, buffer, parser, ec);
      const std::size_t got = room - body.size;
      FUZZ_CHECK(body.size <= room);
      out.received += got;
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return false;
      // Every read without an error makes progress (else the fetch would spin).
      FUZZ_CHECK(++reads <= 2 * 1024 * 1024);
    }
    // A 1xx (here: 101), 204 or 304 has no body whatever its Content-Length says (RFC 9112 §6.3).
    if (announced && out.status >= 200 && out.status != 204 && out.status != 304) FUZZ_CHECK(out.received == *announced);
    out.complete = true;
    return parser.keep_alive();
  }
  return false;
}

// The health check: a head, its body skipped (origin_dns_health.cpp, check_host()).
void read_probe(PieceStream& s, beast::flat_buffer& buffer) {
  http::response_parser<http::empty_body> parser;
  parser.skip(true);
  beast::error_code ec;
  http::read_header(s, buffer, parser, ec);
  if (!ec) FUZZ_CHECK(parser.is_header_done());
}

constexpr std::array<std::size_t, 8> kPieces{1, 2, 7, 64, 512, 1460, 4096, 65536};
constexpr std::array<std::size_t, 8> kRooms{1, 2, 5, 64, 1000, 4096, 16384, 65536};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  hlscache::fuzz::Input in(data, size);
  const std::uint8_t settings = in.byte();
  const std::string_view bytes = in.rest();
  PieceStream stream(bytes, kPieces[settings & 7]);
  beast::flat_buffer buffer;
  buffer.reserve(kUpstreamReadBytes);
  if (settings & 0x80) {
    read_probe(stream, buffer);
    return 0;
  }
  const std::size_t room = kRooms[(settings >> 3) & 7];
  // A pooled connection serves the next request: read answers while it stays reusable.
  for (int exchange = 0; exchange < 4; ++exchange) {
    Exchange x;
    if (!read_exchange(stream, buffer, room, x)) break;
    FUZZ_CHECK(x.complete);
  }
  return 0;
}
