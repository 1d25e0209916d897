// What an upstream is sent for a miss, in either protocol. SourceRequest::headers are
// the client's end-to-end fields (client spelling), already filtered by the miss
// path; they are checked once more here (defence in depth): a name that is not a
// token (RFC 9110 §5.1) or a value holding CR, LF or NUL (§5.5) is dropped, as are
// hop-by-hop fields (§7.6.1), Host (we send our own) and Content-Length (a GET has
// no body). HTTP/2 adds RFC 9113 §8.2: names lowercased, connection-specific fields
// dropped (TE only if it is "trailers" survives), values without outer white space.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/http_fields.hpp"
#include "source/source.hpp"

namespace hlscache::upstream_request {

// The client's fields that may be forwarded (names as given, values trimmed of OWS).
std::vector<Header> forwardable(const std::vector<Header>& headers);

// "GET target HTTP/1.1" with Host, the forwardable fields, Via, X-Forwarded-For and
// Connection: keep-alive.
std::string h1_head(const SourceRequest& req, const HostPort& host, std::string_view server_name);

// The regular fields of an HTTP/2 request (no pseudo-fields): the forwardable fields
// lowercased, then via and x-forwarded-for.
std::vector<Header> h2_fields(const SourceRequest& req, std::string_view server_name);
// The same filter for fields given directly (H2Upstream's callers): lowercased,
// connection-specific fields, pseudo-fields and unsafe lines dropped.
std::vector<Header> h2_fields(const std::vector<Header>& headers);

}  // namespace hlscache::upstream_request
