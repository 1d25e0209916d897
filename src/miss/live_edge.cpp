#include "miss/live_edge.hpp"

#include <algorithm>
#include <charconv>

#include "cache/media.hpp"

namespace hlscache {

namespace {

constexpr std::size_t kMaxRunDigits = 18;  // a run's value fits an int64 with room for a difference
constexpr double kMaxTargetSeconds = 3600;  // beyond any real stream; keeps 3 x target a valid Duration
constexpr int kValidTargets = 3;            // a playlist places segments for this many target durations

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string_view path_of(std::string_view key) { return key.substr(0, key.find('?')); }

// A path split at its last slash: the directory (with the slash) and the file name.
std::pair<std::string_view, std::string_view> split_directory(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return {{}, path};
  return {path.substr(0, slash + 1), path.substr(slash + 1)};
}

// How two names differ: nowhere (run < 0), or in the digits of exactly one run (its
// index among the names' digit runs, and its value in each name).
struct RunDifference {
  int run = -1;
  std::int64_t a = 0, b = 0;
};

std::optional<std::int64_t> run_value(std::string_view digits) {
  if (digits.size() > kMaxRunDigits) return std::nullopt;
  std::int64_t v = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), v);
  return v;
}

// Nullopt when the names differ anywhere but in the digits of one run.
std::optional<RunDifference> differing_run(std::string_view a, std::string_view b) {
  RunDifference d;
  std::size_t i = 0, j = 0;
  int run = 0;
  while (i < a.size() && j < b.size()) {
    if (is_digit(a[i]) && is_digit(b[j])) {
      std::size_t ie = i, je = j;
      while (ie < a.size() && is_digit(a[ie])) ++ie;
      while (je < b.size() && is_digit(b[je])) ++je;
      const std::string_view ra = a.substr(i, ie - i), rb = b.substr(j, je - j);
      if (ra != rb) {
        const auto va = run_value(ra), vb = run_value(rb);
        if (d.run >= 0 || !va || !vb) return std::nullopt;
        d = RunDifference{run, *va, *vb};
      }
      ++run;
      i = ie;
      j = je;
    } else if (a[i] == b[j] && !is_digit(a[i])) {
      ++i;
      ++j;
    } else {
      return std::nullopt;
    }
  }
  if (i != a.size() || j != b.size()) return std::nullopt;
  return d;
}

// The index of the last run of digits before the extension, or -1.
int last_run_before_extension(std::string_view name) {
  const std::size_t dot = name.rfind('.');
  const std::string_view stem = dot == std::string_view::npos ? name : name.substr(0, dot);
  int runs = 0;
  for (std::size_t i = 0; i < stem.size(); ++i)
    if (is_digit(stem[i]) && (i == 0 || !is_digit(stem[i - 1]))) ++runs;
  return runs - 1;
}

}  // namespace

std::optional<std::int64_t> segments_after(std::string_view name, std::string_view last, std::string_view first,
                                           std::uint64_t count) {
  const auto d = differing_run(name, last);
  if (!d) return std::nullopt;
  if (d->run < 0) return 0;
  // Which run counts segments: the one the playlist's first and last names differ in,
  // by the segments between them; with one segment listed, the last before the extension.
  int counter = -1;
  if (count >= 2) {
    const auto f = differing_run(first, last);
    if (!f || f->run < 0 || f->b - f->a != static_cast<std::int64_t>(count - 1)) return std::nullopt;
    counter = f->run;
  } else {
    counter = last_run_before_extension(last);
  }
  if (d->run != counter) return std::nullopt;
  return d->a - d->b;
}

std::optional<std::string> segment_path(std::string_view playlist_path, std::string_view uri) {
  uri = uri.substr(0, uri.find_first_of("?#"));
  if (uri.empty() || uri.starts_with("//")) return std::nullopt;
  const std::size_t colon = uri.find(':');
  if (colon != std::string_view::npos && colon < uri.find('/')) return std::nullopt;  // a scheme
  std::string joined = uri.front() == '/' ? std::string(uri)
                                          : std::string(split_directory(playlist_path).first) + std::string(uri);
  // RFC 3986 §5.2.4, for a path without a trailing dot segment (a segment's).
  std::vector<std::string_view> parts;
  std::string_view rest(joined);
  if (rest.starts_with('/')) rest.remove_prefix(1);
  while (true) {
    const std::size_t slash = rest.find('/');
    const std::string_view part = rest.substr(0, slash);
    if (part == "..") {
      if (parts.empty()) return std::nullopt;
      parts.pop_back();
    } else if (part != ".") {
      parts.push_back(part);
    }
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  std::string out;
  for (const auto& p : parts) {
    out += '/';
    out += p;
  }
  return out;
}

namespace {

// `wanted`, at most timeouts.follower_wait (its waiters' bound) and kMaxHeldFirstByte,
// never less than timeouts.upstream_first_byte.
Duration bounded_wait(Duration wanted, const TimeoutsConfig& timeouts) {
  const Duration bound = std::min(std::chrono::duration_cast<Duration>(timeouts.follower_wait), kMaxHeldFirstByte);
  return std::max(std::min(wanted, bound), std::chrono::duration_cast<Duration>(timeouts.upstream_first_byte));
}

}  // namespace

Duration held_first_byte_wait(Duration target_duration, const TimeoutsConfig& timeouts) {
  return bounded_wait(target_duration * 2, timeouts);
}

Duration blocking_reload_wait(Duration target_duration, const TimeoutsConfig& timeouts) {
  return bounded_wait(target_duration * 7 / 2, timeouts);
}

void LiveEdges::playlist(std::string_view key, std::string_view text, TimePoint now) {
  const auto pos = playlist_position(text);
  if (!pos || pos->segment_count == 0) return;
  const std::string_view playlist_path = path_of(key);
  key = playlist_path;  // the stream is the playlist's path, whatever query asked for it
  const auto last = segment_path(playlist_path, pos->last_uri);
  const auto first = segment_path(playlist_path, pos->first_uri);
  if (!last || !first) return;
  const auto [directory, last_name] = split_directory(*last);
  const auto [first_directory, first_name] = split_directory(*first);
  const bool placeable = !pos->ended && pos->target_duration && first_directory == directory;

  std::lock_guard lock(mu_);
  auto it = by_directory_.find(std::string(directory));
  if (!placeable) {
    // An ended playlist (or one that stopped fitting): what it said before no longer holds.
    if (it == by_directory_.end()) return;
    const std::size_t before = it->second.size();
    std::erase_if(it->second, [&](const Stream& s) { return s.playlist_key == key; });
    streams_ -= before - it->second.size();
    if (it->second.empty()) by_directory_.erase(it);
    return;
  }
  if (it == by_directory_.end()) {
    make_room_locked(now);
    if (by_directory_.size() >= kMaxDirectories) return;
    it = by_directory_.emplace(std::string(directory), std::vector<Stream>{}).first;
  }
  auto& streams = it->second;
  auto s = std::find_if(streams.begin(), streams.end(), [&](const Stream& x) { return x.playlist_key == key; });
  if (s == streams.end()) {
    if (streams.size() < kMaxPerDirectory) {
      s = streams.emplace(streams.end());
      ++streams_;
    } else {
      s = std::min_element(streams.begin(), streams.end(),
                           [](const Stream& a, const Stream& b) { return a.seen < b.seen; });
    }
    s->playlist_key = std::string(key);
  }
  s->first = std::string(first_name);
  s->last = std::string(last_name);
  s->count = pos->segment_count;
  s->target_duration = std::chrono::duration_cast<Duration>(
      std::chrono::duration<double>(std::min(*pos->target_duration, kMaxTargetSeconds)));
  s->seen = now;
}

// At the directory bound: streams whose playlist has not been seen for their validity go.
void LiveEdges::make_room_locked(TimePoint now) {
  if (by_directory_.size() < kMaxDirectories) return;
  for (auto it = by_directory_.begin(); it != by_directory_.end();) {
    const std::size_t before = it->second.size();
    std::erase_if(it->second, [&](const Stream& s) { return now > s.seen + s.target_duration * kValidTargets; });
    streams_ -= before - it->second.size();
    it = it->second.empty() ? by_directory_.erase(it) : std::next(it);
  }
}

std::optional<LiveEdgePosition> LiveEdges::ahead(std::string_view key, TimePoint now) const {
  const auto [directory, name] = split_directory(path_of(key));
  if (directory.empty() || name.empty()) return std::nullopt;
  std::lock_guard lock(mu_);
  const auto it = by_directory_.find(std::string(directory));
  if (it == by_directory_.end()) return std::nullopt;
  for (const Stream& s : it->second) {
    if (now > s.seen + s.target_duration * kValidTargets) continue;
    const auto after = segments_after(name, s.last, s.first, s.count);
    if (!after) continue;
    if (*after <= 0) return std::nullopt;  // listed, or behind the window
    return LiveEdgePosition{static_cast<std::uint64_t>(*after), s.target_duration};
  }
  return std::nullopt;
}

std::optional<Duration> LiveEdges::blocking_reload(std::string_view key) const {
  const std::size_t query = key.find('?');
  if (query == std::string_view::npos) return std::nullopt;
  const std::string_view q = key.substr(query);
  if (q.find("?_HLS_msn=") == std::string_view::npos && q.find("&_HLS_msn=") == std::string_view::npos)
    return std::nullopt;
  const std::string_view path = key.substr(0, query);
  std::lock_guard lock(mu_);
  // The playlist's own directory holds its segments in every layout we place.
  const auto it = by_directory_.find(std::string(split_directory(path).first));
  if (it == by_directory_.end()) return std::nullopt;
  for (const Stream& s : it->second)
    if (s.playlist_key == path) return s.target_duration;
  return std::nullopt;
}

std::size_t LiveEdges::streams() const {
  std::lock_guard lock(mu_);
  return streams_;
}

}  // namespace hlscache
