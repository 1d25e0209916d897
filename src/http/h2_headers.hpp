// Response headers for HTTP/2 (RFC 9113 §8.2, §8.3): the Response's header lines
// (the cached object's stored HTTP/1.1 block, this response's own lines, the
// general list) become lower-case name/value pairs after :status, Date and
// Server; connection-specific fields (Connection, Keep-Alive, Transfer-Encoding,
// Upgrade, Proxy-Connection, TE) are dropped, Content-Length is ours.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/response.hpp"

namespace hlscache {

struct H2HeaderList {
  // name/value storage; pointers into it are handed to nghttp2, which copies them.
  std::vector<std::pair<std::string, std::string>> fields;
  void clear() { fields.clear(); }
};

// `content_length`: the body's length when known and the status allows a body.
void build_h2_response_headers(const Response& r, std::string_view server,
                               std::optional<std::uint64_t> content_length, H2HeaderList& out);

// True for header names HTTP/2 forbids (connection-specific), compared case-insensitively.
bool is_connection_specific(std::string_view name);

}  // namespace hlscache
