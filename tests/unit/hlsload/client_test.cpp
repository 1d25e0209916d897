// hlsload's HTTP client against a scripted loopback server: responses whose header
// arrives a few bytes per packet, chunked and close-delimited bodies, and a server that
// never answers (the per-thread deadline sweep must end the request).
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <functional>
#include <chrono>
#include <istream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "hlsload/load.hpp"

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// A blocking HTTP/1.1 server on 127.0.0.1:0, one thread per connection. `answer`
// writes the whole response for a path (in whatever pieces it likes) and returns
// whether the connection stays open.
class ScriptedServer {
 public:
  using Answer = std::function<bool(tcp::socket&, const std::string& path, const std::atomic<bool>& stop)>;

  explicit ScriptedServer(Answer answer) : answer_(std::move(answer)), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    acceptor_.non_blocking(true);
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    accept_thread_.join();
    std::lock_guard lock(mu_);
    for (auto& t : connections_) t.join();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + path;
  }
  std::vector<std::string> paths() {
    std::lock_guard lock(mu_);
    return paths_;
  }

 private:
  void accept_loop() {
    while (!stop_) {
      boost::system::error_code ec;
      tcp::socket s(io_);
      acceptor_.accept(s, ec);
      if (ec) {
        std::this_thread::sleep_for(2ms);
        continue;
      }
      std::lock_guard lock(mu_);
      connections_.emplace_back([this, s = std::move(s)]() mutable { serve(s); });
    }
  }
  void serve(tcp::socket& s) {
    s.set_option(tcp::no_delay(true));
    asio::streambuf in;
    for (;;) {
      boost::system::error_code ec;
      const std::size_t n = asio::read_until(s, in, "\r\n\r\n", ec);
      if (ec) return;
      std::string head(asio::buffers_begin(in.data()), asio::buffers_begin(in.data()) + static_cast<std::ptrdiff_t>(n));
      in.consume(n);
      const auto sp1 = head.find(' '), sp2 = head.find(' ', sp1 + 1);
      const std::string path = head.substr(sp1 + 1, sp2 - sp1 - 1);
      {
        std::lock_guard lock(mu_);
        paths_.push_back(path);
      }
      if (!answer_(s, path, stop_)) return;
    }
  }

  Answer answer_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stop_{false};
  std::thread accept_thread_;
  std::mutex mu_;
  std::vector<std::thread> connections_;
  std::vector<std::string> paths_;
};

// Writes `text` a few bytes at a time with pauses, so the client sees it in many recvs.
void dribble(tcp::socket& s, const std::string& text, std::size_t piece = 3) {
  for (std::size_t i = 0; i < text.size(); i += piece) {
    asio::write(s, asio::buffer(text.data() + i, std::min(piece, text.size() - i)));
    std::this_thread::sleep_for(1ms);
  }
}

hlsload::Options options_for(const std::string& url) {
  hlsload::Options o;
  auto t = hlsload::parse_target(url);
  EXPECT_TRUE(std::holds_alternative<hlsload::Target>(t));
  o.targets.push_back(std::get<hlsload::Target>(t));
  o.viewers = 1;
  o.duration_s = 1;
  o.live_offset = 100;  // start at the first segment
  o.start_buffer = 1;
  return o;
}

std::uint64_t errors_of(const hlsload::Stats& s, hlsload::ErrorKind k) { return s.errors[static_cast<std::size_t>(k)]; }

TEST(HlsloadClient, ReadsSplitHeadersChunkedAndCloseDelimitedBodies) {
  const std::string playlist =
      "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
      "#EXTINF:2.0,\na.ts\n#EXTINF:2.0,\nb.ts\n#EXTINF:2.0,\nc.ts\n#EXT-X-ENDLIST\n";
  const std::string a(300000, 'a');  // larger than the client's 256 KiB scratch buffer
  const std::string b1(5000, 'b'), b2(70000, 'B');
  const std::string c(12345, 'c');
  ScriptedServer server([&](tcp::socket& s, const std::string& path, const std::atomic<bool>&) {
    if (path == "/live/v.m3u8") {
      // Header and body both arrive three bytes per packet.
      dribble(s, "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.apple.mpegurl\r\nContent-Length: " +
                     std::to_string(playlist.size()) + "\r\n\r\n" + playlist);
      return true;
    }
    if (path == "/live/a.ts") {
      dribble(s, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(a.size()) + "\r\n\r\n", 5);
      asio::write(s, asio::buffer(a));
      return true;
    }
    if (path == "/live/b.ts") {  // chunked, a chunk-size line split across packets
      dribble(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1388\r");
      asio::write(s, asio::buffer("\n" + b1 + "\r\n"));
      dribble(s, "11170\r\n");
      asio::write(s, asio::buffer(b2 + "\r\n0\r\n\r\n"));
      return true;
    }
    if (path == "/live/c.ts") {  // no length: the body ends with the connection
      asio::write(s, asio::buffer("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + c));
      return false;
    }
    asio::write(s, asio::buffer(std::string("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")));
    return true;
  });
  const auto r = hlsload::run_load(options_for(server.url("/live/v.m3u8")), {});
  ASSERT_TRUE(r.ok) << r.error;
  const auto& st = r.summary.stats;
  EXPECT_EQ(st.error_total(), 0u);
  EXPECT_EQ(st.playlists, 1u);
  EXPECT_EQ(st.segments, 3u);
  EXPECT_EQ(st.requests, 4u);
  EXPECT_EQ(st.bytes, playlist.size() + a.size() + b1.size() + b2.size() + c.size());
  EXPECT_EQ(server.paths(), (std::vector<std::string>{"/live/v.m3u8", "/live/a.ts", "/live/b.ts", "/live/c.ts"}));
}

TEST(HlsloadClient, ASegmentThatNeverArrivesTimesOutAndIsRetriedOnce) {
  const std::string playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nstuck.ts\n#EXT-X-ENDLIST\n";
  ScriptedServer server([&](tcp::socket& s, const std::string& path, const std::atomic<bool>& stop) {
    if (path == "/v.m3u8") {
      asio::write(s, asio::buffer("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(playlist.size()) + "\r\n\r\n" + playlist));
      return true;
    }
    // Half a header, then silence until the test ends.
    asio::write(s, asio::buffer(std::string("HTTP/1.1 200 OK\r\nContent-Le")));
    while (!stop) std::this_thread::sleep_for(5ms);
    return false;
  });
  auto o = options_for(server.url("/v.m3u8"));
  o.timeout_s = 0.3;
  o.duration_s = 1.5;
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = hlsload::run_load(o, {});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  const auto& st = r.summary.stats;
  EXPECT_EQ(errors_of(st, hlsload::ErrorKind::timeout), 2u);  // the request and its one retry
  EXPECT_EQ(st.error_total(), 2u);
  EXPECT_EQ(st.segments, 0u);
  EXPECT_EQ(server.paths(), (std::vector<std::string>{"/v.m3u8", "/stuck.ts", "/stuck.ts"}));
}

}  // namespace
