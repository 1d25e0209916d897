#include "segmenter/publishers.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <fstream>

namespace hlscache {

namespace asio = boost::asio;
using namespace std::chrono_literals;

std::optional<std::uint64_t> last_pcr(const std::uint8_t* data, std::size_t n) {
  std::optional<std::uint64_t> found;
  for (std::size_t off = 0; off + 188 <= n; off += 188) {
    const std::uint8_t* p = data + off;
    if (p[0] != 0x47) continue;
    bool has_af = (p[3] & 0x20) != 0;
    if (!has_af || p[4] < 7 || (p[5] & 0x10) == 0) continue;
    std::uint64_t base = (std::uint64_t{p[6]} << 25) | (std::uint64_t{p[7]} << 17) | (std::uint64_t{p[8]} << 9) |
                         (std::uint64_t{p[9]} << 1) | (p[10] >> 7);
    std::uint64_t ext = ((std::uint64_t{p[10]} & 1) << 8) | p[11];
    found = base * 300 + ext;
  }
  return found;
}

namespace {

constexpr std::uint64_t kPcrWrap = (std::uint64_t{1} << 33) * 300;  // the 33-bit base, in 27 MHz units
constexpr std::size_t kReadPackets = 100;                           // ~19 KB a read: tens of ms of media

// Keeps continuity counters counting across the loops of a file: each PID's first
// payload packet of a new loop continues from that PID's last counter, so
// demuxers that read the segments back to back see no packet loss at the seam.
class ContinuityRewriter {
 public:
  void new_loop() { rebase_.fill(true); }
  void rewrite(std::uint8_t* data, std::size_t n) {
    for (std::size_t off = 0; off + 188 <= n; off += 188) {
      std::uint8_t* p = data + off;
      if (p[0] != 0x47) continue;
      const std::uint16_t pid = static_cast<std::uint16_t>(((p[1] & 0x1f) << 8) | p[2]);
      if (pid == 0x1fff) continue;
      const bool payload = (p[3] & 0x10) != 0;
      std::uint8_t cc = p[3] & 0x0f;
      if (payload && rebase_[pid]) {
        offset_[pid] = static_cast<std::uint8_t>((last_[pid] + 1 - cc) & 0x0f);
        rebase_[pid] = false;
      }
      cc = static_cast<std::uint8_t>((cc + offset_[pid]) & 0x0f);
      p[3] = static_cast<std::uint8_t>((p[3] & 0xf0) | cc);
      last_[pid] = cc;
    }
  }

 private:
  std::array<std::uint8_t, 8192> last_{}, offset_{};
  std::array<bool, 8192> rebase_{};
};

asio::awaitable<void> sleep_until(TimePoint t) {
  if (t <= SteadyClock::now()) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor, t);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace

asio::awaitable<void> run_file_source(LiveRendition& r, std::string path, bool loop) {
  auto session = PublishSession::begin(r);
  if (!session) {
    spdlog::error("{}/{}: file source {}: the rendition already has a publisher", r.stream(), r.name(), path);
    co_return;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    spdlog::error("{}/{}: cannot open file source {} (run tools/setup/make-samples.sh?)", r.stream(), r.name(), path);
    co_return;
  }
  spdlog::info("{}/{}: playing {} at real-time pace{}", r.stream(), r.name(), path, loop ? ", looped" : "");
  std::vector<std::uint8_t> buf(188 * kReadPackets);
  TimePoint wall_base = SteadyClock::now();  // when media time 0 of this loop is due
  std::optional<std::uint64_t> first_pcr;
  std::uint64_t last = 0, loop_media = 0;     // 27 MHz ticks
  std::uint64_t loops = 0, bytes_this_loop = 0;
  auto cc = std::make_unique<ContinuityRewriter>();
  for (;;) {
    in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
    std::size_t n = static_cast<std::size_t>(in.gcount());
    if (n == 0) {
      if (!loop || bytes_this_loop == 0) break;
      // Next loop: its first PCR is due one PCR interval (~40 ms) after this loop's last.
      wall_base += std::chrono::duration_cast<Duration>(std::chrono::nanoseconds(loop_media * 1000 / 27) + 40ms);
      first_pcr.reset();
      loop_media = bytes_this_loop = 0;
      ++loops;
      session->discontinuity();
      cc->new_loop();
      in.clear();
      in.seekg(0);
      continue;
    }
    bytes_this_loop += n;
    if (auto pcr = last_pcr(buf.data(), n)) {
      if (!first_pcr) first_pcr = last = *pcr;
      loop_media += (*pcr + kPcrWrap - last) % kPcrWrap;
      last = *pcr;
      co_await sleep_until(wall_base + std::chrono::duration_cast<Duration>(std::chrono::nanoseconds(loop_media * 1000 / 27)));
    }
    cc->rewrite(buf.data(), n);  // identity on the first loop; it records the last counters
    session->feed(reinterpret_cast<const char*>(buf.data()), n);
  }
  spdlog::info("{}/{}: file source {} finished after {} loop(s)", r.stream(), r.name(), path, loops + 1);
  session->end();
}

asio::awaitable<void> run_udp_source(LiveRendition& r, HostPort address, Duration idle) {
  using namespace asio::experimental::awaitable_operators;
  auto ex = co_await asio::this_coro::executor;
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(address.host, ec);
  if (ec) {
    spdlog::error("{}/{}: udp source {}: not an IP address", r.stream(), r.name(), address.to_string());
    co_return;
  }
  asio::ip::udp::socket sock(ex);
  asio::ip::udp::endpoint ep(ip, address.port);
  sock.open(ep.protocol(), ec);
  if (!ec) sock.set_option(asio::socket_base::receive_buffer_size(4 << 20), ec), ec.clear();
  if (!ec) sock.bind(ep, ec);
  if (ec) {
    spdlog::error("{}/{}: udp source {}: {}", r.stream(), r.name(), address.to_string(), ec.message());
    co_return;
  }
  spdlog::info("{}/{}: listening for MPEG-TS on udp://{}", r.stream(), r.name(), address.to_string());
  std::vector<char> buf(65536);
  std::unique_ptr<PublishSession> session;
  asio::steady_timer timer(ex);
  for (;;) {
    timer.expires_after(idle);
    auto result = co_await (sock.async_receive(asio::buffer(buf), asio::as_tuple(asio::use_awaitable)) ||
                            timer.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (result.index() == 1) {  // idle
      if (session) {
        // Not the end of the stream: it stays live for the pause grace, and datagrams
        // that come back within it continue it after a discontinuity.
        spdlog::info("{}/{}: udp source silent for {} ms: paused", r.stream(), r.name(),
                     std::chrono::duration_cast<std::chrono::milliseconds>(idle).count());
        session->suspend();
        session.reset();
      }
      if (!sock.is_open()) co_return;
      continue;
    }
    auto [rec, n] = std::get<0>(result);
    if (rec == asio::error::operation_aborted) co_return;
    if (rec) continue;
    if (!session) {
      session = PublishSession::begin(r);
      if (!session) continue;  // another publisher holds it: drop
    }
    session->feed(buf.data(), n);
  }
}

}  // namespace hlscache
