#include "server/stream_activity.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace hlscache {

namespace {

std::int64_t to_ns(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
std::optional<TimePoint> from_ns(std::int64_t ns) {
  if (ns == 0) return std::nullopt;
  return TimePoint(std::chrono::duration_cast<Duration>(std::chrono::nanoseconds(ns)));
}

}  // namespace

const char* to_string(LiveState s) noexcept {
  switch (s) {
    case LiveState::live: return "live";
    case LiveState::paused: return "paused";
    case LiveState::ended: return "ended";
    case LiveState::waiting: break;
  }
  return "waiting";
}

LiveState rendition_state(const RenditionFacts& f) {
  if (f.publishing) {
    // 1.5 x target: a player reloads about once per target duration; past this it
    // has reloaded without finding a new segment.
    const bool quiet = !f.since_activity || *f.since_activity * 2 > f.target * 3;
    return quiet ? LiveState::paused : LiveState::live;
  }
  if (f.in_pause_grace) return LiveState::paused;
  return f.ended ? LiveState::ended : LiveState::waiting;
}

LiveState stream_state(const std::vector<LiveState>& renditions) {
  for (LiveState s : {LiveState::live, LiveState::paused, LiveState::ended})
    if (std::find(renditions.begin(), renditions.end(), s) != renditions.end()) return s;
  return LiveState::waiting;
}

std::string_view live_stream_of(std::string_view path) {
  if (!path.starts_with("/live/")) return {};
  const std::string_view rest = path.substr(6);
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0) return {};
  return rest.substr(0, slash);
}

StreamActivity::StreamActivity(LiveStreams& streams) {
  for (auto& s : streams.all()) {
    streams_.emplace(s->name(), std::make_unique<Stream>());
    for (auto& r : s->renditions()) renditions_.emplace(r.get(), std::make_shared<Rendition>());
  }
}

void StreamActivity::session_started(const LiveRendition& r, TimePoint now) {
  auto it = renditions_.find(&r);
  if (it == renditions_.end()) return;
  std::shared_ptr<Rendition> a = it->second;
  a->session_start_ns.store(to_ns(now), std::memory_order_relaxed);
  auto window = r.current_window();  // not window(now): that is the previous session's until a segment lands
  if (!window) return;
  // Called after every add() (a new segment) and once more by end() (ended snapshot).
  auto id = window->subscribe([a](const RenditionWindow::Snapshot& snap) {
    if (!snap->ended) a->last_segment_ns.store(to_ns(SteadyClock::now()), std::memory_order_relaxed);
  });
  if (!id) spdlog::warn("{}/{}: status page cannot follow its segments: {}", r.stream(), r.name(), id.error().message);
}

void StreamActivity::note_request(std::string_view stream) {
  if (auto it = streams_.find(stream); it != streams_.end()) it->second->requests.fetch_add(1, std::memory_order_relaxed);
}

void StreamActivity::note_origin_fetch(std::string_view stream) {
  if (auto it = streams_.find(stream); it != streams_.end())
    it->second->origin_fetches.fetch_add(1, std::memory_order_relaxed);
}

StreamActivity::RenditionView StreamActivity::rendition(const LiveRendition& r) const {
  auto it = renditions_.find(&r);
  if (it == renditions_.end()) return {};
  return {from_ns(it->second->last_segment_ns.load(std::memory_order_relaxed)),
          from_ns(it->second->session_start_ns.load(std::memory_order_relaxed))};
}

RenditionFacts StreamActivity::facts(const LiveRendition& r, TimePoint now) const {
  RenditionFacts f;
  f.publishing = r.publishing();
  f.in_pause_grace = r.paused_since().has_value();
  const auto window = r.window(now);
  const auto snap = window ? window->playlist() : nullptr;
  f.ended = snap && snap->ended;
  f.target = std::max(std::chrono::duration_cast<Duration>(r.target_duration()),
                      std::chrono::duration_cast<Duration>(std::chrono::seconds(snap ? snap->target_duration : 0)));
  const RenditionView v = rendition(r);
  std::optional<TimePoint> latest = v.last_segment;
  if (v.session_start && (!latest || *v.session_start > *latest)) latest = v.session_start;
  if (latest) f.since_activity = std::max(Duration::zero(), now - *latest);
  return f;
}

std::uint64_t StreamActivity::requests(std::string_view stream) const {
  auto it = streams_.find(stream);
  return it == streams_.end() ? 0 : it->second->requests.load(std::memory_order_relaxed);
}

std::uint64_t StreamActivity::origin_fetches(std::string_view stream) const {
  auto it = streams_.find(stream);
  return it == streams_.end() ? 0 : it->second->origin_fetches.load(std::memory_order_relaxed);
}

boost::asio::awaitable<void> CountingSource::fetch(SourceRequest request, SinkPtr into) {
  activity_.note_origin_fetch(live_stream_of(request.key));
  co_await inner_->fetch(std::move(request), std::move(into));
}

}  // namespace hlscache
