#include "miss/stream_restart.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace hlscache {

namespace {

constexpr std::int64_t kPdtSlackMs = 1000;  // PROGRAM-DATE-TIME is written to the millisecond; allow rounding

std::string body_text(const Object& o) {
  std::string s;
  s.reserve(o.body_size);
  for (const auto& c : o.body) s.append(c.view());
  return s;
}

}  // namespace

std::string restart_reason(MediaKind kind, const Object& previous, std::string_view previous_text,
                           const Object& fresh, std::string_view fresh_text) {
  if (previous.status != 200 || fresh.status != 200) return {};
  if (kind == MediaKind::playlist) {
    const auto was = playlist_position(previous_text), now = playlist_position(fresh_text);
    if (!was || !now) return {};
    if (now->media_sequence < was->media_sequence)
      return fmt::format("media sequence went back from {} to {}", was->media_sequence, now->media_sequence);
    if (now->discontinuity_sequence < was->discontinuity_sequence)
      return fmt::format("discontinuity sequence went back from {} to {}", was->discontinuity_sequence,
                         now->discontinuity_sequence);
    if (was->first_pdt_ms && now->first_pdt_ms && now->first_pdt_sequence >= was->first_pdt_sequence &&
        *now->first_pdt_ms + kPdtSlackMs < *was->first_pdt_ms)
      return fmt::format("segment {} is dated {} ms before segment {}", now->first_pdt_sequence,
                         *was->first_pdt_ms - *now->first_pdt_ms, was->first_pdt_sequence);
    return {};
  }
  if (kind != MediaKind::segment) return {};
  if (!previous.etag.empty() && !fresh.etag.empty())
    return previous.etag == fresh.etag ? std::string{} : fmt::format("ETag {} became {}", previous.etag, fresh.etag);
  if (!previous.last_modified.empty() && !fresh.last_modified.empty())
    return previous.last_modified == fresh.last_modified
               ? std::string{}
               : fmt::format("Last-Modified {} became {}", previous.last_modified, fresh.last_modified);
  if (previous.body_size != fresh.body_size)
    return fmt::format("length {} became {}", previous.body_size, fresh.body_size);
  return {};
}

std::string_view stream_prefix(std::string_view key) {
  const std::string_view path = key.substr(0, key.find('?'));
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view{} : key.substr(0, slash + 1);
}

bool purge_if_restarted(Cache& cache, std::string_view store_key, MediaKind kind, const Object& fresh,
                        std::string_view fresh_text) {
  if (kind != MediaKind::playlist && kind != MediaKind::segment) return false;
  const ObjectPtr previous = cache.peek(store_key);
  if (!previous || previous->status != 200) return false;  // nothing stored, or a Vary marker / negative answer
  const std::string previous_text = kind == MediaKind::playlist ? body_text(*previous) : std::string{};
  const std::string why = restart_reason(kind, *previous, previous_text, fresh, fresh_text);
  if (why.empty()) return false;
  const std::string_view prefix = stream_prefix(store_key);
  if (prefix.empty()) return false;
  const std::size_t n = cache.erase_prefix(prefix);
  spdlog::warn("stream restart under '{}' ({} changed: {}): {} cached object(s) of the old run purged",
               prefix, store_key, why, n);
  return true;
}

}  // namespace hlscache
