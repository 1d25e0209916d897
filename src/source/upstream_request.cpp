#include "source/upstream_request.hpp"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <iterator>

#include "core/strings.hpp"

namespace hlscache::upstream_request {

namespace {


std::string_view trim_ows(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace


std::vector<Header> forwardable(const std::vector<Header>& headers) {
  // Every Connection line's tokens: the fields they name are hop-by-hop too.
  const std::string connection = combined_field(headers, "Connection").value_or("");
  std::vector<Header> out;
  for (const auto& [k, v] : headers) {
    if (!is_token(k) || !is_safe_field_value(v)) continue;
    if (is_hop_by_hop(k, connection) || iequal(k, "Host") || iequal(k, "Content-Length")) continue;
    out.emplace_back(k, std::string(trim_ows(v)));
  }
  return out;
}

std::string h1_head(const SourceRequest& req, const HostPort& host, std::string_view server_name) {
  std::string out = fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\n", req.target, host.to_string());
  for (const auto& [k, v] : forwardable(req.headers)) fmt::format_to(std::back_inserter(out), "{}: {}\r\n", k, v);
  fmt::format_to(std::back_inserter(out), "Via: 1.1 {}\r\n", server_name);
  if (!req.client_address.empty()) fmt::format_to(std::back_inserter(out), "X-Forwarded-For: {}\r\n", req.client_address);
  out += "Connection: keep-alive\r\n\r\n";
  return out;
}

std::vector<Header> h2_fields(const std::vector<Header>& headers) {
  std::vector<Header> out;
  const std::string connection = combined_field(headers, "Connection").value_or("");
  for (const auto& [k, v] : headers) {
    if (!is_token(k) || !is_safe_field_value(v)) continue;  // pseudo-fields (":path") are not tokens
    const std::string_view value = trim_ows(v);
    // RFC 9113 §8.2.2: TE may be sent, holding "trailers" and nothing else.
    if (iequal(k, "TE")) {
      if (iequal(value, "trailers")) out.emplace_back("te", "trailers");
      continue;
    }
    if (is_hop_by_hop(k, connection) || iequal(k, "Host") || iequal(k, "Content-Length")) continue;
    out.emplace_back(lower(k), std::string(value));
  }
  return out;
}

std::vector<Header> h2_fields(const SourceRequest& req, std::string_view server_name) {
  std::vector<Header> out = h2_fields(req.headers);
  out.emplace_back("via", fmt::format("2 {}", server_name));
  if (!req.client_address.empty()) out.emplace_back("x-forwarded-for", req.client_address);
  return out;
}

}  // namespace hlscache::upstream_request
