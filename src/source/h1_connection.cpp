#include "source/h1_connection.hpp"

#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include <charconv>

#include "core/strings.hpp"

namespace hlscache::h1_upstream {

namespace {

constexpr std::uint64_t kWakeBatchBytes = 1024 * 1024;
constexpr std::size_t kMoreThanFraming = 1024;  // more than a chunk's CRLF and size line

// Whether the next read brings body bytes without waiting: enough buffered by Beast or
// waiting in the socket that it is not just chunk framing (a slow chunked origin would
// otherwise look ready between its chunks). Over TLS a socket's bytes may be part of a
// record still arriving: never ready there.
bool more_ready(Connection& c) {
  if (!std::holds_alternative<PlainStream>(c.stream)) return false;
  if (c.buffer.size() >= kMoreThanFraming) return true;
  boost::system::error_code ec;
  const std::size_t n = c.tcp().socket().available(ec);
  return !ec && n >= kMoreThanFraming;
}

template <class S>
asio::awaitable<beast::error_code> write_on(S& s, const std::string& bytes) {
  auto [ec, n] = co_await asio::async_write(s, asio::buffer(bytes), kTuple);
  (void)n;
  co_return ec;
}

template <class S>
asio::awaitable<std::pair<beast::error_code, std::size_t>> read_header_on(S& s, beast::flat_buffer& buffer,
                                                                           ResponseParser& parser) {
  auto [ec, n] = co_await http::async_read_header(s, buffer, parser, kTuple);
  co_return std::pair{ec, n};
}

asio::awaitable<beast::error_code> write(Connection& c, const std::string& bytes) {
  if (auto* tls = std::get_if<TlsStream>(&c.stream)) co_return co_await write_on(*tls, bytes);
  co_return co_await write_on(std::get<PlainStream>(c.stream), bytes);
}

asio::awaitable<std::pair<beast::error_code, std::size_t>> read_header(Connection& c, ResponseParser& parser) {
  if (auto* tls = std::get_if<TlsStream>(&c.stream)) co_return co_await read_header_on(*tls, c.buffer, parser);
  co_return co_await read_header_on(std::get<PlainStream>(c.stream), c.buffer, parser);
}

asio::awaitable<beast::error_code> read_some(Connection& c, ResponseParser& parser) {
  if (auto* tls = std::get_if<TlsStream>(&c.stream)) {
    auto [ec, n] = co_await http::async_read_some(*tls, c.buffer, parser, kTuple);
    (void)n;
    co_return ec;
  }
  auto [ec, n] = co_await http::async_read_some(std::get<PlainStream>(c.stream), c.buffer, parser, kTuple);
  (void)n;
  co_return ec;
}

// A parameter value of Keep-Alive: digits, possibly quoted; nullopt otherwise.
std::optional<std::uint64_t> parameter_number(std::string_view v) {
  v = trim(v);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || end != v.data() + v.size() || v.empty()) return std::nullopt;
  return n;
}

}  // namespace

asio::awaitable<HeadRead> exchange_head(Connection& c, const std::string& head, std::optional<ResponseParser>& parser,
                                        ResponseSink* interim_to) {
  HeadRead out;
  out.ec = co_await write(c, head);
  if (out.ec) co_return out;
  for (;;) {
    parser.emplace();
    parser->header_limit(kMaxResponseHeader);
    parser->body_limit(boost::none);  // the Fetch enforces limits.max_object_bytes
    auto [ec, n] = co_await read_header(c, *parser);
    if (n > 0 || c.buffer.size() > 0) out.any_byte = true;
    if (ec) {
      out.ec = ec;
      co_return out;
    }
    const unsigned status = parser->get().result_int();
    if (status >= 200) co_return out;
    if (status == 101) {
      out.refused = "101 Switching Protocols, but no upgrade was asked for";
      co_return out;
    }
    if (status < 100) {
      out.refused = fmt::format("status {}", status);
      co_return out;
    }
    if (++out.interims > kMaxInterimResponses) {
      out.refused = fmt::format("more than {} interim (1xx) responses", kMaxInterimResponses);
      co_return out;
    }
    if (status == 103 && interim_to != nullptr) interim_to->interim(103, end_to_end_fields(parser->get()));
  }
}

std::vector<Header> end_to_end_fields(const http::fields& fields) {
  std::vector<Header> out;
  std::string connection_tokens;  // every Connection line: the fields any of them names are hop-by-hop
  auto [from, to] = fields.equal_range(http::field::connection);
  for (auto it = from; it != to; ++it) connection_tokens.append(connection_tokens.empty() ? "" : ", ").append(it->value());
  for (const auto& f : fields) {
    const auto name = f.name_string();
    // Date stays: freshness counts Expires from it (RFC 9111 §4.2.1), and the cache
    // handler drops it where it builds the client's response (the session writes its own).
    if (is_hop_by_hop(name, connection_tokens) || f.name() == http::field::content_length ||
        f.name() == http::field::server)
      continue;
    out.emplace_back(std::string(name), std::string(f.value()));
  }
  return out;
}

KeepAliveHint parse_keep_alive(const http::fields& fields) {
  KeepAliveHint hint;
  auto [from, to] = fields.equal_range(http::field::keep_alive);
  for (auto it = from; it != to; ++it)
    for_each_member(it->value(), [&](std::string_view m) {
      const auto eq = m.find('=');
      if (eq == std::string_view::npos) return;
      const std::string_view name = trim(m.substr(0, eq));
      const auto value = parameter_number(m.substr(eq + 1));
      if (!value) return;
      // The smallest value wins where a field repeats a parameter: the cautious reading.
      if (iequal(name, "timeout")) {
        const Duration d = std::chrono::seconds(std::min<std::uint64_t>(*value, 24 * 3600));
        hint.timeout = hint.timeout ? std::min(*hint.timeout, d) : d;
      } else if (iequal(name, "max")) {
        hint.max = hint.max ? std::min(*hint.max, *value) : *value;
      }
    });
  return hint;
}

std::optional<Duration> reuse_window(const KeepAliveHint& hint, Duration pool_idle) {
  if (hint.max && *hint.max == 0) return std::nullopt;
  Duration window = pool_idle;
  if (hint.timeout) {
    const Duration margin = std::min<Duration>(std::chrono::seconds(1), *hint.timeout / 4);
    window = std::min(window, *hint.timeout - margin);
  }
  if (window <= Duration::zero()) return std::nullopt;
  return window;
}

bool reusable(const Connection& c, const ResponseParser& parser) {
  return parser.is_header_done() && parser.is_done() && parser.keep_alive() && !parser.need_eof() &&
         c.buffer.size() == 0;
}

asio::awaitable<BodyRead> stream_body_into(Connection& c, ResponseParser& parser, ResponseHead head, ResponseSink& into,
                                           Duration idle, TimePoint deadline) {
  BodyRead out;
  std::uint64_t unannounced = 0;
  auto wake = [&]() {
    if (parser.is_done() || unannounced >= kWakeBatchBytes || !more_ready(c)) {
      unannounced = 0;
      return ResponseSink::Wake::now;
    }
    return ResponseSink::Wake::later;
  };
  into.set_head(std::move(head), wake());
  auto& body = parser.get().body();
  while (!parser.is_done()) {
    auto [ptr, room] = into.writable();
    if (room == 0) {
      out.too_large = true;
      co_return out;
    }
    body.data = ptr;
    body.size = room;
    body.more = true;
    c.tcp().expires_after(remaining(deadline, idle));
    beast::error_code ec = co_await read_some(c, parser);
    const std::size_t got = room - body.size;
    out.received += got;
    unannounced += got;
    if (ec == http::error::need_buffer) ec = {};
    into.commit(got, ec ? ResponseSink::Wake::now : wake());
    if (ec) {
      out.ec = ec;
      co_return out;
    }
  }
  co_return out;
}

}  // namespace hlscache::h1_upstream
