// H2Driver (core/h2_driver.hpp) without a socket: a client and a server driver talk
// through byte strings; the server frames a body of shared chunks with NO_COPY (its
// batch points into the chunks), and flush() runs against a fake transport — it writes
// what is due, sleeps until kick(), and ends when told, when the session is over or
// when a write fails.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "core/h2_driver.hpp"

namespace hlscache {
namespace {

namespace asio = boost::asio;

// A body handed to the server's data provider: slices of shared chunks.
struct Body {
  std::vector<ChunkSlice> slices;
  std::size_t index = 0, offset = 0;
  std::size_t left() const {
    std::size_t n = 0;
    for (std::size_t i = index; i < slices.size(); ++i) n += slices[i].end - slices[i].begin - (i == index ? offset : 0);
    return n;
  }
};

struct Recorder : H2Driver::Events {
  std::map<std::int32_t, std::vector<std::pair<std::string, std::string>>> headers;
  std::string data;
  std::vector<std::int32_t> ended;  // streams whose END_STREAM arrived
  int closed = 0;
  int after_recv_calls = 0;

  int on_header(const nghttp2_frame& f, std::string_view n, std::string_view v) override {
    headers[f.hd.stream_id].emplace_back(std::string(n), std::string(v));
    return 0;
  }
  int on_frame_recv(const nghttp2_frame& f) override {
    if ((f.hd.type == NGHTTP2_HEADERS || f.hd.type == NGHTTP2_DATA) && (f.hd.flags & NGHTTP2_FLAG_END_STREAM))
      ended.push_back(f.hd.stream_id);
    return 0;
  }
  int on_data_chunk_recv(std::int32_t, std::string_view d) override {
    data.append(d);
    return 0;
  }
  int on_stream_close(std::int32_t, std::uint32_t) override {
    ++closed;
    return 0;
  }
  ssize_t data_length(std::int32_t, void* source, std::size_t max, std::uint32_t* flags) override {
    auto* b = static_cast<Body*>(source);
    const std::size_t n = std::min(max, b->left());
    if (n == b->left()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }
  void data_payload(void* source, std::size_t length, H2OutBatch& out) override {
    auto* b = static_cast<Body*>(source);
    while (length > 0) {
      const auto& s = b->slices[b->index];
      const std::size_t from = s.begin + b->offset, k = std::min(length, s.end - from);
      out.append_slice({s.chunk, from, from + k});
      length -= k;
      b->offset += k;
      if (from + k == s.end) {
        ++b->index;
        b->offset = 0;
      }
    }
  }
  void after_recv() override { ++after_recv_calls; }
};

std::string bytes_of(const H2OutBatch& batch) {
  std::string s;
  for (const auto& p : batch.pieces()) s.append(batch.base(p) + p.begin, p.end - p.begin);
  return s;
}

// Moves everything `from` has to send into `to`; returns the bytes moved.
std::size_t pump(H2Driver& from, H2Driver& to) {
  std::size_t moved = 0;
  for (;;) {
    EXPECT_TRUE(from.fill());
    if (from.out().empty()) return moved;
    const std::string s = bytes_of(from.out());
    from.out().clear();
    EXPECT_EQ(to.recv(s.data(), s.size()), static_cast<ssize_t>(s.size()));
    moved += s.size();
  }
}

Chunk chunk_of(std::string_view s) {
  Chunk c{std::shared_ptr<char[]>(new char[s.size()]), s.size(), s.size()};
  std::memcpy(c.bytes.get(), s.data(), s.size());
  return c;
}

TEST(H2Driver, ClientAndServerExchangeARequestAndANoCopyBody) {
  asio::io_context ioc;
  Recorder server_ev, client_ev;
  H2Driver server(ioc.get_executor(), server_ev, H2Driver::Settings{});
  H2Driver::Settings cs;
  cs.server = false;
  H2Driver client(ioc.get_executor(), client_ev, cs);
  ASSERT_TRUE(server.ok());
  ASSERT_TRUE(client.ok());
  ASSERT_EQ(nghttp2_submit_settings(server.session(), NGHTTP2_FLAG_NONE, nullptr, 0), 0);
  ASSERT_EQ(nghttp2_submit_settings(client.session(), NGHTTP2_FLAG_NONE, nullptr, 0), 0);

  std::vector<std::pair<std::string, std::string>> req{
      {":method", "GET"}, {":scheme", "http"}, {":authority", "edge"}, {":path", "/live/seg_1.ts"}};
  std::vector<nghttp2_nv> nva;
  H2Driver::to_nv(req, nva);
  const std::int32_t id = nghttp2_submit_request(client.session(), nullptr, nva.data(), nva.size(), nullptr, nullptr);
  ASSERT_EQ(id, 1);
  pump(client, server);
  EXPECT_GE(server_ev.after_recv_calls, 1) << "after_recv runs once mem_recv returned";
  ASSERT_EQ(server_ev.headers[1].size(), 4u);
  EXPECT_EQ(server_ev.headers[1][3], (std::pair<std::string, std::string>{":path", "/live/seg_1.ts"}));
  EXPECT_EQ(server_ev.ended, std::vector<std::int32_t>{1});

  // The response body: two shared chunks; DATA goes out of them, not out of a copy.
  const std::string a(20'000, 'a'), b(5'000, 'b');
  Body body;
  body.slices = {{chunk_of(a), 0, a.size()}, {chunk_of(b), 0, b.size()}};
  std::vector<std::pair<std::string, std::string>> resp{{":status", "200"}, {"content-length", "25000"}};
  std::vector<nghttp2_nv> rnva;
  H2Driver::to_nv(resp, rnva);
  ASSERT_EQ(server.submit_response(1, rnva, &body), 0);
  ASSERT_TRUE(server.fill());
  std::size_t aliased = 0;
  for (const auto& p : server.out().pieces())
    if (p.chunk.bytes == body.slices[0].chunk.bytes || p.chunk.bytes == body.slices[1].chunk.bytes)
      aliased += p.end - p.begin;
  EXPECT_EQ(aliased, a.size() + b.size()) << "every payload byte is a slice of the body's chunks";
  const std::string wire = bytes_of(server.out());
  server.out().clear();
  ASSERT_EQ(client.recv(wire.data(), wire.size()), static_cast<ssize_t>(wire.size()));
  pump(server, client);
  EXPECT_EQ(client_ev.data, a + b);
  EXPECT_EQ(client_ev.ended, std::vector<std::int32_t>{1});
  EXPECT_EQ(client_ev.headers[1][0], (std::pair<std::string, std::string>{":status", "200"}));
}

TEST(H2Driver, BatchStopsAtItsBound) {
  asio::io_context ioc;
  Recorder ev;
  H2Driver::Settings s;
  s.batch_bytes = 64;
  H2Driver d(ioc.get_executor(), ev, s);
  ASSERT_EQ(nghttp2_submit_settings(d.session(), NGHTTP2_FLAG_NONE, nullptr, 0), 0);
  std::uint8_t opaque[8] = {};
  for (int i = 0; i < 20; ++i) ASSERT_EQ(nghttp2_submit_ping(d.session(), NGHTTP2_FLAG_NONE, opaque), 0);
  // A server sends nothing before the client's preface: feed it one.
  H2Driver::Settings cs;
  cs.server = false;
  Recorder cev;
  H2Driver client(ioc.get_executor(), cev, cs);
  nghttp2_submit_settings(client.session(), NGHTTP2_FLAG_NONE, nullptr, 0);
  pump(client, d);
  ASSERT_TRUE(d.fill());
  EXPECT_GE(d.out().bytes(), 64u);
  EXPECT_LT(d.out().bytes(), 64u + 17u) << "one frame past the bound at most";
}

struct FakeTransport {
  std::vector<std::string> writes;
  bool stop_now = false;
  bool fail = false;
  bool stop() const { return stop_now; }
  bool stop_when_idle() const { return false; }
  asio::awaitable<bool> write(const H2OutBatch& batch) {
    writes.push_back(bytes_of(batch));
    co_return !fail;
  }
};

TEST(H2Driver, FlushWritesWhatIsDueSleepsUntilKickedAndStopsWhenTold) {
  asio::io_context ioc;
  Recorder ev;
  H2Driver::Settings cs;
  cs.server = false;
  H2Driver d(ioc.get_executor(), ev, cs);
  ASSERT_EQ(nghttp2_submit_settings(d.session(), NGHTTP2_FLAG_NONE, nullptr, 0), 0);
  FakeTransport t;
  std::optional<H2Driver::FlushEnd> end;
  asio::co_spawn(ioc, d.flush(t), [&](std::exception_ptr e, H2Driver::FlushEnd r) {
    ASSERT_FALSE(e);
    end = r;
  });
  ioc.poll();
  ASSERT_EQ(t.writes.size(), 1u);
  EXPECT_EQ(t.writes[0].substr(0, 24), "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") << "the client preface, then SETTINGS";
  EXPECT_FALSE(end) << "nothing due: it sleeps";

  std::uint8_t opaque[8] = {};
  nghttp2_submit_ping(d.session(), NGHTTP2_FLAG_NONE, opaque);
  d.kick();
  ioc.poll();
  ASSERT_EQ(t.writes.size(), 2u);
  EXPECT_EQ(t.writes[1].size(), 9u + 8u) << "one PING frame";
  EXPECT_FALSE(d.writing());

  t.stop_now = true;
  d.kick();
  ioc.poll();
  ASSERT_TRUE(end);
  EXPECT_EQ(*end, H2Driver::FlushEnd::stopped);
}

TEST(H2Driver, FlushEndsOnAFailedWriteAndWhenTheSessionIsOver) {
  {
    asio::io_context ioc;
    Recorder ev;
    H2Driver::Settings cs;
    cs.server = false;
    H2Driver d(ioc.get_executor(), ev, cs);
    nghttp2_submit_settings(d.session(), NGHTTP2_FLAG_NONE, nullptr, 0);
    FakeTransport t;
    t.fail = true;
    std::optional<H2Driver::FlushEnd> end;
    asio::co_spawn(ioc, d.flush(t), [&](std::exception_ptr, H2Driver::FlushEnd r) { end = r; });
    ioc.poll();
    ASSERT_TRUE(end);
    EXPECT_EQ(*end, H2Driver::FlushEnd::write_failed);
  }
  {
    asio::io_context ioc;
    Recorder ev;
    H2Driver::Settings cs;
    cs.server = false;
    H2Driver d(ioc.get_executor(), ev, cs);
    nghttp2_submit_settings(d.session(), NGHTTP2_FLAG_NONE, nullptr, 0);
    nghttp2_session_terminate_session(d.session(), NGHTTP2_NO_ERROR);
    FakeTransport t;
    std::optional<H2Driver::FlushEnd> end;
    asio::co_spawn(ioc, d.flush(t), [&](std::exception_ptr, H2Driver::FlushEnd r) { end = r; });
    ioc.poll();
    ASSERT_TRUE(end);
    EXPECT_EQ(*end, H2Driver::FlushEnd::session_over) << "GOAWAY written, nothing more to read or write";
    ASSERT_EQ(t.writes.size(), 1u);
  }
}

}  // namespace
}  // namespace hlscache
