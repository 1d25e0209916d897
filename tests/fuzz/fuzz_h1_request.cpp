// HTTP/1.1 request heads, as the server session reads them (src/http/h1_codec.cpp):
// scan_simple_request_head() first, Beast's request_parser<empty_body> configured like
// H1HeadParser (header_limit = limits.max_header_bytes, no body limit, eager off, the
// consumed-bytes count of H1HeadParser::put()) for the rest. Differential property: the
// scanner never takes what the Beast path would refuse (a parse error or one of the
// session's own checks), and when both take a head they agree on method, target,
// version, keep-alive, fields and the head's size. Pipelined heads are taken in turn,
// as the session does with the bytes left in its buffer.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "config/config.hpp"
#include "beast_assert.hpp"
#include "fuzz_support.hpp"
#include "http/h1_request_head.hpp"
#include "http/h1_request_rules.hpp"

namespace http = boost::beast::http;
using namespace hlscache;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return out;
}

// h1_codec.cpp's persists(): RFC 9112 §9.3 over every Connection line (Beast's own
// keep_alive() reads one line, or lets keep-alive outweigh close in HTTP/1.0).
bool persists(const http::request_parser<http::empty_body>::value_type& req) {
  bool close = false, keep_alive = false;
  for (const auto& f : req) {
    if (f.name() != http::field::connection) continue;
    for (const auto& token : http::token_list{f.value()}) {
      if (boost::beast::iequals(token, "close")) close = true;
      else if (boost::beast::iequals(token, "keep-alive")) keep_alive = true;
    }
  }
  return !close && (req.version() == 11 || keep_alive);
}

const LimitsConfig kLimits{};  // the defaults: 16 KiB head, 4 KiB target

struct BeastHead {
  bool ok = false;
  std::size_t consumed = 0;
};

// read_header() over bytes that are all at hand, then read_request()'s checks.
BeastHead beast_read(std::string_view bytes, http::request_parser<http::empty_body>& parser) {
  BeastHead out;
  parser.header_limit(kLimits.max_header_bytes);
  parser.body_limit(boost::none);
  parser.eager(false);
  std::size_t consumed = 0;
  for (;;) {
    boost::beast::error_code ec;
    const std::size_t used = parser.put(boost::asio::buffer(bytes.data() + consumed, bytes.size() - consumed), ec);
    consumed += used;
    if (consumed > kLimits.max_header_bytes) return out;  // 431
    if (parser.is_header_done()) break;
    if (ec != http::error::need_more) return out;  // 400 (or 431)
    if (used == 0) {
      // The session reads more; at the peer's EOF it calls put_eof, which fails a partial head.
      boost::beast::error_code eof_ec;
      parser.put_eof(eof_ec);
      return out;
    }
  }
  const auto& req = parser.get();
  if (req.target().size() > kLimits.max_target_bytes) return out;  // 414
  std::string_view first_cl;
  int n_cl = 0;
  for (const auto& f : req) {
    if (f.name() == http::field::content_length) {
      if (n_cl++ && f.value() != first_cl) return out;  // conflicting Content-Length
      first_cl = f.value();
    }
  }
  if (n_cl && req.count(http::field::transfer_encoding)) return out;
  if (req.version() != 11 && req.version() != 10) return out;  // 505
  if (req.method() == http::verb::unknown) return out;        // 501
  // read_request()'s RFC 9112 rules (h1_request_rules.hpp): Transfer-Encoding, Host, the target's form.
  std::vector<Header> fields;
  for (const auto& f : req) fields.emplace_back(std::string(f.name_string()), std::string(f.value()));
  if (check_transfer_encoding(combined_field(fields, "Transfer-Encoding"), static_cast<int>(req.version()))) return out;
  if (check_host(fields, static_cast<int>(req.version()))) return out;
  std::string target(req.target());
  if (normalize_target(std::string(req.method_string()), target, fields)) return out;
  out.ok = true;
  out.consumed = consumed;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  SimpleRequestHead simple;
  for (int round = 0; round < 8 && !bytes.empty(); ++round) {
    const bool scanned = scan_simple_request_head(bytes, kLimits.max_header_bytes, simple) == ScanResult::ok &&
                         simple.target.size() <= kLimits.max_target_bytes;  // take_simple_request()
    http::request_parser<http::empty_body> parser;
    const BeastHead beast = beast_read(bytes, parser);
    if (!scanned) return 0;  // Beast's path answers it, whatever it is; the session goes on from there
    FUZZ_CHECK(beast.ok);  // the scanner took a head the Beast path refuses
    const auto& req = parser.get();
    FUZZ_CHECK(simple.size == beast.consumed);
    FUZZ_CHECK(simple.size <= bytes.size());
    FUZZ_CHECK(std::string_view(req.method_string()) == simple.method);
    FUZZ_CHECK(simple.head_method == (req.method() == http::verb::head));
    FUZZ_CHECK(simple.head_method || req.method() == http::verb::get);
    FUZZ_CHECK(std::string_view(req.target()) == simple.target);
    FUZZ_CHECK(static_cast<int>(req.version()) == simple.version);
    FUZZ_CHECK(persists(req) == simple.keep_alive);
    FUZZ_CHECK(parser.is_done());  // no body: GET/HEAD without framing fields
    // Beast's fields iterate with the lines of one name together (at the first one's
    // place); the scanner keeps wire order. Both keep the order within a name, which is
    // all RFC 9110 §5.3 gives meaning to: compare the lines grouped by name.
    using Line = std::tuple<std::string, std::string_view, std::string_view>;  // lower-case name, name, value
    std::vector<Line> beast_fields, scanned_fields;
    for (const auto& f : req) beast_fields.emplace_back(lower(f.name_string()), f.name_string(), f.value());
    for (const auto& [name, value] : simple.fields) scanned_fields.emplace_back(lower(name), name, value);
    auto by_name = [](const Line& a, const Line& b) { return std::get<0>(a) < std::get<0>(b); };
    std::stable_sort(beast_fields.begin(), beast_fields.end(), by_name);
    std::stable_sort(scanned_fields.begin(), scanned_fields.end(), by_name);
    FUZZ_CHECK(beast_fields == scanned_fields);
    bytes.remove_prefix(simple.size);  // the next pipelined request
  }
  return 0;
}
