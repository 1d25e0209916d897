#include "cache/freshness.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "cache/media.hpp"
#include "core/http_fields.hpp"
#include "core/strings.hpp"

namespace hlscache {

namespace {

Duration millis(Millis m) { return std::chrono::duration_cast<Duration>(m); }
// Delta-seconds over 2^31 are taken as 2^31 (RFC 9111 §1.2.2): more would overflow
// Duration (nanoseconds) here (an Expires in the year 9999, a huge target duration).
constexpr std::int64_t kMaxDeltaSeconds = 2147483648;
Duration seconds(std::int64_t s) {
  return std::chrono::duration_cast<Duration>(std::chrono::seconds(std::clamp<std::int64_t>(s, -kMaxDeltaSeconds, kMaxDeltaSeconds)));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Status codes defined as heuristically cacheable (RFC 9110 §15.1, RFC 9111 §4.2.2).
bool heuristically_cacheable(int status) {
  switch (status) {
    case 200: case 203: case 204: case 206: case 300: case 301: case 308:
    case 404: case 405: case 410: case 414: case 501:
      return true;
    default:
      return false;
  }
}

// Final status codes whose caching rules we implement (must-understand, RFC 9111 §5.2.2.3).
bool understood(int status) {
  return heuristically_cacheable(status) || status == 302 || status == 303 || status == 307 || status == 400 ||
         status == 401 || status == 403 || status == 500 || status == 502 || status == 503 || status == 504;
}

// The directives that govern this response for us: the first targeted field of the
// list with a valid, non-empty value (RFC 9213 §2.1), else Cache-Control.
CacheDirectives directives_for(const std::vector<Header>& headers, const FreshnessConfig& cfg, std::string& from,
                               bool& targeted) {
  targeted = false;
  for (const auto& name : cfg.targeted_fields) {
    auto value = combined_field(headers, name);
    if (!value) continue;
    if (auto cc = parse_targeted_cache_control(*value)) {
      from = name;
      targeted = true;
      return *cc;
    }
  }
  CacheDirectives cc = parse_cache_control(headers);
  from = cc.any ? "Cache-Control" : "none";
  return cc;
}

// §4.2.3: corrected_initial_age = max(apparent_age, Age + response_delay).
Duration corrected_initial_age(const ResponseFacts& r) {
  const auto& headers = *r.headers;
  Duration apparent{0};
  if (auto date = parse_http_date(field_value(headers, "Date"))) {
    if (r.response_wall > *date) apparent = seconds(r.response_wall - *date);
  }
  Duration age_value{0};
  if (auto age = parse_delta_seconds(trim(field_value(headers, "Age")))) age_value = seconds(*age);  // capped at 2^31
  const Duration corrected = age_value + std::max(Duration::zero(), r.response_delay);
  return std::max(apparent, corrected);
}

// The HLS-aware heuristic (§4.2.2): configured path rules first, then live playlists a
// fraction of their target duration, ended playlists and segments the segment TTL.
Duration heuristic_lifetime(const ResponseFacts& r, const FreshnessConfig& cfg, const char*& reason) {
  if (r.status == 404 || r.status == 410) {
    reason = "negative";
    return millis(cfg.negative_ttl);
  }
  if (r.status != 200 && r.status != 203) {  // redirects, errors: nothing we would guess a lifetime for
    reason = "no heuristic for this status";
    return Duration::zero();
  }
  for (const auto& rule : cfg.rules)
    if (glob_match(rule.pattern, r.path)) {
      reason = "rule";
      return millis(rule.ttl);
    }
  const MediaKind kind = media_kind(r.path, field_value(*r.headers, "Content-Type"));
  if (kind == MediaKind::playlist && !playlist_has_endlist(r.body)) {
    if (auto td = playlist_target_duration(r.body)) {
      reason = "live playlist: target duration";
      const double ttl = std::min(*td * cfg.playlist_ttl_fraction, static_cast<double>(kMaxDeltaSeconds));
      return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(ttl));
    }
    reason = "live playlist: default";
    return millis(cfg.playlist_ttl_default);
  }
  reason = kind == MediaKind::playlist ? "ended playlist" : kind == MediaKind::segment ? "segment" : "default";
  return millis(cfg.segment_ttl);
}

}  // namespace

FreshnessDecision decide_freshness(const ResponseFacts& r, const FreshnessConfig& cfg) {
  FreshnessDecision d;
  const std::vector<Header>& headers = *r.headers;
  bool targeted = false;
  const CacheDirectives cc = directives_for(headers, cfg, d.directives, targeted);
  d.initial_age = corrected_initial_age(r);

  // What the store never serves — known before any refusal, for the answers shared
  // with collapsed requests without being stored (5xx).
  for (const auto& f : cc.no_cache_fields) d.strip.push_back(f);  // §5.2.2.4 qualified
  for (const auto& f : cc.private_fields) d.strip.push_back(f);   // §5.2.2.7 qualified
  const bool set_cookie = has_field(headers, "Set-Cookie");
  if (set_cookie) d.strip.emplace_back("Set-Cookie");
  d.personal = cc.is_private || (cc.no_store && !cc.must_understand);

  // --- may a shared cache store it at all (§3)? ---
  auto refuse = [&](const char* why) {
    d.reason = why;
    return d;
  };
  if (r.status < 200 || r.status == 206 || r.status == 304) return refuse("status not storable");
  // must-understand: only for status codes we implement; then no-store is overridden (§5.2.2.3).
  if (cc.must_understand && !understood(r.status)) return refuse("must-understand: status not understood");
  if (cc.no_store && !cc.must_understand) return refuse("no-store");
  if (cc.is_private) return refuse("private");
  if (r.request_authorization && !cc.is_public && !cc.s_maxage && !cc.must_revalidate) {
    d.personal = true;  // this answer is the requester's (§3.5): not the resource's verdict
    d.request_specific = true;
    return refuse("authorization");
  }
  const bool has_validator = has_field(headers, "ETag") || has_field(headers, "Last-Modified");
  if (cc.no_cache && !has_validator) return refuse("no-cache without a validator");
  // Cookies are per viewer: stored (without them) only where the origin says it is public.
  if (set_cookie && !cc.is_public && !cc.s_maxage) return refuse("set-cookie");
  if (auto vary = combined_field(headers, "Vary")) {
    bool star = false;
    for_each_member(*vary, [&](std::string_view name) {
      if (name == "*") star = true;
      std::string n = lower(name);
      if (std::find(d.vary.begin(), d.vary.end(), n) == d.vary.end()) d.vary.push_back(std::move(n));
    });
    if (star) {
      d.vary.clear();
      return refuse("vary: *");  // never matches a later request (§4.1)
    }
  }

  // --- freshness lifetime (§4.2.1): s-maxage, max-age, Expires - Date, then a heuristic ---
  const bool expires_applies = !targeted && !cc.s_maxage && !cc.max_age && has_field(headers, "Expires");
  const bool explicit_lifetime = cc.s_maxage || cc.max_age || expires_applies;
  if (!explicit_lifetime && !heuristically_cacheable(r.status) && !cc.is_public)
    return refuse("status not cacheable without explicit freshness");
  d.storable = true;
  if (cc.conflicting) {
    d.lifetime = Duration::zero();  // §4.2.1: two values for one directive: stale
    d.reason = "conflicting directives";
  } else if (cc.s_maxage) {
    d.lifetime = seconds(*cc.s_maxage);
    d.reason = "s-maxage";
  } else if (cc.max_age) {
    d.lifetime = seconds(*cc.max_age);
    d.reason = "max-age";
  } else if (expires_applies) {
    d.reason = "expires";
    // Invalid (or "0", or two lines): already expired (§5.3, §4.2.1). Date absent: the receipt time.
    const auto expires = field_count(headers, "Expires") == 1 ? parse_http_date(field_value(headers, "Expires"))
                                                                : std::nullopt;
    const auto date = parse_http_date(field_value(headers, "Date"));
    const std::time_t base = date ? *date : r.response_wall;
    d.lifetime = expires && *expires > base ? seconds(*expires - base) : Duration::zero();
  } else {
    d.heuristic = true;
    d.lifetime = heuristic_lifetime(r, cfg, d.reason);
  }
  if (cc.no_cache) {
    d.lifetime = Duration::zero();  // every use is validated first (§5.2.2.4)
    d.revalidate_always = true;
    d.reason = "no-cache";
  }
  d.ttl = std::max(Duration::zero(), d.lifetime - d.initial_age);

  // --- stale use (§4.2.4): the operator's grace and the origin's stale-* extensions, unless forbidden ---
  const bool no_stale = cc.must_revalidate || cc.proxy_revalidate || cc.s_maxage || cc.no_cache;  // §5.2.2.2, .8, .10
  // Never a stale "not found", nor a status we guess no lifetime for.
  const bool no_heuristic_grace = d.heuristic && (r.status != 200 && r.status != 203);
  if (!no_stale && !no_heuristic_grace) {
    d.grace = millis(cfg.stale_grace);
    if (cc.stale_while_revalidate) d.grace = std::max(d.grace, seconds(*cc.stale_while_revalidate));
    if (cc.stale_if_error) d.grace = std::max(d.grace, seconds(*cc.stale_if_error));
  }
  if (has_validator && !(no_heuristic_grace && d.lifetime == Duration::zero())) d.keep = millis(cfg.revalidate_keep);

  // "Not found" for a segment ahead of the live edge holds only until the segment can
  // exist, which may be any moment: shared with the requests that waited for it, never
  // kept — whatever the upstream or freshness.negative_ttl say.
  if (r.ahead_of_live && (r.status == 404 || r.status == 410)) {
    d.lifetime = d.ttl = d.grace = d.keep = Duration::zero();
    d.store = false;
    d.reason = "not found ahead of the live edge";
    return d;
  }

  d.store = d.ttl > Duration::zero() || d.grace > Duration::zero() || d.keep > Duration::zero();
  if (!d.store) d.reason = "stale on arrival, no validator";
  return d;
}

}  // namespace hlscache
