#include "source/h1_connection.hpp"

#include <unordered_map>
#include <vector>

namespace hlscache::h1_upstream {

namespace {

thread_local std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> t_pools;

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

}  // namespace

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

std::unique_ptr<Connection> take_pooled(const std::string& key) {
  auto it = t_pools.find(key);
  if (it == t_pools.end() || it->second.empty()) return nullptr;
  auto c = std::move(it->second.back());
  it->second.pop_back();
  return c;
}

void give_back(const std::string& key, std::unique_ptr<Connection> c, std::size_t max) {
  auto& pool = t_pools[key];
  if (pool.size() < max && c->buffer.size() == 0) pool.push_back(std::move(c));
}

}  // namespace hlscache::h1_upstream
