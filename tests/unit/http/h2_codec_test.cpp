// H2ServerCodec (http/h2_codec.hpp) fed bytes, no socket: a client H2Driver (or
// hand-made frames) talks to it and a fake Owner records what it is asked to do — a
// request becomes a dispatched stream with its RequestContext, a response submitted
// to the codec reaches the client, ingest streams get their body sink before their
// DATA, a header block over the bound is flagged (431), and a HEADERS below a stream
// id already seen ends the connection with GOAWAY PROTOCOL_ERROR (RFC 9113 §5.1.1).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <map>
#include <string>
#include <vector>

#include "http/h2_codec.hpp"
#include "http/h2_exchange.hpp"

namespace hlscache {
namespace {

namespace asio = boost::asio;

struct FakeOwner : H2ServerCodec::Owner {
  explicit FakeOwner(asio::io_context& ioc) : ioc(ioc) {}
  asio::io_context& ioc;
  std::vector<std::shared_ptr<H2Stream>> dispatched;
  int bodies_made = 0, closed = 0;
  void dispatch(const std::shared_ptr<H2Stream>& st) override {
    st->dispatched = true;
    dispatched.push_back(st);
  }
  void make_request_body(H2Stream& st) override {
    ++bodies_made;
    st.body = std::make_unique<H2RequestBody>(ioc.get_executor(), nullptr);
  }
  void await_body(const std::shared_ptr<H2Stream>&) override {}
  void stream_closed(H2Stream&) override { ++closed; }
};

struct ClientEvents : H2Driver::Events {
  std::map<std::int32_t, std::map<std::string, std::string>> headers;
  std::string data;
  int goaway_code = -1;
  int on_header(const nghttp2_frame& f, std::string_view n, std::string_view v) override {
    headers[f.hd.stream_id][std::string(n)] = std::string(v);
    return 0;
  }
  int on_data_chunk_recv(std::int32_t, std::string_view d) override {
    data.append(d);
    return 0;
  }
  int on_frame_recv(const nghttp2_frame& f) override {
    if (f.hd.type == NGHTTP2_GOAWAY) goaway_code = static_cast<int>(f.goaway.error_code);
    return 0;
  }
};

std::string drain(H2Driver& d) {
  std::string s;
  for (;;) {
    d.fill();
    if (d.out().empty()) return s;
    for (const auto& p : d.out().pieces()) s.append(d.out().base(p) + p.begin, p.end - p.begin);
    d.out().clear();
  }
}

struct Fixture {
  asio::io_context ioc;
  Config cfg;
  Metrics metrics;
  FakeOwner owner{ioc};
  H2ServerCodec codec{ioc.get_executor(), owner, cfg, metrics, asio::ip::make_address("127.0.0.1")};
  ClientEvents cev;
  H2Driver client{ioc.get_executor(), cev, [] {
                    H2Driver::Settings s;
                    s.server = false;
                    return s;
                  }()};
  Fixture() {
    EXPECT_TRUE(codec.start());
    nghttp2_submit_settings(client.session(), NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  std::int32_t request(std::vector<std::pair<std::string, std::string>> fields, bool end = true) {
    std::vector<nghttp2_nv> nva;
    H2Driver::to_nv(fields, nva);
    nghttp2_priority_spec* pri = nullptr;
    const std::int32_t id =
        end ? nghttp2_submit_request(client.session(), pri, nva.data(), nva.size(), nullptr, nullptr)
            : nghttp2_submit_headers(client.session(), NGHTTP2_FLAG_NONE, -1, pri, nva.data(), nva.size(), nullptr);
    return id;
  }
  bool to_server() {
    const std::string bytes = drain(client);
    return codec.feed(bytes.data(), bytes.size());
  }
  void to_client() {
    const std::string bytes = drain(codec.driver());
    client.recv(bytes.data(), bytes.size());
  }
};

TEST(H2ServerCodec, RequestIsDispatchedAndItsResponseReachesTheClient) {
  Fixture f;
  const auto id = f.request({{":method", "GET"}, {":scheme", "https"}, {":authority", "edge.example"},
                             {":path", "/live/index.m3u8"}, {"accept-encoding", "gzip"}});
  ASSERT_TRUE(f.to_server());
  ASSERT_EQ(f.owner.dispatched.size(), 1u);
  auto& st = *f.owner.dispatched[0];
  EXPECT_EQ(st.id, id);
  EXPECT_EQ(st.ctx.method, Method::get);
  EXPECT_EQ(st.ctx.target, "/live/index.m3u8");
  EXPECT_EQ(st.authority, "edge.example");
  EXPECT_EQ(std::string_view(st.ctx.protocol), "HTTP/2.0");
  EXPECT_EQ(st.ctx.header("accept-encoding"), "gzip");
  EXPECT_FALSE(refuse_h2_request(st, f.cfg));

  st.resp = Response::text(200, "#EXTM3U\n");
  f.codec.submit(st);
  f.to_client();
  EXPECT_EQ(f.cev.headers[id][":status"], "200");
  EXPECT_EQ(f.cev.headers[id]["content-length"], "8");
  EXPECT_EQ(f.cev.data, "#EXTM3U\n");
  EXPECT_EQ(f.owner.closed, 1);
}

TEST(H2ServerCodec, IngestStreamGetsItsBodySinkBeforeItsData) {
  Fixture f;
  nghttp2_data_provider none{};
  (void)none;
  const auto id = f.request({{":method", "PUT"}, {":scheme", "http"}, {":authority", "a"}, {":path", "/ingest/push"}},
                            /*end=*/false);
  ASSERT_GT(id, 0);
  ASSERT_TRUE(f.to_server());
  ASSERT_EQ(f.owner.bodies_made, 1);
  ASSERT_EQ(f.owner.dispatched.size(), 1u) << "ingest goes to its handler at once: the body streams";
  auto& st = *f.owner.dispatched[0];
  EXPECT_TRUE(st.ingest);
  ASSERT_TRUE(st.body);
  EXPECT_FALSE(st.body->done());
}

TEST(H2ServerCodec, HeaderBlockOverTheBoundIsFlaggedFor431) {
  Fixture f;
  f.cfg.http2.max_header_list_bytes = 16 * 1024;
  f.request({{":method", "GET"}, {":scheme", "http"}, {":authority", "a"}, {":path", "/a"},
             {"x-big", std::string(17 * 1024, 'x')}});
  f.to_server();
  ASSERT_EQ(f.owner.dispatched.size(), 1u);
  EXPECT_TRUE(f.owner.dispatched[0]->header_too_large);
  auto refused = refuse_h2_request(*f.owner.dispatched[0], f.cfg);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 431);
}

TEST(H2ServerCodec, HeadersBelowASeenStreamIdEndTheConnection) {
  Fixture f;
  // Hand-made frames: the preface, empty SETTINGS, then HEADERS on stream 3 and on 1
  // (HPACK: the static entries :method GET, :scheme http, :path /, and :authority "a"
  // as a literal; END_STREAM | END_HEADERS).
  std::string bytes = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  bytes += std::string("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9);
  auto headers = [](std::uint8_t id) {
    return std::string("\x00\x00\x06\x01\x05\x00\x00\x00", 8) + static_cast<char>(id) + "\x82\x86\x84\x01\x01" "a";
  };
  bytes += headers(3);
  ASSERT_TRUE(f.codec.feed(bytes.data(), bytes.size()));
  ASSERT_EQ(f.owner.dispatched.size(), 1u);
  const std::string lower = headers(1);
  EXPECT_FALSE(f.codec.feed(lower.data(), lower.size()));
  EXPECT_EQ(f.owner.dispatched.size(), 1u);
  const std::string out = drain(f.codec.driver());
  // Find the GOAWAY frame (type 7) and its error code.
  bool found = false;
  for (std::size_t i = 0; i + 9 <= out.size();) {
    const std::size_t len = (static_cast<unsigned char>(out[i]) << 16) | (static_cast<unsigned char>(out[i + 1]) << 8) |
                            static_cast<unsigned char>(out[i + 2]);
    if (out[i + 3] == 7) {
      found = true;
      EXPECT_EQ(static_cast<unsigned char>(out[i + 9 + 7]), NGHTTP2_PROTOCOL_ERROR);
    }
    i += 9 + len;
  }
  EXPECT_TRUE(found) << "GOAWAY PROTOCOL_ERROR queued";
  EXPECT_EQ(f.metrics.h2_protocol_errors.load(), 1u);
}

}  // namespace
}  // namespace hlscache
