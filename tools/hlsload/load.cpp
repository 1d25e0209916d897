#include "hlsload/load.hpp"

#include <sys/resource.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "core/spawn.hpp"
#include "hlsload/playback.hpp"
#include "hlsload/playlist.hpp"

namespace hlsload {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

std::uint64_t micros(Clock::duration d) {
  return static_cast<std::uint64_t>(std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::microseconds>(d).count()));
}

class Viewer;

// A Beast body that counts the bytes of a response body and keeps none of them: the
// parser hands it views into the bytes the socket delivered, so a segment costs one
// recv into the thread's scratch buffer and no copy.
struct CountingBody {
  using value_type = std::uint64_t;
  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(http::header<isRequest, Fields>&, value_type& n) : n_(n) {}
    void init(const boost::optional<std::uint64_t>&, beast::error_code& ec) { ec = {}; }
    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, beast::error_code& ec) {
      ec = {};
      const std::size_t n = asio::buffer_size(buffers);
      n_ += n;
      return n;
    }
    void finish(beast::error_code& ec) { ec = {}; }

   private:
    value_type& n_;
  };
};

// One thread's share: its io_context, its viewers and their statistics.
struct Worker {
  asio::io_context io{1};
  std::mutex mu;  // guards stats (the thread records, the progress line reads)
  Stats stats;
  LatencyHistogram recent_ttlb;  // since the last progress snapshot
  std::atomic<unsigned> connected{0}, playing{0};
  bool stopping = false;  // set on the worker's thread
  std::vector<std::unique_ptr<Viewer>> viewers;
  // Every recv of this thread's viewers lands here and is parsed before the next
  // suspension (a viewer reads only after its socket is readable, without yielding in
  // between), so one buffer serves all of them; only the unparsed tail of a partial
  // header or chunk line is copied out, into the viewer's `pending_`.
  std::vector<char> scratch = std::vector<char>(256 * 1024);

  template <class F>
  void record(F&& f) {
    std::lock_guard lock(mu);
    f(stats);
  }
  void record_segment_ttlb(std::uint64_t us) {  // with mu held
    stats.segment_ttlb.record(us);
    recent_ttlb.record(us);
  }
};

// One simulated player (see load.hpp). Lives on its worker's thread for the whole run.
class Viewer {
 public:
  Viewer(Worker& w, const Options& o, const Target& t, const tcp::resolver::results_type& endpoints,
         Clock::time_point origin, Clock::time_point join_at, std::uint64_t seed)
      : w_(w), o_(o), t_(t), endpoints_(endpoints), origin_(origin), join_at_(join_at), rng_(seed),
        playback_(o.start_buffer), socket_(w.io), timer_(w.io) {
    host_header_ = (t.host.find(':') != std::string::npos ? "[" + t.host + "]" : t.host) +
                   (t.port == "80" ? "" : ":" + t.port);
  }

  asio::awaitable<void> run();

  void stop() {  // on the worker's thread
    beast::error_code ec;
    timer_.cancel();
    socket_.close(ec);
    drop_connection();
  }

  // Called by the worker's sweep (a few times a second): a request past its deadline is
  // ended by closing the socket, which completes the pending wait with an error. One
  // sweep per thread instead of a timer armed per read keeps a read cheap.
  void check_deadline(Clock::time_point now) {
    if (in_flight_ && now >= deadline_) {
      timed_out_ = true;
      in_flight_ = false;
      beast::error_code ec;
      socket_.close(ec);
    }
  }

  PlaybackModel& playback() { return playback_; }

 private:
  struct Fetch {
    bool ok = false;
    bool stopped = false;
    int status = 0;
    ErrorKind error = ErrorKind::read;
    bool transport_error = false;  // failed before/while reading a response (vs. a non-200 answer)
    Clock::duration ttfb{}, ttlb{};
    std::uint64_t bytes = 0;
    std::string body;
  };

  double seconds(Clock::time_point t) const { return std::chrono::duration<double>(t - origin_).count(); }

  void drop_connection() {
    if (connected_) {
      connected_ = false;
      w_.connected.fetch_sub(1, std::memory_order_relaxed);
    }
  }

  asio::awaitable<bool> sleep_until(Clock::time_point t) {
    if (w_.stopping) co_return false;
    timer_.expires_at(t);
    auto [ec] = co_await timer_.async_wait(kTuple);
    co_return !w_.stopping;
  }

  template <class Parser>
  asio::awaitable<beast::error_code> read_response(Parser& p, Clock::time_point t0, Fetch& f);
  asio::awaitable<Fetch> get(const std::string& path, bool keep_body);
  asio::awaitable<Fetch> get_once(const std::string& path, bool keep_body, bool& reused);
  asio::awaitable<std::optional<MediaPlaylist>> load_playlist(const std::string& path, std::string* master_pick);

  Worker& w_;
  const Options& o_;
  const Target& t_;
  const tcp::resolver::results_type& endpoints_;
  Clock::time_point origin_, join_at_;
  std::mt19937_64 rng_;
  PlaybackModel playback_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  std::string host_header_;
  std::string request_;   // the request being sent (reused)
  std::string pending_;   // received, not yet parsed (a partial header or chunk line)
  bool connected_ = false;
  bool in_flight_ = false;  // a request is under way: deadline_ applies
  bool timed_out_ = false;  // the sweep closed the socket at deadline_
  Clock::time_point deadline_{};
};

// Reads one response into `p`: recv straight into the thread's scratch buffer whenever
// the socket is readable, feed the bytes to the parser (a CountingBody parser keeps none
// of them), and wait for readability again only when the socket has nothing more.
template <class Parser>
asio::awaitable<beast::error_code> Viewer::read_response(Parser& p, Clock::time_point t0, Fetch& f) {
  auto& scratch = w_.scratch;
  for (;;) {
    beast::error_code ec;
    const std::size_t n = socket_.read_some(asio::buffer(scratch), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      auto [wec] = co_await socket_.async_wait(tcp::socket::wait_read, kTuple);
      if (timed_out_) co_return beast::error::timeout;
      if (wec) co_return wec;
      continue;
    }
    if (ec == asio::error::eof) {
      if (!pending_.empty()) co_return http::error::partial_message;
      p.put_eof(ec);  // fine for a body delimited by the end of the connection
      if (!ec && !p.is_done()) ec = http::error::partial_message;
      co_return ec;
    }
    if (ec) co_return ec;
    // Parse from the scratch buffer, or from pending_ when a partial line waits there.
    const char* data = scratch.data();
    std::size_t len = n;
    if (!pending_.empty()) {
      pending_.append(scratch.data(), n);
      data = pending_.data();
      len = pending_.size();
    }
    std::size_t used = 0;
    while (used < len && !p.is_done()) {
      const std::size_t k = p.put(asio::const_buffer(data + used, len - used), ec);
      used += k;
      if (ec == http::error::need_more) {
        ec = {};
        break;
      }
      if (ec) co_return ec;
      if (f.ttfb == Clock::duration{} && p.is_header_done()) f.ttfb = Clock::now() - t0;
      if (k == 0) break;
    }
    if (data == pending_.data()) {
      pending_.erase(0, used);
    } else {
      pending_.assign(data + used, len - used);
    }
    if (p.is_done()) {
      // Bytes after the response were not asked for (no pipelining): the connection
      // is out of step; finish this response and do not reuse it.
      if (!pending_.empty()) {
        pending_.clear();
        co_return http::error::end_of_stream;
      }
      co_return beast::error_code{};
    }
  }
}

asio::awaitable<Viewer::Fetch> Viewer::get_once(const std::string& path, bool keep_body, bool& reused) {
  Fetch f;
  const auto timeout = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.timeout_s));
  const auto t0 = Clock::now();
  auto fail = [&](const beast::error_code& ec) {
    in_flight_ = false;
    f.stopped = w_.stopping;
    f.transport_error = true;
    f.error = ec == beast::error::timeout ? ErrorKind::timeout : ErrorKind::read;
    beast::error_code ignored;
    socket_.close(ignored);
    pending_.clear();
    drop_connection();
  };
  reused = connected_;
  if (w_.stopping) {
    f.stopped = true;
    co_return f;
  }
  deadline_ = t0 + timeout;
  timed_out_ = false;
  in_flight_ = true;
  if (!connected_) {
    pending_.clear();
    auto [ec, ep] = co_await asio::async_connect(socket_, endpoints_, kTuple);
    if (timed_out_) ec = beast::error::timeout;
    if (ec) {
      fail(ec);
      if (ec != beast::error::timeout) f.error = ErrorKind::connect;
      co_return f;
    }
    beast::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    socket_.non_blocking(true, ignored);
    connected_ = true;
    w_.connected.fetch_add(1, std::memory_order_relaxed);
  }
  request_.clear();
  fmt::format_to(std::back_inserter(request_), "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: hlsload/" HLSCACHE_VERSION "\r\n\r\n",
                 path, host_header_);
  {
    // A request is ~100 bytes: the socket takes it at once; wait only if it does not.
    beast::error_code ec;
    std::size_t sent = socket_.write_some(asio::buffer(request_), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      ec = {};
      sent = 0;
    }
    if (!ec && sent < request_.size()) {
      auto [wec, n] = co_await asio::async_write(socket_, asio::buffer(request_.data() + sent, request_.size() - sent), kTuple);
      ec = timed_out_ ? beast::error::timeout : wec;
    }
    if (ec) {
      fail(ec);
      co_return f;
    }
  }
  bool keep_alive = true;
  if (keep_body) {
    http::response_parser<http::string_body> p;
    p.eager(true);
    p.body_limit(8 * 1024 * 1024);
    const beast::error_code ec = co_await read_response(p, t0, f);
    if (p.is_header_done()) reused = false;  // the server answered: not a stale keep-alive connection
    if (ec && !p.is_done()) {
      fail(ec);
      co_return f;
    }
    f.status = p.get().result_int();
    keep_alive = !ec && p.keep_alive();
    f.body = std::move(p.get().body());
    f.bytes = f.body.size();
  } else {
    http::response_parser<CountingBody> p;
    p.eager(true);
    p.body_limit(boost::none);
    p.get().body() = 0;
    const beast::error_code ec = co_await read_response(p, t0, f);
    if (p.is_header_done()) reused = false;
    f.bytes = p.get().body();
    if (ec && !p.is_done()) {
      fail(ec);
      co_return f;
    }
    f.status = p.get().result_int();
    keep_alive = !ec && p.keep_alive();
  }
  in_flight_ = false;
  f.ttlb = Clock::now() - t0;
  if (!keep_alive) {
    beast::error_code ignored;
    socket_.close(ignored);
    pending_.clear();
    drop_connection();
  }
  if (f.status == 200) {
    f.ok = true;
  } else {
    f.error = f.status >= 400 && f.status < 500 ? ErrorKind::http_4xx : ErrorKind::http_5xx;
  }
  co_return f;
}

// A request on a kept-alive connection the server had already closed fails before any
// response byte; like any HTTP client, retry it once on a new connection.
asio::awaitable<Viewer::Fetch> Viewer::get(const std::string& path, bool keep_body) {
  bool reused = false;
  Fetch f = co_await get_once(path, keep_body, reused);
  if (!f.ok && !f.stopped && f.transport_error && reused && f.error == ErrorKind::read) {
    bool again = false;
    f = co_await get_once(path, keep_body, again);
  }
  w_.record([&](Stats& s) {
    if (!f.stopped) ++s.requests;
    s.bytes += f.bytes;
  });
  co_return f;
}

// Loads a playlist; a master playlist is answered by loading the variant this viewer
// picks (its path goes to *master_pick). nullopt after an error (counted) or at stop.
asio::awaitable<std::optional<MediaPlaylist>> Viewer::load_playlist(const std::string& path, std::string* master_pick) {
  Fetch f = co_await get(path, true);
  if (f.stopped) co_return std::nullopt;
  if (!f.ok) {
    w_.record([&](Stats& s) { s.error(f.error); });
    co_return std::nullopt;
  }
  Playlist pl = parse_playlist(f.body);
  w_.record([&](Stats& s) {
    ++s.playlists;
    s.playlist_latency.record(micros(f.ttlb));
    if (std::holds_alternative<ParseError>(pl)) s.error(ErrorKind::playlist);
  });
  if (auto* media = std::get_if<MediaPlaylist>(&pl)) co_return std::move(*media);
  auto* master = std::get_if<MasterPlaylist>(&pl);
  if (!master || !master_pick) {
    if (master) w_.record([](Stats& s) { s.error(ErrorKind::playlist); });  // a master inside a master
    co_return std::nullopt;
  }
  const auto& v = master->variants;
  std::size_t pick = 0;
  switch (o_.rendition) {
    case RenditionChoice::first: pick = 0; break;
    case RenditionChoice::random: pick = std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng_); break;
    case RenditionChoice::lowest:
      pick = static_cast<std::size_t>(std::min_element(v.begin(), v.end(), [](auto& a, auto& b) { return a.bandwidth < b.bandwidth; }) - v.begin());
      break;
    case RenditionChoice::highest:
      pick = static_cast<std::size_t>(std::max_element(v.begin(), v.end(), [](auto& a, auto& b) { return a.bandwidth < b.bandwidth; }) - v.begin());
      break;
  }
  *master_pick = resolve_path(path, v[pick].uri);
  co_return co_await load_playlist(*master_pick, nullptr);
}

asio::awaitable<void> Viewer::run() {
  const bool joined = co_await sleep_until(join_at_);
  if (!joined) co_return;
  std::string media_path = t_.path;
  bool variant_chosen = false;
  std::optional<std::uint64_t> next;  // the next segment to fetch
  std::uint64_t last_signature = UINT64_MAX;
  for (;;) {
    const auto load_start = Clock::now();
    std::optional<MediaPlaylist> pl;
    if (!variant_chosen) {
      std::string pick;
      pl = co_await load_playlist(t_.path, &pick);
      if (pl) {
        variant_chosen = true;
        if (!pick.empty()) media_path = pick;
      }
    } else {
      pl = co_await load_playlist(media_path, nullptr);
    }
    if (w_.stopping) co_return;
    if (!pl || pl->segments.empty()) {  // an error (counted), or a live stream with no segment yet
      const double td = pl ? pl->target_duration : 1.0;
      const bool slept = co_await sleep_until(load_start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(td / 2)));
      if (!slept) co_return;
      continue;
    }
    if (!next) {
      next = pl->segments[pl->live_start_index(o_.live_offset)].sequence;
    } else if (*next < pl->media_sequence) {  // what we wanted left the window: skip to the edge
      w_.record([](Stats& s) { s.error(ErrorKind::fell_behind); });
      next = pl->segments[pl->live_start_index(o_.live_offset)].sequence;
    }
    for (const auto& seg : pl->segments) {
      if (seg.sequence < *next) continue;
      const std::string path = resolve_path(media_path, seg.uri);
      Fetch f = co_await get(path, false);
      if (f.stopped) co_return;
      if (!f.ok) {
        w_.record([&](Stats& s) { s.error(f.error); });
        f = co_await get(path, false);  // one retry, as a player would
        if (f.stopped) co_return;
        if (!f.ok) w_.record([&](Stats& s) { s.error(f.error); });
      }
      next = seg.sequence + 1;  // fetched, or given up on (the player skips it)
      if (!f.ok) continue;
      const auto now = Clock::now();
      const bool was_playing = playback_.playing();
      const auto stall = playback_.on_segment(seconds(now), seg.duration);
      if (!was_playing && playback_.playing()) w_.playing.fetch_add(1, std::memory_order_relaxed);
      w_.record([&](Stats& s) {
        ++s.segments;
        s.segment_ttfb.record(micros(f.ttfb));
        w_.record_segment_ttlb(micros(f.ttlb));
        if (!was_playing && playback_.playing()) s.startup.record(micros(now - join_at_));
        if (stall) {
          ++s.stalls;
          s.stall_seconds += *stall;
        }
      });
    }
    if (pl->ended && *next >= pl->next_sequence()) co_return;  // watched to the end
    // §6.3.4: reload one target duration after the last load began, half of it if the
    // playlist had not changed.
    const std::uint64_t signature = pl->next_sequence();
    const double wait = signature != last_signature ? pl->target_duration : pl->target_duration / 2;
    last_signature = signature;
    const bool slept = co_await sleep_until(load_start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wait)));
    if (!slept) co_return;
  }
}

asio::awaitable<void> sweep_deadlines(Worker& w) {
  asio::steady_timer timer(w.io);
  while (!w.stopping) {
    timer.expires_after(std::chrono::milliseconds(100));
    co_await timer.async_wait(kTuple);
    const auto now = Clock::now();
    for (auto& v : w.viewers) v->check_deadline(now);
  }
}

}  // namespace

std::uint64_t raise_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
    ::getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

RunResult run_load(const Options& o, const std::function<void(const Progress&)>& progress,
                   const std::function<bool()>& stop_requested) {
  RunResult result;
  if (o.targets.empty()) {
    result.error = "no target URL";
    return result;
  }
  // Resolve every target once; refuse anything that is not this machine unless allowed.
  std::vector<tcp::resolver::results_type> endpoints;
  {
    asio::io_context io;
    tcp::resolver resolver(io);
    for (const auto& t : o.targets) {
      beast::error_code ec;
      auto r = resolver.resolve(t.host, t.port, ec);
      if (ec || r.empty()) {
        result.error = fmt::format("{}: cannot resolve {}: {}", t.url, t.host, ec ? ec.message() : "no address");
        return result;
      }
      if (!o.allow_remote)
        for (const auto& e : r)
          if (!is_loopback(e.endpoint().address())) {
            result.error = fmt::format("{}: {} resolves to {}, which is not a loopback address; hlsload only loads "
                                       "this machine unless --allow-remote is given",
                                       t.url, t.host, e.endpoint().address().to_string());
            return result;
          }
      endpoints.push_back(std::move(r));
    }
  }

  const unsigned threads = std::max(1u, o.threads);
  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned i = 0; i < threads; ++i) workers.push_back(std::make_unique<Worker>());
  const auto origin = Clock::now();
  const auto end = origin + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration_s));
  for (unsigned i = 0; i < o.viewers; ++i) {
    Worker& w = *workers[i % threads];
    const double offset = o.viewers > 1 ? o.ramp_s * i / o.viewers : 0;
    const auto join = origin + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(offset));
    const std::size_t ti = i % o.targets.size();
    w.viewers.push_back(std::make_unique<Viewer>(w, o, o.targets[ti], endpoints[ti], origin, join, o.seed * 1000003 + i));
    asio::co_spawn(w.io, w.viewers.back()->run(), hlscache::log_escape("hlsload viewer"));
  }
  for (auto& w : workers)  // per-thread request deadlines (Viewer::check_deadline)
    asio::co_spawn(w->io, sweep_deadlines(*w), hlscache::log_escape("hlsload deadline sweep"));
  std::vector<std::thread> pool;
  for (auto& w : workers) pool.emplace_back([&w] { w->io.run(); });

  auto snapshot = [&] {
    Progress p;
    p.elapsed_s = std::chrono::duration<double>(Clock::now() - origin).count();
    for (auto& w : workers) {
      p.connected += w->connected.load(std::memory_order_relaxed);
      p.playing += w->playing.load(std::memory_order_relaxed);
      std::lock_guard lock(w->mu);
      p.stats.merge(w->stats);
      p.recent_ttlb.merge(w->recent_ttlb);
      w->recent_ttlb.clear();
    }
    return p;
  };
  auto next_report = origin + std::chrono::seconds(1);
  while (Clock::now() < end && !(stop_requested && stop_requested())) {
    std::this_thread::sleep_until(std::min({end, next_report, Clock::now() + std::chrono::milliseconds(100)}));
    if (Clock::now() >= next_report) {
      next_report += std::chrono::seconds(1);
      if (progress) progress(snapshot());
    }
  }
  const auto finished = Clock::now();
  for (auto& w : workers)
    asio::post(w->io, [&w] {
      w->stopping = true;
      for (auto& v : w->viewers) v->stop();
    });
  for (auto& t : pool) t.join();

  Summary& s = result.summary;
  s.viewers = o.viewers;
  s.elapsed_seconds = std::chrono::duration<double>(finished - origin).count();
  for (const auto& t : o.targets) s.targets += (s.targets.empty() ? "" : ", ") + t.url;
  for (auto& w : workers) {
    for (auto& v : w->viewers) {
      auto& pb = v->playback();
      if (auto stall = pb.finish(s.elapsed_seconds)) {
        ++w->stats.stalls;
        w->stats.stall_seconds += *stall;
      }
      if (pb.playing()) ++s.viewers_started;
      if (pb.stalls() > 0) ++w->stats.viewers_stalled;
    }
    s.stats.merge(w->stats);
  }
  result.ok = true;
  return result;
}

}  // namespace hlsload
