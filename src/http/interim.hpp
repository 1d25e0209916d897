// Informational (1xx) responses on their way to a client — 103 Early Hints that an
// origin sent ahead of its answer (RFC 8297, RFC 9110 §15.2): which may go (any 1xx
// but 101, which would switch protocols), which of their fields (end-to-end ones
// with a token name and no CR, LF or NUL; no framing), and their wire form: an
// HTTP/1.1 head of their own, or an HTTP/2 field list for a non-final HEADERS frame.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/http_fields.hpp"

namespace hlscache {

bool forwardable_interim(int status);

// "HTTP/1.1 103 Early Hints\r\n" + "Name: value\r\n" per field + "\r\n", appended to `out`.
void serialize_h1_interim(std::string& out, int status, const std::vector<Header>& fields);

// ":status" first, then the fields with lower-case names (RFC 9113 §8.2), the
// connection-specific ones dropped (§8.2.2).
void build_h2_interim_headers(int status, const std::vector<Header>& fields,
                              std::vector<std::pair<std::string, std::string>>& out);

}  // namespace hlscache
