// HTTP/1.1 codec, server side: bytes <-> messages. Reading: the common request head
// (GET/HEAD, no body, all of it at hand) by the strict scanner (h1_request_head.hpp),
// every other one by Beast's parser under the RFC 9112 rules of h1_request_rules.hpp
// (H1HeadParser: no socket, fed bytes), with the header-read deadline and
// limits.max_header_bytes counted over every byte consumed; a request body streamed
// (ingest) or read and dropped (bounded). Writing: chunked framing of body batches
// (the head itself is wire.hpp's). The codec answers nothing: a request it refuses
// comes back as an H1Refusal, which the exchange (h1_exchange.hpp) sends.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "http/h1_request_head.hpp"
#include "http/io_deadline.hpp"
#include "core/request.hpp"
#include "http/streams.hpp"

namespace hlscache {

struct H1Head {
  bool http10 = false;
  bool keep_alive = false;  // RFC 9112 §9.3 over every Connection line
};

// A request the codec will not pass on: answered `status` (+ Allow), then the connection closes.
struct H1Refusal {
  H1Refusal() = default;
  H1Refusal(int s, std::string d, std::string_view a = {}) : status(s), detail(std::move(d)), allow(a) {}
  int status = 0;
  std::string detail;
  std::string_view allow;
  explicit operator bool() const { return status != 0; }
};

// The scanner's path: fills `ctx` (method, target, fields — assigned into the strings
// it already holds, which keep their capacity) and `head` from the bytes at hand.
// Returns the head's size (the bytes to consume), 0 when the scanner does not take it.
std::size_t take_simple_head(std::string_view buffered, const LimitsConfig& limits, SimpleRequestHead& scratch,
                             RequestContext& ctx, H1Head& head);

// Beast's path over bytes fed in pieces, with the checks Beast leaves to us.
class H1HeadParser {
 public:
  using Parser = boost::beast::http::request_parser<boost::beast::http::empty_body>;
  explicit H1HeadParser(const LimitsConfig& limits);

  enum class Step { more, done, failed };
  // Feeds `bytes`; `used` says how many were consumed (the rest stays buffered).
  Step put(std::string_view bytes, std::size_t& used);
  Step put_eof();  // the peer closed before the head ended
  const boost::beast::error_code& error() const { return ec_; }  // after `failed`
  bool got_some() const { return parser_.got_some(); }

  // After `done`: the request into `ctx` and `head`, or why it is refused.
  H1Refusal finish(RequestContext& ctx, H1Head& head);
  Parser& parser() { return parser_; }  // the body is read with it (or one made from it)

 private:
  const LimitsConfig& limits_;
  Parser parser_;
  std::size_t consumed_ = 0;
  char last_consumed_ = 0;  // obs-fold: a line that starts after it with SP/HTAB
  boost::beast::error_code ec_;
};

// A read error of the head as the answer it gets; `quiet` when the connection just ends.
H1Refusal refusal_for(const boost::beast::error_code& ec, bool& quiet);

// Chunked framing (RFC 9112 §7.1) of one batch of body bytes: the size line before,
// kH1ChunkEnd after; kH1LastChunk ends the body.
void h1_chunk_size_line(std::string& out, std::uint64_t n);
inline constexpr std::string_view kH1ChunkEnd = "\r\n", kH1LastChunk = "0\r\n\r\n";

// An ingest request's body, streamed through Beast's buffer_body into a fixed buffer.
template <class Stream>
class H1RequestBody final : public RequestBody {
 public:
  H1RequestBody(Stream& stream, boost::beast::flat_buffer& buffer, IoDeadline& deadline, H1HeadParser::Parser&& p)
      : stream_(stream), buffer_(buffer), deadline_(deadline), parser_(std::move(p)) {
    parser_.body_limit(boost::none);  // a live stream has no length bound; the idle deadline bounds it in time
  }
  boost::asio::awaitable<Result<std::string_view>> read_some(Duration idle) override;
  bool done() const override { return parser_.is_done(); }

 private:
  Stream& stream_;
  boost::beast::flat_buffer& buffer_;
  IoDeadline& deadline_;
  boost::beast::http::request_parser<boost::beast::http::buffer_body> parser_;
  char data_[64 * 1024];
};

template <class Stream>
class H1Codec {
 public:
  // `prefix`: bytes already read from the connection (while looking for an HTTP/2 preface).
  H1Codec(Stream& stream, IoDeadline& deadline, const Config& cfg, std::string_view prefix);

  // Waits for the first byte of a request (the idle deadline between requests; the
  // header-read one for the first). False: the connection ended.
  boost::asio::awaitable<bool> wait_for_request(bool first);
  // The scanner's path over what is buffered; false: read_request() must parse it.
  bool take_simple_request(RequestContext& ctx, H1Head& head);

  enum class Read { request, closed, refused };
  // Beast's path: the head, then a body to drop (bounded) or, for ingest, `streaming`.
  boost::asio::awaitable<Read> read_request(RequestContext& ctx, H1Head& head,
                                            std::unique_ptr<H1RequestBody<Stream>>& streaming, H1Refusal& refusal);

 private:
  boost::asio::awaitable<boost::beast::error_code> read_header(H1HeadParser& head);

  Stream& stream_;
  IoDeadline& deadline_;
  const Config& cfg_;
  boost::beast::flat_buffer buffer_;
  SimpleRequestHead simple_;
};

}  // namespace hlscache
