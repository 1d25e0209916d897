#include "http/h1_codec.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include <cstring>

#include "http/h1_request_rules.hpp"

namespace hlscache {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

Method to_method(http::verb v) {
  switch (v) {
    case http::verb::get: return Method::get;
    case http::verb::head: return Method::head;
    case http::verb::put: return Method::put;
    case http::verb::post: return Method::post;
    default: return Method::other;
  }
}

// Checks Beast leaves to us: conflicting Content-Lengths, CL together with TE.
std::string framing_problem(const http::request_parser<http::empty_body>::value_type& req) {
  std::string_view first_cl;
  int n_cl = 0;
  for (const auto& f : req) {
    if (f.name() == http::field::content_length) {
      if (n_cl++ && f.value() != first_cl) return "conflicting Content-Length headers";
      first_cl = f.value();
    }
  }
  if (n_cl && req.count(http::field::transfer_encoding)) return "both Content-Length and Transfer-Encoding";
  return {};
}

// RFC 9112 §9.3 over every Connection line: "close" ends the connection; HTTP/1.0
// persists only with "keep-alive". Beast's keep_alive() reads one line (the message's) or
// lets keep-alive outweigh close in HTTP/1.0 (the parser's); the scanner's path does this.
bool persists(const http::request_parser<http::empty_body>::value_type& req) {
  bool close = false, keep_alive = false;
  for (const auto& f : req) {
    if (f.name() != http::field::connection) continue;
    for (const auto& token : http::token_list{f.value()}) {
      if (beast::iequals(token, "close")) close = true;
      else if (beast::iequals(token, "keep-alive")) keep_alive = true;
    }
  }
  return !close && (req.version() == 11 || keep_alive);
}

// PUT/POST to /ingest/...: the body streams to the handler, any length.
bool is_ingest(const RequestContext& ctx) {
  return (ctx.method == Method::put || ctx.method == Method::post) && ctx.path().substr(0, 8) == "/ingest/";
}

}  // namespace

// ---------------------------------------------------------------- the scanner's path

// The common request — GET or HEAD with no body, its whole head in the buffer — is
// taken by scan_simple_request_head(); anything else by Beast's parser, which also
// answers every malformed request.
std::size_t take_simple_head(std::string_view buffered, const LimitsConfig& limits, SimpleRequestHead& simple,
                             RequestContext& ctx, H1Head& head) {
  if (scan_simple_request_head(buffered, limits.max_header_bytes, simple) != ScanResult::ok) return 0;
  if (simple.target.size() > limits.max_target_bytes) return 0;  // Beast's path answers 414
  ctx.method = simple.head_method ? Method::head : Method::get;
  ctx.method_text.assign(simple.method);
  ctx.target.assign(simple.target);
  // Assigned into the previous request's strings, which keep their capacity.
  auto& headers = ctx.headers;
  std::size_t i = 0;
  for (const auto& [name, value] : simple.fields) {
    if (i < headers.size()) {
      headers[i].first.assign(name);
      headers[i].second.assign(value);
    } else {
      headers.emplace_back(std::string(name), std::string(value));
    }
    ++i;
  }
  headers.resize(i);
  head.http10 = simple.version == 10;
  head.keep_alive = simple.keep_alive;
  return simple.size;
}

// ---------------------------------------------------------------- Beast's path

H1HeadParser::H1HeadParser(const LimitsConfig& limits) : limits_(limits) {
  parser_.header_limit(limits.max_header_bytes);
  // No body limit while the header is parsed: Beast would refuse a Content-Length over
  // it right there, before the route is known, and ingest routes take bodies of any
  // length (H1RequestBody). Other routes are held to max_request_body (finish()).
  parser_.body_limit(boost::none);
  parser_.eager(false);
}

// Counts every byte the parser consumes: Beast's header_limit only bounds the part
// of the header not yet consumed (complete fields are consumed as they are parsed),
// so a header sent in small pieces would otherwise pass limits.max_header_bytes.
H1HeadParser::Step H1HeadParser::put(std::string_view unparsed, std::size_t& used) {
  used = 0;
  if (unparsed.empty()) return Step::more;
  if (has_obs_fold(unparsed, last_consumed_)) {  // Beast would fold it
    ec_ = http::error::bad_obs_fold;
    return Step::failed;
  }
  beast::error_code ec;
  used = parser_.put(asio::buffer(unparsed.data(), unparsed.size()), ec);
  if (used > 0) last_consumed_ = unparsed[used - 1];
  consumed_ += used;
  if (consumed_ > limits_.max_header_bytes) {
    ec_ = http::error::header_limit;
    return Step::failed;
  }
  if (parser_.is_header_done()) return Step::done;
  if (ec != http::error::need_more) {
    ec_ = ec;
    return Step::failed;
  }
  return Step::more;
}

H1HeadParser::Step H1HeadParser::put_eof() {
  if (!parser_.got_some()) {
    ec_ = http::error::end_of_stream;
    return Step::failed;
  }
  beast::error_code eof_ec;
  parser_.put_eof(eof_ec);
  ec_ = eof_ec ? eof_ec : beast::error_code(http::error::partial_message);
  return Step::failed;
}

H1Refusal refusal_for(const beast::error_code& ec, bool& quiet) {
  quiet = false;
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
    return {431, "request header block too large"};
  if (ec == http::error::bad_obs_fold) return {400, "obsolete line folding is not accepted (RFC 9112 §5.2)"};
  if (ec == beast::error::timeout) return {408, "request header not received in time"};
  if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::operation_aborted ||
      ec == asio::error::connection_reset || ec == asio::ssl::error::stream_truncated) {
    quiet = true;
    return {};
  }
  return {400, ec.message()};
}

H1Refusal H1HeadParser::finish(RequestContext& ctx, H1Head& head) {
  auto& req = parser_.get();
  if (req.target().size() > limits_.max_target_bytes) return {414, "request target too long"};
  if (auto problem = framing_problem(req); !problem.empty()) return {400, problem};
  if (req.version() != 11 && req.version() != 10) return {505, {}};
  if (req.method() == http::verb::unknown) return {501, "unknown method"};

  ctx.method = to_method(req.method());
  ctx.method_text = std::string(req.method_string());
  ctx.target = std::string(req.target());
  for (const auto& f : req) ctx.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  head.http10 = req.version() == 10;
  head.keep_alive = persists(req);

  // What Beast leaves to us (h1_request_rules.hpp): framing, Host, the target's form.
  RequestError problem = check_transfer_encoding(combined_field(ctx.headers, "Transfer-Encoding"), req.version());
  if (!problem) problem = check_host(ctx.headers, req.version());
  if (!problem) problem = normalize_target(ctx.method_text, ctx.target, ctx.headers);
  if (!problem && has_forbidden_bytes(ctx.headers)) problem = {400, "CR, LF or NUL in a field"};
  if (problem) return {problem.status, std::string(problem.detail), problem.status == 405 ? "GET, HEAD" : ""};

  // Bodies stream to ingest routes; elsewhere they are read and dropped, bounded.
  if (!is_ingest(ctx) && parser_.content_length().value_or(0) > limits_.max_request_body)
    return {413, "request body too large"};
  return {};
}

void h1_chunk_size_line(std::string& out, std::uint64_t n) {
  out.clear();
  fmt::format_to(std::back_inserter(out), "{:x}\r\n", n);
}

// ---------------------------------------------------------------- reading from the socket

template <class Stream>
H1Codec<Stream>::H1Codec(Stream& stream, IoDeadline& deadline, const Config& cfg, std::string_view prefix)
    : stream_(stream), deadline_(deadline), cfg_(cfg) {
  if (!prefix.empty()) {
    auto room = buffer_.prepare(prefix.size());
    std::memcpy(room.data(), prefix.data(), prefix.size());
    buffer_.commit(prefix.size());
  }
}

template <class Stream>
asio::awaitable<bool> H1Codec<Stream>::wait_for_request(bool first) {
  // Between requests the idle deadline applies; the header-read deadline starts with the first byte.
  if (buffer_.size() > 0) co_return true;
  deadline_.set(first ? cfg_.timeouts.header_read : cfg_.timeouts.idle);
  auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(4096), kTuple);
  if (ec) co_return false;
  buffer_.commit(n);
  co_return true;
}

template <class Stream>
bool H1Codec<Stream>::take_simple_request(RequestContext& ctx, H1Head& head) {
  const auto bytes = buffer_.data();
  const std::size_t n = take_simple_head(std::string_view(static_cast<const char*>(bytes.data()), bytes.size()),
                                         cfg_.limits, simple_, ctx, head);
  if (n == 0) return false;
  buffer_.consume(n);
  return true;
}

template <class Stream>
asio::awaitable<beast::error_code> H1Codec<Stream>::read_header(H1HeadParser& head) {
  for (;;) {
    if (buffer_.size() > 0) {
      std::size_t used = 0;
      const auto step = head.put({static_cast<const char*>(buffer_.data().data()), buffer_.size()}, used);
      buffer_.consume(used);
      if (step == H1HeadParser::Step::done) co_return beast::error_code{};
      if (step == H1HeadParser::Step::failed) co_return head.error();
    }
    if (deadline_.expired()) co_return beast::error::timeout;  // also after a read that beat the cancel
    auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(4096), kTuple);
    buffer_.commit(n);
    if (ec && deadline_.expired()) co_return beast::error::timeout;
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
      head.put_eof();
      co_return head.error();
    }
    if (ec) co_return ec;
  }
}

template <class Stream>
asio::awaitable<typename H1Codec<Stream>::Read> H1Codec<Stream>::read_request(
    RequestContext& ctx, H1Head& head, std::unique_ptr<H1RequestBody<Stream>>& streaming, H1Refusal& refusal) {
  H1HeadParser parser(cfg_.limits);
  const beast::error_code ec = co_await read_header(parser);
  if (ec) {
    bool quiet = false;
    refusal = refusal_for(ec, quiet);
    co_return quiet ? Read::closed : Read::refused;
  }
  refusal = parser.finish(ctx, head);
  if (refusal) co_return Read::refused;

  auto& p = parser.parser();
  if (is_ingest(ctx) && !p.is_done()) {
    streaming = std::make_unique<H1RequestBody<Stream>>(stream_, buffer_, deadline_, std::move(p));
    ctx.body = streaming.get();
  } else if (!p.is_done()) {
    http::request_parser<http::string_body> body_parser(std::move(p));
    body_parser.body_limit(cfg_.limits.max_request_body);
    auto [bec, bn] = co_await http::async_read(stream_, buffer_, body_parser, kTuple);
    (void)bn;
    if (bec) {
      if (deadline_.expired()) refusal = {408, "request body not received in time"};
      else if (bec == http::error::body_limit) refusal = {413, "request body too large"};
      else refusal = {400, bec.message()};
      co_return Read::refused;
    }
  }
  co_return Read::request;
}

template <class Stream>
asio::awaitable<Result<std::string_view>> H1RequestBody<Stream>::read_some(Duration idle) {
  for (;;) {
    if (parser_.is_done()) co_return std::string_view{};
    auto& body = parser_.get().body();
    body.data = data_;
    body.size = sizeof data_;
    body.more = true;
    deadline_.set(idle);
    auto [ec, n] = co_await http::async_read_some(stream_, buffer_, parser_, kTuple);
    (void)n;
    const bool timed_out = deadline_.expired();  // before clear(), which resets it
    deadline_.clear();
    std::size_t got = sizeof data_ - body.size;
    if (ec == http::error::need_buffer) ec = {};
    if (got > 0) co_return std::string_view(data_, got);
    if (ec && timed_out)
      co_return Error::make(ErrorSource::downstream, Errc::timeout, "request body idle too long");
    if (ec) co_return Error::make(ErrorSource::downstream, Errc::io, ec.message());
  }
}

template class H1Codec<TcpStream>;
template class H1Codec<TlsStream>;
template class H1RequestBody<TcpStream>;
template class H1RequestBody<TlsStream>;

}  // namespace hlscache
