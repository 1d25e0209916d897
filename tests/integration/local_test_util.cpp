#include "local_test_util.hpp"
#include "core/strings.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <mutex>
#include <sstream>
#include <thread>

namespace hlscache::test {

namespace {


bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    auto eol = text.find('\n');
    out.push_back(trim(text.substr(0, eol)));
    if (eol == std::string_view::npos) break;
    text.remove_prefix(eol + 1);
  }
  return out;
}

template <typename T>
std::optional<T> number(std::string_view s) {
  T v{};
  s = trim(s);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> decimal(std::string_view s) {
  std::string str(trim(s));
  if (str.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(str.c_str(), &end);
  if (*end != '\0') return std::nullopt;
  return v;
}

// "seg_<session>_<N>.ts" or ".m4s" (our segmenter) or "seg_<N>.ts" (fake origins): {session, N}.
std::optional<std::pair<std::string, std::uint64_t>> segment_name(std::string_view uri) {
  auto slash = uri.rfind('/');
  if (slash != std::string_view::npos) uri.remove_prefix(slash + 1);
  const std::size_t ext = uri.ends_with(".ts") ? 3 : uri.ends_with(".m4s") ? 4 : 0;
  if (!starts_with(uri, "seg_") || ext == 0 || uri.size() < 5 + ext) return std::nullopt;
  std::string_view middle = uri.substr(4, uri.size() - 4 - ext);
  std::string session;
  if (auto under = middle.find('_'); under != std::string_view::npos) {
    session = std::string(middle.substr(0, under));
    if (session.empty()) return std::nullopt;
    middle.remove_prefix(under + 1);
  }
  auto n = number<std::uint64_t>(middle);
  if (!n) return std::nullopt;
  return std::pair{std::move(session), *n};
}

// Attribute lists (RFC 8216 §4.2): NAME=value,NAME="quoted, with commas".
std::map<std::string, std::string> attributes(std::string_view s) {
  std::map<std::string, std::string> out;
  while (!s.empty()) {
    auto eq = s.find('=');
    if (eq == std::string_view::npos) break;
    std::string name(trim(s.substr(0, eq)));
    s.remove_prefix(eq + 1);
    std::string value;
    if (!s.empty() && s.front() == '"') {
      auto close = s.find('"', 1);
      value = std::string(s.substr(1, close == std::string_view::npos ? s.size() - 1 : close - 1));
      s.remove_prefix(close == std::string_view::npos ? s.size() : close + 1);
    } else {
      auto comma = s.find(',');
      value = std::string(s.substr(0, comma));
      s.remove_prefix(comma == std::string_view::npos ? s.size() : comma);
    }
    out[name] = value;
    if (!s.empty() && s.front() == ',') s.remove_prefix(1);
  }
  return out;
}

int decode_status(int wstatus) { return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1; }

}  // namespace

// ---- processes ------------------------------------------------------------------

Process::Process(Process&& o) noexcept { *this = std::move(o); }

Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    kill();
    pid_ = std::exchange(o.pid_, -1);
    code_ = std::exchange(o.code_, std::nullopt);
    cmd_ = std::move(o.cmd_);
    out_path_ = std::move(o.out_path_);
    err_path_ = std::move(o.err_path_);
  }
  return *this;
}

Process::~Process() { kill(); }

Process Process::start(const std::vector<std::string>& args, const std::string& dir) {
  static std::atomic<int> counter{0};
  Process p;
  const int n = ++counter;
  p.out_path_ = fmt::format("{}/proc{}.out", dir, n);
  p.err_path_ = fmt::format("{}/proc{}.err", dir, n);
  for (const auto& a : args) p.cmd_ += (p.cmd_.empty() ? "" : " ") + a;
  p.pid_ = spawn(args, p.out_path_, p.err_path_);
  return p;
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  if (code_ || pid_ <= 0) return code_;
  const auto deadline = LocalClock::now() + timeout;
  for (;;) {
    int wstatus = 0;
    pid_t r = ::waitpid(pid_, &wstatus, WNOHANG);
    if (r == pid_) {
      code_ = decode_status(wstatus);
      return code_;
    }
    if (r < 0 && errno != EINTR) {
      code_ = -1;
      return code_;
    }
    if (LocalClock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void Process::kill() {
  if (pid_ <= 0 || code_) return;
  ::kill(pid_, SIGKILL);
  int wstatus = 0;
  while (::waitpid(pid_, &wstatus, 0) < 0 && errno == EINTR) {
  }
  code_ = -1;
}

void Process::signal(int sig) {
  if (pid_ > 0 && !code_) ::kill(pid_, sig);
}

std::string Process::out() const { return read_file(out_path_); }
std::string Process::err() const { return read_file(err_path_); }

std::string Process::describe() const {
  std::string e = err();
  if (e.size() > 3000) e = "..." + e.substr(e.size() - 3000);
  return fmt::format("`{}` {}; stderr:\n{}", cmd_,
                     code_ ? fmt::format("exited with {}", *code_) : std::string("still running"), e);
}

CommandResult run_command(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  const std::string dir = make_temp_dir("hlscache-local-cmd-");
  auto p = Process::start(args, dir);
  CommandResult r;
  auto code = p.wait(timeout);
  if (!code) {
    p.kill();
    r.exit_code = -1;
    r.err = fmt::format("(killed after {} ms)\n", timeout.count());
  } else {
    r.exit_code = *code;
  }
  r.out = p.out();
  r.err += p.err();
  remove_tree(dir);
  return r;
}

bool have_ffmpeg() {
  static const bool ok = [] {
    auto enc = run_command({"ffmpeg", "-hide_banner", "-encoders"}, std::chrono::seconds(10));
    if (enc.exit_code != 0 || enc.out.find("libx264") == std::string::npos ||
        enc.out.find(" aac ") == std::string::npos)
      return false;
    auto probe = run_command({"ffprobe", "-version"}, std::chrono::seconds(10));
    return probe.exit_code == 0;
  }();
  return ok;
}

// ---- media ----------------------------------------------------------------------

std::string media_dir() {
  static const std::string dir = [] {
    std::string d = make_temp_dir("hlscache-local-media-");
    // Removed when the test binary exits.
    static struct Cleanup {
      std::string d;
      ~Cleanup() { remove_tree(d); }
    } cleanup{d};
    return d;
  }();
  return dir;
}

std::string make_clip(double seconds, int width, int height) {
  static std::mutex mu;
  static std::map<std::string, std::string> made;
  std::lock_guard lock(mu);
  const std::string name = fmt::format("clip_{}x{}_{}ms.ts", width, height, std::lround(seconds * 1000));
  if (auto it = made.find(name); it != made.end()) return it->second;
  const std::string out = media_dir() + "/" + name;
  const std::string dur = fmt::format("{:.3f}", seconds);
  auto r = run_command({"ffmpeg", "-hide_banner", "-v", "error", "-y",
                        "-f", "lavfi", "-i", fmt::format("testsrc2=size={}x{}:rate=25:duration={}", width, height, dur),
                        "-f", "lavfi", "-i", fmt::format("sine=frequency=440:sample_rate=48000:duration={}", dur),
                        "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0",
                        "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-f", "mpegts", out},
                       std::chrono::seconds(60));
  if (r.exit_code != 0 || read_file(out).empty()) {
    ADD_FAILURE() << "ffmpeg could not make " << name << ": " << r.err;
    return {};
  }
  made[name] = out;
  return out;
}

namespace {
std::uint16_t free_port(int type) {
  int fd = ::socket(AF_INET, type, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  std::uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}
}  // namespace

std::uint16_t free_udp_port() { return free_port(SOCK_DGRAM); }
std::uint16_t free_tcp_port() { return free_port(SOCK_STREAM); }

// ---- playlists ------------------------------------------------------------------

std::optional<std::int64_t> parse_pdt(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS(.fff)?(Z|+HH:MM)
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') return std::nullopt;
  auto y = number<int>(s.substr(0, 4));
  auto mo = number<unsigned>(s.substr(5, 2)), d = number<unsigned>(s.substr(8, 2));
  auto h = number<int>(s.substr(11, 2)), mi = number<int>(s.substr(14, 2)), se = number<int>(s.substr(17, 2));
  if (!y || !mo || !d || !h || !mi || !se) return std::nullopt;
  std::int64_t ms = 0;
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    std::size_t start = ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    std::string frac(s.substr(start, pos - start));
    frac.resize(3, '0');
    ms = *number<int>(frac);
  }
  if (pos >= s.size() || s[pos] != 'Z') return std::nullopt;  // the daemon writes UTC
  using namespace std::chrono;
  const sys_days day{year{*y} / month{*mo} / *d};
  return duration_cast<milliseconds>(day.time_since_epoch()).count() + ((*h * 60 + *mi) * 60 + *se) * 1000LL + ms;
}

long long rounded(std::string_view extinf) {
  auto v = decimal(extinf);
  return v ? std::llround(*v) : -1;
}

MediaPlaylist parse_media_playlist(std::string_view text) {
  MediaPlaylist p;
  p.text = std::string(text);
  auto lines = lines_of(text);
  if (lines.empty() || lines.front() != "#EXTM3U") {
    p.error = "no #EXTM3U";
    return p;
  }
  auto fail = [&p](std::string why) {
    p.error = std::move(why);
    return p;
  };
  bool have_target = false, have_sequence = false;
  PlaylistEntry pending;
  bool have_extinf = false;
  for (std::string_view l : lines) {
    if (l.empty()) continue;
    if (starts_with(l, "#EXT-X-TARGETDURATION:")) {
      auto v = number<int>(l.substr(22));
      if (!v) return fail("bad TARGETDURATION: " + std::string(l));
      p.target_duration = *v;
      have_target = true;
    } else if (starts_with(l, "#EXT-X-MEDIA-SEQUENCE:")) {
      auto v = number<std::uint64_t>(l.substr(22));
      if (!v) return fail("bad MEDIA-SEQUENCE: " + std::string(l));
      p.media_sequence = *v;
      have_sequence = true;
    } else if (starts_with(l, "#EXT-X-DISCONTINUITY-SEQUENCE:")) {
      auto v = number<std::uint64_t>(l.substr(30));
      if (!v) return fail("bad DISCONTINUITY-SEQUENCE: " + std::string(l));
      p.discontinuity_sequence = *v;
    } else if (l == "#EXT-X-DISCONTINUITY") {
      pending.discontinuity = true;
    } else if (l == "#EXT-X-ENDLIST") {
      p.ended = true;
    } else if (l == "#EXT-X-INDEPENDENT-SEGMENTS") {
      p.independent = true;
    } else if (starts_with(l, "#EXT-X-PROGRAM-DATE-TIME:")) {
      pending.pdt_ms = parse_pdt(l.substr(25));
      if (!pending.pdt_ms) return fail("bad PROGRAM-DATE-TIME: " + std::string(l));
    } else if (starts_with(l, "#EXTINF:")) {
      auto v = l.substr(8);
      v = v.substr(0, v.find(','));
      auto d = decimal(v);
      if (!d) return fail("bad EXTINF: " + std::string(l));
      pending.duration = *d;
      pending.extinf = std::string(v);
      have_extinf = true;
    } else if (l.front() != '#') {
      if (!have_extinf) return fail("URI without EXTINF: " + std::string(l));
      pending.uri = std::string(l);
      auto name = segment_name(l);
      if (!name) return fail("URI is neither seg_S_N.ts nor seg_N.ts: " + std::string(l));
      pending.session = std::move(name->first);
      pending.sequence = name->second;
      p.entries.push_back(pending);
      pending = PlaylistEntry{};
      have_extinf = false;
    }
  }
  if (!have_target || !have_sequence) {
    p.error = "TARGETDURATION or MEDIA-SEQUENCE missing";
    return p;
  }
  p.valid = true;
  return p;
}

std::string MediaPlaylist::uri_for(std::uint64_t sequence) const {
  const std::string session = entries.empty() ? std::string() : entries.back().session;
  return session.empty() ? fmt::format("seg_{}.ts", sequence) : fmt::format("seg_{}_{}.ts", session, sequence);
}

std::map<std::uint64_t, std::uint64_t> MediaPlaylist::discontinuity_numbers() const {
  std::map<std::uint64_t, std::uint64_t> out;
  std::uint64_t d = discontinuity_sequence.value_or(0);
  for (const auto& e : entries) {
    if (e.discontinuity) ++d;
    out[e.sequence] = d;
  }
  return out;
}

std::optional<std::vector<Variant>> parse_master_playlist(std::string_view text) {
  auto lines = lines_of(text);
  if (lines.empty() || lines.front() != "#EXTM3U") return std::nullopt;
  std::vector<Variant> out;
  std::optional<Variant> pending;
  for (std::string_view l : lines) {
    if (starts_with(l, "#EXT-X-STREAM-INF:")) {
      auto attrs = attributes(l.substr(18));
      Variant v;
      v.bandwidth = number<std::uint64_t>(attrs["BANDWIDTH"]).value_or(0);
      v.average_bandwidth = number<std::uint64_t>(attrs["AVERAGE-BANDWIDTH"]).value_or(0);
      const std::string& res = attrs["RESOLUTION"];
      if (auto x = res.find('x'); x != std::string::npos) {
        v.width = number<int>(std::string_view(res).substr(0, x)).value_or(0);
        v.height = number<int>(std::string_view(res).substr(x + 1)).value_or(0);
      }
      v.codecs = attrs["CODECS"];
      pending = v;
    } else if (!l.empty() && l.front() != '#' && pending) {
      pending->uri = std::string(l);
      out.push_back(*pending);
      pending.reset();
    }
  }
  return out;
}

// ---- ffprobe --------------------------------------------------------------------

VideoProbe probe_video(const std::string& path) {
  VideoProbe v;
  auto r = run_command({"ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                        "stream=width,height,profile,level:frame=key_frame,pict_type,pts_time", "-of", "compact", path},
                       std::chrono::seconds(20));
  if (r.exit_code != 0) {
    v.error = "ffprobe failed: " + r.err;
    return v;
  }
  std::optional<double> first, last;
  for (std::string_view l : lines_of(r.out)) {
    std::map<std::string, std::string> kv;
    std::string_view section = l.substr(0, l.find('|'));
    for (std::string_view rest = l; !rest.empty();) {
      auto bar = rest.find('|');
      std::string_view field = rest.substr(0, bar);
      if (auto eq = field.find('='); eq != std::string_view::npos)
        kv[std::string(field.substr(0, eq))] = std::string(field.substr(eq + 1));
      if (bar == std::string_view::npos) break;
      rest.remove_prefix(bar + 1);
    }
    if (section == "frame") {
      auto pts = decimal(kv["pts_time"]);
      if (!pts) continue;
      if (v.frames == 0) {
        v.first_is_key = kv["key_frame"] == "1" && kv["pict_type"] == "I";
        v.first_pts = *pts;
      }
      ++v.frames;
      if (!first || *pts < *first) first = *pts;
      if (!last || *pts > *last) last = *pts;
    } else if (section == "stream") {
      v.width = number<int>(kv["width"]).value_or(0);
      v.height = number<int>(kv["height"]).value_or(0);
      v.profile = kv["profile"];
      v.level = number<int>(kv["level"]).value_or(0);
    }
  }
  if (v.frames == 0) {
    v.error = "no video frame decoded; stderr: " + r.err;
    return v;
  }
  v.duration = *last - *first + 1.0 / 25;  // the clips are 25 fps
  v.ok = true;
  return v;
}

std::string ffmpeg_decode_errors(const std::string& path) {
  auto r = run_command({"ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-i", path, "-f", "null", "-"},
                       std::chrono::seconds(30));
  if (r.exit_code != 0 && r.err.empty()) return fmt::format("ffmpeg exited with {}", r.exit_code);
  return r.err;
}

std::map<int, std::vector<ProbedPacket>> probe_packets(const std::string& path) {
  std::map<int, std::vector<ProbedPacket>> out;
  auto r = run_command({"ffprobe", "-v", "error", "-show_entries", "packet=stream_index,pts,dts,duration", "-of",
                        "csv=p=0", path},
                       std::chrono::seconds(30));
  for (std::string_view l : lines_of(r.out)) {
    ProbedPacket p;
    long long pts = 0, dts = 0, duration = 0;
    if (std::sscanf(std::string(l).c_str(), "%d,%lld,%lld,%lld", &p.stream, &pts, &dts, &duration) != 4) continue;
    p.pts = pts;
    p.dts = dts;
    p.duration = duration;
    out[p.stream].push_back(p);
  }
  return out;
}

std::string check_timeline(const std::map<int, std::vector<ProbedPacket>>& streams) {
  for (const auto& [stream, list] : streams) {
    for (std::size_t i = 1; i < list.size(); ++i) {
      const ProbedPacket& a = list[i - 1];
      const ProbedPacket& b = list[i];
      if (b.dts <= a.dts || b.dts < a.dts + a.duration)
        return fmt::format("stream {} packet {}: DTS {} after DTS {} + duration {}", stream, i, b.dts, a.dts,
                           a.duration);
    }
  }
  return {};
}

// ---- HTTP -----------------------------------------------------------------------

Pusher::Pusher(std::uint16_t port, std::string target, std::vector<std::pair<std::string, std::string>> headers) {
  conn_ = Connection::open(port);
  if (!conn_.connected()) return;
  headers.emplace_back("Transfer-Encoding", "chunked");
  headers.emplace_back("Content-Type", "video/mp2t");
  if (!conn_.send(make_request("PUT", target, headers))) conn_.close();
}

bool Pusher::send(std::string_view bytes, std::size_t chunk) {
  while (!bytes.empty()) {
    auto piece = bytes.substr(0, chunk);
    std::string framed = fmt::format("{:x}\r\n", piece.size());
    framed.append(piece);
    framed += "\r\n";
    if (!conn_.send(framed, 5s)) return false;
    bytes.remove_prefix(piece.size());
  }
  return true;
}

HttpResponse Pusher::finish(Millis timeout) {
  conn_.send("0\r\n\r\n", 2s);  // even if that fails, an early answer may be waiting
  return conn_.read_response(timeout);
}

HttpResponse push_body(std::uint16_t port, const std::string& target, std::string_view body,
                       const std::vector<std::pair<std::string, std::string>>& headers) {
  Pusher p(port, target, headers);
  if (!p.connected()) {
    HttpResponse r;
    r.outcome = Outcome::connect_failed;
    return r;
  }
  // If the server stops reading (it refused the body), the send fails or stalls: the
  // answer it wrote before closing is still in our receive buffer.
  p.send(body);
  return p.finish();
}

double ms_since(LocalClock::time_point t) {
  return std::chrono::duration<double, std::milli>(LocalClock::now() - t).count();
}

SegmentCollector::SegmentCollector(std::uint16_t port, std::string playlist_path)
    : port_(port), playlist_path_(std::move(playlist_path)) {
  base_ = playlist_path_.substr(0, playlist_path_.rfind('/') + 1);
}

MediaPlaylist SegmentCollector::poll() {
  auto r = get(port_, playlist_path_, {}, 5s);
  if (!r.ok() || r.status != 200) {
    MediaPlaylist p;
    p.error = "GET " + playlist_path_ + ": " + r.describe();
    failures_.push_back(p.error);
    return p;
  }
  auto p = parse_media_playlist(r.body);
  if (!p.valid) {
    failures_.push_back("unparseable playlist (" + p.error + "):\n" + r.body);
    return p;
  }
  playlists_.push_back(p);
  for (const auto& e : p.entries) {
    if (segments_.count(e.sequence)) continue;
    auto s = get(port_, base_ + e.uri, {}, 5s);
    if (!s.ok() || s.status != 200) {
      failures_.push_back("GET " + base_ + e.uri + " (listed): " + s.describe());
      continue;
    }
    segments_[e.sequence] = CollectedSegment{e, std::move(s.body)};
  }
  return p;
}

// ---- fixture --------------------------------------------------------------------

std::string local_yaml(const std::string& streams, const std::string& timeouts, const std::string& level) {
  std::string y = "role: local\n"
                  "threads: 2\n"
                  "listen:\n"
                  "  - address: 127.0.0.1:0\n"
                  "cache: {capacity: 64MiB, shards: 4}\n"
                  "logging: {level: " + level + "}\n";
  y += "timeouts: {drain: 2s" + (timeouts.empty() ? std::string() : ", " + timeouts) + "}\n";
  y += "streams:\n" + streams;
  return y;
}

void LocalTest::SetUp() { tmp_ = make_temp_dir("hlscache-local-"); }

void LocalTest::TearDown() {
  if (daemon_.running()) {
    HttpResponse r;
    const auto deadline = LocalClock::now() + 3s;
    do {
      r = ::hlscache::test::get(port_, "/healthz", {}, 2s);
      if (r.ok() && r.status == 200) break;
      std::this_thread::sleep_for(20ms);
    } while (LocalClock::now() < deadline);
    EXPECT_TRUE(r.ok() && r.status == 200) << "daemon no longer healthy: " << r.describe() << "\nlog:\n"
                                           << daemon_.log();
    auto st = daemon_.stop(SIGTERM, 10s);
    EXPECT_TRUE(st.exited && st.code == 0) << st.describe() << "\nlog:\n" << daemon_.log();
  } else if (auto st = daemon_.wait_exit(0ms)) {
    ADD_FAILURE() << "the daemon died during the test: " << st->describe() << "\nlog:\n" << daemon_.log();
  }
  remove_tree(tmp_);
}

void LocalTest::start(const std::string& yaml) {
  daemon_ = Daemon::start(yaml);
  ASSERT_TRUE(daemon_.running()) << daemon_.error();
  port_ = daemon_.port();
  ASSERT_NE(port_, 0);
}

HttpResponse LocalTest::get(std::string_view target, Millis timeout) const {
  return ::hlscache::test::get(port_, target, {}, timeout);
}

MediaPlaylist LocalTest::playlist(std::string_view target) const {
  auto r = get(target);
  if (!r.ok() || r.status != 200) {
    MediaPlaylist p;
    p.error = "GET " + std::string(target) + ": " + r.describe();
    return p;
  }
  return parse_media_playlist(r.body);
}

MediaPlaylist LocalTest::wait_playlist(std::string_view target, const std::function<bool(const MediaPlaylist&)>& pred,
                                       Millis timeout) const {
  const auto deadline = LocalClock::now() + timeout;
  MediaPlaylist p;
  for (;;) {
    p = playlist(target);
    if (p.valid && pred(p)) return p;
    if (LocalClock::now() >= deadline) return p;
    std::this_thread::sleep_for(100ms);
  }
}

std::optional<double> LocalTest::metric(std::string_view name, std::string_view labels) const {
  auto r = get("/metrics");
  if (!r.ok() || r.status != 200) return std::nullopt;
  return metric_value(r.body, name, labels);
}

}  // namespace hlscache::test
