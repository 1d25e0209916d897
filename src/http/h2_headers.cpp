#include "http/h2_headers.hpp"

#include "core/strings.hpp"
#include "http/wire.hpp"

namespace hlscache {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void add_field(H2HeaderList& out, std::string_view name, std::string_view value) {
  if (name.empty() || is_connection_specific(name) || iequal(name, "content-length")) return;
  out.fields.emplace_back(lower(name), std::string(value));
}

// "Name: value\r\n" lines as stored for HTTP/1.1.
void add_wire_lines(H2HeaderList& out, std::string_view wire) {
  while (!wire.empty()) {
    auto eol = wire.find("\r\n");
    std::string_view line = wire.substr(0, eol);
    wire = eol == std::string_view::npos ? std::string_view{} : wire.substr(eol + 2);
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    add_field(out, trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
  }
}

}  // namespace

bool is_connection_specific(std::string_view name) {
  return iequal(name, "connection") || iequal(name, "keep-alive") || iequal(name, "transfer-encoding") ||
         iequal(name, "upgrade") || iequal(name, "proxy-connection") || iequal(name, "te");
}

void build_h2_response_headers(const Response& r, std::string_view server, std::optional<std::uint64_t> content_length,
                               H2HeaderList& out) {
  out.clear();
  out.fields.emplace_back(":status", std::to_string(r.status));
  if (!r.has_date) out.fields.emplace_back("date", std::string(http_date_now()));
  out.fields.emplace_back("server", std::string(server));
  add_wire_lines(out, r.stored_wire);
  if (r.cache_lines) {
    thread_local std::string lines;
    lines.clear();
    append_cache_lines(lines, *r.cache_lines, server);
    add_wire_lines(out, lines);
  }
  for (const auto& [k, v] : r.headers) add_field(out, k, v);
  const bool bodyless_status = r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200);
  if (content_length && !bodyless_status) out.fields.emplace_back("content-length", std::to_string(*content_length));
}

}  // namespace hlscache
