#include "source/segmenter_source.hpp"

#include <algorithm>
#include <charconv>
#include <fmt/format.h>

namespace hlscache {

namespace asio = boost::asio;

namespace {

constexpr const char* kPlaylistType = "application/vnd.apple.mpegurl";

void answer(const SinkPtr& into, int status, std::string_view content_type, std::string_view body,
            std::vector<Header> extra = {}) {
  ResponseHead h;
  h.status = status;
  h.headers.emplace_back("Content-Type", std::string(content_type));
  for (auto& e : extra) h.headers.push_back(std::move(e));
  h.content_length = body.size();
  into->set_head(std::move(h));
  into->append(body);
  into->complete();
}

void not_found(const SinkPtr& into, std::string_view why) { answer(into, 404, "text/plain; charset=utf-8", fmt::format("404 Not Found: {}\n", why)); }
// A segment or playlist that did not arrive within the wait bound, or a segment further
// ahead than the next, may exist a moment later: that answer is stale at once and never
// served stale (a definite 404 still gets the negative TTL). Not no-store: it is the same for every viewer, so the requests that
// waited on it together share it (RFC 9111 §4) instead of each asking again.
void not_yet(const SinkPtr& into, std::string_view why) {
  answer(into, 404, "text/plain; charset=utf-8", fmt::format("404 Not Found: {}\n", why),
         {{"Cache-Control", "max-age=0, must-revalidate"}});
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    auto slash = path.find('/');
    if (slash != 0) parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

// A media file's name: a segment ("seg_..." ending ".ts" or ".m4s"), an LL-HLS part
// ("part_...m4s") or an fMP4 init segment ("init_...mp4"). Which window's it is, and
// its number, only the window can tell (RenditionWindow::sequence_of, part_of, map_of).
bool segment_like(std::string_view file) {
  return (file.starts_with("seg_") && (file.ends_with(".ts") || file.ends_with(".m4s"))) ||
         (file.starts_with("part_") && file.ends_with(".m4s")) || (file.starts_with("init_") && file.ends_with(".mp4"));
}

// 200 with the chunks as the body.
void answer_chunks(const SinkPtr& into, std::string_view content_type, const std::vector<Chunk>& chunks, std::uint64_t size) {
  ResponseHead h;
  h.status = 200;
  h.headers.emplace_back("Content-Type", std::string(content_type));
  h.content_length = size;
  into->set_head(std::move(h));
  for (const auto& c : chunks) into->append_chunk(c);
  into->complete();
}

std::optional<std::uint64_t> decimal(std::string_view v) {
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc{} || p != v.data() + v.size()) return std::nullopt;
  return n;
}

// LL-HLS: where each sibling rendition stands (draft-pantos-hls-rfc8216bis §4.4.5.4), so
// a player switching renditions asks for the right part at once.
std::string rendition_reports(LiveStream& s, const LiveRendition& self) {
  std::string out;
  const TimePoint now = SteadyClock::now();
  for (const auto& other : s.renditions()) {
    if (other.get() == &self) continue;
    const auto w = other->window(now);
    const auto snap = w ? w->playlist() : nullptr;
    if (!snap || !snap->last_part) continue;
    out += fmt::format("#EXT-X-RENDITION-REPORT:URI=\"../{}/index.m3u8\",LAST-MSN={},LAST-PART={}\n", other->name(),
                       snap->last_part->first, snap->last_part->second);
  }
  return out;
}

}  // namespace

PlaylistDirectives directives_of(std::string_view target) {
  PlaylistDirectives d;
  const auto q = target.find('?');
  if (q == std::string_view::npos) return d;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = param.find('=');
    const std::string_view name = param.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1);
    if (name == "_HLS_msn" || name == "_HLS_part") {
      auto n = decimal(value);
      if (!n) d.error = fmt::format("{} must be a decimal integer", name);
      (name == "_HLS_msn" ? d.msn : d.part) = n;
    } else if (name == "_HLS_skip") {
      if (value != "YES" && value != "v2") d.error = "_HLS_skip must be YES or v2";
      d.skip = true;
    }
  }
  if (d.part && !d.msn) d.error = "_HLS_part without _HLS_msn";
  return d;
}

namespace {

Duration wait_bound(const LiveRendition& r) { return std::chrono::duration_cast<Duration>(r.target_duration() * 3 / 2); }

}  // namespace

asio::awaitable<void> SegmenterSource::fetch(SourceRequest request, SinkPtr into) {
  std::string_view path = request.key;
  path = path.substr(0, path.find('?'));
  auto parts = split_path(path);
  if (parts.size() < 3 || parts[0] != "live") co_return not_found(into, "not a live stream path");
  LiveStream* stream = streams_.find(parts[1]);
  if (!stream) co_return not_found(into, "no such stream");
  if (parts.size() == 3) {
    if (parts[2] == "index.m3u8") {
      if (stream->single())
        co_return co_await media_playlist(*stream, *stream->renditions().front(), directives_of(request.key), into);
      co_return co_await master_playlist(*stream, into);
    }
    if (segment_like(parts[2]) && stream->single())
      co_return co_await segment(*stream->renditions().front(), std::string(parts[2]), into);
    co_return not_found(into, "no such file");
  }
  if (parts.size() == 4) {
    LiveRendition* r = stream->rendition(parts[2]);
    if (!r) co_return not_found(into, "no such rendition");
    if (parts[3] == "index.m3u8") co_return co_await media_playlist(*stream, *r, directives_of(request.key), into);
    if (segment_like(parts[3])) co_return co_await segment(*r, std::string(parts[3]), into);
  }
  co_return not_found(into, "no such file");
}

asio::awaitable<void> SegmenterSource::media_playlist(LiveStream& s, LiveRendition& r, PlaylistDirectives d,
                                                      const SinkPtr& into) {
  if (!d.error.empty()) co_return answer(into, 400, "text/plain; charset=utf-8", fmt::format("400 Bad Request: {}\n", d.error));
  // A blocking reload is held up to three target durations (then 503), a plain
  // request for a stream with no segment yet up to 1.5.
  const TimePoint deadline = SteadyClock::now() + (d.msn ? 2 * wait_bound(r) : wait_bound(r));
  for (;;) {
    auto w = r.window(SteadyClock::now());
    // No publishing session (never started, or ended longer than vod_keep ago): a definite 404,
    // cacheable, so it also replaces a stale copy of the ended playlist.
    if (!w && !r.publishing()) co_return not_found(into, "the stream is not live");
    auto snap = w ? w->playlist() : nullptr;
    const bool low_latency = w && w->low_latency();
    if (snap && (snap->segment_count > 0 || snap->open_parts > 0)) {
      if (low_latency && d.msn && !snap->ended) {
        // Further than two segments past the last one listed (the open one counts once
        // it has a part), or three parts past the last part: nothing to hold for.
        const std::uint64_t last = snap->open_parts > 0 ? snap->next_sequence : snap->next_sequence - 1;
        if (*d.msn > last + 2 || (d.part && *d.msn == snap->next_sequence && *d.part >= snap->open_parts + 3))
          co_return answer(into, 400, "text/plain; charset=utf-8",
                           fmt::format("400 Bad Request: _HLS_msn={} is too far ahead (the last is {})\n", *d.msn, last));
        if (!snap->holds(*d.msn, d.part)) {
          if (SteadyClock::now() >= deadline)
            co_return answer(into, 503, "text/plain; charset=utf-8", "503 Service Unavailable: the part did not come in time\n",
                             {{"Retry-After", "1"}, {"Cache-Control", "no-store"}});
          const bool woken = co_await r.wait_for_segment(deadline);
          (void)woken;  // the next turn decides
          continue;
        }
      }
      // An ended playlist is not final here: a publisher that comes back continues the
      // stream (a new window, the media sequence continuing), and vod_keep drops it.
      // Without Cache-Control the cache would keep it as long as a segment
      // (freshness.segment_ttl, 24 h) and hide both; give it one target duration.
      std::vector<Header> extra;
      if (snap->ended) extra.emplace_back("Cache-Control", fmt::format("max-age={}", std::max(1, snap->target_duration)));
      const std::string& text = low_latency && d.skip && snap->delta_text ? *snap->delta_text : *snap->text;
      if (!low_latency || snap->ended || s.single()) co_return answer(into, 200, kPlaylistType, text, std::move(extra));
      co_return answer(into, 200, kPlaylistType, text + rendition_reports(s, r), std::move(extra));
    }
    if (SteadyClock::now() >= deadline) co_return not_yet(into, "the stream has no segment yet");
    const bool woken = co_await r.wait_for_segment(deadline);  // a statement of its own (GCC 12, see fetch.cpp)
    if (!woken) co_return not_yet(into, "the stream has no segment yet");
  }
}

asio::awaitable<void> SegmenterSource::master_playlist(LiveStream& s, const SinkPtr& into) {
  const TimePoint deadline = SteadyClock::now() + wait_bound(*s.renditions().front());
  for (;;) {
    if (auto text = s.master_playlist(SteadyClock::now())) co_return answer(into, 200, kPlaylistType, *text);
    // Wait for the rendition that has no segment yet.
    LiveRendition* missing = nullptr;
    for (auto& r : s.renditions()) {
      auto w = r->window(SteadyClock::now());
      if (!w || !w->playlist() || w->playlist()->segment_count == 0) missing = r.get();
    }
    if (!missing || SteadyClock::now() >= deadline) co_return not_yet(into, "not every rendition has a segment yet");
    const bool woken = co_await missing->wait_for_segment(deadline);
    if (!woken) co_return not_yet(into, "not every rendition has a segment yet");
  }
}

asio::awaitable<void> SegmenterSource::segment(LiveRendition& r, std::string file, const SinkPtr& into) {
  const TimePoint deadline = SteadyClock::now() + wait_bound(r);
  for (;;) {
    auto w = r.window(SteadyClock::now());
    if (!w) co_return not_found(into, "the stream is not live");
    if (const auto map = w->map_of(file)) {
      const auto init = w->lookup_init(*map);
      if (!init) co_return not_found(into, "no such init segment in this run of the stream");
      co_return answer_chunks(into, "video/mp4", {*init}, init->size);
    }
    if (const auto part = w->part_of(file)) {
      PartLookup p = w->lookup_part(part->first, part->second);
      if (p.state == SegmentState::found) co_return answer_chunks(into, "video/mp4", p.part->chunks, p.part->size);
      if (p.state == SegmentState::never) co_return not_found(into, "no such part");
      // The part the preload hint names: held until it is cut (a part target away), bounded.
      if (SteadyClock::now() >= deadline) co_return not_yet(into, "the part did not arrive in time");
      const bool woken = co_await r.wait_for_segment(deadline);
      if (!woken) co_return not_yet(into, "the part did not arrive in time");
      continue;
    }
    // Another session's name (an earlier run, or a later one while this waited): never this run's.
    const auto sequence = w->sequence_of(file);
    if (!sequence) co_return not_found(into, "no such segment in this run of the stream");
    SegmentLookup found = w->lookup(*sequence);
    if (found.state == SegmentState::found) {
      const Segment& seg = found.segment->segment;
      co_return answer_chunks(into, seg.map >= 0 ? "video/mp4" : "video/mp2t", seg.chunks, seg.size);
    }
    if (found.state == SegmentState::never) co_return not_found(into, "no such segment");
    // Not there yet: a cache in front must not keep that answer until it is.
    if (found.state == SegmentState::ahead) co_return not_yet(into, "the segment is further ahead than the next");
    // The next segment: wait for it, bounded.
    if (SteadyClock::now() >= deadline) co_return not_yet(into, "the segment did not arrive in time");
    const bool woken = co_await r.wait_for_segment(deadline);
    if (!woken) co_return not_yet(into, "the segment did not arrive in time");
  }
}

}  // namespace hlscache
