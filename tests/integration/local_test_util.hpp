// Helpers for the `local` role integration suite (the built-in segmenter): test
// media made by ffmpeg once per test binary, child processes (ffmpeg, ffprobe)
// with bounded waits, HLS playlist parsing, ffprobe of a segment, raw-socket
// HTTP push, and a LocalTest fixture that runs the real daemon in role local and
// checks after every test that it is still healthy and stops cleanly.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "support/daemon.hpp"
#include "support/http_client.hpp"

namespace hlscache::test {

using LocalClock = std::chrono::steady_clock;

// ---- external tools ----------------------------------------------------------

// True if ffmpeg (with libx264 and aac) and ffprobe can be run. Checked once.
bool have_ffmpeg();
#define LOCAL_REQUIRE_FFMPEG()                                                                      \
  do {                                                                                              \
    if (!::hlscache::test::have_ffmpeg())                                                           \
      GTEST_SKIP() << "ffmpeg/ffprobe with libx264 and aac not found on PATH: segmenter tests need " \
                      "them to make and check media";                                               \
  } while (0)

// A child process (searched on PATH) with stdin from /dev/null and stdout/stderr
// captured to files in `dir`. The destructor SIGKILLs it if it still runs.
class Process {
 public:
  Process() = default;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  Process(Process&& o) noexcept;
  Process& operator=(Process&& o) noexcept;
  ~Process();

  static Process start(const std::vector<std::string>& args, const std::string& dir);
  bool started() const { return pid_ > 0; }
  // Exit code once it has exited (-1: killed by a signal), nullopt while it runs past `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  std::optional<int> exit_code() const { return code_; }
  void kill();  // SIGKILL and reap
  void signal(int sig);  // e.g. SIGSTOP / SIGCONT (a publisher's pause)
  std::string out() const;
  std::string err() const;
  std::string describe() const;  // command line, exit and stderr tail for assertion messages

 private:
  pid_t pid_ = -1;
  std::optional<int> code_;
  std::string cmd_, out_path_, err_path_;
};

// Runs a command to completion (bounded; killed and reported at the bound).
CommandResult run_command(const std::vector<std::string>& args, std::chrono::milliseconds timeout);

// ---- media ---------------------------------------------------------------------

// An MPEG-TS clip made by ffmpeg: testsrc2 video WxH at 25 fps, H.264 ultrafast with a
// fixed 1 s GOP (IDR every 25 frames), AAC 48 kHz sine audio. Made once per binary and
// spec in a shared temp dir; "" (and a test failure) if ffmpeg failed.
std::string make_clip(double seconds, int width = 320, int height = 180);
std::string media_dir();
// A free UDP port on 127.0.0.1 (bound and released; good enough on loopback).
std::uint16_t free_udp_port();
// The same for TCP (a port nothing listens on right now).
std::uint16_t free_tcp_port();

// ---- playlists -----------------------------------------------------------------

struct PlaylistEntry {
  std::uint64_t sequence = 0;    // from the URI seg_<session>_<N>.ts (or seg_N.ts)
  std::string session;           // "" in seg_N.ts
  std::string uri;
  double duration = 0;           // EXTINF
  std::string extinf;            // as written
  bool discontinuity = false;
  std::optional<std::int64_t> pdt_ms;  // PROGRAM-DATE-TIME, ms since the epoch
};

struct MediaPlaylist {
  bool valid = false;            // #EXTM3U, TARGETDURATION and MEDIA-SEQUENCE present
  std::string error;
  int target_duration = -1;
  std::uint64_t media_sequence = 0;
  std::optional<std::uint64_t> discontinuity_sequence;
  bool ended = false;
  bool independent = false;
  std::vector<PlaylistEntry> entries;
  std::string text;

  std::uint64_t next_sequence() const { return entries.empty() ? media_sequence : entries.back().sequence + 1; }
  // The URI segment `sequence` has (or will have) in this playlist's run: the last entry's session.
  std::string uri_for(std::uint64_t sequence) const;
  // The discontinuity number of every listed segment: DISCONTINUITY-SEQUENCE plus
  // the tags at or before it in this playlist.
  std::map<std::uint64_t, std::uint64_t> discontinuity_numbers() const;
};
MediaPlaylist parse_media_playlist(std::string_view text);

struct Variant {
  std::uint64_t bandwidth = 0, average_bandwidth = 0;
  int width = 0, height = 0;
  std::string codecs, uri;
};
// The #EXT-X-STREAM-INF entries; nullopt if the text is not a master playlist.
std::optional<std::vector<Variant>> parse_master_playlist(std::string_view text);

// round() of an EXTINF as written (three decimals), the way a player reads it.
long long rounded(std::string_view extinf);
// "2024-01-02T03:04:05.678Z" -> ms since the epoch.
std::optional<std::int64_t> parse_pdt(std::string_view s);

// ---- ffprobe -------------------------------------------------------------------

struct VideoProbe {
  bool ok = false;
  std::string error;
  int frames = 0;                // decoded video frames
  bool first_is_key = false;     // the first decoded frame is a keyframe (I picture)
  double first_pts = 0;
  double duration = 0;           // last pts - first pts + one frame
  int width = 0, height = 0;
  std::string profile;
  int level = 0;
};
// Decodes the first video stream of a TS file with ffprobe.
VideoProbe probe_video(const std::string& path);

// What `ffmpeg -v error -i PATH -f null -` writes to stderr while decoding every
// stream of the file ("" when it decodes without an error).
std::string ffmpeg_decode_errors(const std::string& path);

struct ProbedPacket {
  int stream = 0;
  std::int64_t pts = 0, dts = 0, duration = 0;  // 90 kHz
};
// Every packet of a TS file in file order (ffprobe -show_packets), by stream index.
std::map<int, std::vector<ProbedPacket>> probe_packets(const std::string& path);
// For each stream: DTS strictly increasing and no packet starting before the previous
// one ended (DTS + duration). "" if so, else what went back and where.
std::string check_timeline(const std::map<int, std::vector<ProbedPacket>>& streams);

// ---- HTTP ----------------------------------------------------------------------

// A chunked PUT on a raw connection, for ingest tests that want control of the bytes.
class Pusher {
 public:
  // Connects and sends the request head (Transfer-Encoding: chunked).
  Pusher(std::uint16_t port, std::string target, std::vector<std::pair<std::string, std::string>> headers = {});
  bool connected() const { return conn_.connected(); }
  // Sends `bytes` as chunks of at most `chunk` bytes; false if the peer closed/reset.
  bool send(std::string_view bytes, std::size_t chunk = 64 * 1024);
  // Sends the last chunk and reads the response.
  HttpResponse finish(Millis timeout = 10s);
  // Reads a response the server sent early (without finishing the body).
  HttpResponse read_response(Millis timeout = 5s) { return conn_.read_response(timeout); }
  Connection& connection() { return conn_; }

 private:
  Connection conn_;
};

// A whole body pushed at once (chunked), response read at the end or as soon as the
// server answers early.
HttpResponse push_body(std::uint16_t port, const std::string& target, std::string_view body,
                       const std::vector<std::pair<std::string, std::string>>& headers = {});

double ms_since(LocalClock::time_point t);

// Polls a media playlist and fetches each segment it lists once, while it is listed,
// so a sliding window loses none. Every failure is recorded, not asserted.
struct CollectedSegment {
  PlaylistEntry entry;  // as first listed
  std::string body;
};
class SegmentCollector {
 public:
  // Segment URIs resolve against the playlist's directory.
  SegmentCollector(std::uint16_t port, std::string playlist_path);
  // One poll: the playlist, then every new segment it lists. Returns the playlist read.
  MediaPlaylist poll();
  const std::map<std::uint64_t, CollectedSegment>& segments() const { return segments_; }
  const std::vector<MediaPlaylist>& playlists() const { return playlists_; }
  const std::vector<std::string>& failures() const { return failures_; }

 private:
  std::uint16_t port_;
  std::string playlist_path_, base_;
  std::map<std::uint64_t, CollectedSegment> segments_;
  std::vector<MediaPlaylist> playlists_;
  std::vector<std::string> failures_;
};

// ---- fixture -------------------------------------------------------------------

// `streams` is the YAML list under streams: (each line indented by 2 spaces).
std::string local_yaml(const std::string& streams, const std::string& timeouts = "",
                       const std::string& level = "info");

class LocalTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Starts the daemon; ASSERTs inside, so call as ASSERT_NO_FATAL_FAILURE(start(...)).
  void start(const std::string& yaml);

  HttpResponse get(std::string_view target, Millis timeout = 5s) const;
  // GET + parse; invalid (and .error says why) unless 200 and parseable.
  MediaPlaylist playlist(std::string_view target) const;
  // Polls the playlist (every 100 ms) until pred holds or the timeout; the last one read.
  MediaPlaylist wait_playlist(std::string_view target, const std::function<bool(const MediaPlaylist&)>& pred,
                              Millis timeout) const;
  std::optional<double> metric(std::string_view name, std::string_view labels = {}) const;
  // A file in this test's temp dir.
  std::string path(const std::string& name) const { return tmp_ + "/" + name; }

  Daemon daemon_;
  std::uint16_t port_ = 0;
  std::string tmp_;
};

}  // namespace hlscache::test
