#include "core/http_fields.hpp"

#include <array>
#include <charconv>

#include "core/strings.hpp"

namespace hlscache {

// ------------------------------------------------------------------ field lines

std::string_view field_value(const std::vector<Header>& fields, std::string_view name) {
  for (const auto& [k, v] : fields)
    if (iequal(k, name)) return v;
  return {};
}

std::size_t field_count(const std::vector<Header>& fields, std::string_view name) {
  std::size_t n = 0;
  for (const auto& f : fields)
    if (iequal(f.first, name)) ++n;
  return n;
}

bool has_field(const std::vector<Header>& fields, std::string_view name) {
  for (const auto& f : fields)
    if (iequal(f.first, name)) return true;
  return false;
}

std::optional<std::string> combined_field(const std::vector<Header>& fields, std::string_view name) {
  std::optional<std::string> out;
  for (const auto& [k, v] : fields) {
    if (!iequal(k, name)) continue;
    if (!out) out.emplace(v);
    else out->append(", ").append(v);
  }
  return out;
}

void remove_field(std::vector<Header>& fields, std::string_view name) {
  std::erase_if(fields, [&](const Header& h) { return iequal(h.first, name); });
}

bool is_hop_by_hop(std::string_view name, std::string_view connection) {
  static constexpr std::array<std::string_view, 9> kHopByHop = {
      "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
      "TE",         "Trailer",    "Transfer-Encoding", "Upgrade"};
  for (std::string_view h : kHopByHop)
    if (iequal(name, h)) return true;
  bool listed = false;
  for_each_member(connection, [&](std::string_view t) {
    if (iequal(t, name)) listed = true;
  });
  return listed;
}

// ------------------------------------------------------------------ HTTP-date

namespace {

constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 7> kLongDays = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                       "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// `n` digits exactly at the front of `s`.
std::optional<int> digits(std::string_view& s, std::size_t n) {
  if (s.size() < n) return std::nullopt;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!is_digit(s[i])) return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  s.remove_prefix(n);
  return v;
}

bool literal(std::string_view& s, std::string_view lit) {
  if (s.substr(0, lit.size()) != lit) return false;  // case-sensitive (RFC 9110 §5.6.7)
  s.remove_prefix(lit.size());
  return true;
}

template <std::size_t N>
std::optional<int> one_of(std::string_view& s, const std::array<std::string_view, N>& names) {
  for (std::size_t i = 0; i < N; ++i)
    if (literal(s, names[i])) return static_cast<int>(i);
  return std::nullopt;
}

struct Clock {
  int hour = 0, minute = 0, second = 0;
};
// time-of-day = hour ":" minute ":" second, two digits each, in range (second 60: a leap second).
std::optional<Clock> time_of_day(std::string_view& s) {
  Clock c;
  auto h = digits(s, 2);
  if (!h || !literal(s, ":")) return std::nullopt;
  auto m = digits(s, 2);
  if (!m || !literal(s, ":")) return std::nullopt;
  auto sec = digits(s, 2);
  if (!sec || *h > 23 || *m > 59 || *sec > 60) return std::nullopt;
  c.hour = *h, c.minute = *m, c.second = *sec;
  return c;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int days_in(int month0, int year) {
  static constexpr int kDaysIn[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month0 == 1 && leap(year) ? 29 : kDaysIn[month0];
}

std::optional<std::time_t> assemble(int year, int month0, int day, Clock c) {
  if (year < 1900 || day < 1 || day > days_in(month0, year)) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month0;
  tm.tm_mday = day;
  tm.tm_hour = c.hour;
  tm.tm_min = c.minute;
  tm.tm_sec = c.second;
  return ::timegm(&tm);
}

std::optional<std::time_t> imf_fixdate(std::string_view s) {
  if (!one_of(s, kDays) || !literal(s, ", ")) return std::nullopt;
  auto day = digits(s, 2);
  if (!day || !literal(s, " ")) return std::nullopt;
  auto month = one_of(s, kMonths);
  if (!month || !literal(s, " ")) return std::nullopt;
  auto year = digits(s, 4);
  if (!year || !literal(s, " ")) return std::nullopt;
  auto clock = time_of_day(s);
  if (!clock || !literal(s, " GMT") || !s.empty()) return std::nullopt;
  return assemble(*year, *month, *day, *clock);
}

std::optional<std::time_t> rfc850_date(std::string_view s) {
  if (!one_of(s, kLongDays) || !literal(s, ", ")) return std::nullopt;
  auto day = digits(s, 2);
  if (!day || !literal(s, "-")) return std::nullopt;
  auto month = one_of(s, kMonths);
  if (!month || !literal(s, "-")) return std::nullopt;
  auto yy = digits(s, 2);
  if (!yy || !literal(s, " ")) return std::nullopt;
  auto clock = time_of_day(s);
  if (!clock || !literal(s, " GMT") || !s.empty()) return std::nullopt;
  // A two-digit year more than 50 years in the future is the most recent past year with those digits.
  std::tm now{};
  const std::time_t t = std::time(nullptr);
  ::gmtime_r(&t, &now);
  const int this_year = now.tm_year + 1900;
  int year = this_year - this_year % 100 + *yy;
  if (year > this_year + 50) year -= 100;
  return assemble(year, *month, *day, *clock);
}

std::optional<std::time_t> asctime_date(std::string_view s) {
  if (!one_of(s, kDays) || !literal(s, " ")) return std::nullopt;
  auto month = one_of(s, kMonths);
  if (!month || !literal(s, " ")) return std::nullopt;
  std::optional<int> day;
  if (literal(s, " ")) day = digits(s, 1);  // ( SP DIGIT )
  else day = digits(s, 2);
  if (!day || !literal(s, " ")) return std::nullopt;
  auto clock = time_of_day(s);
  if (!clock || !literal(s, " ")) return std::nullopt;
  auto year = digits(s, 4);
  if (!year || !s.empty()) return std::nullopt;
  return assemble(*year, *month, *day, *clock);
}

}  // namespace

std::optional<std::time_t> parse_http_date(std::string_view text) {
  // Field values arrive without surrounding OWS, but a stored value may keep some.
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (auto t = imf_fixdate(text)) return t;
  if (auto t = rfc850_date(text)) return t;
  return asctime_date(text);
}

std::string format_http_date(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[64];
  const std::size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

// ------------------------------------------------------------------ Cache-Control

namespace {

constexpr std::int64_t kMaxDelta = 2147483648;  // 2^31 (RFC 9111 §1.2.2)

}  // namespace

// delta-seconds = 1*DIGIT; nullopt for anything else (a sign, a fraction, nothing).
std::optional<std::int64_t> parse_delta_seconds(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::int64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
    if (v > kMaxDelta) v = kMaxDelta;  // and keeps reading: still only digits allowed
  }
  return v;
}

namespace {

std::optional<std::int64_t> delta_seconds(std::string_view s) { return parse_delta_seconds(s); }

// The argument of `name=arg` as a plain string: a token as is, a quoted-string unquoted.
std::string unquote(std::string_view arg) {
  if (arg.size() < 2 || arg.front() != '"' || arg.back() != '"') return std::string(arg);
  std::string out;
  for (std::size_t i = 1; i + 1 < arg.size(); ++i) {
    if (arg[i] == '\\' && i + 2 < arg.size()) ++i;
    out.push_back(arg[i]);
  }
  return out;
}

std::vector<std::string> field_names(std::string_view list) {
  std::vector<std::string> out;
  for_each_member(list, [&](std::string_view m) { out.emplace_back(m); });
  return out;
}

// Records one delta-seconds directive, the first occurrence; for a freshness lifetime
// (max-age, s-maxage) a second one with another value is a conflict (§4.2.1).
void set_delta(CacheDirectives& cc, std::optional<std::int64_t>& slot, std::optional<std::int64_t> v,
               bool lifetime = false) {
  if (!v) return;
  if (lifetime && slot && *slot != *v) cc.conflicting = true;
  if (!slot) slot = v;
}

}  // namespace

CacheDirectives parse_cache_control_value(std::string_view value) {
  CacheDirectives cc;
  for_each_member(value, [&](std::string_view d) {
    const auto eq = d.find('=');
    std::string_view name = d.substr(0, eq);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    std::string_view raw = eq == std::string_view::npos ? std::string_view{} : d.substr(eq + 1);
    while (!raw.empty() && (raw.front() == ' ' || raw.front() == '\t')) raw.remove_prefix(1);
    const bool has_arg = eq != std::string_view::npos;
    const std::string arg = unquote(raw);
    cc.any = true;
    if (iequal(name, "no-store")) cc.no_store = true;
    else if (iequal(name, "no-cache")) {
      if (has_arg) {
        for (auto& f : field_names(arg)) cc.no_cache_fields.push_back(std::move(f));
      } else {
        cc.no_cache = true;
      }
    } else if (iequal(name, "private")) {
      if (has_arg) {
        for (auto& f : field_names(arg)) cc.private_fields.push_back(std::move(f));
      } else {
        cc.is_private = true;
      }
    } else if (iequal(name, "public")) cc.is_public = true;
    else if (iequal(name, "must-revalidate")) cc.must_revalidate = true;
    else if (iequal(name, "proxy-revalidate")) cc.proxy_revalidate = true;
    else if (iequal(name, "must-understand")) cc.must_understand = true;
    else if (iequal(name, "no-transform")) cc.no_transform = true;
    else if (iequal(name, "immutable")) cc.immutable = true;
    else if (iequal(name, "only-if-cached")) cc.only_if_cached = true;
    else if (iequal(name, "max-age")) set_delta(cc, cc.max_age, delta_seconds(arg), true);
    else if (iequal(name, "s-maxage")) set_delta(cc, cc.s_maxage, delta_seconds(arg), true);
    else if (iequal(name, "stale-while-revalidate")) set_delta(cc, cc.stale_while_revalidate, delta_seconds(arg));
    else if (iequal(name, "stale-if-error")) set_delta(cc, cc.stale_if_error, delta_seconds(arg));
  });
  return cc;
}

CacheDirectives parse_cache_control(const std::vector<Header>& fields, std::string_view name) {
  const auto all = combined_field(fields, name);
  return all ? parse_cache_control_value(*all) : CacheDirectives{};
}

// ------------------------------------------------------------------ RFC 8941 dictionary

namespace {

// A small RFC 8941 §4.2 parser: enough to read a dictionary and keep, per member, the
// bare item's kind and value (inner lists and parameters are parsed and dropped).
struct SfParser {
  std::string_view s;
  std::size_t i = 0;

  bool eof() const { return i >= s.size(); }
  char peek() const { return s[i]; }
  void skip_sp() {
    while (!eof() && s[i] == ' ') ++i;
  }
  void skip_ows() {
    while (!eof() && (s[i] == ' ' || s[i] == '\t')) ++i;
  }
  static bool lcalpha(char c) { return c >= 'a' && c <= 'z'; }
  static bool alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
  static bool tchar(char c) { return is_tchar(c); }

  std::optional<std::string> key() {
    if (eof() || !(lcalpha(peek()) || peek() == '*')) return std::nullopt;
    std::string k;
    while (!eof()) {
      const char c = peek();
      if (!(lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.' || c == '*')) break;
      k.push_back(c);
      ++i;
    }
    return k;
  }

  enum class Kind { integer, decimal, string, token, binary, boolean };
  struct Item {
    Kind kind = Kind::boolean;
    std::int64_t integer = 0;
    bool boolean = true;
    std::string text;
  };

  std::optional<Item> bare_item() {
    if (eof()) return std::nullopt;
    const char c = peek();
    Item it;
    if (c == '-' || is_digit(c)) {
      bool neg = false;
      if (c == '-') neg = true, ++i;
      std::size_t start = i, int_digits = 0, frac_digits = 0;
      bool dot = false;
      while (!eof()) {
        const char d = peek();
        if (is_digit(d)) {
          (dot ? frac_digits : int_digits)++;
        } else if (d == '.' && !dot) {
          if (int_digits > 12) return std::nullopt;
          dot = true;
        } else {
          break;
        }
        ++i;
        if (!dot && int_digits > 15) return std::nullopt;
        if (dot && frac_digits > 3) return std::nullopt;
      }
      if (int_digits == 0 || (dot && frac_digits == 0)) return std::nullopt;
      if (dot) {
        it.kind = Kind::decimal;
        return it;
      }
      std::int64_t v = 0;
      std::from_chars(s.data() + start, s.data() + i, v);
      it.kind = Kind::integer;
      it.integer = neg ? -v : v;
      return it;
    }
    if (c == '"') {
      ++i;
      it.kind = Kind::string;
      for (;;) {
        if (eof()) return std::nullopt;
        char d = s[i++];
        if (d == '\\') {
          if (eof()) return std::nullopt;
          d = s[i++];
          if (d != '"' && d != '\\') return std::nullopt;
        } else if (d == '"') {
          return it;
        } else if (static_cast<unsigned char>(d) < 0x20 || static_cast<unsigned char>(d) > 0x7e) {
          return std::nullopt;
        }
        it.text.push_back(d);
      }
    }
    if (alpha(c) || c == '*') {
      it.kind = Kind::token;
      while (!eof() && (tchar(peek()) || peek() == ':' || peek() == '/')) it.text.push_back(s[i++]);
      return it;
    }
    if (c == ':') {
      ++i;
      it.kind = Kind::binary;
      while (!eof() && peek() != ':') {
        const char d = s[i++];
        if (!(alpha(d) || is_digit(d) || d == '+' || d == '/' || d == '=')) return std::nullopt;
      }
      if (eof()) return std::nullopt;
      ++i;
      return it;
    }
    if (c == '?') {
      ++i;
      if (eof() || (peek() != '0' && peek() != '1')) return std::nullopt;
      it.kind = Kind::boolean;
      it.boolean = s[i++] == '1';
      return it;
    }
    return std::nullopt;
  }

  bool parameters() {
    while (!eof() && peek() == ';') {
      ++i;
      skip_sp();
      if (!key()) return false;
      if (!eof() && peek() == '=') {
        ++i;
        if (!bare_item()) return false;
      }
    }
    return true;
  }

  bool inner_list() {
    ++i;  // '('
    while (!eof()) {
      skip_sp();
      if (eof()) return false;
      if (peek() == ')') {
        ++i;
        return parameters();
      }
      if (!bare_item() || !parameters()) return false;
      if (!eof() && peek() != ' ' && peek() != ')') return false;
    }
    return false;
  }
};

}  // namespace

std::optional<CacheDirectives> parse_targeted_cache_control(std::string_view value) {
  SfParser p{value};
  p.skip_sp();
  if (p.eof()) return std::nullopt;  // empty: not a usable targeted field
  struct Member {
    std::string key;
    std::optional<SfParser::Item> item;  // nullopt: an inner list
  };
  std::vector<Member> members;
  for (;;) {
    auto k = p.key();
    if (!k) return std::nullopt;
    Member m{std::move(*k), SfParser::Item{}};
    if (!p.eof() && p.peek() == '=') {
      ++p.i;
      if (p.eof()) return std::nullopt;
      if (p.peek() == '(') {
        if (!p.inner_list()) return std::nullopt;
        m.item.reset();
      } else {
        auto item = p.bare_item();
        if (!item || !p.parameters()) return std::nullopt;
        m.item = std::move(*item);
      }
    } else if (!p.parameters()) {  // a bare key is Boolean true, with parameters
      return std::nullopt;
    }
    // RFC 8941 §3.2: a key seen again replaces the earlier value.
    std::erase_if(members, [&](const Member& x) { return x.key == m.key; });
    members.push_back(std::move(m));
    p.skip_ows();
    if (p.eof()) break;
    if (p.peek() != ',') return std::nullopt;
    ++p.i;
    p.skip_ows();
    if (p.eof()) return std::nullopt;  // a trailing comma
  }

  CacheDirectives cc;
  using Kind = SfParser::Kind;
  auto flag = [](const Member& m) { return m.item && m.item->kind == Kind::boolean && m.item->boolean; };
  auto delta = [](const Member& m) -> std::optional<std::int64_t> {
    if (!m.item || m.item->kind != Kind::integer || m.item->integer < 0) return std::nullopt;  // wrong type: ignored
    return std::min<std::int64_t>(m.item->integer, kMaxDelta);
  };
  for (const auto& m : members) {
    cc.any = true;
    const bool qualified = m.item && m.item->kind == Kind::string;
    if (m.key == "no-store") cc.no_store = flag(m);
    else if (m.key == "no-cache") {
      if (qualified) cc.no_cache_fields = field_names(m.item->text);
      else cc.no_cache = flag(m);
    } else if (m.key == "private") {
      if (qualified) cc.private_fields = field_names(m.item->text);
      else cc.is_private = flag(m);
    } else if (m.key == "public") cc.is_public = flag(m);
    else if (m.key == "must-revalidate") cc.must_revalidate = flag(m);
    else if (m.key == "proxy-revalidate") cc.proxy_revalidate = flag(m);
    else if (m.key == "must-understand") cc.must_understand = flag(m);
    else if (m.key == "no-transform") cc.no_transform = flag(m);
    else if (m.key == "immutable") cc.immutable = flag(m);
    else if (m.key == "max-age") cc.max_age = delta(m);
    else if (m.key == "s-maxage") cc.s_maxage = delta(m);
    else if (m.key == "stale-while-revalidate") cc.stale_while_revalidate = delta(m);
    else if (m.key == "stale-if-error") cc.stale_if_error = delta(m);
  }
  return cc;
}

}  // namespace hlscache
