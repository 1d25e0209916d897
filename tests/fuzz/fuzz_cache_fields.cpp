// The cache's header-field parsers and its freshness decision (src/core/http_fields.hpp,
// src/cache/freshness.hpp): HTTP-dates, Cache-Control and targeted (RFC 9213) fields,
// list members, field lookups over every line of a name, decide_freshness() and the
// cache key. Input, as text: a status selector byte; the request target; a TTL-rule glob;
// then "Name: value" lines up to an empty line; the rest is the body (a playlist, for
// playlist paths). Invariants: dates survive format/parse; delta-seconds stay within
// 2^31; members are trimmed, non-empty pieces of their list; a decision's TTL and grace
// are never negative and nothing unstored has a TTL; the cache key is idempotent.
//
// decide() is the one call of decide_freshness(). The status selector byte's high bit
// says whether the request carried Authorization; the response arrived at a fixed
// instant of our clock, after a delay taken from the same byte.
#include <array>
#include <string>
#include <vector>

#include "cache/cache_key.hpp"
#include "cache/freshness.hpp"
#include "cache/media.hpp"
#include "core/strings.hpp"
#include "core/http_fields.hpp"
#include "fuzz_support.hpp"

using namespace hlscache;

namespace {

struct FreshnessInput {
  int status = 200;
  const std::vector<Header>* headers = nullptr;
  std::string_view path;
  std::string_view body;
  const FreshnessConfig* cfg = nullptr;
  bool authorization = false;
  Duration delay{0};
};

FreshnessDecision decide(const FreshnessInput& in) {
  constexpr std::time_t kNow = 1'796'000'000;  // a fixed "now" of our clock
  return decide_freshness(ResponseFacts{in.status, in.headers, in.path, in.body, in.authorization, kNow, in.delay},
                          *in.cfg);
}

void check_directives(const CacheDirectives& cc) {
  constexpr std::int64_t kMaxDelta = std::int64_t{1} << 31;
  for (const auto* d : {&cc.max_age, &cc.s_maxage, &cc.stale_while_revalidate, &cc.stale_if_error})
    if (*d) FUZZ_CHECK(**d >= 0 && **d <= kMaxDelta);
}

void check_value(std::string_view value) {
  if (const auto t = parse_http_date(value)) {
    // IMF-fixdate has four year digits: the round trip holds up to the end of 9999.
    if (*t >= -2208988800 && *t < 253402300800) FUZZ_CHECK(parse_http_date(format_http_date(*t)) == t);
  }
  check_directives(parse_cache_control_value(value));
  if (const auto targeted = parse_targeted_cache_control(value)) check_directives(*targeted);
  const char* const begin = value.data();
  for_each_member(value, [&](std::string_view m) {
    FUZZ_CHECK(!m.empty());
    FUZZ_CHECK(m.front() != ' ' && m.front() != '\t' && m.back() != ' ' && m.back() != '\t');
    FUZZ_CHECK(m.data() >= begin && m.data() + m.size() <= begin + value.size());
  });
}

constexpr std::array<int, 16> kStatuses{200, 203, 204, 206, 300, 301, 302, 304, 307, 308, 404, 410, 500, 502, 503, 0};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const std::uint8_t selector = in.byte();
  const int status = kStatuses[selector % kStatuses.size()];
  const bool authorization = (selector & 0x80) != 0;
  const Duration delay = std::chrono::milliseconds((selector >> 4) & 0x7) * 300;
  const std::string_view target = in.line();
  const std::string_view glob = in.line();
  std::vector<Header> headers;
  while (in.size() > 0) {
    std::string_view line = in.line();
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    const std::size_t colon = line.find(':');
    std::string_view name = line.substr(0, colon), value;
    if (colon != std::string_view::npos) value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    headers.emplace_back(std::string(name), std::string(value));
  }
  const std::string_view body = in.rest();

  const std::string connection(field_value(headers, "Connection"));
  for (const auto& [name, value] : headers) {
    check_value(value);
    const auto combined = combined_field(headers, name);
    FUZZ_CHECK(combined.has_value() && has_field(headers, name));
    const std::size_t n = field_count(headers, name);
    FUZZ_CHECK(n >= 1);
    if (n == 1) FUZZ_CHECK(*combined == field_value(headers, name));
    (void)is_hop_by_hop(name, connection);
  }
  check_directives(parse_cache_control(headers));
  check_directives(parse_cache_control(headers, "CDN-Cache-Control"));
  if (auto cdn = combined_field(headers, "CDN-Cache-Control"))
    if (auto t = parse_targeted_cache_control(*cdn)) check_directives(*t);

  // The cache key and the freshness decision, for the path the key keeps.
  const std::vector<std::string> ignore{"token", "exp", "sig", std::string(glob.substr(0, 8))};
  const std::string key = normalize_cache_key(target, ignore);
  FUZZ_CHECK(normalize_cache_key(key, ignore) == key);
  FUZZ_CHECK(key.size() <= target.size());
  const std::string_view path = std::string_view(key).substr(0, key.find('?'));
  FUZZ_CHECK(path == target.substr(0, target.find('?')));

  FreshnessConfig cfg;
  cfg.rules.push_back(TtlRule{std::string(glob), Millis(5000)});
  (void)glob_match(glob, path);
  const FreshnessDecision d = decide({status, &headers, path, body, &cfg, authorization, delay});
  FUZZ_CHECK(d.ttl >= Duration::zero());
  FUZZ_CHECK(d.grace >= Duration::zero());
  FUZZ_CHECK(d.keep >= Duration::zero());
  FUZZ_CHECK(d.initial_age >= Duration::zero());
  FUZZ_CHECK(d.ttl <= d.lifetime);
  if (!d.store) FUZZ_CHECK(d.ttl == Duration::zero());
  if (!d.storable) FUZZ_CHECK(!d.store);
  if (d.revalidate_always) FUZZ_CHECK(d.ttl == Duration::zero() && d.grace == Duration::zero());
  FUZZ_CHECK(d.reason != nullptr && *d.reason != '\0');
  (void)media_kind(path, field_value(headers, "Content-Type"));
  return 0;
}
