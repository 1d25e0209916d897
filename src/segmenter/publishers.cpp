#include "segmenter/publishers.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <fstream>

#include "segmenter/file_loop.hpp"
#include "segmenter/realtime_pacer.hpp"
#include "segmenter/timestamp_rewriter.hpp"

namespace hlscache {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kReadPackets = 100;  // ~19 KB a read: tens of ms of media
constexpr std::size_t kMaxCarry = 188 * 1000;  // packets held for the next PCR, at most

asio::awaitable<void> sleep_until(TimePoint t) {
  if (t <= SteadyClock::now()) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor, t);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

double ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// The wall-clock reading at steady time `t` (in the past or now).
WallTime wall_time_of(TimePoint t) {
  return std::chrono::system_clock::now() -
         std::chrono::duration_cast<std::chrono::system_clock::duration>(SteadyClock::now() - t);
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
  auto file = std::make_unique<ts::FileLoop>();
  RealtimePacer pacer(r.target_duration());  // tolerance: one target duration (docs/segmenter.md)
  const TimePoint started = SteadyClock::now();
  std::uint64_t bytes_this_loop = 0;
  std::vector<std::uint8_t> carry;  // packets after the last PCR read: they go with the next PCR
  for (;;) {
    in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
    // Whole packets only: a file's torn last packet would run into the next pass's first.
    const std::size_t n = static_cast<std::size_t>(in.gcount()) / 188 * 188;
    if (n == 0) {
      if (!loop || bytes_this_loop == 0) break;
      if (!file->next_loop()) {
        spdlog::error("{}/{}: file source {}: no PTS/DTS or PCR in the file, nothing to loop on", r.stream(), r.name(),
                      path);
        break;
      }
      if (file->loops() == 1)
        spdlog::info("{}/{}: file source {}: one pass lasts {:.3f} s of media", r.stream(), r.name(), path,
                     static_cast<double>(file->loop_duration()) / 90'000.0);
      // Media time and wall time per pass are the same (the pacer follows the rewritten PCR).
      spdlog::debug("{}/{}: file source pass {} begins: media {:.3f} s on the schedule, wall {:.3f} s since the "
                    "start, {:.0f} ms skipped",
                    r.stream(), r.name(), file->loops(), ms(RealtimePacer::media_time(pacer.media_ticks())) / 1000,
                    ms(SteadyClock::now() - started) / 1000, ms(pacer.skipped()));
      bytes_this_loop = 0;
      in.clear();
      in.seekg(0);
      continue;
    }
    bytes_this_loop += n;
    file->process(buf.data(), n);  // pass n: timestamps + n loop durations, counters carried on
    // Each packet carrying a PCR is fed when that PCR is due, with the packets since
    // the previous one: the granularity is the PCR interval (<= 100 ms, ISO/IEC
    // 13818-1), and a keyframe whose first packet carries a PCR (ffmpeg writes one
    // there) is ingested exactly on time. The due time, on the wall clock, is the
    // bytes' ingest time (so a timer that wakes late does not show in PROGRAM-DATE-TIME).
    std::size_t from = 0;
    for (std::size_t off = 0; off < n; off += 188) {
      std::uint64_t pcr = 0;
      if (!ts::read_pcr(buf.data() + off, pcr)) continue;
      const RealtimePacer::Slot slot = pacer.schedule(pcr, SteadyClock::now());
      if (slot.skipped) {
        // Stopped for longer than the tolerance: go on at real-time pace from now, and
        // mark the wall time with no media (the next keyframe's segment is discontinuous).
        spdlog::warn("{}/{}: file source {}: {:.0f} ms behind real time (paused?): resuming from now, the next "
                     "segment is marked discontinuous",
                     r.stream(), r.name(), path, ms(slot.behind));
        session->discontinuity();
      }
      co_await sleep_until(slot.due);
      const WallTime due = wall_time_of(slot.due);
      if (!carry.empty()) session->feed(reinterpret_cast<const char*>(carry.data()), carry.size(), due);
      carry.clear();
      session->feed(reinterpret_cast<const char*>(buf.data() + from), off + 188 - from, due);
      from = off + 188;
    }
    carry.insert(carry.end(), buf.begin() + static_cast<std::ptrdiff_t>(from), buf.begin() + static_cast<std::ptrdiff_t>(n));
    if (carry.size() > kMaxCarry) {  // no PCR for that long: nothing to pace by
      session->feed(reinterpret_cast<const char*>(carry.data()), carry.size());
      carry.clear();
    }
  }
  if (!carry.empty()) session->feed(reinterpret_cast<const char*>(carry.data()), carry.size());
  spdlog::info("{}/{}: file source {} finished after {} loop(s)", r.stream(), r.name(), path, file->loops() + 1);
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
