#include "cache/freshness.hpp"
#include "core/http_fields.hpp"
#include "core/strings.hpp"

#include <strings.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>

namespace hlscache {

namespace {

bool iends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && iequal(s.substr(s.size() - suffix.size()), suffix);
}
bool icontains(std::string_view s, std::string_view needle) {
  for (std::size_t i = 0; i + needle.size() <= s.size(); ++i)
    if (iequal(s.substr(i, needle.size()), needle)) return true;
  return false;
}
std::string_view header_of(const std::vector<Header>& hs, std::string_view name) {
  for (const auto& [k, v] : hs)
    if (iequal(k, name)) return v;
  return {};
}

// Splits a comma-separated header value and calls fn(token) for each trimmed token.
template <class F>
void for_each_token(std::string_view v, F&& fn) {
  while (!v.empty()) {
    auto comma = v.find(',');
    fn(trim(v.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
}

// Delta-seconds over 2^31 are taken as 2^31 (RFC 9111 §1.2.2); more seconds would
// overflow Duration (nanoseconds) where they are converted.
constexpr long long kMaxDeltaSeconds = 2147483648;

std::optional<long long> parse_seconds(std::string_view s) {
  s = trim(s);
  if (!s.empty() && s.front() == '"' && s.back() == '"' && s.size() >= 2) s = s.substr(1, s.size() - 2);
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range && p == s.data() + s.size() && s.front() != '-') return kMaxDeltaSeconds;
  if (ec != std::errc{} || p != s.data() + s.size() || v < 0) return std::nullopt;
  return std::min(v, kMaxDeltaSeconds);
}

struct CacheControl {
  bool no_store = false, priv = false, no_cache = false, must_revalidate = false;
  std::optional<long long> max_age, s_maxage, stale_while_revalidate;
};

CacheControl parse_cache_control(std::string_view v) {
  CacheControl cc;
  for_each_token(v, [&](std::string_view t) {
    auto eq = t.find('=');
    std::string_view name = trim(t.substr(0, eq));
    std::string_view arg = eq == std::string_view::npos ? std::string_view{} : t.substr(eq + 1);
    if (iequal(name, "no-store")) cc.no_store = true;
    else if (iequal(name, "private")) cc.priv = true;
    else if (iequal(name, "no-cache")) cc.no_cache = true;
    else if (iequal(name, "must-revalidate") || iequal(name, "proxy-revalidate")) cc.must_revalidate = true;
    else if (iequal(name, "max-age")) cc.max_age = parse_seconds(arg);
    else if (iequal(name, "s-maxage")) cc.s_maxage = parse_seconds(arg);
    else if (iequal(name, "stale-while-revalidate")) cc.stale_while_revalidate = parse_seconds(arg);
  });
  return cc;
}

Duration millis(Millis m) { return std::chrono::duration_cast<Duration>(m); }

}  // namespace

MediaKind media_kind(std::string_view path, std::string_view content_type) {
  if (iends_with(path, ".m3u8") || iends_with(path, ".m3u") ||
      icontains(content_type, "mpegurl"))  // media types are case-insensitive: application/x-mpegURL
    return MediaKind::playlist;
  for (std::string_view ext : {".ts", ".m4s", ".mp4", ".aac", ".m4a", ".m4v", ".mp3", ".vtt", ".webvtt", ".key", ".cmfv", ".cmfa"})
    if (iends_with(path, ext)) return MediaKind::segment;
  return MediaKind::other;
}

std::optional<double> playlist_target_duration(std::string_view text) {
  static constexpr std::string_view tag = "#EXT-X-TARGETDURATION:";
  auto pos = text.find(tag);
  if (pos == std::string_view::npos) return std::nullopt;
  auto v = text.substr(pos + tag.size());
  v = v.substr(0, v.find_first_of("\r\n"));
  double d = 0;
  auto t = trim(v);
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), d);
  if (ec != std::errc{} || d <= 0 || !std::isfinite(d)) return std::nullopt;
  return d;
}

bool playlist_has_endlist(std::string_view text) { return text.find("#EXT-X-ENDLIST") != std::string_view::npos; }

bool glob_match(std::string_view pat, std::string_view s) {
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < s.size()) {
    if (p < pat.size() && pat[p] == '*') { star = p++; mark = t; }
    else if (p < pat.size() && pat[p] == s[t]) { ++p; ++t; }
    else if (star != std::string_view::npos) { p = star + 1; t = ++mark; }
    else return false;
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

FreshnessDecision decide_freshness(int status, const std::vector<Header>& headers, std::string_view path,
                                   std::string_view body, const FreshnessConfig& cfg) {
  FreshnessDecision d;
  const CacheControl cc = parse_cache_control(header_of(headers, "Cache-Control"));
  if (auto age = parse_seconds(header_of(headers, "Age"))) d.initial_age = std::chrono::seconds(*age);

  if (cc.no_store) return d.reason = "no-store", d;
  if (cc.priv) return d.reason = "private", d;
  if (cc.no_cache) return d.reason = "no-cache", d;
  bool vary_ok = true;
  for_each_token(header_of(headers, "Vary"), [&](std::string_view t) {
    if (!t.empty() && !iequal(t, "Accept-Encoding")) vary_ok = false;
  });
  if (!vary_ok) return d.reason = "vary", d;

  if (status == 404 || status == 410) {
    d.store = cfg.negative_ttl.count() > 0;
    d.ttl = millis(cfg.negative_ttl);
    d.reason = "negative";
    return d;
  }
  if (status != 200 && status != 203 && status != 204 && status != 300 && status != 301 && status != 308)
    return d.reason = "status not cacheable", d;

  const MediaKind kind = media_kind(path, header_of(headers, "Content-Type"));
  d.store = true;
  d.grace = cc.must_revalidate ? Duration::zero() : millis(cfg.stale_grace);
  if (cc.stale_while_revalidate && !cc.must_revalidate)
    d.grace = std::max(d.grace, Duration(std::chrono::seconds(*cc.stale_while_revalidate)));

  if (cc.s_maxage) {
    d.ttl = std::chrono::seconds(*cc.s_maxage);
    d.reason = "s-maxage";
  } else if (cc.max_age) {
    d.ttl = std::chrono::seconds(*cc.max_age);
    d.reason = "max-age";
  } else if (auto exp = header_of(headers, "Expires"); !exp.empty()) {
    auto e = parse_http_date(exp);
    auto date = parse_http_date(header_of(headers, "Date"));
    std::time_t base = date ? *date : std::time(nullptr);
    d.ttl = e && *e > base ? Duration(std::chrono::seconds(std::min<long long>(*e - base, kMaxDeltaSeconds))) : Duration::zero();
    d.reason = "expires";
  } else {
    bool matched = false;
    for (const auto& rule : cfg.rules) {
      if (glob_match(rule.pattern, path)) {
        d.ttl = millis(rule.ttl);
        d.reason = "rule";
        matched = true;
        break;
      }
    }
    if (!matched) {
      if (kind == MediaKind::playlist && !playlist_has_endlist(body)) {
        if (auto td = playlist_target_duration(body)) {
          d.ttl = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(std::min(*td * cfg.playlist_ttl_fraction, double(kMaxDeltaSeconds))));
          d.reason = "live playlist: target duration";
        } else {
          d.ttl = millis(cfg.playlist_ttl_default);
          d.reason = "live playlist: default";
        }
      } else if (kind == MediaKind::playlist || kind == MediaKind::segment) {
        d.ttl = millis(cfg.segment_ttl);
        d.reason = kind == MediaKind::playlist ? "ended playlist" : "segment";
      } else {
        d.ttl = millis(cfg.segment_ttl);
        d.reason = "default";
      }
    }
  }
  d.ttl = std::max(Duration::zero(), d.ttl - Duration(d.initial_age));
  if (d.ttl == Duration::zero() && d.grace == Duration::zero()) d.store = false;
  return d;
}

std::string normalize_cache_key(std::string_view target, const std::vector<std::string>& ignore) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return std::string(target);
  std::string key(target.substr(0, q));
  std::string_view query = target.substr(q + 1);
  bool first = true;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    std::string_view name = param.substr(0, param.find('='));
    bool drop = param.empty();
    for (const auto& ig : ignore)
      if (name == ig) drop = true;
    if (!drop) {
      key += first ? '?' : '&';
      key += param;
      first = false;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return key;
}

}  // namespace hlscache
