// Wire helpers shared by the HTTP sessions: the Date header value (formatted once
// per second per thread), and serialization of a response head for HTTP/1.1.
#pragma once

#include <string>
#include <string_view>

#include "core/http_fields.hpp"
#include "http/response.hpp"

namespace hlscache {

std::string_view http_date_now();  // IMF-fixdate of the current second, cached per thread

// Status line + headers + Date/Server + framing + Connection, ending in CRLF CRLF.
// content_length: >= 0 sets Content-Length; kChunked uses chunked transfer coding;
// kCloseDelimited sends no framing (HTTP/1.0 with an unknown length: the close ends the body).
constexpr long long kChunked = -1, kCloseDelimited = -2;
void serialize_h1_head(std::string& out, const Response& r, std::string_view server, long long content_length,
                       bool keep_alive, bool http10);
void append_number(std::string& out, std::uint64_t n);

}  // namespace hlscache
