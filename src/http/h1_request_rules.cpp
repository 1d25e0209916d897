#include "http/h1_request_rules.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstring>

#include "core/strings.hpp"

namespace hlscache {

namespace {

bool alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool digit(char c) { return c >= '0' && c <= '9'; }
bool hexdig(char c) { return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool unreserved(char c) { return alpha(c) || digit(c) || c == '-' || c == '.' || c == '_' || c == '~'; }
bool sub_delim(char c) { return std::strchr("!$&'()*+,;=", c) != nullptr && c != '\0'; }

// unreserved / sub-delims, as a table: every request's Host is checked on the hit path.
constexpr std::array<bool, 256> make_reg_name_char() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    t[c] = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
           ch == '.' || ch == '_' || ch == '~';
  }
  for (char c : std::string_view("!$&'()*+,;=")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr auto kRegNameChar = make_reg_name_char();


// IP-literal's inside: IPv6address or IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ).
bool ip_literal(std::string_view s) {
  if (!s.empty() && (s.front() == 'v' || s.front() == 'V')) {
    std::size_t i = 1;
    while (i < s.size() && hexdig(s[i])) ++i;
    if (i == 1 || i >= s.size() || s[i] != '.' || i + 1 == s.size()) return false;
    for (++i; i < s.size(); ++i)
      if (!unreserved(s[i]) && !sub_delim(s[i]) && s[i] != ':') return false;
    return true;
  }
  // RFC 4291 text forms (what RFC 3986's IPv6address spells out); no zone identifier.
  std::array<char, 64> text{};
  if (s.empty() || s.size() >= text.size()) return false;
  std::memcpy(text.data(), s.data(), s.size());
  unsigned char addr[16];
  return ::inet_pton(AF_INET6, text.data(), addr) == 1;
}

bool all_digits(std::string_view s) {
  for (char c : s)
    if (!digit(c)) return false;
  return true;
}

// scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
bool valid_scheme(std::string_view s) {
  if (s.empty() || !alpha(s.front())) return false;
  for (char c : s)
    if (!alpha(c) && !digit(c) && c != '+' && c != '-' && c != '.') return false;
  return true;
}

}  // namespace

RequestError check_transfer_encoding(const std::optional<std::string>& combined, int version) {
  if (!combined) return {};
  if (version < 11) return {400, "Transfer-Encoding in an HTTP/1.0 request"};
  std::size_t n = 0;
  bool chunked_before = false, other_before = false, last_chunked = false, last_params = false;
  for_each_member(*combined, [&](std::string_view coding) {
    if (n++ > 0) {
      if (last_chunked) chunked_before = true;
      else other_before = true;
    }
    const auto semi = coding.find(';');
    last_chunked = iequal(trim(coding.substr(0, semi)), "chunked");
    last_params = semi != std::string_view::npos;
  });
  if (n == 0) return {400, "Transfer-Encoding names no transfer coding"};
  if (!last_chunked) return {400, "chunked must be the final transfer coding"};
  if (chunked_before) return {400, "chunked applied more than once"};
  if (other_before || last_params) return {501, "transfer coding not implemented (only chunked is)"};
  return {};
}

bool valid_authority(std::string_view value, bool need_host) {
  std::string_view port;
  if (!value.empty() && value.front() == '[') {
    const auto close = value.find(']');
    if (close == std::string_view::npos || !ip_literal(value.substr(1, close - 1))) return false;
    const std::string_view rest = value.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
    }
  } else {
    // reg-name [":" port] in one pass: every request's Host goes through here.
    const char* p = value.data();
    const char* const end = p + value.size();
    while (p != end && kRegNameChar[static_cast<unsigned char>(*p)]) ++p;  // the common case: no '%'
    while (p != end && *p != ':') {
      if (*p == '%' && end - p > 2 && hexdig(p[1]) && hexdig(p[2])) p += 3;
      else if (kRegNameChar[static_cast<unsigned char>(*p)]) ++p;
      else return false;
    }
    if (need_host && p == value.data()) return false;
    if (p != end) port = std::string_view(p + 1, static_cast<std::size_t>(end - p - 1));
  }
  return all_digits(port);
}

RequestError check_host(const std::vector<Header>& fields, int version) {
  const std::size_t n = field_count(fields, "Host");
  if (n == 0) return version >= 11 ? RequestError{400, "HTTP/1.1 request without Host"} : RequestError{};
  if (n > 1) return {400, "more than one Host field line"};
  if (!valid_authority(field_value(fields, "Host"))) return {400, "invalid Host (not uri-host [\":\" port])"};
  return {};
}

RequestError normalize_target(std::string_view method, std::string& target, std::vector<Header>& fields) {
  const bool connect = method == "CONNECT";
  if (!target.empty() && target.front() == '/') {
    if (connect) return {400, "CONNECT needs an authority-form target"};
    return {};
  }
  if (target == "*") {
    if (method != "OPTIONS") return {400, "asterisk-form is only for OPTIONS"};
    return {};
  }
  if (connect) {
    const auto colon = target.rfind(':');
    if (colon == std::string::npos || colon + 1 == target.size() || !valid_authority(target, /*need_host=*/true))
      return {400, "CONNECT needs an authority-form target (host:port)"};
    return {405, "CONNECT: this server is no tunnel"};
  }
  // absolute-form: absolute-URI (RFC 3986 §4.3); for http and https "//" authority path-abempty ["?" query].
  const auto colon = target.find(':');
  if (colon == std::string::npos || !valid_scheme(std::string_view(target).substr(0, colon)))
    return {400, "request target must be an absolute path or an absolute URI"};
  const std::string_view scheme = std::string_view(target).substr(0, colon);
  if (!iequal(scheme, "http") && !iequal(scheme, "https")) return {400, "only http and https URIs are served"};
  std::string_view rest = std::string_view(target).substr(colon + 1);
  if (rest.substr(0, 2) != "//") return {400, "an http URI needs an authority (\"//host\")"};
  rest.remove_prefix(2);
  const auto end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, end);
  if (authority.find('@') != std::string_view::npos) return {400, "userinfo in the request target"};
  if (!valid_authority(authority, /*need_host=*/true)) return {400, "invalid authority in the request target"};
  const std::string_view tail = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  if (tail.find('#') != std::string_view::npos) return {400, "fragment in the request target"};

  const std::string host(authority);
  bool replaced = false;
  for (auto& [name, value] : fields) {
    if (!iequal(name, "Host")) continue;
    value = host;  // §3.2.2: the target's authority wins over a Host that disagrees
    replaced = true;
  }
  if (!replaced) fields.emplace_back("Host", host);
  std::string origin_form = tail.empty() || tail.front() == '?' ? "/" + std::string(tail) : std::string(tail);
  target = std::move(origin_form);
  return {};
}

bool has_obs_fold(std::string_view unparsed, char prev) {
  for (std::size_t i = 0; i < unparsed.size(); ++i) {
    const char c = unparsed[i];
    if (prev == '\n') {
      if (c == ' ' || c == '\t') return true;
      // The empty line: the head ends here (what follows is a body or the next request).
      if (c == '\n' || (c == '\r' && (i + 1 == unparsed.size() || unparsed[i + 1] == '\n'))) return false;
    }
    prev = c;
  }
  return false;
}

bool has_forbidden_bytes(const std::vector<Header>& fields) {
  auto bad = [](std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos; };
  for (const auto& [name, value] : fields)
    if (bad(name) || bad(value)) return true;
  return false;
}

}  // namespace hlscache
