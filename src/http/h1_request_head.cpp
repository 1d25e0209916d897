#include "http/h1_request_head.hpp"

#include <array>

#include "core/http_fields.hpp"

#include "http/h1_request_rules.hpp"

namespace hlscache {

namespace {


// Field-value bytes (RFC 9110 §5.5): VCHAR, obs-text, SP, HTAB.
bool value_byte(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }
// Request-target bytes in origin-form: visible ASCII (no SP, no CTL, no obs-text).
bool target_byte(unsigned char c) { return c > 0x20 && c < 0x7f; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::string_view trim_ows(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// Notes the close and keep-alive tokens of one Connection field value; false if the
// value is not a list of tokens (Beast refuses that: bad_value).
bool scan_connection(std::string_view value, bool& close, bool& keep_alive) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    const std::string_view token = trim_ows(value.substr(0, comma));
    for (unsigned char c : token)
      if (!kTchar[c]) return false;
    if (iequals(token, "close")) close = true;
    else if (iequals(token, "keep-alive")) keep_alive = true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return true;
}

}  // namespace

ScanResult scan_simple_request_head(std::string_view bytes, std::size_t max_bytes, SimpleRequestHead& out) {
  out.fields.clear();
  const std::size_t end_of_head = bytes.find("\r\n\r\n");
  if (end_of_head == std::string_view::npos || end_of_head + 4 > max_bytes) return ScanResult::fallback;
  std::string_view head = bytes.substr(0, end_of_head + 2);  // every line with its CRLF

  // Request line: method SP target SP HTTP/1.x CRLF, nothing more or less.
  const std::size_t line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  if (line.substr(0, 4) == "GET ") {
    out.head_method = false;
    out.method = line.substr(0, 3);
  } else if (line.substr(0, 5) == "HEAD ") {
    out.head_method = true;
    out.method = line.substr(0, 4);
  } else {
    return ScanResult::fallback;
  }
  line.remove_prefix(out.method.size() + 1);
  const std::size_t sp = line.find(' ');
  if (sp == 0 || sp == std::string_view::npos) return ScanResult::fallback;
  out.target = line.substr(0, sp);
  if (out.target.front() != '/') return ScanResult::fallback;
  for (unsigned char c : out.target)
    if (!target_byte(c)) return ScanResult::fallback;
  const std::string_view version = line.substr(sp + 1);
  if (version == "HTTP/1.1") out.version = 11;
  else if (version == "HTTP/1.0") out.version = 10;
  else return ScanResult::fallback;
  bool close = false, keep_alive_token = false;
  std::size_t hosts = 0;

  // Fields: name ":" OWS value OWS CRLF, up to the empty line.
  head.remove_prefix(line_end + 2);
  while (!head.empty()) {
    const std::size_t eol = head.find("\r\n");
    const std::string_view field = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    const std::size_t colon = field.find(':');
    if (colon == 0 || colon == std::string_view::npos) return ScanResult::fallback;  // also obs-fold (leading SP/HTAB)
    const std::string_view name = field.substr(0, colon);
    for (unsigned char c : name)
      if (!kTchar[c]) return ScanResult::fallback;
    const std::string_view raw_value = field.substr(colon + 1);
    for (unsigned char c : raw_value)
      if (!value_byte(c)) return ScanResult::fallback;  // a bare CR or LF, NUL, DEL, other CTLs
    const std::string_view value = trim_ows(raw_value);
    // The few names that matter here, told apart by length first (every field of every hit passes here).
    switch (name.size()) {
      case 4:  // Host (RFC 9112 §3.2): one, valid; HTTP/1.1 must send it. Beast's path answers 400 otherwise.
        if (iequals(name, "host")) {
          if (++hosts > 1) return ScanResult::fallback;
          if (value != out.valid_host) {
            if (!valid_authority(value)) return ScanResult::fallback;
            out.valid_host.assign(value);
          }
        }
        break;
      case 10:
        if (iequals(name, "connection") && !scan_connection(value, close, keep_alive_token)) return ScanResult::fallback;
        break;
      case 14:
        if (iequals(name, "content-length")) return ScanResult::fallback;
        break;
      case 16:
        if (iequals(name, "proxy-connection")) return ScanResult::fallback;  // Beast reads it like Connection
        break;
      case 17:
        if (iequals(name, "transfer-encoding")) return ScanResult::fallback;
        break;
      default:
        break;
    }
    out.fields.emplace_back(name, value);
  }
  if (hosts == 0 && out.version == 11) return ScanResult::fallback;
  // RFC 9112 §9.3: close ends it; HTTP/1.0 persists only when asked to.
  out.keep_alive = !close && (out.version == 11 || keep_alive_token);
  out.size = end_of_head + 4;
  return ScanResult::ok;
}

}  // namespace hlscache
