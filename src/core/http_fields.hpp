// HTTP field facts that the server sessions, the upstream client and the cache all
// need, in one place: the Header type; lookups over every field line of a name
// (RFC 9110 §5.3: lines of one name are one comma-separated list); list members
// split outside quoted strings; the hop-by-hop set (§7.6.1); HTTP-dates, parsed
// strictly in the three formats §5.6.7 names (anything else is invalid — for
// Expires that means "already expired", RFC 9111 §5.3); Cache-Control directives
// read from every field line (RFC 9111 §5.2); and targeted fields such as
// CDN-Cache-Control (RFC 9213), which are structured-field dictionaries (RFC 8941).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hlscache {

using Header = std::pair<std::string, std::string>;

// --- tokens (RFC 9110 §5.6.2) ---------------------------------------------------

namespace detail {
constexpr std::array<bool, 256> make_tchar() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
}  // namespace detail

// tchar: the bytes of a token (field names, methods, directive names).
inline constexpr std::array<bool, 256> kTchar = detail::make_tchar();
inline bool is_tchar(char c) { return kTchar[static_cast<unsigned char>(c)]; }
inline bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(c)) return false;
  return true;
}
// A field value that may go on the wire: no CR, LF or NUL (RFC 9110 §5.5).
inline bool is_safe_field_value(std::string_view v) { return v.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos; }

// --- field lines ---------------------------------------------------------------

// The first line's value of `name` (case-insensitive); empty if absent.
std::string_view field_value(const std::vector<Header>& fields, std::string_view name);
// How many lines carry `name`.
std::size_t field_count(const std::vector<Header>& fields, std::string_view name);
// Every line's value of `name` joined with ", " (RFC 9110 §5.3); nullopt if absent.
std::optional<std::string> combined_field(const std::vector<Header>& fields, std::string_view name);
bool has_field(const std::vector<Header>& fields, std::string_view name);
void remove_field(std::vector<Header>& fields, std::string_view name);

// Calls fn(member) for each comma-separated member of a list-valued field, trimmed of
// OWS, empty members skipped; commas inside quoted strings do not split.
template <class F>
void for_each_member(std::string_view list, F&& fn) {
  std::size_t start = 0;
  bool quoted = false;
  for (std::size_t i = 0; i <= list.size(); ++i) {
    if (i < list.size()) {
      const char c = list[i];
      if (quoted && c == '\\') { ++i; continue; }
      if (c == '"') { quoted = !quoted; continue; }
      if (quoted || c != ',') continue;
    }
    std::string_view m = list.substr(start, i - start);
    while (!m.empty() && (m.front() == ' ' || m.front() == '\t')) m.remove_prefix(1);
    while (!m.empty() && (m.back() == ' ' || m.back() == '\t')) m.remove_suffix(1);
    if (!m.empty()) fn(m);
    start = i + 1;
  }
}

// Hop-by-hop fields (RFC 9110 §7.6.1) and those the Connection field names: a proxy
// never forwards them, either way.
bool is_hop_by_hop(std::string_view name, std::string_view connection_value = {});

// --- HTTP-date (RFC 9110 §5.6.7) -----------------------------------------------

// IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), or the obsolete RFC 850
// ("Sunday, 06-Nov-94 08:49:37 GMT"; a two-digit year more than 50 years ahead is
// taken in the past century) and asctime ("Sun Nov  6 08:49:37 1994") forms, exactly:
// no extra or missing spaces, two-digit fields, real ranges. nullopt otherwise.
std::optional<std::time_t> parse_http_date(std::string_view text);
std::string format_http_date(std::time_t t);  // IMF-fixdate

// --- Cache-Control (RFC 9111 §5.2) and targeted fields (RFC 9213) -------------

struct CacheDirectives {
  bool no_store = false;
  bool no_cache = false;                   // unqualified: revalidate every use
  std::vector<std::string> no_cache_fields;  // no-cache="a, b": those fields need revalidation (never served from store)
  bool is_private = false;                 // unqualified: no shared cache may store it
  std::vector<std::string> private_fields;   // private="a": a shared cache stores the rest
  bool is_public = false;
  bool must_revalidate = false;
  bool proxy_revalidate = false;
  bool must_understand = false;
  bool no_transform = false;
  bool immutable = false;
  bool only_if_cached = false;             // a request directive (§5.2.1.7)
  std::optional<std::int64_t> max_age, s_maxage, stale_while_revalidate, stale_if_error;
  bool conflicting = false;  // max-age or s-maxage given twice with different values (§4.2.1: treat as stale)
  bool any = false;          // at least one directive was present
};

// delta-seconds (RFC 9111 §1.2.2): 1*DIGIT, more than 2^31 taken as 2^31; nullopt for anything else.
std::optional<std::int64_t> parse_delta_seconds(std::string_view s);

// Every line of `name` (default Cache-Control), directives case-insensitive, arguments
// as token or quoted-string; delta-seconds over 2^31 taken as 2^31 (RFC 9111 §1.2.2);
// an unparsable argument leaves its directive unset (max-age=abc is not max-age=0).
CacheDirectives parse_cache_control(const std::vector<Header>& fields, std::string_view name = "Cache-Control");
CacheDirectives parse_cache_control_value(std::string_view value);

// A targeted field's value (RFC 9213 §2), a structured-field dictionary: nullopt when
// it is empty or fails to parse (then the next target, or Cache-Control, applies).
// Integers are delta-seconds (a negative one, or a value of another type, leaves its
// directive unset); the qualified
// private/no-cache take a string of field names; unknown members and parameters are ignored.
std::optional<CacheDirectives> parse_targeted_cache_control(std::string_view value);

}  // namespace hlscache
